#!/usr/bin/env bash
# The README demo: build sparkv, then run one long-context retrieval prompt (a RULER-style
# passkey task from the evaluation's own generator) with the full KV cache and with SparK recipes,
# printing the answer, the KV bytes and the speed of each, then a small side-by-side evaluation.
#
# Model: the embedded model (models/sparkv-tiny-f16.gguf) when it is present; until it lands
# (issue 4), a small generated model from the test fixtures, whose weights are random — the
# machinery runs end to end, the answers are noise.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
bin=build/sparkv
model=${SPARKV_MODEL:-models/sparkv-tiny-f16.gguf}
if [[ ! -f "$model" ]]; then
  model=build/golden/qwen3-q8_0.gguf
  echo "note: the embedded model is not in models/ yet; using the generated test model $model (random weights)"
fi
"$bin" inspect -m "$model" --no-tensors | head -4
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo
echo "== generation with a SparK-compressed cache (text, KV bytes, speed) =="
"$bin" run -m "$model" -n 24 --press "spark:ratio=0.5,window=8" \
  -p "The special magic number for the blue river is: 4182937. The grass is green. The sky is blue. What is the special magic number for the blue river? The special magic number for the blue river is:"
echo
echo "== a small evaluation grid (prefill once per sample, every recipe on the same state) =="
"$bin" eval -m "$model" --suite ruler --tasks niah_single_1,niah_multikey_2,vt --length 1024 --samples 2 --no-progress \
  --press "snapkv:budget=128,window=32" --press "snapkv:budget=128,window=32+spark:ratio=0.8" \
  --press "spark:ratio=0.5" --press "think:ratio=0.5" --out "$out/grid"
sed -n '/^## Length/,/^## Plots/p' "$out/grid/report.md"

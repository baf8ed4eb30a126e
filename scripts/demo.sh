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
echo "== a 2,000-token passkey prompt (data/demo/passkey-2048.txt; answer 31808): full cache vs SparK =="
# spark:ratio=0.5,recovery=zero,recent=64: on this model SparK's default mean recovery breaks retrieval and
# zero recovery with the last 64 prompt tokens dense keeps it (docs/results/paper-table.md)
for press in full "spark:ratio=0.8" "spark:ratio=0.5,recovery=zero,recent=64" "snapkv:budget=256+spark:ratio=0.8"; do
  echo "-- --press $press"
  "$bin" run -m "$model" -f data/demo/passkey-2048.txt -n 8 --truncate middle --press "$press"
done
echo
echo "== a small evaluation grid (prefill once per sample, every recipe on the same state) =="
"$bin" eval -m "$model" --suite ruler --tasks niah_single_1,niah_multikey_2,vt --length 1024 --samples 2 --no-progress \
  --press "snapkv:budget=128,window=32" --press "snapkv:budget=128,window=32+spark:ratio=0.8" \
  --press "spark:ratio=0.8" --press "spark:ratio=0.5,recovery=zero" --press "think:ratio=0.8" --press "quant:k=q8_0,v=q8_0" --out "$out/grid"
sed -n '/^## Length/,/^## Plots/p' "$out/grid/report.md"

#!/usr/bin/env bash
# The README demo: build sparkv, then run one long-context retrieval prompt (a RULER-style
# passkey task from the evaluation's own generator) with the full KV cache and with SparK recipes,
# printing the answer, the KV bytes and the speed of each, then a small side-by-side evaluation.
#
# Model: the embedded model (models/sparkv-tiny-f16.gguf); SPARKV_MODEL=... picks another.
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
# SparK's defaults (issue 23, docs/results/recovery.md): recovery=scaled — each pruned entry comes
# back at its channel's magnitude in the cache, not the paper's sqrt(mu/n_j), which answers wrong on
# this model — and the observation window's 32 tokens kept dense. The paper's recovery for contrast.
for press in full "spark:ratio=0.5" "spark:ratio=0.8" "snapkv:budget=256+spark:ratio=0.8" "spark:ratio=0.8,recovery=mean,recent=0"; do
  echo "-- --press $press"
  "$bin" run -m "$model" -f data/demo/passkey-2048.txt -n 8 --truncate middle --press "$press"
done
echo
echo "== a small evaluation grid (prefill once per sample, every recipe on the same state) =="
"$bin" eval -m "$model" --suite ruler --tasks niah_single_1,niah_multikey_2,vt --length 1024 --samples 2 --no-progress \
  --press "snapkv:budget=128,window=32" --press "snapkv:budget=128,window=32+spark:ratio=0.8" \
  --press "spark:ratio=0.8" --press "spark:ratio=0.8,recovery=mean,recent=0" --press "think:ratio=0.8" --press "quant:k=q8_0,v=q8_0" --out "$out/grid"
sed -n '/^## Length/,/^## Plots/p' "$out/grid/report.md"

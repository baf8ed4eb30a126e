#!/usr/bin/env bash
# Competence of the embedded model with the full cache, measured by sparkv itself (greedy):
# every generated task at 1024 / 2048 / 4096 tokens, SAMPLES per task and length (default 100,
# seeds 2^40 + i, needle depths spread over 40 positions by the generators).
#   scripts/model-competence.sh            -> docs/results/competence/
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SPARKV_BIN:-build/sparkv}
model=${MODEL:-models/sparkv-tiny-f16.gguf}
samples=${SAMPLES:-100}
lengths=${LENGTHS:-1024,2048,4096}
out=${OUT:-docs/results/competence}
start=$(date +%s)
"$bin" eval -m "$model" --suite passkey --length "$lengths" --samples "$samples" --out "$out" --no-plots
"$bin" eval -m "$model" --suite ruler --length "$lengths" --samples "$samples" --out "$out" --no-plots
"$bin" eval --report "$out"
echo "wall time: $(( $(date +%s) - start )) s" | tee "$out/walltime.txt"

#!/usr/bin/env bash
# Competence of the embedded model with the full cache, measured by sparkv itself (greedy,
# string_match_all): every generated task at each LENGTH:SAMPLES pair (seeds 2^40 + i; needle
# depths spread over 40 positions by the generators). Default: 2048 tokens (the trained
# context) with 100 samples per task, 1024 with 50 and 4096 with 20 (each 4096-token prefill
# costs ~4x a 2048 one on 2 cores).
#   scripts/model-competence.sh                       -> docs/results/competence/
#   CELLS="2048:10" OUT=/tmp/c scripts/model-competence.sh
# The learned head_dim-128 model (issue 18): the bar tasks at 100 samples, then every task at 20
#   MODEL=sparkv-tiny-learned OUT=docs/results/competence-learned CELLS="2048:100 4096:100" \
#     TASKS=niah_single_1,niah_single_2 scripts/model-competence.sh
#   MODEL=sparkv-tiny-learned OUT=docs/results/competence-learned CELLS="2048:20 4096:20" \
#     scripts/model-competence.sh
# (TASKS limits the ruler suite; passkey always runs. MODEL takes a path or a shipped name.)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SPARKV_BIN:-build/sparkv}
model=${MODEL:-models/sparkv-tiny-f16.gguf}
cells=${CELLS:-2048:100 1024:50 4096:20}
tasks=()
[ -n "${TASKS:-}" ] && tasks=(--tasks "$TASKS")
out=${OUT:-docs/results/competence}
start=$(date +%s)
for cell in $cells; do
  len=${cell%%:*}
  n=${cell##*:}
  "$bin" eval -m "$model" --suite passkey --length "$len" --samples "$n" --out "$out" --no-plots
  "$bin" eval -m "$model" --suite ruler --length "$len" --samples "$n" --out "$out" --no-plots "${tasks[@]}"
done
"$bin" eval --report "$out"
gzip -9 -k -f "$out/results.jsonl"   # committed form (the raw file is gitignored; gunzip it to resume)
echo "wall time: $(( $(date +%s) - start )) s" | tee "$out/walltime.txt"

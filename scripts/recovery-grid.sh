#!/usr/bin/env bash
# Reproduces docs/results/recovery/ (issue 23): every SparK recovery on the same prefills — the
# paper-table grid (12 tasks x SAMPLES at LENGTH; λ 0.5 / 0.8, alone and on SnapKV 128 / 512),
# ThinK at the paper's λ and at SparK's bytes per token, λ 0.9 / 0.95, SparK-g / -p — with
# next-token KL, top-1 and per-layer attention-output error against the full cache.
#
#   scripts/recovery-grid.sh                                   # shipped model, 50 samples
#   MODEL=/work/models-hist/run3-f16.gguf OUT=docs/results/recovery/run3 scripts/recovery-grid.sh
#   SEED=1 TASKS=passkey,niah_single_1,niah_single_2,niah_multikey_1 OUT=... scripts/recovery-grid.sh
#
# Every recipe names its keys explicitly, so the rows keep their meaning when defaults change.
# Resumes from OUT/results.jsonl when interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SPARKV_BIN:-build/sparkv}
model=${MODEL:-models/sparkv-tiny-f16.gguf}
length=${LENGTH:-2048}
samples=${SAMPLES:-50}
seed=${SEED:-0}
out=${OUT:-docs/results/recovery/run6}
tasks=${TASKS:-passkey,niah_single_1,niah_single_2,niah_single_3,niah_multikey_1,niah_multikey_2,niah_multikey_3,niah_multivalue,niah_multiquery,vt,cwe,fwe}
presses=()
for lam in 0.5 0.8; do
  presses+=("spark:ratio=$lam,recovery=mean,recent=0" "spark:ratio=$lam,recovery=scaled,recent=0"
    "spark:ratio=$lam,recovery=absmean_pruned,recent=0")
  for r in mean bounded absmean absmean_pruned absmedian token scaled chmean zero; do
    presses+=("spark:ratio=$lam,recovery=$r,recent=32")
  done
done
presses+=("spark:ratio=0.9,recovery=scaled,recent=32" "spark:ratio=0.9,recovery=absmean_pruned,recent=32"
  "spark:ratio=0.95,recovery=scaled,recent=32"
  "spark:variant=g,recovery=scaled,recent=32" "spark:variant=p,p=0.9,recovery=scaled,recent=32")
# ThinK at the paper's λ, and at the bytes per token of SparK λ=0.5 / 0.8 (D=64: λ 0.375 / 0.67)
presses+=("think:ratio=0.5" "think:ratio=0.8" "think:ratio=0.375" "think:ratio=0.67"
  "think:ratio=0.5,recent=32" "think:ratio=0.8,recent=32")
for b in 128 512; do
  e="snapkv:budget=$b,window=32"
  presses+=("$e" "$e+think:ratio=0.5" "$e+think:ratio=0.8")
  for lam in 0.5 0.8; do
    presses+=("$e+spark:ratio=$lam,recovery=mean,recent=0" "$e+spark:ratio=$lam,recovery=scaled,recent=32"
      "$e+spark:ratio=$lam,recovery=absmean_pruned,recent=32")
  done
done
args=()
for p in "${presses[@]}"; do args+=(--press "$p"); done
start=$(date +%s)
run() {  # $1 = suite, $2 = tasks
  "$bin" eval -m "$model" --suite "$1" ${2:+--tasks "$2"} --length "$length" --samples "$samples" \
    --seed "$seed" --out "$out" --no-plots --no-progress "${args[@]}"
}
ruler_tasks=$(echo "$tasks" | tr ',' '\n' | grep -v '^passkey$' | paste -sd, -)
if echo "$tasks" | tr ',' '\n' | grep -qx passkey; then run passkey ""; fi
[[ -n "$ruler_tasks" ]] && run ruler "$ruler_tasks"
"$bin" eval --report "$out" --no-plots
gzip -9 -k -f "$out/results.jsonl"   # committed form (the raw file is gitignored; gunzip it to resume)
echo "wall time: $(( $(date +%s) - start )) s" | tee "$out/walltime.txt"

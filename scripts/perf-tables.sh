#!/usr/bin/env bash
# Regenerates the measured figures of docs/results/performance.md in one run (~8 minutes on the
# 2-core VM): Google Benchmark micro-benchmarks at 2 threads and at 1, then `sparkv bench` end to
# end on the embedded model; raw JSON under docs/results/perf/, the tables in tables.md there.
# Pause every other job on the machine first (kill -STOP): the figures are ratios within this run.
#   scripts/perf-tables.sh            (BUILD=build OUT=docs/results/perf REPS=5)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}
OUT=${OUT:-docs/results/perf}
REPS=${REPS:-5}
mkdir -p "$OUT"
export OMP_WAIT_POLICY=active
common=(--benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true --benchmark_out_format=json)
echo "[perf] micro-benchmarks, 2 threads" >&2
OMP_NUM_THREADS=2 "$B/sparkv_bench" "${common[@]}" --benchmark_out="$OUT/micro-2t.json" \
  --benchmark_filter='StreamTriad|FmaPeak|Gemv|DotInCache|DecodeAttn|KvQuant(Dense|Spark)/.*/32768|Compress|PrefillGemm' > /dev/null
echo "[perf] micro-benchmarks, 1 thread" >&2
OMP_NUM_THREADS=1 "$B/sparkv_bench" "${common[@]}" --benchmark_out="$OUT/micro-1t.json" \
  --benchmark_filter='StreamTriad|FmaPeak|DecodeAttn(DenseF16|Spark50|Spark80)/tokens:32768/isa:2' > /dev/null
echo "[perf] sparkv bench (embedded model)" >&2
OMP_NUM_THREADS=2 "$B/sparkv" bench -m models/sparkv-tiny-f16.gguf -d 0,2048,8192 -p 256 -n 32 --press full --press snapkv:budget=512 \
  --press spark:ratio=0.5 --press spark:ratio=0.8 --press snapkv:budget=512+spark:ratio=0.8 --json \
  > "$OUT/e2e.json"
python3 scripts/perf_tables.py "$OUT" > "$OUT/tables.md"
echo "[perf] wrote $OUT/tables.md" >&2

#!/usr/bin/env bash
# The reliability stages of CI (issue 10), run by scripts/test.sh after the main test suite:
#   1. an ASan + UBSan build (clang, build-asan/) running the whole unit suite;
#   2. every libFuzzer target of tests/fuzz for SPARKV_FUZZ_SECONDS (default 20) over its committed
#      seed corpus, in the same build (the library carries coverage instrumentation for them);
#   3. only with SPARKV_TSAN=1: a ThreadSanitizer build (build-tsan/) running the shared-model
#      concurrency tests (about 6 extra minutes on 2 cores, so not part of the default run).
# Environment: JOBS (parallel jobs, default nproc), SPARKV_FUZZ_SECONDS, SPARKV_TSAN.
# Long campaigns: scripts/ci-extra.sh --fuzz-only with SPARKV_FUZZ_SECONDS=600.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${JOBS:-$(nproc)}
fuzz_seconds=${SPARKV_FUZZ_SECONDS:-20}
fuzz_only=0
[[ "${1:-}" == "--fuzz-only" ]] && fuzz_only=1

stage_start=$SECONDS
stage() {
  echo "ci-extra: $1 ($((SECONDS - stage_start)) s so far)"
}

# clang, its sanitizer / libFuzzer runtimes and LLVM's OpenMP runtime (clang cannot use libgomp's
# headers); installed like scripts/install-deps.sh installs the rest.
packages=(clang libclang-rt-dev libomp-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  echo "ci-extra: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Sanitizer failures must fail the run; leaks are findings too. OpenMP / OpenBLAS worker pools
# live until exit, so LeakSanitizer only reports memory that became unreachable.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

stage "configuring build-asan (clang, ASan + UBSan + libFuzzer)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DSPARKV_SANITIZE=ON -DSPARKV_FUZZ=ON -DSPARKV_BUILD_BENCH=OFF >/dev/null
if [[ $fuzz_only -eq 1 ]]; then
  ninja -C build-asan -j"$jobs" fuzz_targets
else
  ninja -C build-asan -j"$jobs"
  stage "unit suite under ASan + UBSan"
  (cd build-asan && ctest --output-on-failure -j"$jobs" --timeout 1800)
fi

stage "fuzzing each target for ${fuzz_seconds} s"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for bin in build-asan/tests/fuzz/fuzz_*; do
  name=${bin##*/fuzz_}
  mkdir -p "$work/$name" "$work/tmp-$name"
  # New inputs go to a scratch corpus; the committed seeds are only read.
  if TMPDIR="$work/tmp-$name" build-asan/tests/fuzz/fuzz_"$name" -max_total_time="$fuzz_seconds" -timeout=30 \
       -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/$name/" \
       "$work/$name" "tests/fuzz/corpus/$name" >"$work/$name.log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name.log" | grep -o '[0-9]*$')
    echo "ci-extra: fuzz_$name: ${runs:-?} executions, no crash"
  else
    failed+=("$name")
    tail -n 60 "$work/$name.log"
    mkdir -p build-asan/fuzz-artifacts
    cp "$work/$name"/crash-* "$work/$name"/leak-* "$work/$name"/timeout-* "$work/$name"/oom-* \
      build-asan/fuzz-artifacts/ 2>/dev/null || true
    echo "ci-extra: fuzz_$name FAILED (reproducer in build-asan/fuzz-artifacts/)"
  fi
done
[[ ${#failed[@]} -eq 0 ]] || { echo "ci-extra: fuzz targets failed: ${failed[*]}"; exit 1; }

if [[ "${SPARKV_TSAN:-0}" == "1" ]]; then
  stage "ThreadSanitizer build (build-tsan) of the shared-model concurrency tests"
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSPARKV_BUILD_BENCH=OFF \
    -DCMAKE_CXX_FLAGS="-fsanitize=thread" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" >/dev/null
  ninja -C build-tsan -j"$jobs" sparkv_tests
  # LLVM's OpenMP runtime tells TSan about its own synchronisation through the Archer tool;
  # OpenBLAS is not instrumented, so it runs on the calling thread.
  archer=$(find /usr/lib/llvm-*/lib -name libarcher.so 2>/dev/null | head -n 1)
  OMP_TOOL_LIBRARIES=$archer OPENBLAS_NUM_THREADS=1 \
    TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1" \
    build-tsan/sparkv_tests --gtest_filter='ReliabilityConcurrency.*'
fi

stage "done"

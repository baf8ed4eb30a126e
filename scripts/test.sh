#!/usr/bin/env bash
# The whole test suite: installs missing Debian packages, builds, runs every test with CTest, then
# the reliability stages of scripts/ci-extra.sh (ASan + UBSan unit suite, bounded fuzzing).
# SPARKV_QUICK=1 skips those extra stages.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
(cd build && ctest --output-on-failure -j"${JOBS:-$(nproc)}" --timeout 900)
if [[ "${SPARKV_QUICK:-0}" != "1" ]]; then
  scripts/ci-extra.sh
fi

#!/usr/bin/env bash
# The whole test suite: installs missing Debian packages, builds, runs every test with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd build
ctest --output-on-failure -j"${JOBS:-$(nproc)}" --timeout 900

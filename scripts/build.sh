#!/usr/bin/env bash
# Configures and builds sparkv into build/ (Release, portable x86-64 with runtime SIMD dispatch).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
ninja -C build -j"$jobs"

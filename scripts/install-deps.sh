#!/usr/bin/env bash
# Installs every Debian 12 package sparkv needs to build, test and run its demo.
#   scripts/install-deps.sh           build + test + demo dependencies
#   scripts/install-deps.sh --train   also python3-torch, for tools/train (the embedded model's pipeline)
# Idempotent: packages already present are not fetched again. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libopenblas-dev libopenblas0-pthread   # prefill GEMM (pthread flavour: Debian's torch needs it too)
  libpcre2-dev libutf8proc-dev           # tokenizer split regexes (UTF + UCP) and NFC
  nlohmann-json3-dev libcli11-dev libfmt-dev
  zlib1g-dev                             # CRC-32 of prompt-cache files
  libcpp-httplib-dev nginx-light         # sparkv serve; its two-replica test behind nginx
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-numpy                  # golden-fixture generators (tests/golden)
  python3-dev pybind11-dev python3-pybind11 python3-pytest   # the Python module and its tests
  python3-venv python3-pip python3-setuptools python3-wheel  # pip install . (offline, in a venv)
  python3-matplotlib                     # examples/sweep_recipes.py
  gnuplot-nox                            # report plots
  clang libclang-rt-dev libomp-dev       # sanitizer + libFuzzer stages of scripts/ci-extra.sh
)
if [[ "${1:-}" == "--train" ]]; then
  packages+=(python3-torch python3-regex wamerican)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# The README's Python install, checked end to end: a venv over Debian's site packages, an offline
# `pip install --no-build-isolation --no-index .`, then `import sparkv` from outside the source
# tree generating with a SparK recipe from the model the package carries.
#   scripts/python-package-check.sh [VENV_DIR]     (default build/venv)
# SPARKV_CMAKE_BUILD_DIR=build reuses an existing build (what the test suite does); unset, setup.py
# builds in build/python-package as a fresh clone would.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-$root/build/venv}
py=${PYTHON:-/usr/bin/python3}
rm -rf "$venv"
"$py" -m venv --system-site-packages "$venv"
"$venv/bin/pip" install -q --no-build-isolation --no-index "$root"
cd "$(mktemp -d)"
"$venv/bin/python" - <<'PY'
import pathlib, sparkv
assert "site-packages" in sparkv.__file__, sparkv.__file__
assert (pathlib.Path(sparkv.__file__).parent / "models" / "sparkv-tiny-f16.gguf").exists()
p = ("The grass is green. The pass key is 31808. Remember it. "
     + "The sky is blue. The sun is yellow. Here we go. " * 20
     + "What is the pass key? The pass key is")
r = sparkv.Model().generate(p, max_tokens=8, press="spark:ratio=0.8")
print(f"python-package-check: {r.text!r} KV {r.kv_bytes} bytes, dense f16 {r.kv['dense_f16_bytes']} ({sparkv.__file__})")
assert "31808" in r.text and r.kv_bytes < r.kv["dense_f16_bytes"], r
PY

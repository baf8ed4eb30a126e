#!/usr/bin/env bash
# After a training run: export a checkpoint to models/, redraw the training curve, regenerate the
# fixtures that belong to the exported files, and run the tests that read them.
#   scripts/refresh-model.sh /work/sparkv-train/run3/ckpt.pt [RUN_DIR]
# Needs the --train packages (scripts/install-deps.sh --train) and a build in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
ckpt=$1
run=${2:-$(dirname "$ckpt")}
py=/usr/bin/python3
$py tools/train/export.py --ckpt "$ckpt" --out models --check
$py tools/train/plot_log.py "$run" --out models/training-curve.png
$py tests/golden/make_model_parity.py --model-dir models
$py tests/golden/make_press_model_case.py --model-dir models
bin=${BUILD:-build}
OMP_WAIT_POLICY=passive "$bin/sparkv_tests" \
  --gtest_filter='*ModelParity.*:PressModel.*:PressEviction.*:PressThink.*' 2>&1 | tail -3
du -ch models/sparkv-tiny-f16.gguf models/sparkv-tiny-q8_0.gguf models/sparkv-tiny-hf | tail -1

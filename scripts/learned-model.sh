#!/usr/bin/env bash
# Issue 18: from run8's final checkpoint to every committed artefact of the learned model, in order
# (each step can be rerun alone: STEPS="competence profile" scripts/learned-model.sh CKPT).
#
#   scripts/learned-model.sh /work/sparkv-train/run8/ckpt.pt [RUN_DIR]
#   PLOT_BEFORE=tools/train/runs/run8-log.jsonl.gz \
#     scripts/learned-model.sh /work/sparkv-train/run8b/ckpt.pt     # after the fine-tuning run
#
#   export      models/sparkv-tiny-learned-{f16,q8_0}.gguf + -hf/ (tools/train/export.py --check),
#               the training curve (PLOT_BEFORE: logs of the runs this one continues, oldest
#               first, drawn before it), the run's log (tools/train/runs/RUN-log.jsonl.gz)
#   parity      tests/golden/model/parity-learned.json (float64 reference) and the model tests
#   competence  docs/results/competence-learned/: passkey, niah_single_1/2 at 2,048 and 4,096 tokens
#               with 100 samples, every task with 20 (sparkv eval, full cache)
#   ppl         held-out prose perplexity of both models (tools/train/eval_py.py)
#   profile     docs/results/attention-profile/ (tools/train/attention_profile.py, both models)
#   papertable  docs/results/paper-table-learned/ (scripts/paper-table.sh on the learned model)
# Needs the --train packages (scripts/install-deps.sh --train) and a build in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
ckpt=${1:?usage: scripts/learned-model.sh CKPT [RUN_DIR]}
run=${2:-$(dirname "$ckpt")}
py=/usr/bin/python3
bin=${SPARKV_BIN:-build/sparkv}
name=sparkv-tiny-learned
steps=${STEPS:-export parity competence ppl profile papertable}
has() { [[ " $steps " == *" $1 "* ]]; }
# sparkv eval resumes from DIR/results.jsonl, whose rows do not name the weights: rows made with an
# earlier export must not be mixed into a new model's tables
own_rows() {
  local dir=$1 sum
  sum=$(sha256sum models/$name-f16.gguf | cut -d' ' -f1)
  if [[ -f $dir/results.jsonl && "$(cat "$dir/model.sha256" 2>/dev/null)" != "$sum" ]]; then
    mv "$dir/results.jsonl" "$dir/results.jsonl.stale-$(date +%s)"
    echo "$dir/results.jsonl was made with other weights; moved aside"
  fi
  mkdir -p "$dir" && echo "$sum" > "$dir/model.sha256"
}

if has export; then
  $py tools/train/export.py --ckpt "$ckpt" --out models --name $name \
    --tokenizer tools/train/tokenizer-l3/tokenizer.json --check
  # shellcheck disable=SC2086  # PLOT_BEFORE is a list of paths
  $py tools/train/plot_log.py ${PLOT_BEFORE:-} "$run" --out models/$name-training-curve.png
  mkdir -p tools/train/runs
  gzip -9 -c "$run/log.jsonl" > "tools/train/runs/$(basename "$run")-log.jsonl.gz"
  du -ch models/$name-f16.gguf models/$name-q8_0.gguf models/$name-hf | tail -1
  "$bin" inspect -m $name --no-tensors | head -12
fi
if has parity; then
  $py tests/golden/make_model_parity.py --model-dir models --name $name \
    --out tests/golden/model/parity-learned.json
  OMP_WAIT_POLICY=passive build/sparkv_tests --gtest_filter='*ModelParity.*' 2>&1 | tail -3
fi
if has competence; then
  own_rows docs/results/competence-learned
  MODEL=$name OUT=docs/results/competence-learned CELLS="2048:100 4096:100" \
    TASKS=niah_single_1,niah_single_2 scripts/model-competence.sh
  MODEL=$name OUT=docs/results/competence-learned CELLS="2048:20 4096:20" scripts/model-competence.sh
  $py tools/train/card_table.py docs/results/competence-learned/results.jsonl \
    > docs/results/competence-learned/card-table.md
  cat docs/results/competence-learned/card-table.md
fi
if has ppl; then
  for m in sparkv-tiny:tools/train/tokenizer sparkv-tiny-learned:tools/train/tokenizer-l3; do
    $py tools/train/eval_py.py --hf models/${m%%:*}-hf --tokenizer ${m##*:}/tokenizer.json \
      --tasks "" --ppl-docs 20 --ppl-len 2048 --out docs/results/competence-learned/ppl-${m%%:*}.json
  done
fi
if has profile; then
  $py tools/train/attention_profile.py --model shipped=models/sparkv-tiny-hf \
    --model learned=models/$name-hf --length 2048 --n 8 --out docs/results/attention-profile
fi
if has papertable; then
  pt=docs/results/paper-table-learned
  own_rows $pt
  MODEL=models/$name-f16.gguf OUT=$pt scripts/paper-table.sh
  $py scripts/paper_claims.py $pt/results.jsonl > $pt/claims.txt
  cat $pt/claims.txt
  {
    echo "# Paper-table grid on $name, every recipe"
    echo
    echo "Made by \`/usr/bin/python3 scripts/paper_table_tasks.py $pt/results.jsonl.gz\` from the rows of" \
      "\`STEPS=papertable scripts/learned-model.sh CKPT\` (2,048 tokens, 40 samples per task; the" \
      "\`@q8_0\` / \`@q4_0\` rows, prefilled into a quantized cache, 10). Columns: the three tasks the" \
      "model has learned, their mean, the average over all 12 tasks, the share of the full f16" \
      "cache's bytes, next-token KL(full ‖ recipe) and top-1 agreement on those three tasks." \
      "Reading: [../paper-table.md](../paper-table.md#on-the-learned-model)."
    echo
    $py scripts/paper_table_tasks.py $pt/results.jsonl.gz
  } > $pt/table.md
fi

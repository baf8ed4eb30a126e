#!/bin/bash
# run5, prepared for a lent CUDA machine (the device tool; $OUT = its output folder): continue
# run4's weights for multi-key retrieval with ~50x its compute. Needs .dev/run4_model.pt (made
# from /work/sparkv-train/run4/ckpt.pt, weights only; see tools/train/README.md) carried along.
cd tools/train || exit 1
export PYTHONUNBUFFERED=1
T0=$(date +%s)
nvidia-smi -L; nproc
python3 -c 'import torch, regex; print("torch", torch.__version__, torch.cuda.is_available())'
MIX=ngram=2,niah_multikey_1=4,niah_multikey_2=4,niah_multiquery=2,niah_multivalue=1,niah_multikey_3=0.1,niah_single_3=0.1,vt=0.1,cwe=0.1,fwe=0.1,passkey=0.7,niah_single_1=0.7,niah_single_2=0.7,prose=1.0
# SCRATCH=1: a fresh model with the key-aware induction circuit at init (run6's recipe) instead
START="--init-from ${INIT:-../../.dev/run4_model.pt}"
[ -n "$SCRATCH" ] && START="--init induction+key --freeze-circuits 100000 --stage-max-frac 0.2,0.12,0.12,0.2,0.45,0.2"
ARGS="$START --workers 14 --tokens-long 65536 --tokens-short 65536 --lengths 256,512,1024,2048 --answer-weight 2 --ckpt-every-s 45 --decay-start 0.75 --mix $MIX"
BUDGET=${BUDGET:-0.12}
timeout 520 python3 train.py --out $OUT --model-copy $OUT/model.pt --budget-h $BUDGET $ARGS 2>&1 | tee $OUT/stdout.log
rc=${PIPESTATUS[0]}
echo "first rc=$rc after $(( $(date +%s) - T0 ))s"
if [ $rc -ne 0 ] && [ ! -s $OUT/model.pt ]; then
  left=$(( 500 - ($(date +%s) - T0) ))
  b=$(python3 -c "print(max(0.01, ($left - 60) / 3600))")
  echo "fallback: --amp none --sdpa off, budget ${b} h"
  rm -f $OUT/log.jsonl
  timeout $left python3 train.py --out $OUT --model-copy $OUT/model.pt --budget-h $b --amp none --sdpa off $ARGS 2>&1 | tee $OUT/stdout2.log
  echo "fallback rc=${PIPESTATUS[0]}"
fi
nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv
rm -f $OUT/ckpt.pt $OUT/*.tmp
ls -la $OUT

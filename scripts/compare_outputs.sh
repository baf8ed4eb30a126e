#!/bin/bash
# Refactors change no behaviour: compares two sparkv binaries on greedy `run --json` (ids, text, KV
# bytes, storage per layer; timings dropped) for a set of recipes, streamed text, --chat, inspect
# and tokenize. Usage: scripts/compare_outputs.sh OLD_BINARY NEW_BINARY [MODEL]
# (build the old one from the previous commit into another directory first).
set -u
OLD=$(realpath "$1"); NEW=$(realpath "$2"); M=${3:-models/sparkv-tiny-f16.gguf}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
P="$(python3 -c "print('The pass key is 31808. Remember it. ' + 'The grass is green. The sky is blue. '*60 + 'What is the pass key? The pass key is')")"
strip='import json,sys; j=json.load(sys.stdin); [j.pop(k, None) for k in ("prefill_tokens_per_s","decode_tokens_per_s","compress_seconds")]; print(json.dumps(j, sort_keys=True))'
fails=0
for press in full "spark:ratio=0.5" "spark:ratio=0.8" "spark:ratio=0.8,recovery=mean,recent=0" \
    "snapkv:budget=256+spark:ratio=0.8" "spark:ratio=0.8,decode_block=4" "spark:ratio=0.5,values=0.5" \
    "spark:ratio=0.8,kq=q4" "spark:variant=p,p=0.9" "spark:ratio=0.5,recovery=normal,seed=3" \
    "spark:ratio=0.7,recovery=bounded" "think:ratio=0.5" "h2o:budget=128" "expected:budget=200" \
    "pyramidkv:budget=128+quant:k=q8_0" "tova:ratio=0.5"; do
  OMP_NUM_THREADS=2 "$OLD" run -m "$M" -p "$P" -n 12 --press "$press" --json | python3 -c "$strip" > "$T/old.json"
  OMP_NUM_THREADS=2 "$NEW" run -m "$M" -p "$P" -n 12 --press "$press" --json | python3 -c "$strip" > "$T/new.json"
  if cmp -s "$T/old.json" "$T/new.json"; then
    echo "same  $press $(python3 -c "import json;j=json.load(open('$T/new.json'));print(repr(j['text']), j['kv_bytes'])")"
  else
    echo "DIFF  $press"; diff "$T/old.json" "$T/new.json" | head -5; fails=1
  fi
done
for which in old new; do
  bin=$OLD; [ $which = new ] && bin=$NEW
  { "$bin" run -m "$M" -p "$P" -n 12 --press spark:ratio=0.8 2>/dev/null
    "$bin" run -m "$M" --chat -p "hello" -n 8 --json 2>/dev/null | python3 -c "import json,sys; j=json.load(sys.stdin); print(j['prompt_ids'], j['generated_ids'], j['text'])"
    "$bin" inspect -m "$M" --json
    "$bin" tokenize -m "$M" -p "hello <|im_start|> world" --json; } > "$T/$which.txt"
done
if cmp -s "$T/old.txt" "$T/new.txt"; then echo "same  streaming/chat/inspect/tokenize"; else echo "DIFF  streaming/chat/inspect/tokenize"; fails=1; fi
exit $fails

#!/usr/bin/env bash
# `sparkv run --press P` for every method, and SparK / ThinK stacked on every eviction method, on
# one generated long-context prompt (default data/demo/niah_multikey_1-2048.txt, made by
# tools/train/make_demo_prompts.py from an evaluation seed; its answer is in data/demo/index.json):
# prints each recipe's answer, whether it equals the full cache's, and the KV bytes right after
# compression (`kv_bytes_after_press`).
#   scripts/press-matrix.sh [PROMPT_FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SPARKV_BIN:-build/sparkv}
model=${MODEL:-models/sparkv-tiny-f16.gguf}
prompt=${1:-data/demo/niah_multikey_1-2048.txt}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
b=256
evictions=("snapkv:budget=$b" "pyramidkv:budget=$b" "streamingllm:budget=$b" "h2o:budget=$b" "tova:budget=$b"
  "knorm:budget=$b" "random:budget=$b" "expected:budget=$b")
recipes=(full "spark:ratio=0.5" "spark:ratio=0.8" "think:ratio=0.5" "think:ratio=0.8" "quant:k=q8_0,v=q8_0")
for e in "${evictions[@]}"; do recipes+=("$e" "$e+spark:ratio=0.8" "$e+think:ratio=0.5"); done
printf '| recipe | answer | = full | KV bytes | %% of full |\n|---|---|---|---|---|\n'
full_text=
full_bytes=
for r in "${recipes[@]}"; do
  "$bin" run -m "$model" -f "$prompt" -n 12 --press "$r" --json > "$tmp/out.json"
  python3 - "$tmp/out.json" "$r" "${full_text:-}" "${full_bytes:-0}" > "$tmp/row" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); r = sys.argv[2]; full = sys.argv[3]; fb = int(sys.argv[4])
t = j["text"].split("\n")[0].strip()
kb = j["kv_bytes_after_press"] or j["kv_bytes"]  # full: no press, nothing to compress
same = "–" if r == "full" else ("yes" if t == full else "no")
pct = 100.0 if r == "full" else 100.0 * kb / fb
print(f"| `{r}` | {t} | {same} | {kb} | {pct:.1f} |")
print(t); print(kb)
PY
  head -1 "$tmp/row"
  if [[ $r == full ]]; then full_text=$(sed -n 2p "$tmp/row"); full_bytes=$(sed -n 3p "$tmp/row"); fi
done

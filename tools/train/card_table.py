#!/usr/bin/python3
"""Summarise a `sparkv eval` results.jsonl of the full cache as a task x length Markdown table
(score = mean string_match_all x 100, with the sample count), for the model card.

    /usr/bin/python3 tools/train/card_table.py docs/results/competence/results.jsonl
"""
import collections
import gzip
import json
import sys

rows = [json.loads(ln) for ln in (gzip.open(sys.argv[1], "rt") if sys.argv[1].endswith(".gz") else open(sys.argv[1]))]
rows = [r for r in rows if r["recipe"] == "full" and r.get("cache", "f16") == "f16"]
acc = collections.defaultdict(list)
for r in rows:
    acc[(r["task"], r["length"])].append(r["score"])
tasks = sorted({t for t, _ in acc}, key=lambda t: (t != "passkey", t))
lengths = sorted({n for _, n in acc})
print("| task | " + " | ".join(f"{n} tokens" for n in lengths) + " |")
print("|---|" + "---:|" * len(lengths))
for t in tasks:
    cells = []
    for n in lengths:
        v = acc.get((t, n))
        cells.append(f"{100 * sum(v) / len(v):.1f} (n={len(v)})" if v else "–")
    print(f"| {t} | " + " | ".join(cells) + " |")

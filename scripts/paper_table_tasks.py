#!/usr/bin/python3
"""Per-recipe scores on chosen tasks from a `sparkv eval` results.jsonl(.gz): a Markdown table with
the mean over those tasks, the share of the full cache's bytes, next-token KL and top-1 agreement.
For grids that are partial (not every task done) or where only some tasks were learned.

    /usr/bin/python3 scripts/paper_table_tasks.py docs/results/paper-table-learned/run8-3tasks.jsonl.gz \
        --tasks passkey,niah_single_1,niah_single_2
"""
import argparse
import collections
import gzip
import json

ap = argparse.ArgumentParser()
ap.add_argument("results")
ap.add_argument("--tasks", default="passkey,niah_single_1,niah_single_2")
a = ap.parse_args()
tasks = a.tasks.split(",")
opener = gzip.open if a.results.endswith(".gz") else open
rows = [json.loads(ln) for ln in opener(a.results, "rt")]
score = collections.defaultdict(lambda: collections.defaultdict(list))
meta = collections.defaultdict(lambda: collections.defaultdict(list))
order = []
for r in rows:
    key = r["recipe"] + ("" if r.get("cache", "f16") == "f16" else " @" + r["cache"])
    if key not in order:
        order.append(key)
    score[key][r["task"]].append(r["score"])
    if r["task"] in tasks:
        meta[key]["bytes"].append(r["kv_bytes"] / r["kv_bytes_full"])
        meta[key]["kl"].append(r["fidelity"]["kl"])
        meta[key]["top1"].append(r["fidelity"]["top1"])
mean = lambda v: sum(v) / len(v)  # noqa: E731
# every task the grid has (a whole grid's Avg, as in paper-table.md, next to the chosen tasks' mean)
all_tasks = sorted({r["task"] for r in rows})
wide = len(all_tasks) > len(tasks)
print("| recipe | " + " | ".join(tasks) + " | mean |" + (f" Avg ({len(all_tasks)} tasks) |" if wide else "")
      + " % full bytes | KL | top-1 |")
print("|---|" + "---:|" * (len(tasks) + 4 + wide))
for k in order:
    if not all(score[k].get(t) for t in tasks):
        continue
    v = [100 * mean(score[k][t]) for t in tasks]
    m = meta[k]
    avg = ""
    if wide:
        got = [100 * mean(score[k][t]) for t in all_tasks if score[k].get(t)]
        avg = f" {mean(got):.1f} |" if len(got) == len(all_tasks) else " – |"
    print(f"| `{k}` | " + " | ".join(f"{x:.1f}" for x in v) + f" | {mean(v):.1f} |{avg} {100 * mean(m['bytes']):.1f} | "
          f"{mean(m['kl']):.4f} | {mean(m['top1']):.3f} |")
n = {t: len(score["full"].get(t, [])) for t in tasks}
print(f"\nsamples per task (full cache): {n}")

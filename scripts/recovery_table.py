#!/usr/bin/env python3
"""Summarises `sparkv eval` results.jsonl files (one prefill per sample, many recipes) as a
markdown table: score per task, Avg over the tasks present (tasks weighted equally), KV bytes per
prompt token and as % of the full cache, next-token KL(full || recipe) and top-1 agreement, and the
mean per-layer attention-output error against the full cache.

    python3 scripts/recovery_table.py RESULTS.jsonl[.gz] [...] [--tasks a,b] [--match SUBSTR]
"""
import argparse
import collections
import gzip
import json


def rows_of(paths):
    for p in paths:
        with (gzip.open(p, "rt") if p.endswith(".gz") else open(p)) as f:
            for ln in f:
                yield json.loads(ln)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="+")
    ap.add_argument("--tasks", default="", help="only these tasks (comma-separated)")
    ap.add_argument("--match", default="", help="only labels containing this (plus full)")
    ap.add_argument("--sort", action="store_true", help="sort rows by Avg, best first")
    a = ap.parse_args()
    only = [t for t in a.tasks.split(",") if t]
    score = collections.defaultdict(lambda: collections.defaultdict(list))
    kv, kvfull, kl, top1, aerr = (collections.defaultdict(list) for _ in range(5))
    order, tasks = [], []
    for r in rows_of(a.results):
        if r.get("cache", "f16") != "f16" or (only and r["task"] not in only):
            continue
        lab = r["label"]
        if a.match and lab != "full" and a.match not in lab:
            continue
        if lab not in score:
            order.append(lab)
        if r["task"] not in tasks:
            tasks.append(r["task"])
        score[lab][r["task"]].append(r["score"])
        kv[lab].append(r["kv_bytes"] / r["n_prompt"])
        kvfull[lab].append(r["kv_bytes_full"] / r["n_prompt"])
        f = r.get("fidelity") or {}
        if "kl" in f:
            kl[lab].append(f["kl"])
            top1[lab].append(f["top1"])
            if f.get("attn_err"):
                aerr[lab].append(sum(f["attn_err"]) / len(f["attn_err"]))
    if only:
        tasks = [t for t in only if t in tasks]

    def mean(x):
        return sum(x) / len(x) if x else float("nan")

    def avg(lab):
        return 100.0 * mean([mean(score[lab][t]) for t in tasks if score[lab][t]])

    if a.sort:
        order.sort(key=lambda lab: -avg(lab))
    n = {lab: min(len(v) for v in score[lab].values()) for lab in order}
    print("| recipe | " + " | ".join(tasks) + " | Avg | KV B/tok | % full | KL | top-1 | attn err |")
    print("|---|" + "---:|" * (len(tasks) + 6))
    for lab in order:
        cells = ["%.1f" % (100.0 * mean(score[lab][t])) if score[lab][t] else "–" for t in tasks]
        print("| `%s` | %s | **%.2f** | %.0f | %.1f | %.4f | %.3f | %.3f |" % (
            lab, " | ".join(cells), avg(lab), mean(kv[lab]),
            100.0 * mean(kv[lab]) / mean(kvfull[lab]), mean(kl[lab]), mean(top1[lab]),
            mean(aerr[lab])))
    print("\n(samples per task: %s)" % ", ".join(sorted(set(str(v) for v in n.values()))))


if __name__ == "__main__":
    main()

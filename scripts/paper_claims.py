#!/usr/bin/env python3
"""Checks the SparK paper's two headline claims on a `scripts/paper-table.sh` results.jsonl:
  1. SparK λ=0.8 stacked on an eviction baseline stays within 5% (relative) of that baseline;
  2. ThinK λ=0.8 on the same baseline is far worse.
Prints, per SnapKV budget, the task-averaged score (tasks weighted equally) and mean KL / top-1
of none / ThinK 0.5 / 0.8 / SparK 0.5 / 0.8, and the relative change vs the baseline.

    python3 scripts/paper_claims.py docs/results/paper-table/results.jsonl.gz [--tasks a,b]
"""
import argparse
import collections
import gzip
import json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--tasks", default="", help="only these tasks (comma-separated)")
    a = ap.parse_args()
    only = set(t for t in a.tasks.split(",") if t)
    rows = [json.loads(ln) for ln in (gzip.open(a.results, "rt") if a.results.endswith(".gz") else open(a.results))]
    rows = [r for r in rows if r.get("cache", "f16") == "f16" and (not only or r["task"] in only)]
    by = collections.defaultdict(lambda: collections.defaultdict(list))
    fid = collections.defaultdict(lambda: [[], []])
    for r in rows:
        by[r["label"]][r["task"]].append(r["score"])
        f = r.get("fidelity") or {}
        if "kl" in f:
            fid[r["label"]][0].append(f["kl"])
            fid[r["label"]][1].append(f["top1"])

    def avg(label):
        t = by.get(label)
        if not t:
            return None
        return 100.0 * sum(sum(v) / len(v) for v in t.values()) / len(t)

    def mean(x):
        return sum(x) / len(x) if x else float("nan")

    print("| SnapKV budget | recipe | avg score | Δ vs SnapKV alone | KL | top-1 |")
    print("|---|---|---:|---:|---:|---:|")
    for b in (64, 128, 256, 512):
        base = f"snapkv:budget={b},window=32"
        sb = avg(base)
        for suffix in ("", "+think:ratio=0.5", "+think:ratio=0.8", "+spark:ratio=0.5", "+spark:ratio=0.8"):
            # since session 6 paper-table.sh names the paper's SparK keys
            # (spark:ratio=0.8,recovery=mean,recent=0): a label may carry more keys after the ratio
            labs = [lab for lab in by
                    if lab == base + suffix or (suffix and lab.startswith(base + suffix + ","))]
            for lab in sorted(labs):
                s = avg(lab)
                d = "–" if not suffix else (f"{100.0 * (s - sb) / sb:+.1f}%" if sb else f"{s - sb:+.1f} pts")
                name = lab[len(base) + 1:] if suffix else "none"
                print(f"| {b} | `{name}` | {s:.1f} | {d} | {mean(fid[lab][0]):.3f} | {mean(fid[lab][1]):.3f} |")
    print()
    print(f"full cache: {avg('full'):.1f}")


if __name__ == "__main__":
    main()

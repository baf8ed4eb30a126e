#!/usr/bin/env python3
"""Sweeps three KV-compression recipes on the embedded model with sparkv's Python API and plots
accuracy against KV bytes (the full cache is always included as the reference point).

    PYTHONPATH=build/python python3 examples/sweep_recipes.py            # from a build tree
    python3 examples/sweep_recipes.py --out examples/sweep_recipes.png   # an installed sparkv

Uses RULER's niah_single_1 and passkey-style tasks at 1,024 tokens, the same suites as
`sparkv eval`; the committed PNG was made with the defaults below."""
import argparse
import collections

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import sparkv  # noqa: E402

RECIPES = ["spark:ratio=0.8", "snapkv:budget=512", "snapkv:budget=512+spark:ratio=0.8"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="GGUF file or HF folder (default: embedded)")
    ap.add_argument("--length", type=int, default=1024)
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--tasks", default="niah_single_1,niah_single_2")
    ap.add_argument("--out", default="examples/sweep_recipes.png")
    a = ap.parse_args()

    model = sparkv.Model(a.model)
    rows = sparkv.eval(model, suite="ruler", lengths=[a.length], samples=a.samples,
                       tasks=a.tasks.split(","), press=RECIPES)
    by = collections.defaultdict(list)
    for r in rows:
        by[r["label"]].append(r)
    print(f"{'recipe':40s} {'accuracy':>8s} {'KV bytes':>12s} {'of full':>8s}")
    points = []
    full_bytes = sum(r["kv_bytes"] for r in by["full"]) / len(by["full"])
    for label, rs in by.items():
        acc = 100.0 * sum(r["score"] for r in rs) / len(rs)
        kv = sum(r["kv_bytes"] for r in rs) / len(rs)
        points.append((label, kv, acc))
        print(f"{label:40s} {acc:8.1f} {kv:12,.0f} {kv / full_bytes:8.2f}")

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (label, kv, acc) in enumerate(points):
        ax.scatter(kv / 2**20, acc, s=60)
        ax.annotate(f"{label}\n{acc:.1f}%, {kv / full_bytes:.0%} of full", (kv / 2**20, acc),
                    textcoords="offset points", xytext=(8, 8 if i % 2 == 0 else -22), fontsize=8)
    ax.set_xlabel("KV cache per prompt (MiB, as allocated)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(-5, 110)
    ax.margins(x=0.25)
    ax.set_title(f"{model.info()['architecture']} embedded model, RULER {a.tasks} @ {a.length} "
                 f"tokens, {a.samples} samples/task", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(a.out, dpi=120)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()

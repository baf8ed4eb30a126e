#!/usr/bin/python3
"""Summarise a training log: /usr/bin/python3 tools/train/progress.py /work/sparkv-train/run1"""
import json
import os
import sys

d = sys.argv[1] if len(sys.argv) > 1 else "/work/sparkv-train/run1"
recs = [json.loads(ln) for ln in open(os.path.join(d, "log.jsonl"))]
steps = [r for r in recs if "step" in r and "loss" in r]
events = [r for r in recs if "event" in r and r["event"] != "start"]
for e in events:
    print("event", json.dumps(e))
for r in [s for s in steps if "acc" in s][-5:]:
    print(f"step {r['step']:5d} T={r['T']:4d} loss {r['loss']:.3f} lm {r['lm_loss']:.3f} "
          f"ans {r['ans_loss']:.3f} lr {r['lr']:.2e} elapsed {r['elapsed'] / 3600:.2f}h "
          f"wall {r.get('wall', 0) / 3600:.2f}h tokens {r['tokens'] / 1e6:.2f}M")
    print("   acc", " ".join(f"{k}={v:.2f}" for k, v in r["acc"].items()))

#!/usr/bin/python3
"""Write the demo prompts (data/demo/*.txt): generated tasks exactly as `sparkv eval` builds them
(context + question + answer prefix), from evaluation seeds, so the README demo and
scripts/press-matrix.sh need no Python at run time.

    /usr/bin/python3 tools/train/make_demo_prompts.py --out data/demo
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sparkv_gen.bpe import Tokenizer  # noqa: E402
from sparkv_gen.tasks import EVAL_SEED_BASE, make_sample  # noqa: E402

PROMPTS = [("passkey", 2048, 3), ("niah_single_2", 2048, 0), ("niah_multikey_1", 2048, 0)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="data/demo")
    a = ap.parse_args()
    tok = Tokenizer.load(os.path.join(HERE, "tokenizer", "tokenizer.json"))
    os.makedirs(a.out, exist_ok=True)
    index = []
    for task, length, i in PROMPTS:
        s = make_sample(task, EVAL_SEED_BASE + i, length, tok)
        name = f"{task}-{length}.txt"
        with open(os.path.join(a.out, name), "w", encoding="utf-8") as f:
            f.write(s.prompt)
        index.append({"file": name, "task": task, "length": length, "seed": EVAL_SEED_BASE + i,
                      "answers": s.answers, "prompt_tokens": 1 + len(tok.encode_ordinary(s.prompt))})
    with open(os.path.join(a.out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

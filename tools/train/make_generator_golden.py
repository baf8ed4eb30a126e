#!/usr/bin/python3
"""Write the generators' golden samples (for the C++ port's byte-for-byte test).

    /usr/bin/python3 tools/train/make_generator_golden.py --out data/golden/generators.jsonl
One JSON object a line: the sample record (docs/generators.md §7) + "prompt", "n_prompt_tokens"
(tokens of the prompt without BOS) and the prompt's token ids.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sparkv_gen.bpe import Tokenizer  # noqa: E402
from sparkv_gen.tasks import EVAL_SEED_BASE, TASKS, make_sample  # noqa: E402

CELLS = [(256, 0), (256, 1), (1024, 0)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "tokenizer", "tokenizer.json"))
    a = ap.parse_args()
    tok = Tokenizer.load(a.tokenizer)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        for task in TASKS:
            for L, i in CELLS:
                s = make_sample(task, EVAL_SEED_BASE + i, L, tok)
                d = s.to_dict()
                ids = tok.encode_ordinary(s.prompt)
                d["n_prompt_tokens"] = len(ids)
                d["prompt_ids"] = ids
                f.write(json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()

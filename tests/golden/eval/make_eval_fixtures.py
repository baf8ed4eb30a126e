#!/usr/bin/python3
"""Golden samples of the task generators, made by the Python reference (tools/train/sparkv_gen).

    /usr/bin/python3 tests/golden/eval/make_eval_fixtures.py

Writes, next to this script:
  tokenizer.json, tokenizer_config.json
                   a copy of the tokenizer the samples were sized with (the trained one may be
                   rebuilt later; the fixture must keep the tokenizer it was made with)
  generators.json  {"samples": [...]} for every task x 3 evaluation seeds x 2 lengths, plus
                   splitmix64 / FNV / draw vectors. The long length (4096, which takes the cwe
                   30/3 branch) stores each context as its FNV-1a-64, byte count, head and tail,
                   to keep the fixture small; every other field is stored whole.
The C++ test (tests/unit/eval_generators_test.cpp) regenerates each sample with src/eval and
compares every field.
"""
# --keep-tokenizer: reuse the copy already here instead of the current tools/train/tokenizer.
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
from sparkv_gen.bpe import Tokenizer  # noqa: E402
from sparkv_gen.prose import paragraphs  # noqa: E402
from sparkv_gen.rng import SplitMix64, fnv1a64, stream  # noqa: E402
from sparkv_gen.tasks import EVAL_SEED_BASE, TASKS, make_sample  # noqa: E402
from sparkv_gen.words import words  # noqa: E402

SHORT, LONG = 384, 4096
SEEDS = [EVAL_SEED_BASE + i for i in range(3)]
HEAD = 200


def main():
    src_tok = os.path.join(ROOT, "tools", "train", "tokenizer", "tokenizer.json")
    dst_tok = os.path.join(HERE, "tokenizer.json")
    if "--keep-tokenizer" not in sys.argv or not os.path.exists(dst_tok):
        shutil.copyfile(src_tok, dst_tok)
        shutil.copyfile(os.path.join(os.path.dirname(src_tok), "tokenizer_config.json"),
                        os.path.join(HERE, "tokenizer_config.json"))
    tok = Tokenizer.load(dst_tok)

    samples = []
    for length in (SHORT, LONG):
        for task in TASKS:
            for seed in SEEDS:
                s = make_sample(task, seed, length, tok).to_dict()
                s["prompt_tokens"] = tok.count(s["prompt"])
                del s["prompt"]
                if length == LONG:
                    ctx = s.pop("context").encode("utf-8")
                    s["context_fnv"] = f"{fnv1a64(ctx):016x}"
                    s["context_bytes"] = len(ctx)
                    s["context_head"] = ctx[:HEAD].decode("utf-8")
                    s["context_tail"] = ctx[-HEAD:].decode("utf-8")
                samples.append(s)

    r = SplitMix64(1234567)
    vectors = {
        "splitmix_1234567": [f"{r.next_u64():016x}" for _ in range(3)],
        "fnv_abc": f"{fnv1a64(b'abc'):016x}",
    }
    r = stream("passkey", EVAL_SEED_BASE, 1024, "main")
    vectors["stream_passkey_main_below"] = [r.below(n) for n in (1, 2, 3, 7, 40, 1000003, 2**63 + 5)]
    r = SplitMix64(99)
    lst = list(range(10))
    r.shuffle(lst)
    vectors["shuffle_99"] = lst
    vectors["distinct_99"] = r.distinct(40, 7)
    vectors["prose_paragraphs"] = paragraphs(stream("prose", EVAL_SEED_BASE, 512, "hay"), 12)
    vectors["cwe_pool_size"] = len(words().cwe_pool)
    vectors["cwe_pool_head"] = words().cwe_pool[:5]

    out = {"generator": "tests/golden/eval/make_eval_fixtures.py", "short": SHORT, "long": LONG,
           "vectors": vectors, "samples": samples}
    with open(os.path.join(HERE, "generators.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print(f"wrote {len(samples)} samples")


if __name__ == "__main__":
    main()

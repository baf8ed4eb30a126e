#!/usr/bin/python3
"""Self-tests of the generators and the tokenizer (plain asserts; runs under pytest or alone).

    /usr/bin/python3 tools/train/test_generators.py
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sparkv_gen.bpe import Tokenizer  # noqa: E402
from sparkv_gen.rng import SplitMix64, fnv1a64  # noqa: E402
from sparkv_gen.tasks import EVAL_SEED_BASE, NIAH, TASKS, make_sample  # noqa: E402

GOLDEN = os.path.join(HERE, "..", "..", "data", "golden", "generators.jsonl")
_TOK = None


def tok():
    global _TOK
    if _TOK is None:
        _TOK = Tokenizer.load(os.path.join(HERE, "tokenizer", "tokenizer.json"))
    return _TOK


def test_splitmix64_vector():
    r = SplitMix64(1234567)
    assert [r.next_u64() for _ in range(3)] == [0x599ED017FB08FC85, 0x2C73F08458540FA5, 0x883EBCE5A3F27C77]


def test_fnv1a64_vector():
    assert fnv1a64(b"") == 0xCBF29CE484222325
    assert fnv1a64(b"a") == 0xAF63DC4C8601EC8C


def test_below_range_and_shuffle():
    r = SplitMix64(7)
    xs = [r.below(10) for _ in range(2000)]
    assert min(xs) == 0 and max(xs) == 9
    lst = list(range(20))
    r.shuffle(lst)
    assert sorted(lst) == list(range(20))


def test_tokenizer_roundtrip():
    t = tok()
    s = "One of the secret uuids for b24fa84c-67e8 is: 1234567.\nVAR ABCDE = 42 <|eos|>"
    assert t.decode(t.encode(s)) == s
    assert t.encode("<|bos|>")[0] == t.bos_id
    assert all(len(t.tokens[i]) == 1 for i in t.encode_ordinary("0123456789"))   # digits split


def test_fit_and_answers():
    t = tok()
    for task in TASKS:
        for L in ((1024,) if task == "cwe" else (256, 1024)):
            s = make_sample(task, EVAL_SEED_BASE + 3, L, t)
            n = 1 + t.count(s.prompt) + s.max_new_tokens
            assert n <= L, (task, L, n)
            assert len(t.encode_ordinary(s.target)) + 1 <= s.max_new_tokens, task
            if task in NIAH or task == "passkey":
                for a in s.answers:
                    c = s.context.count(a)
                    want = 2 if task == "passkey" else 1      # passkey line states K twice
                    assert c == want, (task, a, c)
            if task == "vt":      # each name is assigned once and read once (the last: never)
                assert [s.context.count(a) for a in s.answers] == [2, 2, 2, 2, 1]


def test_deterministic():
    t = tok()
    a = make_sample("niah_multikey_1", 5, 512, t)
    b = make_sample("niah_multikey_1", 5, 512, t)
    assert a.to_dict() == b.to_dict()


def test_golden():
    if not os.path.exists(GOLDEN):
        return
    t = tok()
    with open(GOLDEN, encoding="utf-8") as f:
        for line in f:
            g = json.loads(line)
            s = make_sample(g["task"], g["seed"], g["length"], t)
            d = s.to_dict()
            for k in ("context", "question", "answer_prefix", "answers", "target", "n_units", "depths"):
                assert d[k] == g[k], (g["task"], g["seed"], g["length"], k)
            assert t.encode_ordinary(s.prompt) == g["prompt_ids"]


if __name__ == "__main__":
    n = 0
    for name, fn in sorted(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            n += 1
    print(f"{n} passed, 0 failed")

#!/usr/bin/python3
"""Train the byte-level BPE tokenizer on generated text and write tokenizer.json (+ config).

    /usr/bin/python3 tools/train/build_tokenizer.py --out tools/train/tokenizer --vocab 3072
    /usr/bin/python3 tools/train/build_tokenizer.py --out tools/train/tokenizer-l3 --vocab 4096 --split llama3
The second (sparkv-tiny-learned's) splits numbers into 1-3 digit chunks, as Llama-3 does, and
reserves its first 1,100 merges for those chunks, so every one is a single token.
The corpus is deterministic (training seeds only), so the result is reproducible.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sparkv_gen.bpe import SPECIALS, SPLITS, Tokenizer, digit_chunk_merges, train_bpe  # noqa: E402
from sparkv_gen.prose import paragraphs  # noqa: E402
from sparkv_gen.rng import SplitMix64  # noqa: E402
from sparkv_gen.tasks import TASKS, make_sample  # noqa: E402
from sparkv_gen.words import words  # noqa: E402


class _CharCount:
    """Stand-in token counter (4 chars ~ 1 token) used only to size the corpus samples."""

    def count(self, s):
        return len(s) // 4


def corpus():
    rng = SplitMix64(0x70CE)
    texts = [paragraphs(rng, 20) for _ in range(3000)]
    cc = _CharCount()
    for t in TASKS:
        for i in range(40):
            s = make_sample(t, 1_000_000 + i, 512, cc)
            texts.append(s.prompt + s.target)
    from sparkv_gen.tasks import draw_word_key
    texts.append(" ".join(draw_word_key(rng) for _ in range(20000)))   # "adjective-noun" keys
    texts.append(" ".join(words().cwe_pool))
    texts.append("\n".join(words().cwe_pool))
    return texts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab", type=int, default=3072)
    ap.add_argument("--split", choices=sorted(SPLITS), default="qwen2")
    a = ap.parse_args()
    t0 = time.time()
    texts = corpus()
    fixed = digit_chunk_merges() if a.split == "llama3" else []
    merges = fixed + train_bpe(texts, a.vocab - 256 - len(SPECIALS) - len(fixed), a.split,
                               skip_digits=bool(fixed))
    tok = Tokenizer(merges, split=a.split)
    os.makedirs(a.out, exist_ok=True)
    tok.save(os.path.join(a.out, "tokenizer.json"))
    with open(os.path.join(a.out, "tokenizer_config.json"), "w") as f:
        json.dump(tok.hf_tokenizer_config(), f, indent=1)
    tok2 = Tokenizer.load(os.path.join(a.out, "tokenizer.json"))
    n_chars = sum(len(t) for t in texts)
    n_tok = sum(len(tok2.encode(t)) for t in texts)
    print(f"vocab {tok2.n_vocab} merges {len(merges)} corpus {n_chars} chars -> {n_tok} tokens "
          f"({n_chars / n_tok:.2f} chars/token) in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()

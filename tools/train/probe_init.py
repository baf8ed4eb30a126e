#!/usr/bin/python3
"""Retrieval of an initialised, untrained model: teacher-forced accuracy on the answer digits
(all of them, and the first one) of evaluation-seed samples. Measures what an init circuit does
before any training (tools/train/README.md, "Key-aware induction circuit at init").

    /usr/bin/python3 tools/train/probe_init.py                 # plain induction vs +key circuit
    /usr/bin/python3 tools/train/probe_init.py --n 50 --unequal-norm
"""
import argparse
import os
import re
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import Config, LlamaForCausalLM, induction_init, key_match_init  # noqa: E402
from sparkv_gen.bpe import Tokenizer  # noqa: E402
from sparkv_gen.tasks import make_sample  # noqa: E402

CASES = [("niah_multikey_1", 256), ("niah_multikey_1", 1024), ("niah_single_2", 1024), ("passkey", 512)]


def build(tok, key, equal_norm, seed):
    torch.manual_seed(seed)
    cfg = Config(vocab_size=tok.n_vocab, hidden_size=256, intermediate_size=640, num_hidden_layers=4,
                 num_attention_heads=4, num_key_value_heads=2, head_dim=64, rope_theta=500000.0,
                 max_position_embeddings=4096, bos_token_id=tok.bos_id, eos_token_id=tok.eos_id)
    m = LlamaForCausalLM(cfg)
    parts = induction_init(m, seed=seed, max_dist=2048, equal_norm=equal_norm)
    if key:
        key_ids = [i for i in range(tok.n_vocab) if re.fullmatch(r"-[a-z]+", tok.decode([i]) or "")]
        key_match_init(m, parts, key_ids, seed=seed)
    return m.eval()


@torch.no_grad()
def probe(m, tok, task, L, n):
    digits = {tok.encode_ordinary(str(i))[0] for i in range(10)}
    ok = tot = first = 0
    for i in range(n):
        s = make_sample(task, (1 << 40) + 1000 + i, L, tok)   # evaluation seeds
        p = [tok.bos_id] + tok.encode_ordinary(s.prompt)
        t = tok.encode_ordinary(s.target)
        pred = m(torch.tensor([p + t]))[0].argmax(-1)
        js = [j for j, x in enumerate(t) if x in digits]
        hits = [int(pred[len(p) + j - 1] == t[j]) for j in js]
        ok, tot, first = ok + sum(hits), tot + len(hits), first + hits[0]
    return ok / tot, first / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--unequal-norm", action="store_true", help="run3's induction_init (norms vary)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    tok = Tokenizer.load(os.path.join(HERE, "tokenizer", "tokenizer.json"))
    print("| init | task | tokens | digit acc | first digit |\n|---|---|---|---|---|")
    for name, key in (("induction", False), ("induction+key", True)):
        m = build(tok, key, not a.unequal_norm, a.seed)
        for task, L in CASES:
            acc, first = probe(m, tok, task, L, a.n)
            print(f"| {name} | {task} | {L} | {acc:.2f} | {first:.2f} |", flush=True)


if __name__ == "__main__":
    main()

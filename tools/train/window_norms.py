#!/usr/bin/python3
"""SparK's per-channel window-query norms n_j on the embedded model (what its mean recovery
divides by: recovered |k| ~ n_j^-1/2). The group-mean RoPE'd queries of the last 32 prompt
positions, L2 norm over those positions, per layer and KV head (docs/results/paper-table.md).

    /usr/bin/python3 tools/train/window_norms.py --hf models/sparkv-tiny-hf --prompt data/demo/passkey-2048.txt
"""
import argparse
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from attention_profile import capture  # noqa: E402
from eval_py import load_model  # noqa: E402
from sparkv_gen.bpe import Tokenizer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hf", default=os.path.join(HERE, "..", "..", "models", "sparkv-tiny-hf"))
    ap.add_argument("--prompt", default=os.path.join(HERE, "..", "..", "data", "demo", "passkey-2048.txt"))
    ap.add_argument("--window", type=int, default=32)
    a = ap.parse_args()
    torch.set_num_threads(2)
    tok = Tokenizer.load(os.path.join(HERE, "tokenizer", "tokenizer.json"))
    m = load_model(hf=a.hf)[0].float()
    ids = [tok.bos_id] + tok.encode_ordinary(open(a.prompt).read())
    qs = [q.float() for q, _ in capture(m, ids)]                  # per layer [H, T, D]
    cfg = m.config
    g = cfg.num_attention_heads // cfg.num_key_value_heads
    print("| layer | KV head | n_j = 0 | min | median | max |\n|---|---|---:|---:|---:|---:|")
    for li in range(cfg.num_hidden_layers):
        q = qs[li]
        for h in range(cfg.num_key_value_heads):
            n = q[h * g:(h + 1) * g, -a.window:, :].mean(0).norm(dim=0)   # [D]
            s = n.sort().values
            print(f"| {li} | {h} | {(n == 0).sum().item()} / {n.numel()} | {s[0]:.3g} | {s[n.numel() // 2]:.3g} | {s[-1]:.3g} |")


if __name__ == "__main__":
    main()

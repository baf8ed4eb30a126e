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
import model as M  # noqa: E402
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
    qs = {}
    orig = M.Attention.forward

    def fwd(self, x, cos, sin, mask, kv_cache=None):
        c = self.c
        q = self.q_proj(x).view(x.shape[0], x.shape[1], c.num_attention_heads, c.head_dim).transpose(1, 2)
        qs[id(self)] = (q * cos + M.rotate_half(q) * sin)[0]     # [H, T, D]
        return orig(self, x, cos, sin, mask, kv_cache)

    M.Attention.forward = fwd
    ids = [tok.bos_id] + tok.encode_ordinary(open(a.prompt).read())
    with torch.no_grad():
        m(torch.tensor([ids]))
    cfg = m.config
    g = cfg.num_attention_heads // cfg.num_key_value_heads
    print("| layer | KV head | n_j = 0 | min | median | max |\n|---|---|---:|---:|---:|---:|")
    for li, lay in enumerate(m.model.layers):
        q = qs[id(lay.self_attn)]
        for h in range(cfg.num_key_value_heads):
            n = q[h * g:(h + 1) * g, -a.window:, :].mean(0).norm(dim=0)   # [D]
            s = n.sort().values
            print(f"| {li} | {h} | {(n == 0).sum().item()} / {n.numel()} | {s[0]:.3g} | {s[n.numel() // 2]:.3g} | {s[-1]:.3g} |")


if __name__ == "__main__":
    main()

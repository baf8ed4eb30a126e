#!/usr/bin/python3
"""Export a training checkpoint to a Hugging Face folder and GGUF files.

    /usr/bin/python3 tools/train/export.py --ckpt /work/sparkv-train/run1/ckpt.pt --out models

writes
    models/sparkv-tiny-hf/      config.json (LlamaForCausalLM), generation_config.json,
                                model.safetensors (--hf-dtype, default F16), tokenizer.json,
                                tokenizer_config.json (ChatML chat template)
    models/sparkv-tiny-f16.gguf   arch llama (Q/K rows permuted as llama.cpp does), F16 weights
    models/sparkv-tiny-q8_0.gguf  the same in Q8_0
(--name sets the stem: --name sparkv-tiny-learned --tokenizer tools/train/tokenizer-l3/tokenizer.json
for the learned model of issue 18)
with the tokenizer embedded in the GGUF files (tokenizer.ggml.model gpt2, pre qwen2, tokens,
token_type, merges, bos/eos ids, add_bos_token, chat template). Uses tools/pylib/sparkv_py
(hf_export, gguf_export) for the file formats. --check re-reads the outputs and compares the
logits of the PyTorch model with the re-loaded weights on a few prompts.
"""
import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
from model import Config, LlamaForCausalLM  # noqa: E402
from sparkv_gen.bpe import Tokenizer  # noqa: E402
from sparkv_py.gguf_export import load_gguf_as_hf, write_gguf  # noqa: E402
from sparkv_py.hf_export import make_config, read_hf_folder, write_hf_folder  # noqa: E402



def hf_config(c: Config):
    return make_config("llama", hidden_size=c.hidden_size, intermediate_size=c.intermediate_size,
                       num_hidden_layers=c.num_hidden_layers,
                       num_attention_heads=c.num_attention_heads,
                       num_key_value_heads=c.num_key_value_heads, vocab_size=c.vocab_size,
                       head_dim=c.head_dim, rms_norm_eps=c.rms_norm_eps, rope_theta=c.rope_theta,
                       max_position_embeddings=c.max_position_embeddings,
                       tie_word_embeddings=True, bos_token_id=c.bos_token_id,
                       eos_token_id=c.eos_token_id)


def check_logits(model, weights, tok, label, tol):
    """Load `weights` (HF names, float32) into a copy of the model and compare logits."""
    m2 = LlamaForCausalLM(model.config)
    m2.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in weights.items()})
    m2.eval()
    texts = ["The secret number for wise-jacket in the text above is:",
             "Her salty cottage wandered around a summer because her sugar swam.",
             "What is the pass key? The pass key is"]
    worst = 0.0
    with torch.no_grad():
        for t in texts:
            x = torch.tensor([[tok.bos_id] + tok.encode(t)])
            worst = max(worst, float((model(x) - m2(x)).abs().max()))
    status = "ok" if worst <= tol else "FAIL"
    print(f"  {label}: max |logit diff| vs PyTorch = {worst:.3g} (tol {tol}) {status}")
    return worst <= tol


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", default="models")
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "tokenizer", "tokenizer.json"))
    ap.add_argument("--hf-dtype", default="F16", choices=["F32", "F16", "BF16"])
    ap.add_argument("--gguf-types", default="F16,Q8_0")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--name", default="sparkv-tiny",
                    help="file-name stem and general.name (sparkv-tiny-learned for run8)")
    a = ap.parse_args()
    NAME = a.name

    ck = torch.load(a.ckpt, map_location="cpu")
    cfg = Config(**ck["config"])
    model = LlamaForCausalLM(cfg)
    model.load_state_dict(ck["model"])
    model.eval()
    tok = Tokenizer.load(a.tokenizer)
    if tok.n_vocab != cfg.vocab_size:
        raise SystemExit(f"tokenizer {a.tokenizer} has {tok.n_vocab} tokens, model {cfg.vocab_size}")
    weights = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    hcfg = hf_config(cfg)
    os.makedirs(a.out, exist_ok=True)

    hf_dir = os.path.join(a.out, f"{NAME}-hf")
    files = write_hf_folder(hf_dir, hcfg, weights, dtype=a.hf_dtype, tokenizer=tok)
    print(f"{hf_dir}: {', '.join(files)}")
    ggufs = []
    for wt in [t.strip().upper() for t in a.gguf_types.split(",") if t.strip()]:
        path = os.path.join(a.out, f"{NAME}-{wt.lower()}.gguf")
        write_gguf(path, hcfg, weights, wtype=wt, tokenizer=tok, name=NAME)
        ggufs.append((wt, path))
        print(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB")
    total = sum(os.path.getsize(os.path.join(hf_dir, f)) for f in files) + sum(os.path.getsize(p) for _, p in ggufs)
    print(f"total exported size {total / 1e6:.2f} MB")

    if a.check:
        ok = True
        _, w_hf = read_hf_folder(hf_dir)
        ok &= check_logits(model, w_hf, tok, f"HF {a.hf_dtype}", 2e-2 if a.hf_dtype != "F32" else 1e-4)
        for wt, path in ggufs:
            _, w_g, _ = load_gguf_as_hf(path)
            tol = {"F32": 1e-4, "F16": 2e-2}.get(wt, 0.5)
            ok &= check_logits(model, w_g, tok, f"GGUF {wt}", tol)
        if not ok:
            raise SystemExit("export check failed")


if __name__ == "__main__":
    main()

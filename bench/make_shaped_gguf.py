#!/usr/bin/python3
"""Write a random-weight GGUF with the shape of a real checkpoint, for memory and speed
benchmarks that must see real tensor sizes (nothing can be downloaded here).

    /usr/bin/python3 bench/make_shaped_gguf.py --shape qwen3-0.6b --type Q8_0 \\
        --out /work/sparkv-bench/qwen3-0.6b-shaped-q8_0.gguf

The weights are seeded normal noise (std 0.02; norms 1), so the model's text is noise: use it for
bytes, peak RSS and tokens per second, never for accuracy. The tokenizer is the embedded model's
byte-level BPE (models/sparkv-tiny-q8_0.gguf) padded with unused tokens to the shape's vocabulary,
so text prompts work (sparkv run / serve, llama.cpp) and every weight has its real size. Shapes
follow the published config.json of each model.
"""
import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools", "pylib"))

from sparkv_py.gguf_reader import GgufReader  # noqa: E402
from sparkv_py.gguf_writer import GgufWriter  # noqa: E402

# arch, layers, hidden, heads, kv heads, head_dim, ffn, vocab, rope theta, tied, qk_norm, ctx
SHAPES = {
    "qwen3-0.6b": dict(arch="qwen3", n_layer=28, n_embd=1024, n_head=16, n_head_kv=8,
                       head_dim=128, n_ff=3072, n_vocab=151936, rope_theta=1e6, tied=True,
                       qk_norm=True, ctx=40960),
    "llama3.2-1b": dict(arch="llama", n_layer=16, n_embd=2048, n_head=32, n_head_kv=8,
                        head_dim=64, n_ff=8192, n_vocab=128256, rope_theta=5e5, tied=True,
                        qk_norm=False, ctx=131072),
    # For tests: the Qwen3 layout at a size CI builds in a second.
    "qwen3-mini": dict(arch="qwen3", n_layer=2, n_embd=128, n_head=4, n_head_kv=2,
                       head_dim=128, n_ff=256, n_vocab=4096, rope_theta=1e6, tied=True,
                       qk_norm=True, ctx=131072),
}

TOKENIZER_SOURCE = os.path.join(ROOT, "models", "sparkv-tiny-q8_0.gguf")
FILE_TYPE = {"F16": 1, "Q8_0": 7, "Q4_0": 2}


def add_tokenizer(w, n_vocab):
    r = GgufReader(TOKENIZER_SOURCE)
    tokens = list(r.kv["tokenizer.ggml.tokens"])
    types = list(r.kv["tokenizer.ggml.token_type"])
    if n_vocab < len(tokens):
        raise SystemExit(f"vocabulary {n_vocab} is smaller than the tokenizer's {len(tokens)}")
    pad = n_vocab - len(tokens)
    tokens += [f"<|unused_{i}|>" for i in range(pad)]
    types += [5] * pad  # llama.cpp's LLAMA_TOKEN_TYPE_UNUSED
    for key in ("tokenizer.ggml.model", "tokenizer.ggml.pre"):
        w.add_kv(key, r.kv[key], "string")
    w.add_kv("tokenizer.ggml.tokens", tokens, "array", elem_type="string")
    w.add_kv("tokenizer.ggml.token_type", types, "array:i32")
    w.add_kv("tokenizer.ggml.merges", list(r.kv["tokenizer.ggml.merges"]), "array",
             elem_type="string")
    for key in ("tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                "tokenizer.ggml.padding_token_id"):
        w.add_kv(key, r.kv[key], "u32")
    w.add_kv("tokenizer.ggml.add_bos_token", True, "bool")
    w.add_kv("tokenizer.ggml.add_eos_token", False, "bool")
    w.add_kv("tokenizer.chat_template", r.kv["tokenizer.chat_template"], "string")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="qwen3-0.6b")
    ap.add_argument("--type", choices=sorted(FILE_TYPE), default="Q8_0",
                    help="type of every matrix (norms stay F32)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    s = SHAPES[a.shape]
    rng = np.random.default_rng(a.seed)
    arch, E, D = s["arch"], s["n_embd"], s["head_dim"]
    H, Hkv, F, V = s["n_head"], s["n_head_kv"], s["n_ff"], s["n_vocab"]

    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    w = GgufWriter(a.out)
    w.add_kv("general.architecture", arch, "string")
    w.add_kv("general.name", f"{a.shape}-shaped-random", "string")
    w.add_kv("general.file_type", FILE_TYPE[a.type], "u32")
    if a.type != "F16":
        w.add_kv("general.quantization_version", 2, "u32")
    w.add_kv(f"{arch}.vocab_size", V, "u32")
    w.add_kv(f"{arch}.context_length", s["ctx"], "u32")
    w.add_kv(f"{arch}.embedding_length", E, "u32")
    w.add_kv(f"{arch}.block_count", s["n_layer"], "u32")
    w.add_kv(f"{arch}.feed_forward_length", F, "u32")
    w.add_kv(f"{arch}.attention.head_count", H, "u32")
    w.add_kv(f"{arch}.attention.head_count_kv", Hkv, "u32")
    w.add_kv(f"{arch}.attention.layer_norm_rms_epsilon", 1e-6, "f32")
    w.add_kv(f"{arch}.attention.key_length", D, "u32")
    w.add_kv(f"{arch}.attention.value_length", D, "u32")
    w.add_kv(f"{arch}.rope.freq_base", s["rope_theta"], "f32")
    w.add_kv(f"{arch}.rope.dimension_count", D, "u32")
    add_tokenizer(w, V)

    def mat(name, rows, cols):  # GGUF ne = [cols, rows]; numpy shape [rows, cols]
        w.add_tensor(name, rng.standard_normal((rows, cols), dtype=np.float32) * 0.02, a.type)

    def ones(name, n):
        w.add_tensor(name, np.ones(n, np.float32), "F32")

    mat("token_embd.weight", V, E)
    ones("output_norm.weight", E)
    if not s["tied"]:
        mat("output.weight", V, E)
    for li in range(s["n_layer"]):
        p = f"blk.{li}."
        ones(p + "attn_norm.weight", E)
        mat(p + "attn_q.weight", H * D, E)
        mat(p + "attn_k.weight", Hkv * D, E)
        mat(p + "attn_v.weight", Hkv * D, E)
        mat(p + "attn_output.weight", E, H * D)
        if s["qk_norm"]:
            ones(p + "attn_q_norm.weight", D)
            ones(p + "attn_k_norm.weight", D)
        ones(p + "ffn_norm.weight", E)
        mat(p + "ffn_gate.weight", F, E)
        mat(p + "ffn_up.weight", F, E)
        mat(p + "ffn_down.weight", E, F)
        print(f"\rlayer {li + 1}/{s['n_layer']}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    w.write()
    print(f"{a.out}: {os.path.getsize(a.out) / 2**20:.0f} MiB ({a.shape}, {a.type})")


if __name__ == "__main__":
    main()

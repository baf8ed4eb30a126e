#!/usr/bin/python3
"""Shared by the embedded-model fixture scripts (make_model_parity.py, make_press_model_case.py).

    md = ModelDir(DIR)                 # DIR/sparkv-tiny-hf/ (config.json, model.safetensors, tokenizer.json)
    ids = md.prompt_ids(text)          # [bos] + encode_ordinary(text), the eval runner's prompt ids
    logits, layers = forward(md.cfg, md.weights, ids, capture=True)

Weights: the reference runs on exactly the values sparkv computes with when it loads
DIR/sparkv-tiny-f16.gguf, read from that file's bytes by the independent Python GGUF reader
(tools/pylib/sparkv_py, Q/K rows un-permuted). Its matrices are the HF folder's F16 tensors bit for
bit (checked here); only the RMSNorm weights differ: llama.cpp's convention keeps them F32 in the
GGUF, while the F16 safetensors round them to F16 — a 2^-11 relative change that alone moves the
logits by ~5e-3, more than the 1e-3 parity bound, so a reference on the HF folder's norms would
measure the export, not sparkv.

`forward` is a float64 numpy forward pass (Llama, rotate-half RoPE with config.json's rope_theta,
GQA, tied embeddings) that also returns, per layer, the state sparkv's prefill capture records
(src/press/capture.h): the normalised layer input, the post-RoPE queries and keys, the values. It
reuses the helpers of tools/pylib/sparkv_py/reference_model.py and is checked against that
module's `logits_for` (the reference of the 17 golden models) by `check_forward`.

Run with Debian's /usr/bin/python3 (numpy + the `regex` module for the tokenizer).
"""
import base64
import hashlib
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "pylib"))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
from sparkv_gen.bpe import Tokenizer  # noqa: E402
from sparkv_py import reference_model as ref  # noqa: E402
from sparkv_py.gguf_export import load_gguf_as_hf  # noqa: E402
from sparkv_py.hf_export import read_hf_folder  # noqa: E402

NAME = "sparkv-tiny"
DEFAULT_MODEL_DIR = os.path.join(ROOT, "models")


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class ModelDir:
    """The exported model folder as tools/train/export.py writes it."""

    def __init__(self, path, name=NAME):
        self.path = os.path.abspath(path)
        self.name = name
        self.hf = os.path.join(self.path, f"{name}-hf")
        self.gguf_f16 = os.path.join(self.path, f"{name}-f16.gguf")
        self.gguf_q8_0 = os.path.join(self.path, f"{name}-q8_0.gguf")
        for p in (self.hf, self.gguf_f16):
            if not os.path.exists(p):
                raise SystemExit(f"{p} is missing (export the model with tools/train/export.py)")
        self.cfg, w_hf = read_hf_folder(self.hf)
        if self.cfg.get("model_type") != "llama" or self.cfg.get("rope_scaling"):
            raise SystemExit(f"{self.hf}: expected a llama config without rope_scaling")
        cfg_g, w_g, divisors = load_gguf_as_hf(self.gguf_f16)
        for key in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                    "num_key_value_heads", "vocab_size", "rope_theta"):
            if float(cfg_g[key]) != float(self.cfg[key]):
                raise SystemExit(f"{self.gguf_f16}: {key} {cfg_g[key]} != config.json's {self.cfg[key]}")
        if divisors is not None or set(w_g) != set(w_hf):
            raise SystemExit(f"{self.gguf_f16}: tensors differ from {self.hf}'s")
        self.norm_rounding = 0.0  # max |GGUF F32 norm weight - HF F16 norm weight|
        for k, v in w_g.items():
            if v.ndim == 2 and not np.array_equal(v, w_hf[k]):
                raise SystemExit(f"{k}: the GGUF F16 matrix differs from the HF folder's")
            if v.ndim == 1:
                self.norm_rounding = max(self.norm_rounding, float(np.abs(v - w_hf[k]).max()))
        # f16/f32 -> f64 is exact: the reference sees the file's values.
        self.weights = {k: np.asarray(v, np.float64) for k, v in w_g.items()}
        self.hf_weights = {k: np.asarray(v, np.float64) for k, v in w_hf.items()}
        self.tok = Tokenizer.load(os.path.join(self.hf, "tokenizer.json"))
        if self.tok.n_vocab != self.cfg["vocab_size"]:
            raise SystemExit(f"tokenizer has {self.tok.n_vocab} tokens, config {self.cfg['vocab_size']}")

    def prompt_ids(self, text):
        return [self.tok.bos_id] + self.tok.encode_ordinary(text)

    def provenance(self):
        """What a fixture belongs to: the files' sha256 and the config values that matter."""
        out = {"gguf_f16_sha256": sha256(self.gguf_f16),
               "hf_safetensors_sha256": sha256(os.path.join(self.hf, "model.safetensors")),
               "rope_theta": float(self.cfg.get("rope_theta", 10000.0)),
               "norm_weight_f16_rounding": self.norm_rounding}
        if os.path.exists(self.gguf_q8_0):
            out["gguf_q8_0_sha256"] = sha256(self.gguf_q8_0)
        return out


def forward(cfg, weights, ids, capture=False):
    """-> (logits [T, vocab] float64, per-layer dicts or None).

    Layer dict (float64): xn [T, E] (RMSNorm'd input, what q/k/v project), q [T, H, D] and
    k [T, KV, D] after RoPE, v [T, KV, D].
    """
    ids = np.asarray(ids, dtype=np.int64)
    T = len(ids)
    H = int(cfg["num_attention_heads"])
    KV = int(cfg.get("num_key_value_heads") or H)
    D = ref.head_dim(cfg)
    g = H // KV
    eps = float(cfg.get("rms_norm_eps", 1e-6))
    inv = ref.inv_freq(cfg)
    pos = np.arange(T)
    emb = weights["model.embed_tokens.weight"]
    x = emb[ids]                                                           # [T, E]
    causal = np.triu(np.full((T, T), -np.inf), k=1)
    layers = [] if capture else None
    for li in range(int(cfg["num_hidden_layers"])):
        p = f"model.layers.{li}."
        xn = ref.rms_norm(x, weights[p + "input_layernorm.weight"], eps)
        q = (xn @ weights[p + "self_attn.q_proj.weight"].T).reshape(T, H, D)
        k = (xn @ weights[p + "self_attn.k_proj.weight"].T).reshape(T, KV, D)
        v = (xn @ weights[p + "self_attn.v_proj.weight"].T).reshape(T, KV, D)
        q = ref.rope(q, pos, inv)
        k = ref.rope(k, pos, inv)
        out = np.empty((T, H, D))
        for h in range(H):
            s = q[:, h, :] @ k[:, h // g, :].T / math.sqrt(D) + causal     # [T, T]
            s = np.exp(s - s.max(axis=1, keepdims=True))
            out[:, h, :] = (s / s.sum(axis=1, keepdims=True)) @ v[:, h // g, :]
        x = x + out.reshape(T, H * D) @ weights[p + "self_attn.o_proj.weight"].T
        hn = ref.rms_norm(x, weights[p + "post_attention_layernorm.weight"], eps)
        gate = hn @ weights[p + "mlp.gate_proj.weight"].T
        up = hn @ weights[p + "mlp.up_proj.weight"].T
        x = x + (gate / (1.0 + np.exp(-gate)) * up) @ weights[p + "mlp.down_proj.weight"].T
        if capture:
            layers.append(dict(xn=xn, q=q, k=k, v=v))
    x = ref.rms_norm(x, weights["model.norm.weight"], eps)
    head = weights.get("lm_head.weight") if not cfg.get("tie_word_embeddings") else None
    return x @ (emb if head is None else head).T, layers


def check_forward(cfg, weights, ids, logits, tol=1e-9):
    """Cross-checks `forward` against sparkv_py.reference_model.logits_for on one prompt."""
    want = ref.logits_for(cfg, weights, ids)
    err = float(np.abs(want - logits).max())
    if err > tol:
        raise SystemExit(f"forward() and reference_model.logits_for differ by {err:.3g}")
    return err

#!/usr/bin/python3
"""Independent float64 numpy forward pass for llama / mistral / qwen2 / qwen3 (HF semantics).

    logits = logits_for(config, weights, token_ids)      # [T, vocab] float64
    ids    = greedy(config, weights, prompt_ids, n)      # n new ids (argmax, full recompute)
    ids, margins = greedy_with_margins(config, weights, prompt_ids, n)

`config` is a HF config.json dict (hidden_size, intermediate_size, num_hidden_layers,
num_attention_heads, num_key_value_heads, head_dim (optional), rms_norm_eps, rope_theta,
rope_scaling (null or llama3), tie_word_embeddings, model_type). `weights` maps HF names
(model.embed_tokens.weight, model.layers.N.self_attn.q_proj.weight [out, in], ...) to arrays.
Qwen2 q/k/v biases are used when present; Qwen3 q_norm/k_norm (RMSNorm over head_dim, applied
per head before RoPE) when present. RoPE is HF "rotate_half" (channel i pairs with i + hd/2).
`rope_divisors` (optional, [hd/2]) divides the unscaled inverse frequencies, as GGUF's
rope_freqs.weight does; it replaces the config's rope_scaling.
"""
import math

import numpy as np


def head_dim(cfg):
    return int(cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"])


def inv_freq(cfg, rope_divisors=None):
    hd = head_dim(cfg)
    theta = float(cfg.get("rope_theta", 10000.0))
    inv = theta ** (-(np.arange(0, hd, 2, dtype=np.float64) / hd))
    if rope_divisors is not None:
        return inv / np.asarray(rope_divisors, dtype=np.float64)
    rs = cfg.get("rope_scaling")
    if rs:
        kind = rs.get("rope_type", rs.get("type"))
        if kind == "llama3":
            inv = llama3_scale(inv, rs)
        elif kind == "linear":
            inv = inv / float(rs["factor"])
        elif kind not in (None, "default"):
            raise ValueError(f"rope_scaling type {kind} not supported by the reference")
    return inv


def llama3_scale(inv, rs):
    factor = float(rs["factor"])
    low = float(rs.get("low_freq_factor", 1.0))
    high = float(rs.get("high_freq_factor", 4.0))
    orig = float(rs.get("original_max_position_embeddings", 8192))
    out = np.empty_like(inv)
    for i, f in enumerate(inv):
        lam = 2.0 * math.pi / f
        if lam < orig / high:
            out[i] = f
        elif lam > orig / low:
            out[i] = f / factor
        else:
            s = (orig / lam - low) / (high - low)
            out[i] = (1.0 - s) * f / factor + s * f
    return out


def llama3_divisors(cfg):
    """GGUF rope_freqs.weight values: unscaled inv_freq / scaled inv_freq, per frequency."""
    hd = head_dim(cfg)
    theta = float(cfg.get("rope_theta", 10000.0))
    inv = theta ** (-(np.arange(0, hd, 2, dtype=np.float64) / hd))
    return inv / llama3_scale(inv, cfg["rope_scaling"])


def rms_norm(x, w, eps):
    x = np.asarray(x, np.float64)
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * np.asarray(w, np.float64)


def rope(x, pos, inv):
    """x: [T, H, hd], rotate_half convention."""
    hd = x.shape[-1]
    ang = np.asarray(pos, np.float64)[:, None] * inv[None, :]          # [T, hd/2]
    cos = np.cos(ang)[:, None, :]
    sin = np.sin(ang)[:, None, :]
    x1, x2 = x[..., :hd // 2], x[..., hd // 2:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def _w(weights, name):
    return np.asarray(weights[name], np.float64)


def logits_for(cfg, weights, token_ids, rope_divisors=None):
    ids = np.asarray(token_ids, dtype=np.int64)
    T = len(ids)
    D = int(cfg["hidden_size"])
    H = int(cfg["num_attention_heads"])
    KV = int(cfg.get("num_key_value_heads") or H)
    hd = head_dim(cfg)
    eps = float(cfg.get("rms_norm_eps", 1e-6))
    inv = inv_freq(cfg, rope_divisors)
    pos = np.arange(T)
    emb = _w(weights, "model.embed_tokens.weight")
    x = emb[ids]                                                         # [T, D]
    mask = np.triu(np.full((T, T), -np.inf), k=1)
    for L in range(int(cfg["num_hidden_layers"])):
        p = f"model.layers.{L}."
        h = rms_norm(x, weights[p + "input_layernorm.weight"], eps)
        qkv = []
        for nm in ("q", "k", "v"):
            y = h @ _w(weights, p + f"self_attn.{nm}_proj.weight").T
            if p + f"self_attn.{nm}_proj.bias" in weights:
                y = y + _w(weights, p + f"self_attn.{nm}_proj.bias")
            qkv.append(y)
        q = qkv[0].reshape(T, H, hd)
        k = qkv[1].reshape(T, KV, hd)
        v = qkv[2].reshape(T, KV, hd)
        if p + "self_attn.q_norm.weight" in weights:
            q = rms_norm(q, weights[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, weights[p + "self_attn.k_norm.weight"], eps)
        q = rope(q, pos, inv)
        k = rope(k, pos, inv)
        g = H // KV
        out = np.empty((T, H, hd))
        for hh in range(H):
            kh = hh // g
            s = (q[:, hh, :] @ k[:, kh, :].T) / math.sqrt(hd) + mask     # [T, T]
            s = s - s.max(axis=1, keepdims=True)
            pr = np.exp(s)
            pr /= pr.sum(axis=1, keepdims=True)
            out[:, hh, :] = pr @ v[:, kh, :]
        x = x + out.reshape(T, H * hd) @ _w(weights, p + "self_attn.o_proj.weight").T
        h = rms_norm(x, weights[p + "post_attention_layernorm.weight"], eps)
        gate = h @ _w(weights, p + "mlp.gate_proj.weight").T
        up = h @ _w(weights, p + "mlp.up_proj.weight").T
        act = gate / (1.0 + np.exp(-gate)) * up
        x = x + act @ _w(weights, p + "mlp.down_proj.weight").T
    x = rms_norm(x, weights["model.norm.weight"], eps)
    if "lm_head.weight" in weights and not cfg.get("tie_word_embeddings", False):
        head = _w(weights, "lm_head.weight")
    else:
        head = emb
    return x @ head.T


def greedy_with_margins(cfg, weights, prompt_ids, n, rope_divisors=None):
    """-> (new ids, per-step top1 - top2 logit margins, logits of the prompt [T, vocab])."""
    ids = [int(t) for t in prompt_ids]
    new, margins, prompt_logits = [], [], None
    for step in range(n):
        lg = logits_for(cfg, weights, ids, rope_divisors)
        if step == 0:
            prompt_logits = lg
        last = lg[-1]
        order = np.argsort(-last, kind="stable")
        margins.append(float(last[order[0]] - last[order[1]]))
        nxt = int(order[0])
        new.append(nxt)
        ids.append(nxt)
    return new, margins, prompt_logits


def greedy(cfg, weights, prompt_ids, n, rope_divisors=None):
    return greedy_with_margins(cfg, weights, prompt_ids, n, rope_divisors)[0]

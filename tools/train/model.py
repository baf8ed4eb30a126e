"""Llama-architecture decoder as sparkv runs it: RMSNorm, RoPE (HF rotate_half), SwiGLU, GQA,
tied embeddings, no biases. Parameter names follow HF LlamaForCausalLM (lm_head tied to
model.embed_tokens.weight, so it is not a separate entry in the state dict).

Attention is written out explicitly (torch 1.13 has no scaled_dot_product_attention); training
on a torch that has it may switch to it (`USE_SDPA`, set by train.py on CUDA) — same maths,
without the [B, H, T, S] score tensor in memory.
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F

USE_SDPA = False
QBLOCK = 512   # query rows per causal attention block (Attention.forward)

@dataclass
class Config:
    vocab_size: int = 3072
    hidden_size: int = 256
    intermediate_size: int = 768
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 64
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    max_position_embeddings: int = 4096
    bos_token_id: int = 3068
    eos_token_id: int = 3069

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):   # x: [..., d]
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rope_cos_sin(pos, head_dim, theta):
    """pos: [B, T] int64 -> cos, sin: [B, 1, T, head_dim] (HF layout: freqs duplicated)."""
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32, device=pos.device) / head_dim))
    f = pos.to(torch.float32)[..., None] * inv          # [B, T, D/2]
    emb = torch.cat([f, f], dim=-1)                     # [B, T, D]
    return emb.cos()[:, None], emb.sin()[:, None]


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Attention(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.q_proj = nn.Linear(c.hidden_size, c.num_attention_heads * c.head_dim, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, c.num_key_value_heads * c.head_dim, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, c.num_key_value_heads * c.head_dim, bias=False)
        self.o_proj = nn.Linear(c.num_attention_heads * c.head_dim, c.hidden_size, bias=False)

    def forward(self, x, cos, sin, mask, kv_cache=None):
        B, T, _ = x.shape
        c = self.c
        q = self.q_proj(x).view(B, T, c.num_attention_heads, c.head_dim).transpose(1, 2)   # [B,H,T,D]
        k = self.k_proj(x).view(B, T, c.num_key_value_heads, c.head_dim).transpose(1, 2)   # [B,Hkv,T,D]
        v = self.v_proj(x).view(B, T, c.num_key_value_heads, c.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if kv_cache is not None:                     # inference: append to the full cache
            if kv_cache.get("k") is not None:
                k = torch.cat([kv_cache["k"], k], dim=2)
                v = torch.cat([kv_cache["v"], v], dim=2)
            kv_cache["k"], kv_cache["v"] = k, v
        rep = c.num_attention_heads // c.num_key_value_heads
        if USE_SDPA and kv_cache is None:
            dt = v.dtype                              # under autocast q, k are f32 after RoPE
            kk = k.to(dt).repeat_interleave(rep, dim=1)                                 # [B,H,S,D]
            vv = v.repeat_interleave(rep, dim=1)
            o = F.scaled_dot_product_attention(q.to(dt), kk, vv, attn_mask=mask)      # mask [B,1,T,S]
            return self.o_proj(o.transpose(1, 2).reshape(B, T, -1))
        # q heads grouped: q head h uses kv head h // rep (HF repeat_kv)
        qg = q.view(B, c.num_key_value_heads, rep, T, c.head_dim)                        # [B,Hkv,rep,T,D]
        # scale q, not the [T, S] scores: an elementwise pass over T*D instead of T*S elements
        # (the division was 8% of a T=2048 training step on 2 cores)
        qg = qg * (1.0 / math.sqrt(c.head_dim))
        kt = k.unsqueeze(2).transpose(-1, -2)                                           # [B,Hkv,1,D,S]
        vg = v.unsqueeze(2)                                                             # [B,Hkv,1,S,D]
        S = k.shape[2]
        # Without a cache every mask here is causal (lower-triangular: training's document masks
        # are causal too), so a block of queries never sees the keys after its last position:
        # blocks of QBLOCK queries skip them (at T=4096 a step took 8.8 s whole, 5.1 s in halves).
        blocks = [(0, T)]
        if kv_cache is None and S == T and T >= 2 * QBLOCK:
            blocks = [(q0, min(T, q0 + QBLOCK)) for q0 in range(0, T, QBLOCK)]
        outs = []
        for q0, q1 in blocks:
            s_ = torch.matmul(qg[..., q0:q1, :], kt[..., :q1])                         # [B,Hkv,rep,t,s]
            s_ = s_.masked_fill(~mask[:, None, :, q0:q1, :q1], float("-inf"))  # mask [B,1,T,S]
            p = torch.softmax(s_, dim=-1)
            outs.append(torch.matmul(p, vg[..., :q1, :]))                              # [B,Hkv,rep,t,D]
        o = outs[0] if len(outs) == 1 else torch.cat(outs, dim=3)
        o = o.reshape(B, c.num_attention_heads, T, c.head_dim).transpose(1, 2).reshape(B, T, -1)
        return self.o_proj(o)


class MLP(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.self_attn = Attention(c)
        self.mlp = MLP(c)
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)

    def forward(self, x, cos, sin, mask, kv_cache=None):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask, kv_cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class Inner(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList([Layer(c) for _ in range(c.num_hidden_layers)])
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)


class LlamaForCausalLM(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.config = c
        self.model = Inner(c)
        self.reset_parameters()

    def reset_parameters(self):
        std = 0.02
        for n, p in self.named_parameters():
            if p.dim() == 2:
                s = std / math.sqrt(2 * self.config.num_hidden_layers) if n.endswith(("o_proj.weight", "down_proj.weight")) else std
                nn.init.normal_(p, 0.0, s)

    def forward(self, ids, pos=None, mask=None, kv_caches=None):
        """ids: [B, T]; pos: [B, T] positions (default 0..T-1); mask: [B, T, S] bool (True =
        may attend; default causal). Returns logits [B, T, V]."""
        B, T = ids.shape
        if pos is None:
            pos = torch.arange(T, device=ids.device)[None].expand(B, T)
        if mask is None:
            S = T if kv_caches is None or kv_caches[0].get("k") is None else T + kv_caches[0]["k"].shape[2]
            mask = torch.ones(T, S, dtype=torch.bool, device=ids.device).tril(S - T)[None].expand(B, T, S)
        cos, sin = rope_cos_sin(pos, self.config.head_dim, self.config.rope_theta)
        x = self.model.embed_tokens(ids)
        mask4 = mask[:, None]
        for i, layer in enumerate(self.model.layers):
            x = layer(x, cos, sin, mask4, None if kv_caches is None else kv_caches[i])
        x = self.model.norm(x)
        return F.linear(x, self.model.embed_tokens.weight)

    def n_params(self):
        return sum(p.numel() for p in self.parameters())


@torch.no_grad()
def prev_token_init(model: "LlamaForCausalLM", seed: int = 0, scale: float = 8.0):
    """Initialise layer 0's first KV group as previous-token heads (q head 0 -> offset 1,
    q head 1 -> offset 2). This is an initialisation only; the architecture is unchanged.

    Why: retrieval needs induction (match the token before an earlier position, copy the token
    at it), which needs a previous-token head in an early layer; from a random init the two
    heads must appear together and training sits on a long plateau (measured: no progress on
    variable-offset copy in 400 steps). Construction: every embedding gets a shared component
    c*u (invisible to the tied unembedding: it adds the same value to every logit); the head's
    K rows read u into RoPE pairs (1, 0); the Q rows read u into (cos(o*th_f), -sin(o*th_f)), so
    q_i . k_j = A * sum_f cos((i - j - o) * th_f), which peaks at i - j = o. `scale` is the
    logit gap per unit of that sum (the gap to offsets o +- 1 is ~1.08 units at theta 1e4).
    """
    c = model.config
    g = torch.Generator().manual_seed(seed)
    E = model.model.embed_tokens.weight
    u = torch.randn(c.hidden_size, generator=g)
    u /= u.norm()
    r = float(E.norm(dim=1).mean())
    E += r * u                                   # shared component, same norm as the random part
    # u-component of RMSNorm(embedding): sqrt(d) * r / sqrt(r^2 + r^2)
    uc = math.sqrt(c.hidden_size) / math.sqrt(2.0)
    half = c.head_dim // 2
    th = torch.tensor([c.rope_theta ** (-2.0 * f / c.head_dim) for f in range(half)])
    a = math.sqrt(scale * math.sqrt(c.head_dim)) / uc     # a_q * a_k * uc^2 / sqrt(D) = scale
    att = model.model.layers[0].self_attn
    kvec = torch.cat([torch.ones(half), torch.zeros(half)])
    att.k_proj.weight[0:c.head_dim] = a * torch.outer(kvec, u)
    rep = c.num_attention_heads // c.num_key_value_heads
    for h in range(min(rep, 2)):
        o = h + 1
        qvec = torch.cat([torch.cos(o * th), -torch.sin(o * th)])
        att.q_proj.weight[h * c.head_dim:(h + 1) * c.head_dim] = a * torch.outer(qvec, u)


def _orthonormal(n, k, g):
    q, _ = torch.linalg.qr(torch.randn(n, k, generator=g))
    return q                                                  # [n, k], orthonormal columns


def _layer1_input(model: "LlamaForCausalLM", ids):
    """Layer 1's normalised input for ids [B, T] (causal, positions 0..T-1): what the circuits'
    calibrations measure their match logits on."""
    T = ids.shape[1]
    pos = torch.arange(T)[None].expand(ids.shape[0], T)
    cos, sin = rope_cos_sin(pos, model.config.head_dim, model.config.rope_theta)
    x = model.model.embed_tokens(ids)
    x = model.model.layers[0](x, cos, sin, torch.ones(T, T, dtype=torch.bool).tril()[None, None])
    return model.model.layers[1].input_layernorm(x)


def low_freq_dims(c: Config, max_dist: int):
    """Head dims (HF rotate_half layout: pair f = dims f and f + D/2) whose RoPE rotation stays
    below 1 radian over max_dist tokens; q.k over them is nearly position independent."""
    half = c.head_dim // 2
    fs = [f for f in range(half) if c.rope_theta ** (-2.0 * f / c.head_dim) * max_dist < 1.0]
    return fs + [f + half for f in fs]


@torch.no_grad()
def induction_init(model: "LlamaForCausalLM", seed: int = 0, prev_scale: float = 8.0,
                   match_scale: float = 16.0, copy_scale: float = 4.0, max_dist: int = 2048,
                   equal_norm: bool = False):
    """Build a working two-layer induction circuit into the initial weights (architecture and
    parameter set unchanged; training is free to change it).

    Why: retrieval = "find the earlier place where the current context occurred, copy what came
    next", i.e. an induction circuit. From a random init it forms only after a long plateau
    (measured on variable-offset copy, d=256, 4 layers: copy loss still near chance after 800
    steps), which this machine cannot afford. Construction, over an orthonormal basis of the
    residual split into [u | tok (127) | prev (64) | free (64)]:
      * embeddings live in `tok`, plus a shared component u (same logit for every token);
      * layer 0, q head 0: attends to offset 1 (RoPE phases on u, as in prev_token_init); its
        value is a 64-dim projection G of the token content; o_proj writes it into `prev`;
      * layer 1, q head 0: q = content of the current token (G), k = `prev` content, both placed
        on the low-frequency RoPE dims so the match does not depend on distance; its value is
        a 64-dim projection H of the token content, written back into `tok` so that the tied
        unembedding reads "the token after the match".
    """
    c = model.config
    d, D = c.hidden_size, c.head_dim
    g = torch.Generator().manual_seed(seed)
    basis = _orthonormal(d, d, g)                            # [d, d]
    u = basis[:, 0]
    n_tok = d // 2 - 1
    B_tok = basis[:, 1:1 + n_tok]                            # [d, 127]
    B_prev = basis[:, 1 + n_tok:1 + n_tok + D]               # [d, 64]
    E = model.model.embed_tokens.weight                      # [V, d]
    t = torch.randn(E.shape[0], n_tok, generator=g) * 0.02 * math.sqrt(d / n_tok)
    r = float(t.norm(dim=1).mean())
    if equal_norm:
        # Every embedding the same norm, so every token's u coordinate after RMSNorm is the same
        # and the previous-token head's score depends on the offset alone. With norms varying
        # ±6% (the default, run3's), that score's constant part (~32 units x prev_scale) moves
        # by more than the 7-logit gap between offsets 1 and 0/2: measured at init on a 256-token
        # prompt, the head's argmax was offset 1 at 125 positions, 2 at 62, 0 at 55.
        t = t / t.norm(dim=1, keepdim=True) * r
    E.copy_(t @ B_tok.T + r * u)
    uc = math.sqrt(d) / math.sqrt(2.0)                        # u-coordinate of RMSNorm(embedding)
    half = D // 2
    th = torch.tensor([c.rope_theta ** (-2.0 * f / D) for f in range(half)])
    a = math.sqrt(prev_scale * math.sqrt(D)) / uc
    l0 = model.model.layers[0].self_attn
    kvec = torch.cat([torch.ones(half), torch.zeros(half)])
    l0.k_proj.weight[0:D] = a * torch.outer(kvec, u)
    qvec = torch.cat([torch.cos(th), -torch.sin(th)])
    l0.q_proj.weight[0:D] = a * torch.outer(qvec, u)
    G = _orthonormal(n_tok, D, g)                            # [127, 64] content projection
    l0.v_proj.weight[0:D] = (B_tok @ G).T                    # v = G^T tok(x)
    l0.o_proj.weight[:, 0:D] = B_prev * 0.04                 # written into `prev`
    l0.o_proj.weight[:, D:2 * D] = 0.0                       # q head 1 shares kv head 0's value
    # layer 1: match current content against `prev` on the low-frequency dims
    lf = low_freq_dims(c, max_dist)
    k_lf = len(lf)
    Rm = _orthonormal(D, k_lf, g)                            # [64, k_lf]: content -> low-freq dims
    l1 = model.model.layers[1].self_attn
    Wq = torch.zeros(D, d)
    Wk = torch.zeros(D, d)
    Wq[lf] = Rm.T @ (B_tok @ G).T                            # [k_lf, d]
    Wk[lf] = Rm.T @ B_prev.T
    l1.q_proj.weight[0:D] = Wq
    l1.k_proj.weight[0:D] = Wk
    H = _orthonormal(n_tok, D, g)
    l1.v_proj.weight[0:D] = (B_tok @ H).T
    l1.o_proj.weight[:, 0:D] = B_tok @ H
    l1.o_proj.weight[:, D:2 * D] = 0.0
    # calibrate the two free scales on random tokens: match logit gap and copy strength
    ids = torch.randint(256, min(E.shape[0], 256 + 512), (8, 48), generator=g)
    ids = torch.cat([ids, ids], 1)
    h = _layer1_input(model, ids)
    q = l1.q_proj(h)[..., 0:D]
    k = l1.k_proj(h)[..., 0:D]
    s = (q[:, 48:] * k[:, 1:49]).sum(-1) / math.sqrt(D)     # logit at the matching position
    scale = math.sqrt(match_scale / float(s.mean()))
    l1.q_proj.weight[0:D] *= scale
    l1.k_proj.weight[0:D] *= scale
    l1.o_proj.weight[:, 0:D] *= copy_scale
    return {"basis": basis, "B_tok": B_tok, "B_prev": B_prev, "G": G, "r": r, "n_tok": n_tok}


def circuit_slices(model: "LlamaForCausalLM", key: bool):
    """The weight slices induction_init (and key_match_init when `key`) write: (parameter,
    index) pairs, for training that keeps them fixed (train.py --freeze-circuits). Query heads 1
    and 3 and everything outside layers 0-1's attention stay free; heads 1 / 3 share the frozen
    keys and values of their KV head."""
    D = model.config.head_dim
    out = []
    for layer in (0, 1):
        att = model.model.layers[layer].self_attn
        heads = [(0, 0)] + ([(2, 1)] if key else [])          # (q head, its kv head)
        for qh, kvh in heads:
            out += [(att.q_proj.weight, (slice(qh * D, (qh + 1) * D),)),
                    (att.k_proj.weight, (slice(kvh * D, (kvh + 1) * D),)),
                    (att.v_proj.weight, (slice(kvh * D, (kvh + 1) * D),)),
                    (att.o_proj.weight, (slice(None), slice(qh * D, (qh + 1) * D)))]
    return out


@torch.no_grad()
def key_match_init(model: "LlamaForCausalLM", parts: dict, key_ids, seed: int = 0,
                   recent_scale: float = 4.0, match_scale: float = 10.0, copy_scale: float = 4.0,
                   max_dist: int = 2048, n_f: int = 32):
    """A key-aware induction circuit on top of induction_init (call it after; `parts` is what
    induction_init returned). Multi-key retrieval needs "the token after the earlier position
    whose previous token equals mine AND whose most recent key equals mine"; plain induction
    finds every needle's value equally (run3/run4 answered with a distractor's value).
      * key tokens (`key_ids`, the `-noun` halves of the adjective-noun keys) get an is-key flag
        e_key in the free block of the residual;
      * layer 0, q head 2 (KV head 1): attends to the most recent key token — the key reads the
        flag into the first RoPE component of the pairs with θ in [0.02, 0.15], the query reads
        u into the same, so q·k ∝ Σ_f cos(θ_f Δ), falling from ~5 at Δ=2 to ≲ 3 beyond Δ≈20; its
        value is an n_f-dim projection of the token content, written into the block F;
      * layer 1, q head 2 (KV head 1): the induction match (current token vs previous-token
        content) on 7 of the low-frequency pairs plus an F·F match on the other 6, so the score
        is highest where both hold; it copies the matched token like layer 1 head 0.
    q head 3 of both layers is switched off (zero query and output) at init."""
    c = model.config
    d, D = c.hidden_size, c.head_dim
    half = D // 2
    g = torch.Generator().manual_seed(seed + 1)
    basis, B_tok, B_prev, G, r, n_tok = (parts[k] for k in ("basis", "B_tok", "B_prev", "G", "r", "n_tok"))
    free = basis[:, 1 + n_tok + D:]
    e_key, B_F = free[:, 0], free[:, 1:1 + n_f]
    u = basis[:, 0]
    E = model.model.embed_tokens.weight
    # the flag takes a share of the key token's content norm, so its norm (and u coordinate)
    # stays that of every other token (induction_init(equal_norm=True))
    phi = 0.5
    kid = list(key_ids)
    E[kid] = (E[kid] - r * u) * math.sqrt(1.0 - phi * phi) + r * u + phi * r * e_key
    th = torch.tensor([c.rope_theta ** (-2.0 * f / D) for f in range(half)])
    fs = [f for f in range(half) if 0.02 <= float(th[f]) <= 0.15]
    # RMSNorm coordinates: u = sqrt(d/2) on every token, the flag phi * sqrt(d/2) on key tokens
    a = math.sqrt(recent_scale * math.sqrt(D) / (phi * d / 2.0))
    vec = torch.zeros(D)
    vec[fs] = 1.0
    l0 = model.model.layers[0].self_attn
    l0.k_proj.weight[D:2 * D] = a * torch.outer(vec, e_key)
    l0.q_proj.weight[2 * D:3 * D] = a * torch.outer(vec, u)
    l0.q_proj.weight[3 * D:4 * D] = 0.0
    P = _orthonormal(n_tok, n_f, g)
    l0.v_proj.weight[D:2 * D] = 0.0
    l0.v_proj.weight[D:D + n_f] = (B_tok @ P).T
    l0.o_proj.weight[:, 2 * D:4 * D] = 0.0
    l0.o_proj.weight[:, 2 * D:2 * D + n_f] = B_F * 0.04
    # layer 1 head 2: token match on pairs A, key match on pairs B (low-frequency pairs only)
    lf = [f for f in low_freq_dims(c, max_dist) if f < half]
    fa, fb = lf[:(len(lf) + 1) // 2], lf[(len(lf) + 1) // 2:]
    da, db = fa + [f + half for f in fa], fb + [f + half for f in fb]
    Ra, Rb = _orthonormal(D, len(da), g), _orthonormal(n_f, len(db), g)
    l1 = model.model.layers[1].self_attn
    Wq, Wk = torch.zeros(D, d), torch.zeros(D, d)
    Wq[da] = Ra.T @ (B_tok @ G).T
    Wk[da] = Ra.T @ B_prev.T
    Wq[db] = Rb.T @ B_F.T
    Wk[db] = Rb.T @ B_F.T
    H2 = _orthonormal(n_tok, D, g)
    l1.v_proj.weight[D:2 * D] = (B_tok @ H2).T
    l1.o_proj.weight[:, 2 * D:4 * D] = 0.0
    l1.o_proj.weight[:, 2 * D:3 * D] = (B_tok @ H2) * copy_scale
    l1.q_proj.weight[3 * D:4 * D] = 0.0
    # calibrate the A and B parts separately on a random sequence with keys every ~8 tokens
    n_key = len(key_ids)
    ids = torch.randint(256, min(E.shape[0], 256 + 512), (8, 96), generator=g)
    kk = torch.tensor(list(key_ids))[torch.randint(n_key, (8, 12), generator=g)]
    ids[:, 4::8] = kk
    ids = torch.cat([ids, ids], 1)
    h = _layer1_input(model, ids)
    for dims, target in ((da, match_scale), (db, match_scale)):
        q = h @ Wq[dims].T
        k = h @ Wk[dims].T
        s = (q[:, 96 + 8:] * k[:, 9:97]).sum(-1).mean() / math.sqrt(D)   # matching pairs (skip warm-up)
        sc = math.sqrt(target / float(s))
        Wq[dims] *= sc
        Wk[dims] *= sc
    l1.q_proj.weight[2 * D:3 * D] = Wq
    l1.k_proj.weight[D:2 * D] = Wk

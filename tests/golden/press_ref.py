#!/usr/bin/env python3
"""Independent numpy (float64) reference for sparkv's token-eviction presses and ThinK.

Writes committed fixtures under tests/golden/press/: random K/V/Q inputs (float32, base64) and, for
a list of press specs, the kept token indices per KV head and ThinK's kept channels, which
tests/unit/press_eviction_test.cpp and press_think_test.cpp compare one for one.

The algorithms follow kvpress (NVIDIA/kvpress, the SparK fork) as summarised in
shared/spec/baselines-and-evals.md §1-§3, written here with whole-matrix numpy operations (full
attention matrices, np.convolve pooling, a dense averaged RoPE matrix) rather than the C++
loops. Ties in every top-k go to the lower token / channel index.

Usage: /usr/bin/python3 tests/golden/press_ref.py [--out tests/golden/press]
"""
import argparse
import base64
import json
import math
import os

import numpy as np

MASK64 = (1 << 64) - 1


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


def topk_sorted(score, n_kept):
    """Indices of the n_kept largest scores, ties to the lower index, returned ascending."""
    score = np.asarray(score, dtype=np.float64)
    n = len(score)
    if n_kept >= n:
        return list(range(n))
    order = np.lexsort((np.arange(n), -score))  # primary: -score, secondary: index
    return sorted(int(i) for i in order[:n_kept])


# ----------------------------------------------------------------------------------------------
# Budgets

def budget_kept(n, budget=None, ratio=None):
    if budget is not None:
        return min(budget, n)
    return int(n * (1 - ratio))


def pyramid_kvf(L, B, w, beta, N, layer):
    """KVCache-Factory PyramidKVCluster.update_kv budget (tokens kept incl. the window)."""
    if L < B:
        return L
    if L < (B - w) * 2:
        return (B - w) + w
    min_num = (B - w) // beta
    max_num = (B - w) * 2 - min_num
    if max_num >= L - w:
        max_num = L - w
        min_num = (B - w) * 2 - max_num
    steps = (max_num - min_num) // (N - 1) if N > 1 else 0
    return max_num - layer * steps + w


def _kvpress_layer_budget(L, capacity, fallback_ratio, w, beta, N, layer):
    min_num = (capacity - w) / beta
    max_num = (capacity - w) * 2 - min_num
    if not (L >= max_num >= min_num >= w):
        return round(L * (1 - fallback_ratio))
    steps = (max_num - min_num) / (N - 1) if N > 1 else 0.0
    return round(max_num - layer * steps)


def pyramid_kvpress(L, ratio, w, beta, N, layer):
    return _kvpress_layer_budget(L, w + L * (1 - ratio), ratio, w, beta, N, layer)


def pyramid_fork(L, B, w, beta, N, layer):
    return _kvpress_layer_budget(L, float(B), 0.1, w, beta, N, layer)


# ----------------------------------------------------------------------------------------------
# Attention helpers (survivor-aware: `idx` are the original token indices a KV head still holds)

def softmax_masked(logits, mask):
    x = np.where(mask, logits, -np.inf)
    m = x.max(axis=-1, keepdims=True)
    e = np.where(mask, np.exp(x - m), 0.0)
    return e / e.sum(axis=-1, keepdims=True)


def window_attention(K, Qw, kv, qh, idx, w, T):
    """Mean over the last w window queries of the softmax over the survivors idx, [len(idx)]."""
    D = K.shape[-1]
    q = Qw[-w:, qh, :].astype(np.float64)                  # [w, D]
    k = K[kv, idx, :].astype(np.float64)                   # [n, D]
    logits = q @ k.T / math.sqrt(D)                        # [w, n]
    pos = np.arange(T - w, T)[:, None]
    mask = np.asarray(idx)[None, :] <= pos
    return softmax_masked(logits, mask).mean(axis=0)


def avg_pool(x, kernel):
    return np.convolve(x, np.ones(kernel), mode="same") / kernel


# ----------------------------------------------------------------------------------------------
# Presses. Each takes (state, sel) and returns the new selection (list per KV head).

def press_snapkv(st, sel, n_kept_fn, window=64, kernel=5):
    K, Qw, T, g = st["K"], st["Qw"], st["T"], st["g"]
    w = min(window, T)
    n = len(sel[0])
    keep = n_kept_fn(n)
    if keep >= n:
        return sel
    out = []
    for kv, idx in enumerate(sel):
        idx = np.asarray(idx)
        prefix = idx < T - w
        rows = []
        for gi in range(g):
            att = window_attention(K, Qw, kv, kv * g + gi, idx, w, T)[prefix]
            rows.append(avg_pool(att, kernel))
        s = np.full(len(idx), np.inf)
        s[prefix] = np.mean(rows, axis=0)
        assert np.isinf(s).sum() <= keep, "window larger than the budget"
        out.append([int(idx[i]) for i in topk_sorted(s, keep)])
    return out


def press_streamingllm(st, sel, n_kept_fn, sinks=4):
    n = len(sel[0])
    keep = n_kept_fn(n)
    if keep >= n:
        return sel
    s = np.ones(n)
    s[sinks:sinks + (n - keep)] = 0.0
    return [[idx[i] for i in topk_sorted(s, keep)] for idx in sel]


def press_knorm(st, sel, n_kept_fn):
    n = len(sel[0])
    keep = n_kept_fn(n)
    if keep >= n:
        return sel
    out = []
    for kv, idx in enumerate(sel):
        s = -np.linalg.norm(st["K"][kv, idx, :].astype(np.float64), axis=-1)
        out.append([idx[i] for i in topk_sorted(s, keep)])
    return out


def mix64(z):
    z = (z + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def random_score(seed, ctx_seed, layer, kv, t):
    key = mix64(seed ^ mix64(ctx_seed))
    key = mix64(key ^ layer)
    key = mix64(key ^ kv)
    return (mix64(key ^ t) >> 11) * 2.0 ** -53


def press_random(st, sel, n_kept_fn, seed=0):
    n = len(sel[0])
    keep = n_kept_fn(n)
    if keep >= n:
        return sel
    out = []
    for kv, idx in enumerate(sel):
        s = [random_score(seed, st["ctx_seed"], st["layer"], kv, t) for t in idx]
        out.append([idx[i] for i in topk_sorted(s, keep)])
    return out


def full_attention_colsum(K, Q, g):
    """Column sums over all prompt queries of the causal softmax, [H, T] (the full matrix)."""
    T, H, D = Q.shape
    cs = np.zeros((H, T))
    mask = np.tril(np.ones((T, T), dtype=bool))
    for qh in range(H):
        logits = Q[:, qh, :].astype(np.float64) @ K[qh // g].astype(np.float64).T / math.sqrt(D)
        cs[qh] = softmax_masked(logits, mask).sum(axis=0)
    return cs


def press_h2o(st, sel, n_kept_fn):
    n = len(sel[0])
    keep = n_kept_fn(n)
    if keep >= n:
        return sel
    T, g, cs = st["T"], st["g"], st["colsum"]
    norm = cs / (T - np.arange(T))[None, :]
    out = []
    for kv, idx in enumerate(sel):
        s = norm[kv * g:(kv + 1) * g][:, idx].mean(axis=0)
        out.append([idx[i] for i in topk_sorted(s, keep)])
    return out


def press_tova(st, sel, n_kept_fn):
    n = len(sel[0])
    keep = n_kept_fn(n)
    if keep >= n:
        return sel
    K, Qw, T, g = st["K"], st["Qw"], st["T"], st["g"]
    H = Qw.shape[1]
    per_token = np.zeros(T)
    for kv, idx in enumerate(sel):
        for gi in range(g):
            per_token[idx] += window_attention(K, Qw, kv, kv * g + gi, np.asarray(idx), 1, T)
    per_token /= H
    per_token[T - 1] = np.inf
    return [[idx[i] for i in topk_sorted(per_token[idx], keep)] for idx in sel]


def think_channels(st, sel, ratio, window=32):
    K, Qw, T, g = st["K"], st["Qw"], st["T"], st["g"]
    D = K.shape[-1]
    w = min(window, T)
    n_pruned = int(D * ratio)
    out = []
    for kv, idx in enumerate(sel):
        q = Qw[-w:, kv * g:(kv + 1) * g, :].astype(np.float64)   # [w, g, D]
        qn = (q ** 2).mean(axis=0).mean(axis=0)                  # mean over window, then group
        kn = (K[kv, idx, :].astype(np.float64) ** 2).mean(axis=0)
        out.append(topk_sorted(qn * kn, D - n_pruned))
    return out


# ----------------------------------------------------------------------------------------------
# Expected Attention

def expected_stats(Wq, bq, H, D, h_mean, h_cov, inv_freq, pos0, future, use_cov):
    W = Wq.astype(np.float64)
    mu = W @ h_mean.astype(np.float64) + bq.astype(np.float64)   # [H*D]
    mu = mu.reshape(H, D)
    half = D // 2
    pos = np.arange(pos0, pos0 + future, dtype=np.float64)
    freqs = np.concatenate([inv_freq, inv_freq]).astype(np.float64)  # HF: emb = cat(freqs, freqs)
    P = np.zeros((D, D))
    P[half:, :half] = np.eye(half)
    P[:half, half:] = -np.eye(half)
    R = np.zeros((D, D))
    for p in pos:
        R += np.diag(np.cos(p * freqs)) + np.sin(p * freqs)[None, :] * P
    R /= future
    mu = mu @ R.T
    cov = None
    if use_cov:
        Wh = W.reshape(H, D, -1)
        cov = np.einsum("hde,ef,hgf->hdg", Wh, h_cov.astype(np.float64), Wh)
        cov = np.einsum("ij,hjk,lk->hil", R, cov, R)
    return mu, cov


def expected_select(st, mu, cov, n_kept, sinks, use_vnorm):
    K, V, g = st["K"], st["V"], st["g"]
    n_kv, T, D = K.shape
    out = []
    for kv in range(n_kv):
        k = K[kv, sinks:].astype(np.float64)
        total = np.zeros(T - sinks)
        for gi in range(g):
            qh = kv * g + gi
            s = k @ mu[qh] / math.sqrt(D)
            if cov is not None:
                s = s + np.einsum("nd,de,ne->n", k, cov[qh], k) / D / 2
            e = np.exp(s - s.max())
            total += e / e.sum()
        total /= g
        if use_vnorm:
            total = total * np.linalg.norm(V[kv, sinks:].astype(np.float64), axis=-1)
        score = np.concatenate([np.full(sinks, np.inf), total])
        out.append(topk_sorted(score, n_kept))
    return out


# ----------------------------------------------------------------------------------------------
# Spec parsing (the subset the fixtures use) and the pipeline

def parse(spec):
    presses = []
    for part in spec.split("+"):
        name, _, args = part.partition(":")
        kv = {}
        for item in filter(None, args.split(",")):
            k, v = item.split("=")
            kv[k] = float(v) if k == "ratio" else int(v)
        presses.append((name, kv))
    return presses


def run_pipeline(st, spec):
    T, n_kv = st["T"], st["K"].shape[0]
    sel = [list(range(T)) for _ in range(n_kv)]
    channels = None
    for name, kv in parse(spec):
        kv = dict(kv)
        if name == "think":
            channels = think_channels(st, sel, kv["ratio"], kv.get("window", 32))
            continue
        budget, ratio = kv.pop("budget", None), kv.pop("ratio", None)
        fn = lambda n: budget_kept(n, budget, ratio)  # noqa: E731
        if name == "snapkv":
            sel = press_snapkv(st, sel, fn, kv.get("window", 64), kv.get("kernel", 5))
        elif name == "pyramidkv":
            w, beta, N, layer = kv.get("window", 64), kv.get("beta", 20), st["n_layer"], st["layer"]
            n = len(sel[0])
            if budget is None:
                keep = pyramid_kvpress(n, ratio, w, beta, N, layer)
            elif kv.get("compat", 0):
                keep = pyramid_fork(n, budget, w, beta, N, layer)
            else:
                keep = pyramid_kvf(n, budget, w, beta, N, layer)
            keep = max(0, min(keep, n))
            sel = press_snapkv(st, sel, lambda n_, k=keep: k, w, kv.get("kernel", 5))
        elif name == "streamingllm":
            sel = press_streamingllm(st, sel, fn, kv.get("sinks", 4))
        elif name == "knorm":
            sel = press_knorm(st, sel, fn)
        elif name == "random":
            sel = press_random(st, sel, fn, kv.get("seed", 0))
        elif name == "h2o":
            sel = press_h2o(st, sel, fn)
        elif name == "tova":
            sel = press_tova(st, sel, fn)
        else:
            raise ValueError(name)
    return sel, channels


# ----------------------------------------------------------------------------------------------
# Cases

def make_state(seed, T, n_kv, g, D, E=24, spike=False):
    rng = np.random.default_rng(seed)
    H = n_kv * g
    # Channel scales give ThinK real structure; a shared query direction makes attention peaky.
    kscale = np.exp(rng.normal(0, 0.7, size=(n_kv, 1, D)))
    K = (rng.standard_normal((n_kv, T, D)) * kscale).astype(np.float32)
    V = rng.standard_normal((n_kv, T, D)).astype(np.float32)
    Q = (rng.standard_normal((T, H, D)) * 1.5 + rng.standard_normal((1, H, D))).astype(np.float32)
    X = rng.standard_normal((T, E)) @ rng.standard_normal((E, E)) * 0.3 + rng.standard_normal(E)
    Wq = (rng.standard_normal((H * D, E)) / math.sqrt(E)).astype(np.float32)
    bq = (rng.standard_normal(H * D) * 0.1).astype(np.float32)
    h_mean = X.mean(axis=0).astype(np.float32)
    h_cov = np.cov(X, rowvar=False).astype(np.float32)
    inv_freq = (10000.0 ** (-np.arange(0, D, 2) / D)).astype(np.float32)
    if spike:
        # Composition case: channels 0..3 carry most key energy only on middle tokens that the
        # eviction presses drop, so ThinK alone and ThinK after eviction choose different masks.
        K[:, 8:T - 70, :4] *= 6.0
        Q[:, :, :4] *= 0.3
    W = min(64, T)
    return dict(K=K, V=V, Q=Q, Qw=Q[T - W:], T=T, g=g, E=E, Wq=Wq, bq=bq, h_mean=h_mean,
                h_cov=h_cov, inv_freq=inv_freq, layer=0, n_layer=1, ctx_seed=0)


CASES = {
    "case_a": dict(seed=1, T=300, n_kv=2, g=2, D=16, specs=[
        ("snapkv:budget=100", {}), ("snapkv:budget=64", {}), ("snapkv:ratio=0.5", {}),
        ("snapkv:budget=120,window=16,kernel=7", {}), ("snapkv:budget=100,kernel=1", {}),
        ("pyramidkv:budget=100", dict(layer=0, n_layer=4)),
        ("pyramidkv:budget=100", dict(layer=2, n_layer=4)),
        ("pyramidkv:budget=100", dict(layer=3, n_layer=4)),
        ("pyramidkv:budget=200", dict(layer=1, n_layer=4)),
        ("pyramidkv:ratio=0.5", dict(layer=1, n_layer=4)),
        ("pyramidkv:ratio=0.5,window=4", dict(layer=1, n_layer=4)),
        ("pyramidkv:budget=100,compat=1", dict(layer=1, n_layer=4)),
        ("streamingllm:budget=50", {}), ("streamingllm:ratio=0.7,sinks=2", {}),
        ("h2o:budget=80", {}), ("h2o:ratio=0.3", {}),
        ("tova:budget=90", {}), ("knorm:budget=77", {}),
        ("random:budget=60,seed=7", dict(layer=3, ctx_seed=11)),
        ("streamingllm:budget=200+snapkv:budget=100", {}),
        ("knorm:ratio=0.3+tova:budget=100", {}),
        ("snapkv:budget=150+h2o:budget=100", {}),
        ("think:ratio=0.5", {}), ("think:ratio=0.3,window=8", {}),
        ("snapkv:budget=100+think:ratio=0.5", {}),
        ("pyramidkv:budget=100+think:ratio=0.4", dict(layer=3, n_layer=4)),
    ]),
    "case_b": dict(seed=2, T=40, n_kv=1, g=4, D=8, specs=[
        ("snapkv:budget=30,window=16", {}), ("snapkv:budget=20,window=8,kernel=3", {}),
        ("tova:budget=10", {}), ("h2o:budget=12", {}), ("knorm:ratio=0.5", {}),
        ("streamingllm:budget=9", {}), ("random:ratio=0.25", {}),
        ("think:ratio=0.25", {}), ("think:ratio=0.5,window=64", {}),
    ]),
    "case_c": dict(seed=3, T=130, n_kv=4, g=1, D=16, specs=[
        ("snapkv:budget=80", {}), ("pyramidkv:budget=96", dict(layer=1, n_layer=3)),
        ("tova:budget=50", {}), ("h2o:budget=40", {}), ("think:ratio=0.5", {}),
        ("snapkv:budget=90,window=32+think:ratio=0.75,window=16", {}),
    ]),
    "case_d": dict(seed=4, T=300, n_kv=2, g=2, D=16, spike=True, specs=[
        ("think:ratio=0.5", {}), ("snapkv:budget=100+think:ratio=0.5", {}),
        ("streamingllm:budget=80+think:ratio=0.5", {}), ("snapkv:budget=100", {}),
    ]),
}

EXPECTED_CASES = [  # (n_kept, sinks, cov, vnorm, future)
    (60, 4, 1, 1, 512), (60, 4, 0, 1, 512), (60, 4, 1, 0, 512), (30, 0, 1, 1, 16),
]


def build_case(name, c):
    st = make_state(c["seed"], c["T"], c["n_kv"], c["g"], c["D"], spike=c.get("spike", False))
    st["colsum"] = full_attention_colsum(st["K"], st["Q"], st["g"])
    entries = []
    for spec, extra in c["specs"]:
        s = dict(st)
        s.update(extra)
        sel, channels = run_pipeline(s, spec)
        e = dict(spec=spec, layer=s["layer"], n_layer=s["n_layer"], ctx_seed=s["ctx_seed"], kept=sel)
        if channels is not None:
            e["channels"] = channels
        entries.append(e)
    if c.get("spike"):
        alone = next(e["channels"] for e in entries if e["spec"] == "think:ratio=0.5")
        for e in entries:
            if "+think" in e["spec"]:
                assert e["channels"] != alone, "composition case must change the ThinK mask"
    expected = []
    T = st["T"]
    for n_kept, sinks, cov, vnorm, future in EXPECTED_CASES:
        n_kept = min(n_kept, T)
        mu, covq = expected_stats(st["Wq"], st["bq"], c["n_kv"] * c["g"], c["D"], st["h_mean"],
                                  st["h_cov"], st["inv_freq"], T, future, bool(cov))
        kept = expected_select(st, mu, covq, n_kept, sinks, bool(vnorm))
        expected.append(dict(n_kept=n_kept, sinks=sinks, cov=cov, vnorm=vnorm, future=future,
                             kept=kept))
    return dict(
        name=name, T=T, n_kv=c["n_kv"], group=c["g"], D=c["D"], E=st["E"], window=st["Qw"].shape[0],
        k=b64(st["K"]), v=b64(st["V"]), q=b64(st["Q"]), colsum=b64(st["colsum"]),
        wq=b64(st["Wq"]), bq=b64(st["bq"]), h_mean=b64(st["h_mean"]), h_cov=b64(st["h_cov"]),
        inv_freq=b64(st["inv_freq"]), entries=entries, expected=expected)


# PyramidKV budget table: (L, B, w, beta, N) incl. the edge cases; every layer is listed.
PYRAMID_TABLE = [
    (1000, 128, 64, 20, 32), (1000, 512, 64, 20, 32), (4096, 2048, 64, 20, 32),
    (100, 128, 64, 20, 32),      # L < B: no compression
    (128, 128, 64, 20, 32),      # L == B
    (150, 128, 64, 20, 32),      # B <= 2w: 2(B - w) <= B, so L >= B is always a real pyramid
    (700, 512, 64, 20, 32),      # B <= L < 2(B - w): uniform SnapKV
    (895, 512, 64, 20, 32),      # L = 2(B - w) - 1: still uniform
    (896, 512, 64, 20, 32),      # L = 2(B - w): the pyramid, max_num clipped to L - w
    (180, 128, 64, 20, 4),       # L above 2(B - w): max_num clipped to L - w
    (5000, 1024, 8, 20, 28), (777, 300, 32, 5, 7), (64, 64, 64, 20, 8),  # B == w
    (300, 100, 64, 20, 1),       # one layer
    (10000, 2048, 64, 1, 32),    # beta = 1
]
PYRAMID_RATIO_TABLE = [  # (L, ratio, w, beta, N): kvpress float schedule incl. its fallback
    (4096, 0.8, 64, 20, 32), (16384, 0.5, 64, 20, 32), (300, 0.5, 4, 20, 4), (1000, 0.1, 64, 20, 2),
]
PYRAMID_FORK_TABLE = [  # (L, B, w, beta, N): the fork's budget mode (hazard 1)
    (4000, 128, 64, 20, 32), (4000, 1024, 64, 20, 32), (4000, 2048, 64, 20, 32),
    (8000, 2048, 64, 20, 32), (301, 100, 64, 20, 4),
]


def pyramid_fixture():
    kvf = [dict(L=L, B=B, w=w, beta=beta, N=N, kept=[pyramid_kvf(L, B, w, beta, N, l) for l in range(N)])
           for L, B, w, beta, N in PYRAMID_TABLE]
    kvp = [dict(L=L, ratio=r, w=w, beta=beta, N=N,
                kept=[pyramid_kvpress(L, r, w, beta, N, l) for l in range(N)])
           for L, r, w, beta, N in PYRAMID_RATIO_TABLE]
    fork = [dict(L=L, B=B, w=w, beta=beta, N=N, kept=[pyramid_fork(L, B, w, beta, N, l) for l in range(N)])
            for L, B, w, beta, N in PYRAMID_FORK_TABLE]
    return dict(kvf=kvf, kvpress=kvp, fork=fork)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "press"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, c in CASES.items():
        with open(os.path.join(args.out, name + ".json"), "w") as f:
            json.dump(build_case(name, c), f, separators=(",", ":"))
    with open(os.path.join(args.out, "pyramid_budgets.json"), "w") as f:
        json.dump(pyramid_fixture(), f, indent=1)


if __name__ == "__main__":
    main()

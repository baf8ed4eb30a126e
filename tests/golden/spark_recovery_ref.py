#!/usr/bin/python3
"""Independent float64 numpy reference for SparK's recoveries beyond the paper (issue 23).

Uses the selection of spark_ref.py (itself written from the spec) and rebuilds, for every
recovery, the key k-hat [T, D] one KV head's cache should present to attention. Written from the
definitions below (docs/spark-storage.md "Recoveries"), not from the C++ code.

Usage:
    /usr/bin/python3 tests/golden/spark_recovery_ref.py          # rewrite the fixture
    /usr/bin/python3 tests/golden/spark_recovery_ref.py --check  # compare with the committed file
Output (committed): tests/golden/spark/recoveries.json

DEFINITIONS (one KV head, T tokens all compressed, fixed lambda; kept set K_t, pruned P_t,
sigma_{t,j} = +1 if k_{t,j} > 0 else -1, mu_t the mean pruned score, n_j the window norms):
  mean            khat = sigma * sqrt(mu_t / n_j)                                 (the paper)
  zero            khat = 0
  bounded         nf_j = max(n_j, floor * max_j n_j), floor = 0.01; a_t = max_{j in P_t} |k_tj|
                  r_t = min(sqrt(mu_t), a_t / max_{j in P_t} nf_j^-1/2); khat = sigma * r_t * nf_j^-1/2
  absmean         w_j = mean_t |k_tj| over all T tokens;               khat = sigma * w_j
  absmean_pruned  w_j = mean |k_tj| over the t with j in P_t (all T if none); khat = sigma * w_j
  absmedian       w_j = sorted_t(|k_tj|)[T // 2] (the upper median);   khat = sigma * w_j
  token           r_t = mean_{j in P_t} |k_tj|, capped at a_t;          khat = sigma * r_t
  scaled          w_j as absmean_pruned; r_t = sum_{P_t} |k_tj| / sum_{P_t} w_j,
                  capped at a_t / max_{P_t} w_j;                        khat = sigma * r_t * w_j
  chmean          w_j = mean_t k_tj (signed);                           khat = w_j (no sign)
Kept entries are the input values (the paper's mean and zero are covered by spark_ref.py's
fixtures). Every recovery here satisfies |khat| <= max |K|
(checked here on every case, including all-zero query channels and denormal query norms).
"""
import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import spark_ref as R  # noqa: E402

OUT = os.path.join(HERE, "spark", "recoveries.json")
FLOOR = 0.01
RECOVERIES = ["bounded", "absmean", "absmean_pruned", "absmedian", "token",
              "scaled", "chmean"]
# name, D, g, w, T, seed, features
CASES = [
    ("random_d64", 64, 2, 8, 24, 0x5A11, ()),
    ("random_d128", 128, 4, 6, 17, 0x5A12, ()),
    ("zero_query_channels_d64", 64, 2, 8, 24, 0x5A13, ("zero_query_channels",)),
    ("denormal_norms_d128", 128, 2, 4, 12, 0x5A14, ("denormal_queries",)),
    ("heavy_channels_d128", 128, 2, 8, 20, 0x5A15, ("heavy_channels", "zero_keys")),
]


def make(D, g, w, T, seed, features):
    rng = R.SplitMix64(seed)
    Q = rng.f32_array((g, w, D))
    K = rng.f32_array((T, D))
    if "zero_query_channels" in features:
        Q[:, :, : D // 2] = 0.0  # half the channels never read by the window (n_j at the guard)
    if "denormal_queries" in features:
        Q[:, :, 1::2] *= np.float32(1e-39)  # float32 denormals: n_j underflows to the guard
        Q = Q.astype(np.float32).astype(np.float64)
    if "heavy_channels" in features:
        K[:, 3] *= 8.0
        K[:, 77] *= 16.0
    if "zero_keys" in features:
        K[::3, 5] = 0.0  # exact zeros (sigma = -1 by convention)
    return Q, K


def weights(rec, K, n, kept):
    T, D = K.shape
    A = np.abs(K)
    if rec in ("mean",):
        return 1.0 / np.sqrt(n)
    if rec == "bounded":
        return 1.0 / np.sqrt(np.maximum(n, max(FLOOR * n.max(), R.EPS)))
    if rec == "absmean":
        return A.mean(axis=0)
    if rec == "chmean":
        return K.mean(axis=0)
    if rec == "absmedian":
        return np.array([sorted(A[:, j])[T // 2] for j in range(D)])
    if rec in ("absmean_pruned", "scaled"):
        w = np.zeros(D)
        for j in range(D):
            P = [A[t, j] for t in range(T) if j not in kept[t]]
            w[j] = sum(P) / len(P) if P else A[:, j].mean()
        return w
    return np.ones(D)


def rebuild(rec, K, n, sel):
    T, D = K.shape
    kept = [set(k) for k in sel["kept"]]
    s = R.scores(K, n)
    w = weights(rec, K, n, kept)
    khat = K.copy()
    for t in range(T):
        P = [j for j in range(D) if j not in kept[t]]
        if not P:
            continue
        a = max(abs(K[t, j]) for j in P)
        mu = sum(s[t, j] for j in P) / len(P)
        if rec == "mean":
            r = math.sqrt(mu)
        elif rec == "bounded":
            r = min(math.sqrt(mu), a / max(w[j] for j in P))
        elif rec == "token":
            r = min(sum(abs(K[t, j]) for j in P) / len(P), a)
        elif rec == "scaled":
            wmax = max(w[j] for j in P)
            r = 0.0 if wmax <= 0 else min(sum(abs(K[t, j]) for j in P) / sum(w[j] for j in P),
                                          a / wmax)
        else:
            r = 1.0
        for j in P:
            sigma = 1.0 if K[t, j] > 0 else -1.0
            if rec == "zero":
                khat[t, j] = 0.0
            elif rec == "chmean":
                khat[t, j] = w[j]
            else:
                khat[t, j] = sigma * r * w[j]
    return khat


def doc():
    out = {"schema": 1, "generator": "tests/golden/spark_recovery_ref.py", "eps": R.EPS,
           "floor": FLOOR, "cases": []}
    for name, D, g, w, T, seed, features in CASES:
        Q, K = make(D, g, w, T, seed, features)
        _, n = R.channel_norms(Q)
        n = n.astype(np.float32).astype(np.float64)  # the C++ cache holds n_j as float
        kmax = float(np.abs(K).max())
        case = {"name": name, "D": D, "g": g, "w": w, "features": list(features),
                "q": Q.reshape(g * w, D), "k": K, "n": n, "selections": []}
        for lam in (0.5, 0.8):
            sel = R.select(K, n, "fixed", lam)
            # khat_pruned[rec][t]: k-hat of token t's pruned channels, ascending channel order
            # (kept entries are the input values)
            e = {"lambda": lam, "kept": sel["kept"], "khat_pruned": {}}
            for rec in RECOVERIES:
                kh = rebuild(rec, K, n, sel)
                assert np.isfinite(kh).all() and np.abs(kh).max() <= kmax * (1 + 1e-12), (name, rec)
                e["khat_pruned"][rec] = [[kh[t, j] for j in range(D) if j not in set(sel["kept"][t])]
                                         for t in range(K.shape[0])]
            case["selections"].append(e)
        out["cases"].append(case)
    return out


def main(argv):
    text = R.dump(doc()) + "\n"
    json.loads(text)
    if "--check" in argv:
        with open(OUT, encoding="utf-8") as f:
            same = f.read() == text
        print("checked" if same else "DIFFERS:", OUT)
        return 0 if same else 1
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    print("wrote %s (%d bytes)" % (OUT, len(text.encode())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

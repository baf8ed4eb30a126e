#!/usr/bin/python3
"""Characterise a model's attention the way the SparK paper does (issue 18, item 3).

    /usr/bin/python3 tools/train/attention_profile.py \
        --model shipped=models/sparkv-tiny-hf --model learned=models/sparkv-tiny-learned-hf \
        --length 2048 --n 8 --out docs/results/attention-profile

For each model (an HF folder; its own tokenizer.json), on the first N evaluation samples
(seeds 2^40 + i, the ones `sparkv eval` uses) of each task, one teacher-forced forward pass over
prompt + gold answer records the RoPE'd queries and keys of every layer, then per layer and KV head:

* **Channel saliency CV** (paper §2.1, "CV > 1.1 on real models"). SparK's saliency of channel j
  of token t is w_tj = n_j * |k_tj| (n_j the window-query norm below). Per channel, the
  coefficient of variation of w_tj across the prompt tokens (std / mean; n_j cancels), averaged
  over channels. Token 0 (BOS, the attention sink) is left out: its key is an outlier by design.
  Also the CV across channels within a token (how peaked one token's saliency is), averaged over
  tokens.
* **Per-token vs structured channel choice**: at lambda = 0.8 (keep T = ceil(0.2 D) channels), the
  share of a token's own top-T channels that fall in the head's single top-T set by summed
  saliency (ThinK's structured choice). 1.0 would mean per-token selection buys nothing.
* **Window-query channel norms** n_j = || mean over the group of the last w prompt queries, channel
  j ||_2 (what SparK's mean recovery divides by): channels at zero (< 1e-6 of the head's largest),
  max / median, and the CV of n_j across the D channels.
* **SnapKV vs the full cache's top attention**: SnapKV's token scores exactly as sparkv computes
  them (window w, per query head softmax over every visible key, mean over the window rows,
  average-pooled with `kernel`, mean over the group; window tokens always kept) at a budget of
  `budget_frac` of the prompt; the full cache's top attention is the mean attention that the
  queries decoding the gold answer (teacher-forced) give to each prompt token. Reported: the
  overlap of SnapKV's kept prefix tokens with the same number of top-attended tokens, and the
  share of the answer queries' attention mass (over prompt tokens) that falls on tokens SnapKV keeps.

Writes OUT/profile.json (per model, layer, head) and OUT/summary.md (the tables the doc quotes).
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import model as M  # noqa: E402
from eval_py import load_model  # noqa: E402
from sparkv_gen.bpe import Tokenizer  # noqa: E402
from sparkv_gen.tasks import EVAL_SEED_BASE, make_sample  # noqa: E402


def capture(model, ids):
    """One forward pass; returns per layer (q [H, T, D], k [Hkv, T, D]) after RoPE."""
    got = {}
    orig = M.Attention.forward

    def fwd(self, x, cos, sin, mask, kv_cache=None):
        c = self.c
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, c.num_attention_heads, c.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(B, T, c.num_key_value_heads, c.head_dim).transpose(1, 2)
        got[id(self)] = ((q * cos + M.rotate_half(q) * sin)[0].double(),
                         (k * cos + M.rotate_half(k) * sin)[0].double())
        return orig(self, x, cos, sin, mask, kv_cache)

    M.Attention.forward = fwd
    try:
        with torch.no_grad():
            model(torch.tensor([ids]))
    finally:
        M.Attention.forward = orig
    return [got[id(lay.self_attn)] for lay in model.model.layers]


def avg_pool_include_pad(x, kernel):
    """[n] -> [n]: AvgPool1d(kernel, stride 1, padding kernel // 2, count_include_pad=True)."""
    if kernel <= 1:
        return x
    return F.avg_pool1d(x[None, None], kernel, stride=1, padding=kernel // 2,
                        count_include_pad=True)[0, 0][: x.numel()]


def head_stats(q, k, n_prompt, n_total, g, window, kernel, budget_frac, keep_frac):
    """q [g, T, D] (the group's query heads), k [T, D] for one KV head."""
    D = k.shape[1]
    scale = 1.0 / math.sqrt(D)
    kp = k[1:n_prompt].abs()                                   # [P-1, D] prompt keys, no BOS
    qw = q[:, n_prompt - window:n_prompt, :].mean(0)           # [w, D] group-mean window queries
    n = qw.norm(dim=0)                                         # [D]
    sal = kp * n                                               # [P-1, D]
    mean_t, std_t = sal.mean(0), sal.std(0, unbiased=False)
    live = mean_t > 0
    cv_tokens = float((std_t[live] / mean_t[live]).mean())
    rmean, rstd = sal.mean(1), sal.std(1, unbiased=False)
    ok = rmean > 0
    cv_channels = float((rstd[ok] / rmean[ok]).mean())
    T_keep = max(1, math.ceil(keep_frac * D))
    own = sal.topk(T_keep, dim=1).indices                      # [P-1, T]
    shared = torch.zeros(D, dtype=torch.bool)
    shared[sal.sum(0).topk(T_keep).indices] = True
    structured_agree = float(shared[own].double().mean())
    ns = n.sort().values
    nmax, nmed = float(ns[-1]), float(ns[D // 2])
    zero = int((n < 1e-6 * max(nmax, 1e-30)).sum())
    n_cv = float(n.std(unbiased=False) / n.mean()) if float(n.mean()) > 0 else float("nan")

    # SnapKV scores over the prompt prefix (window tokens protected), as src/press/eviction_snapkv.
    P = n_prompt
    pos = torch.arange(P)
    logits = torch.einsum("gwd,td->gwt", q[:, P - window:P, :], k[:P]) * scale
    causal = pos[None, :] <= (P - window + torch.arange(window))[:, None]     # [w, P]
    logits = logits.masked_fill(~causal[None], float("-inf"))
    att = torch.softmax(logits, dim=-1).mean(1)[:, : P - window]                # [g, P - w]
    score = torch.stack([avg_pool_include_pad(att[i], kernel) for i in range(g)]).mean(0)
    budget = max(window + 1, int(round(budget_frac * P)))
    n_keep = min(P - window, budget - window)
    snap = set(score.topk(n_keep).indices.tolist())
    # The full cache's attention from the queries that decode the answer, over prompt tokens.
    qa = q[:, P - 1:n_total - 1, :]                                             # [g, A, D]
    la = torch.einsum("gad,td->gat", qa, k[: n_total - 1]) * scale
    A = qa.shape[1]
    vis = torch.arange(n_total - 1)[None, :] <= (P - 1 + torch.arange(A))[:, None]
    la = la.masked_fill(~vis[None], float("-inf"))
    pa = torch.softmax(la, dim=-1)[..., :P].mean((0, 1))                        # [P]
    pa = pa / pa.sum()
    prefix = pa[: P - window]
    top = set(prefix.topk(n_keep).indices.tolist())
    overlap = len(snap & top) / n_keep
    kept_mass = float(prefix[list(snap)].sum() + pa[P - window:].sum())
    return {"cv_tokens": cv_tokens, "cv_channels": cv_channels,
            "structured_agree": structured_agree, "n_zero": zero,
            # capped: a head whose median channel is ~0 (the shipped circuits) has no finite ratio
            "n_max_over_median": min(nmax / max(nmed, 1e-30), 1e6),
            "n_cv": n_cv, "snap_overlap": overlap, "snap_mass": kept_mass, "budget": budget}


def profile(label, hf, tasks, length, n, window, kernel, budget_frac, keep_frac):
    model, _ = load_model(hf=hf)
    model = model.float()
    cfg = model.config
    tok = Tokenizer.load(os.path.join(hf, "tokenizer.json"))
    g = cfg.num_attention_heads // cfg.num_key_value_heads
    rows = []
    for task in tasks:
        for i in range(n):
            s = make_sample(task, EVAL_SEED_BASE + i, length, tok)
            p = [tok.bos_id] + tok.encode_ordinary(s.prompt)
            t = tok.encode_ordinary(s.target)
            ids = p + t
            for li, (q, k) in enumerate(capture(model, ids)):
                for h in range(cfg.num_key_value_heads):
                    st = head_stats(q[h * g:(h + 1) * g], k[h], len(p), len(ids), g, window, kernel,
                                    budget_frac, keep_frac)
                    rows.append({"task": task, "sample": i, "layer": li, "kv_head": h, **st})
            print(f"{label}: {task} #{i} ({len(p)} prompt tokens)", flush=True)
    return {"label": label, "hf": hf, "head_dim": cfg.head_dim, "n_layer": cfg.num_hidden_layers,
            "n_kv": cfg.num_key_value_heads, "group": g, "rows": rows}


def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def summary(results, a):
    keys = [("cv_tokens", "saliency CV across tokens", "{:.2f}"),
            ("cv_channels", "saliency CV across channels", "{:.2f}"),
            ("structured_agree", f"own top-{a.keep_frac:.0%} in shared set", "{:.2f}"),
            ("n_zero", "n_j at zero (of D)", "{:.1f}"),
            ("n_max_over_median", "n_j max / median (capped at 1e6)", "{:.3g}"),
            ("n_cv", "n_j CV across channels", "{:.2f}"),
            ("snap_overlap", f"SnapKV ∩ top attention ({a.budget_frac:.0%})", "{:.2f}"),
            ("snap_mass", f"answer attention kept by SnapKV ({a.budget_frac:.0%})", "{:.2f}")]
    out = [f"Length {a.length}, {a.n} samples x {len(a.tasks.split(','))} tasks ({a.tasks}), window "
           f"{a.window}, SnapKV kernel {a.kernel}, SnapKV budget {a.budget_frac:.0%} of the prompt, "
           f"channel budget {a.keep_frac:.0%} of D. Means over samples, layers and KV heads.", ""]
    out.append("| measure | " + " | ".join(f"{r['label']} (D={r['head_dim']})" for r in results) + " |")
    out.append("|---|" + "---:|" * len(results))
    for k, name, fmt in keys:
        out.append(f"| {name} | " + " | ".join(fmt.format(mean([x[k] for x in r["rows"]])) for r in results) + " |")
    out.append("")
    for r in results:
        out.append(f"Per layer and KV head, {r['label']}:")
        out.append("")
        out.append("| layer | KV head | sal. CV (tokens) | own-in-shared | n_j zero | n_j max/med | SnapKV overlap | SnapKV mass |")
        out.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for li in range(r["n_layer"]):
            for h in range(r["n_kv"]):
                xs = [x for x in r["rows"] if x["layer"] == li and x["kv_head"] == h]
                out.append(f"| {li} | {h} | {mean([x['cv_tokens'] for x in xs]):.2f} | "
                           f"{mean([x['structured_agree'] for x in xs]):.2f} | {mean([x['n_zero'] for x in xs]):.1f} | "
                           f"{mean([x['n_max_over_median'] for x in xs]):.3g} | {mean([x['snap_overlap'] for x in xs]):.2f} | "
                           f"{mean([x['snap_mass'] for x in xs]):.2f} |")
        out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True, help="LABEL=HF_FOLDER (repeatable)")
    ap.add_argument("--tasks", default="passkey,niah_single_1,niah_single_2")
    ap.add_argument("--length", type=int, default=2048)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--window", type=int, default=32)
    ap.add_argument("--kernel", type=int, default=5)
    ap.add_argument("--budget-frac", type=float, default=0.25)
    ap.add_argument("--keep-frac", type=float, default=0.2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    results = []
    for spec in a.model:
        label, _, hf = spec.partition("=")
        if not hf:
            ap.error(f"--model {spec}: expected LABEL=HF_FOLDER")
        results.append(profile(label, hf, [t for t in a.tasks.split(",") if t], a.length, a.n,
                               a.window, a.kernel, a.budget_frac, a.keep_frac))
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "profile.json"), "w") as f:
        json.dump({"args": vars(a), "models": results}, f)
    text = summary(results, a)
    with open(os.path.join(a.out, "summary.md"), "w") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Press fixtures on the embedded model's real prefill state (issue 6: every press vs the
independent numpy reference, tests/golden/press_ref.py).

    /usr/bin/python3 tests/golden/make_press_model_case.py --model-dir models [--out tests/golden/press]

One held-out prompt (niah_multikey_1, length 1024, seed EVAL_SEED_BASE; ids = [bos] +
encode_ordinary(prompt)) runs through the float64 forward pass of model_ref.py on the weights of
sparkv-tiny-f16.gguf, which records per layer what sparkv's PrefillCapture records: post-RoPE keys
and queries, values, the normalised layer input. From that state it writes

  case_model_l<L>.json (L in LAYERS)  press_ref.py's case format, read by the existing tests
      (press_eviction_test.cpp, press_think_test.cpp): K/V [n_kv, T, D] of layer L as float32, the
      last `window` queries only (`q_rows` = window; the full [T, H, D] queries would double the
      file) and the H2O column sums over all T queries. Kept indices and ThinK channels come from
      press_ref.run_pipeline on the float32-rounded state the C++ test reads, so they must match
      exactly. No Expected Attention entries (its [H*D, E] projection and [E, E] covariance per
      layer would add 0.7 MB; model_e2e.json covers it through the real model).

  model_e2e.json  for tests/unit/press_model_test.cpp, which prefills the same ids through sparkv
      itself (f32 cache, the real capture path): per spec, every layer and KV head, the reference's
      kept tokens (or ThinK channels) computed on the float64 state, plus the score gap at the cut.
      sparkv's f32 prefill differs from the float64 one by ~1e-6 relative, so where the weakest
      kept and the strongest dropped score differ by less than `tie_rel` (relative), `near` lists
      every token / channel whose score lies in that tie band: a swap among them is tolerated.

The top-k gaps come from the scores press_ref's presses hand to press_ref.topk_sorted (recorded
by wrapping that function), so the scores are the reference's own.
"""
import argparse
import json
import math
import os
import time

import numpy as np

from model_ref import DEFAULT_MODEL_DIR, HERE, ModelDir, b64, check_forward, forward, ref
import press_ref as pr
from sparkv_gen.tasks import EVAL_SEED_BASE, make_sample

TASK, LENGTH, SEED = "niah_multikey_1", 1024, EVAL_SEED_BASE
LAYERS = [0, 3]          # layers whose state is stored (first and last: the pyramid's two ends)
WINDOW = 64              # query rows stored, as press_ref's cases (SnapKV's default window)
TIE_REL = 1e-4           # tie band of the end-to-end test, relative to the scores at the cut

# Specs of the state cases (each run on layer L's state with n_layer = the model's).
CASE_SPECS = [
    "snapkv:budget=128,window=32", "snapkv:budget=256", "snapkv:ratio=0.5",
    "snapkv:budget=128,window=32,kernel=1", "pyramidkv:budget=128,window=32", "pyramidkv:budget=256",
    "pyramidkv:ratio=0.5", "streamingllm:budget=128", "h2o:budget=128", "h2o:ratio=0.5",
    "tova:budget=128", "knorm:budget=128", "random:budget=128,seed=3",
    "streamingllm:budget=512+snapkv:budget=128,window=32", "snapkv:budget=512+h2o:budget=128",
    "think:ratio=0.5", "think:ratio=0.25,window=64", "snapkv:budget=256+think:ratio=0.5",
    "pyramidkv:budget=128,window=32+think:ratio=0.5",
]
# Specs of the end-to-end check (single presses: the tie band is defined for one top-k).
E2E_SPECS = [
    "snapkv:budget=128,window=32", "snapkv:budget=256", "pyramidkv:budget=128,window=32",
    "streamingllm:budget=128", "h2o:budget=128", "tova:budget=128", "knorm:budget=128",
    "expected:budget=128", "think:ratio=0.5",
]
EXPECTED_DEFAULTS = dict(sinks=4, future=512, cov=1, vnorm=1)  # press_spec.cpp's defaults


class TopkTrace:
    """Wraps press_ref.topk_sorted and records (scores, n_kept) of every call, in call order."""

    def __init__(self):
        self.calls = []
        self._orig = pr.topk_sorted

    def __enter__(self):
        def traced(score, n_kept):
            self.calls.append((np.array(score, dtype=np.float64), n_kept))
            return self._orig(score, n_kept)
        pr.topk_sorted = traced
        return self

    def __exit__(self, *exc):
        pr.topk_sorted = self._orig


def tie_info(score, n_kept, idx=None):
    """(gap at the cut, the gap relative to the cut's scores, indices in the tie band when the
    relative gap is at most TIE_REL); the gaps are None when nothing is cut.

    score[i] scores idx[i] (default: i); the cut lies between the n_kept-th highest score and the
    next (press_ref's order: higher score, then lower index)."""
    n = len(score)
    idx = np.arange(n) if idx is None else np.asarray(idx)
    if n_kept <= 0 or n_kept >= n:
        return None, None, []
    order = np.lexsort((np.arange(n), -score))
    s_k, s_d = score[order[n_kept - 1]], score[order[n_kept]]
    if not (math.isfinite(s_k) and math.isfinite(s_d)):
        return None, None, []
    scale = max(abs(s_k), abs(s_d), 1e-300)
    rel = (s_k - s_d) / scale
    if rel > TIE_REL:
        return float(s_k - s_d), float(rel), []
    tol = TIE_REL * scale
    band = (score >= s_d - tol) & (score <= s_k + tol)
    return float(s_k - s_d), float(rel), sorted(int(i) for i in idx[band])


def layer_state(layer, L, n_layer, g):
    """press_ref's state dict (float64) for one layer of the forward capture."""
    K = np.ascontiguousarray(layer["k"].transpose(1, 0, 2))   # [n_kv, T, D]
    V = np.ascontiguousarray(layer["v"].transpose(1, 0, 2))
    Q = layer["q"]                                            # [T, H, D]
    T = Q.shape[0]
    return dict(K=K, V=V, Q=Q, Qw=Q[T - WINDOW:], T=T, g=g, layer=L, n_layer=n_layer, ctx_seed=0,
                colsum=pr.full_attention_colsum(K, Q, g))


def expected_reference(md, layer, st, spec):
    """Expected Attention on the real statistics: the capture's (inputs of positions >= 4,
    unbiased covariance) and the layer's q_proj."""
    kv = dict(EXPECTED_DEFAULTS)
    (_, args), = pr.parse(spec)
    kv.update(args)
    xn = layer["xn"][4:]
    h_mean, h_cov = xn.mean(axis=0), np.cov(xn, rowvar=False)
    H, D = st["Q"].shape[1], st["Q"].shape[2]
    wq = md.weights[f"model.layers.{st['layer']}.self_attn.q_proj.weight"]
    inv = ref.inv_freq(md.cfg)
    mu, cov = pr.expected_stats(wq, np.zeros(H * D), H, D, h_mean, h_cov, inv, st["T"],
                                kv["future"], bool(kv["cov"]))
    return pr.expected_select(st, mu, cov, pr.budget_kept(st["T"], kv.get("budget")),
                              kv["sinks"], bool(kv["vnorm"]))


def e2e_entry(md, layers, states, spec):
    out = []
    for L, st in enumerate(states):
        with TopkTrace() as tr:
            if spec.startswith("expected"):
                sel, channels = expected_reference(md, layers[L], st, spec), None
            else:
                sel, channels = pr.run_pipeline(st, spec)
        n_kv = st["K"].shape[0]
        assert len(tr.calls) == n_kv, f"{spec}: {len(tr.calls)} top-k calls for {n_kv} heads"
        ties = [tie_info(s, k) for s, k in tr.calls]
        e = dict(layer=L, gap=[t[0] for t in ties], rel_gap=[t[1] for t in ties],
                 near=[t[2] for t in ties])
        if channels is not None:
            e["channels"] = channels
        else:
            e["kept"] = [[int(t) for t in h] for h in sel]
        out.append(e)
    return dict(spec=spec, layers=out)


def state_case(name, st):
    """press_ref's case format for one layer, on the float32 values the C++ test will read."""
    f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
    T, g = st["T"], st["g"]
    s32 = dict(st, K=f32(st["K"]), V=f32(st["V"]), Qw=f32(st["Qw"]),
               colsum=f32(st["colsum"]).astype(np.float64))
    entries = []
    for spec in CASE_SPECS:
        sel, channels = pr.run_pipeline(s32, spec)
        e = dict(spec=spec, layer=st["layer"], n_layer=st["n_layer"], ctx_seed=0,
                 kept=[[int(t) for t in h] for h in sel])
        if channels is not None:
            e["channels"] = channels
        entries.append(e)
    n_kv, _, D = st["K"].shape
    return dict(name=name, T=T, n_kv=n_kv, group=g, D=D, window=WINDOW, q_rows=WINDOW,
                k=b64(s32["K"]), v=b64(s32["V"]), q=b64(s32["Qw"]), colsum=b64(s32["colsum"]),
                entries=entries, expected=[])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model-dir", default=DEFAULT_MODEL_DIR)
    ap.add_argument("--out", default=os.path.join(HERE, "press"))
    a = ap.parse_args()
    t0 = time.time()
    md = ModelDir(a.model_dir)
    sample = make_sample(TASK, SEED, LENGTH, md.tok)
    ids = md.prompt_ids(sample.prompt)
    logits, layers = forward(md.cfg, md.weights, ids, capture=True)
    check_forward(md.cfg, md.weights, ids, logits)
    H, KV = md.cfg["num_attention_heads"], md.cfg["num_key_value_heads"]
    n_layer = len(layers)
    states = [layer_state(layer, L, n_layer, H // KV) for L, layer in enumerate(layers)]
    os.makedirs(a.out, exist_ok=True)

    sizes = []
    for L in LAYERS:
        name = f"case_model_l{L}"
        path = os.path.join(a.out, name + ".json")
        with open(path, "w") as f:
            json.dump(state_case(name, states[L]), f, separators=(",", ":"))
        sizes.append((path, os.path.getsize(path)))

    entries = [e2e_entry(md, layers, states, spec) for spec in E2E_SPECS]
    e2e = dict(schema=1, generator="tests/golden/make_press_model_case.py", model=md.provenance(),
               prompt=dict(task=TASK, seed=SEED, length=LENGTH, n_tokens=len(ids)), ids=ids,
               n_layer=n_layer, tie_rel=TIE_REL, entries=entries)
    path = os.path.join(a.out, "model_e2e.json")
    with open(path, "w") as f:
        json.dump(e2e, f, separators=(",", ":"))
    sizes.append((path, os.path.getsize(path)))

    for p, n in sizes:
        print(f"{p}: {n / 1e6:.2f} MB")
    for e in entries:
        gaps = [g for l in e["layers"] for g in l["rel_gap"] if g is not None]
        banded = sum(1 for l in e["layers"] for nr in l["near"] if nr)
        print(f"  {e['spec']:32s} min relative gap at the cut {min(gaps) if gaps else float('nan'):.2e}, "
              f"{banded} layer-heads with a tie band")
    print(f"{len(ids)} tokens, {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()

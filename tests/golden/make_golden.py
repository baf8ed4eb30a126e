#!/usr/bin/python3
"""Golden forward-pass fixtures for sparkv: tiny random-weight models + reference outputs.

Usage:
  /usr/bin/python3 tests/golden/make_golden.py --write-models DIR   # write model files, verify sha256
  /usr/bin/python3 tests/golden/make_golden.py --regen [--write-models DIR]
                                                  # recompute tests/golden/forward_manifest.json

--write-models writes every model file/folder below DIR (bit-identical on every run and numpy
version: weights come from splitmix64, see tools/pylib/sparkv_py/rng.py) and checks each file
against the sha256 recorded in the manifest; exit 1 on any mismatch. --regen rebuilds the
models (in DIR or a temp dir), runs the independent float64 reference (tools/pylib/sparkv_py/
reference_model.py) on the weights *as dequantized from each file's own bytes*, and rewrites
the manifest. Only the manifest is committed.

Manifest schema (forward_manifest.json):
{
  "schema": 1,
  "generator": "tests/golden/make_golden.py",
  "tolerance": {"max_abs_logit": 1e-3},         # default; each model also carries its own
  "n_greedy": 32,
  "cases": {                                     # per case: the HF config used for every file
    "<case>": {"config": {HF config.json dict}, "prompt": [16 token ids], "prompt_attempt": k,
                "weight_seed": "..."}      # prompt = first splitmix64 prompt (attempt k = 0, 1, ..)
                                           # where every file has all greedy margins > 0.02 and
                                           # >= 8 distinct greedy ids
  },
  "models": [                                    # one entry per model file / folder
    {
      "name": "llama3-q4_k",                     # unique id
      "case": "llama3",                          # key into "cases"
      "arch": "llama",                           # HF model_type (llama|mistral|qwen2|qwen3)
      "format": "gguf" | "hf",
      "path": "llama3-q4_k.gguf",                # relative to DIR; a folder for format "hf"
      "weight_type": "F32|F16|BF16|Q8_0|Q4_0|Q4_K|Q6_K",   # 2-D weights; norms/biases are F32
      "files": {"relpath": "sha256 hex", ...},   # every file written for this model
      "prompt": [ids],                           # same as the case's prompt (T = 16)
      "logits_positions": [0, ..., 15],          # prompt positions whose logits are stored
      "logits": [[vocab floats], ...],           # float64 reference logits, row per position
      "greedy": [32 ids],                        # greedy continuation (argmax, no sampling)
      "greedy_margins_min": 0.0xx,               # min over the 32 steps of top1 - top2 logit
      "max_abs_dlogit_vs_f32": float | null,     # informative: vs the case's F32 file, same fmt
      "tolerance": {"max_abs_logit": 1e-3}       # suggested parity tolerance for this file
    }, ...
  ],
  "tokenizer": {"n_vocab": 320, "bos_id": 318, "eos_id": 319,
                "examples": [{"text": "...", "ids": [...]}]}   # byte-level BPE, no BOS added
}
All model files carry the same tiny byte-level BPE tokenizer (256 byte tokens, merges,
<|bos|>, <|eos|>; tokenizer.ggml.pre = qwen2; ChatML template).
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "pylib"))

import numpy as np  # noqa: E402

from sparkv_py import gguf_export, hf_export, quants, reference_model, rng, tokenizer_bpe  # noqa: E402

MANIFEST = os.path.join(HERE, "forward_manifest.json")
N_PROMPT = 16
N_GREEDY = 32
MIN_MARGIN = 0.02      # every greedy step of every file: top1 - top2 > this
MIN_DISTINCT = 8       # greedy continuations must not collapse onto a few tokens
TOL = 1e-3
GGUF_TYPES_LLAMA3 = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"]

TOKENIZER_TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello world! 2024 is the year; it's 7481.\n\nNew line",
    "<|bos|>the needle is hidden in the haystack<|eos|>",
]


def _llama3_scaling():
    return {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}


def case_configs():
    tok_ids = dict(bos_token_id=318, eos_token_id=319)
    common = dict(hidden_size=256, intermediate_size=512, num_hidden_layers=2, vocab_size=320,
                  max_position_embeddings=4096, **tok_ids)
    return {
        "llama3": hf_export.make_config("llama", num_attention_heads=4, num_key_value_heads=2,
                                        head_dim=64, rms_norm_eps=1e-5, rope_theta=500000.0,
                                        rope_scaling=_llama3_scaling(),
                                        tie_word_embeddings=False, **common),
        "mistral": hf_export.make_config("mistral", num_attention_heads=4, num_key_value_heads=2,
                                         head_dim=64, rms_norm_eps=1e-5, rope_theta=1e6,
                                         tie_word_embeddings=False, **common),
        "qwen2": hf_export.make_config("qwen2", num_attention_heads=4, num_key_value_heads=2,
                                       head_dim=64, rms_norm_eps=1e-6, rope_theta=1e6,
                                       tie_word_embeddings=True, **common),
        "qwen3": hf_export.make_config("qwen3", num_attention_heads=8, num_key_value_heads=2,
                                       head_dim=64, rms_norm_eps=1e-6, rope_theta=1e6,
                                       tie_word_embeddings=True, **common),
    }


# (case, format, weight type, extra) -- file list; order = manifest order
def model_specs():
    specs = [("llama3", "gguf", t) for t in GGUF_TYPES_LLAMA3]
    specs += [("llama3", "hf", "F32"), ("llama3", "hf", "BF16"),
              ("mistral", "hf", "F32"), ("mistral", "gguf", "F32"),
              ("qwen2", "hf", "F32"), ("qwen2", "gguf", "F32"), ("qwen2", "gguf", "F16"),
              ("qwen3", "hf", "F32"), ("qwen3", "gguf", "F32"), ("qwen3", "gguf", "Q8_0")]
    return specs


def spec_name(case, fmt, wtype):
    if fmt == "gguf":
        return f"{case}-{wtype.lower()}.gguf"
    return f"{case}-hf-{wtype.lower()}"


def _seed(case, name):
    return int.from_bytes(hashlib.sha256(f"sparkv-golden/{case}/{name}".encode()).digest()[:8],
                          "little")


def make_weights(case, cfg):
    """HF-named float32 weights. Linear layers U(+-k/sqrt(fan_in)): k = 1.5 for q/k (attention not
    uniform), 3 for o_proj/down_proj (block outputs dominate the embedding in the residual, so
    tied models do not just repeat the last token), 1 otherwise; embeddings / lm_head U(+-0.5)
    so logits have std ~4 (clear greedy margins); norms U(0.8, 1.2); qwen2 biases U(+-0.2)."""
    D, F, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    H, KV, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    tied = cfg["tie_word_embeddings"]
    shapes = {"model.embed_tokens.weight": ((V, D), 0.03 if tied else 0.5)}
    for L in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{L}."
        shapes[p + "input_layernorm.weight"] = ((D,), "norm")
        shapes[p + "post_attention_layernorm.weight"] = ((D,), "norm")
        shapes[p + "self_attn.q_proj.weight"] = ((H * hd, D), 1.5 / np.sqrt(D))
        shapes[p + "self_attn.k_proj.weight"] = ((KV * hd, D), 1.5 / np.sqrt(D))
        shapes[p + "self_attn.v_proj.weight"] = ((KV * hd, D), 1.0 / np.sqrt(D))
        shapes[p + "self_attn.o_proj.weight"] = ((D, H * hd), 3.0 / np.sqrt(H * hd))
        shapes[p + "mlp.gate_proj.weight"] = ((F, D), 1.0 / np.sqrt(D))
        shapes[p + "mlp.up_proj.weight"] = ((F, D), 1.0 / np.sqrt(D))
        shapes[p + "mlp.down_proj.weight"] = ((D, F), 3.0 / np.sqrt(F))
        if cfg["model_type"] == "qwen2":
            for nm, n in (("q", H * hd), ("k", KV * hd), ("v", KV * hd)):
                shapes[p + f"self_attn.{nm}_proj.bias"] = ((n,), 0.2)
        if cfg["model_type"] == "qwen3":
            shapes[p + "self_attn.q_norm.weight"] = ((hd,), "norm")
            shapes[p + "self_attn.k_norm.weight"] = ((hd,), "norm")
    shapes["model.norm.weight"] = ((D,), "final_norm_tied" if tied else "norm")
    if not cfg["tie_word_embeddings"]:
        shapes["lm_head.weight"] = ((V, D), 0.5)
    w = {}
    for name in sorted(shapes):
        shape, a = shapes[name]
        if a == "norm":
            w[name] = rng.uniform_array(_seed(case, name), shape, 0.8, 1.2)
        elif a == "final_norm_tied":
            w[name] = rng.uniform_array(_seed(case, name), shape, 12.0, 18.0)
        else:
            w[name] = rng.uniform_array(_seed(case, name), shape, -a, a)
    return w


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_models(out_dir):
    """Writes every model; -> list of dict(name, case, format, wtype, path, files{rel: sha})."""
    os.makedirs(out_dir, exist_ok=True)
    cfgs = case_configs()
    tok = tokenizer_bpe.build_tokenizer(320)
    weights = {c: make_weights(c, cfgs[c]) for c in cfgs}
    written = []
    for case, fmt, wtype in model_specs():
        rel = spec_name(case, fmt, wtype)
        path = os.path.join(out_dir, rel)
        if fmt == "gguf":
            gguf_export.write_gguf(path, cfgs[case], weights[case], wtype, tokenizer=tok,
                                   name=f"sparkv-golden-{case}")
            files = {rel: _sha256(path)}
        else:
            if os.path.isdir(path):
                shutil.rmtree(path)
            n_shards = 2 if (case == "llama3" and wtype == "F32") else 1
            names = hf_export.write_hf_folder(path, cfgs[case], weights[case], wtype, n_shards,
                                              tokenizer=tok)
            files = {f"{rel}/{n}": _sha256(os.path.join(path, n)) for n in names}
        written.append(dict(name=rel.replace(".gguf", ""), case=case, format=fmt,
                            wtype=wtype, path=rel, files=files))
    return written, cfgs, tok


def load_for_reference(out_dir, m, cfg):
    """-> (weights, rope_divisors) exactly as the file holds them."""
    path = os.path.join(out_dir, m["path"])
    if m["format"] == "gguf":
        gcfg, w, div = gguf_export.load_gguf_as_hf(path)
        for k in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                  "num_key_value_heads", "head_dim", "vocab_size", "tie_word_embeddings"):
            assert gcfg[k] == cfg[k], (m["path"], k, gcfg[k], cfg[k])
        return w, div
    hcfg, w = hf_export.read_hf_folder(path)
    return w, None


def greedy_check(cfg, w, div, prompt, abort_below=None):
    ids = list(prompt)
    new, margins, first = [], [], None
    for step in range(N_GREEDY):
        lg = reference_model.logits_for(cfg, w, ids, div)
        if first is None:
            first = lg
        last = lg[-1]
        o = np.argsort(-last, kind="stable")
        mg = float(last[o[0]] - last[o[1]])
        margins.append(mg)
        if abort_below is not None and mg < abort_below:
            return None, margins, first
        new.append(int(o[0]))
        ids.append(int(o[0]))
    return new, margins, first


def _dump_manifest(man, path):
    """Readable JSON: structure indented, each numeric list (logits row, ids) on one line."""
    rows = {}

    def sub(obj):
        if isinstance(obj, dict):
            return {k: sub(v) for k, v in obj.items()}
        if isinstance(obj, list) and obj and all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in obj):
            key = f"@@ROW{len(rows)}@@"
            rows[key] = json.dumps(obj, separators=(",", ":"))
            return key
        if isinstance(obj, list):
            return [sub(x) for x in obj]
        return obj

    text = json.dumps(sub(man), indent=1)
    for k, v in rows.items():
        text = text.replace(f'"{k}"', v, 1)
    with open(path, "w") as f:
        f.write(text + "\n")


def regen(out_dir):
    t0 = time.time()
    written, cfgs, tok = write_models(out_dir)
    print(f"models written in {time.time() - t0:.1f}s", flush=True)
    loaded = {}
    for m in written:
        loaded[m["name"]] = load_for_reference(out_dir, m, cfgs[m["case"]])
    cases = {}
    results = {}
    for case in cfgs:
        ms = [m for m in written if m["case"] == case]
        for attempt in range(500):
            prompt = rng.randint(_seed(case, f"prompt-{attempt}"), N_PROMPT, 0, 318).tolist()
            ok = True
            res = {}
            for m in ms:
                w, div = loaded[m["name"]]
                new, margins, first = greedy_check(cfgs[case], w, div, prompt, MIN_MARGIN)
                if new is None or len(set(new)) < MIN_DISTINCT:
                    ok = False
                    break
                res[m["name"]] = (new, margins, first)
            if ok:
                break
        else:
            raise SystemExit(f"{case}: no prompt with all greedy margins > {MIN_MARGIN} and "
                             f">= {MIN_DISTINCT} distinct greedy ids")
        print(f"{case}: prompt attempt {attempt}, min margin "
              f"{min(min(r[1]) for r in res.values()):.4f} ({time.time() - t0:.1f}s)", flush=True)
        cases[case] = {"config": cfgs[case], "prompt": prompt, "prompt_attempt": attempt,
                       "weight_seed": f"sha256('sparkv-golden/{case}/<tensor name>')[:8] LE"}
        results.update(res)
    models = []
    for m in written:
        new, margins, first = results[m["name"]]
        ref = [x for x in written if x["case"] == m["case"] and x["format"] == m["format"]
               and x["wtype"] == "F32"]
        if m["wtype"] == "F32" or not ref:
            dl = None
        else:
            dl = float(np.max(np.abs(first - results[ref[0]["name"]][2])))
        models.append({
            "name": m["name"], "case": m["case"], "arch": cfgs[m["case"]]["model_type"],
            "format": m["format"], "path": m["path"], "weight_type": m["wtype"],
            "files": m["files"], "prompt": cases[m["case"]]["prompt"],
            "logits_positions": list(range(N_PROMPT)),
            "logits": [[float(v) for v in row] for row in first],
            "greedy": new, "greedy_margins_min": min(margins),
            "max_abs_dlogit_vs_f32": dl, "tolerance": {"max_abs_logit": TOL},
        })
        print(f"  {m['name']:22s} min margin {min(margins):.4f}  dlogit vs f32 "
              f"{'-' if dl is None else f'{dl:.4g}'}", flush=True)
    man = {
        "schema": 1,
        "generator": "tests/golden/make_golden.py",
        "tolerance": {"max_abs_logit": TOL},
        "n_greedy": N_GREEDY,
        "cases": cases,
        "models": models,
        "tokenizer": {"n_vocab": tok.n_vocab, "bos_id": tok.bos_id, "eos_id": tok.eos_id,
                      "examples": [{"text": s, "ids": tok.encode(s)} for s in TOKENIZER_TEXTS]},
    }
    _dump_manifest(man, MANIFEST)
    print(f"wrote {MANIFEST} ({os.path.getsize(MANIFEST) / 1e6:.2f} MB) in "
          f"{time.time() - t0:.1f}s")


def verify(out_dir):
    if not os.path.exists(MANIFEST):
        print(f"error: {MANIFEST} missing; run --regen", file=sys.stderr)
        return 1
    with open(MANIFEST) as f:
        man = json.load(f)
    written, _, _ = write_models(out_dir)
    expect = {}
    for m in man["models"]:
        expect.update(m["files"])
    bad = 0
    got = {}
    for m in written:
        got.update(m["files"])
    for rel, sha in sorted(expect.items()):
        if got.get(rel) != sha:
            print(f"sha256 mismatch: {rel}: manifest {sha}, written {got.get(rel)}",
                  file=sys.stderr)
            bad += 1
    for rel in sorted(set(got) - set(expect)):
        print(f"file not in manifest: {rel}", file=sys.stderr)
        bad += 1
    if bad:
        print(f"{bad} file(s) differ from {MANIFEST}; regenerate with --regen", file=sys.stderr)
        return 1
    print(f"wrote {len(got)} files for {len(written)} models under {out_dir}; all sha256 match")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write-models", metavar="DIR")
    ap.add_argument("--regen", action="store_true")
    a = ap.parse_args()
    if a.regen:
        if a.write_models:
            regen(a.write_models)
        else:
            with tempfile.TemporaryDirectory() as d:
                regen(d)
        return 0
    if a.write_models:
        return verify(a.write_models)
    ap.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())

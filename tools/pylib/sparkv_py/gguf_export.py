#!/usr/bin/python3
"""Write a llama.cpp-style GGUF (arch llama | qwen2 | qwen3) from HF-named float32 weights,
and read one back into HF names (the inverse, for self-checks and golden references).

    write_gguf(path, hf_config, weights, wtype="Q8_0", tokenizer=tok, name="tiny")
    cfg, weights, rope_divisors = load_gguf_as_hf(path)   # float32 HF-named, un-permuted

Conventions (as llama.cpp's convert_hf_to_gguf.py):
  - HF model_type llama/mistral -> GGUF arch "llama"; q_proj/k_proj rows (and biases) are
    permuted: reshape (n_head, 2, hd/2, in) -> swap axes 1,2 -> flatten (n_head_kv for K), so
    GGUF row 2i+j of a head = HF row j*(hd/2)+i. qwen2/qwen3 are not permuted.
  - llama3 rope_scaling -> tensor rope_freqs.weight [hd/2] f32 holding, per frequency, the
    divisor unscaled_inv_freq / scaled_inv_freq (1 for high frequencies, factor for low ones);
    no rope.scaling.* keys are written for llama3.
  - `wtype` applies to every 2-D weight (token_embd included); 1-D tensors (norms, biases,
    rope_freqs) stay F32. output.weight is omitted when tie_word_embeddings.
  - general.file_type: F32 0, F16 1, Q4_0 2, Q8_0 7, Q4_K 14 (Q4_K_S), Q6_K 18, BF16 32;
    general.quantization_version = 2 for the block-quantized types.
"""
import numpy as np

from . import quants
from .gguf_reader import GgufReader
from .gguf_writer import GgufWriter
from .reference_model import head_dim, llama3_divisors

FILE_TYPE = {"F32": 0, "F16": 1, "Q4_0": 2, "Q8_0": 7, "Q4_K": 14, "Q6_K": 18, "BF16": 32}
GGUF_ARCH = {"llama": "llama", "mistral": "llama", "qwen2": "qwen2", "qwen3": "qwen3"}

_LAYER_MAP = [
    ("input_layernorm.weight", "attn_norm.weight"),
    ("post_attention_layernorm.weight", "ffn_norm.weight"),
    ("self_attn.q_proj.weight", "attn_q.weight"),
    ("self_attn.q_proj.bias", "attn_q.bias"),
    ("self_attn.k_proj.weight", "attn_k.weight"),
    ("self_attn.k_proj.bias", "attn_k.bias"),
    ("self_attn.v_proj.weight", "attn_v.weight"),
    ("self_attn.v_proj.bias", "attn_v.bias"),
    ("self_attn.o_proj.weight", "attn_output.weight"),
    ("self_attn.q_norm.weight", "attn_q_norm.weight"),
    ("self_attn.k_norm.weight", "attn_k_norm.weight"),
    ("mlp.gate_proj.weight", "ffn_gate.weight"),
    ("mlp.up_proj.weight", "ffn_up.weight"),
    ("mlp.down_proj.weight", "ffn_down.weight"),
]


def permute_qk(w, n_head):
    """HF rotate_half rows -> GGUF llama adjacent-pair rows (weights [out, in] or biases [out])."""
    w = np.asarray(w)
    hd = w.shape[0] // n_head
    return w.reshape(n_head, 2, hd // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute_qk(w, n_head):
    w = np.asarray(w)
    hd = w.shape[0] // n_head
    return w.reshape(n_head, hd // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _is_llama3(cfg):
    rs = cfg.get("rope_scaling")
    return bool(rs) and rs.get("rope_type", rs.get("type")) == "llama3"


def hf_to_gguf_tensors(cfg, weights):
    """-> ordered list of (gguf name, float32 array) with permutation applied."""
    arch = GGUF_ARCH[cfg["model_type"]]
    H = cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads") or H
    out = []
    if _is_llama3(cfg):
        out.append(("rope_freqs.weight", llama3_divisors(cfg).astype(np.float32)))
    out.append(("token_embd.weight", weights["model.embed_tokens.weight"]))
    for L in range(cfg["num_hidden_layers"]):
        for hf, gg in _LAYER_MAP:
            name = f"model.layers.{L}.{hf}"
            if name not in weights:
                continue
            w = np.asarray(weights[name], np.float32)
            if arch == "llama" and hf.startswith("self_attn.q_proj"):
                w = permute_qk(w, H)
            elif arch == "llama" and hf.startswith("self_attn.k_proj"):
                w = permute_qk(w, KV)
            out.append((f"blk.{L}.{gg}", w))
    out.append(("output_norm.weight", weights["model.norm.weight"]))
    if not cfg.get("tie_word_embeddings") and "lm_head.weight" in weights:
        out.append(("output.weight", weights["lm_head.weight"]))
    return out


def write_gguf(path, cfg, weights, wtype="F32", tokenizer=None, name=None):
    wtype = wtype.upper()
    arch = GGUF_ARCH[cfg["model_type"]]
    hd = head_dim(cfg)
    H = cfg["num_attention_heads"]
    w = GgufWriter(path)
    w.add_kv("general.architecture", arch, "string")
    w.add_kv("general.name", name or f"sparkv-tiny-{cfg['model_type']}", "string")
    w.add_kv("general.file_type", FILE_TYPE[wtype], "u32")
    if wtype in ("Q4_0", "Q8_0", "Q4_K", "Q6_K"):
        w.add_kv("general.quantization_version", 2, "u32")
    a = arch
    w.add_kv(f"{a}.vocab_size", cfg["vocab_size"], "u32")
    w.add_kv(f"{a}.context_length", cfg.get("max_position_embeddings", 4096), "u32")
    w.add_kv(f"{a}.embedding_length", cfg["hidden_size"], "u32")
    w.add_kv(f"{a}.block_count", cfg["num_hidden_layers"], "u32")
    w.add_kv(f"{a}.feed_forward_length", cfg["intermediate_size"], "u32")
    w.add_kv(f"{a}.attention.head_count", H, "u32")
    w.add_kv(f"{a}.attention.head_count_kv", cfg.get("num_key_value_heads") or H, "u32")
    w.add_kv(f"{a}.attention.layer_norm_rms_epsilon", float(cfg["rms_norm_eps"]), "f32")
    w.add_kv(f"{a}.attention.key_length", hd, "u32")
    w.add_kv(f"{a}.attention.value_length", hd, "u32")
    w.add_kv(f"{a}.rope.freq_base", float(cfg.get("rope_theta", 10000.0)), "f32")
    w.add_kv(f"{a}.rope.dimension_count", hd, "u32")
    rs = cfg.get("rope_scaling")
    if rs and not _is_llama3(cfg):
        kind = rs.get("rope_type", rs.get("type"))
        if kind != "linear":
            raise ValueError(f"rope_scaling {kind} not supported by gguf_export")
        w.add_kv(f"{a}.rope.scaling.type", "linear", "string")
        w.add_kv(f"{a}.rope.scaling.factor", float(rs["factor"]), "f32")
    if tokenizer is not None:
        if tokenizer.n_vocab != cfg["vocab_size"]:
            raise ValueError(f"tokenizer has {tokenizer.n_vocab} tokens, vocab_size "
                             f"{cfg['vocab_size']}")
        tokenizer.add_to_gguf(w)
    for gname, arr in hf_to_gguf_tensors(cfg, weights):
        arr = np.asarray(arr, np.float32)
        w.add_tensor(gname, arr, wtype if arr.ndim == 2 else "F32")
    w.write()
    return path


def gguf_config(r):
    """HF-style config dict from a GgufReader's metadata (rope_scaling left None)."""
    kv = r.kv
    a = kv["general.architecture"]
    H = kv[f"{a}.attention.head_count"]
    D = kv[f"{a}.embedding_length"]
    cfg = {
        "model_type": a,
        "hidden_size": D,
        "intermediate_size": kv[f"{a}.feed_forward_length"],
        "num_hidden_layers": kv[f"{a}.block_count"],
        "num_attention_heads": H,
        "num_key_value_heads": kv.get(f"{a}.attention.head_count_kv", H),
        "head_dim": kv.get(f"{a}.attention.key_length", D // H),
        "rms_norm_eps": kv[f"{a}.attention.layer_norm_rms_epsilon"],
        "rope_theta": kv.get(f"{a}.rope.freq_base", 10000.0),
        "rope_scaling": None,
        "max_position_embeddings": kv[f"{a}.context_length"],
        "tie_word_embeddings": "output.weight" not in r.tensors,
        "vocab_size": r.tensors["token_embd.weight"]["shape"][0],
    }
    if f"{a}.rope.scaling.type" in kv and kv[f"{a}.rope.scaling.type"] == "linear":
        cfg["rope_scaling"] = {"rope_type": "linear", "factor": kv[f"{a}.rope.scaling.factor"]}
    return cfg


def load_gguf_as_hf(path):
    """-> (config, {HF name: float32 array}, rope_divisors or None). Dequantizes and
    un-permutes Q/K for arch llama."""
    r = GgufReader(path)
    cfg = gguf_config(r)
    a = cfg["model_type"]
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    inv_layer = {gg: hf for hf, gg in _LAYER_MAP}
    out = {}
    for name in r.tensors:
        x = r.get(name)
        if name == "rope_freqs.weight":
            continue
        if name == "token_embd.weight":
            out["model.embed_tokens.weight"] = x
        elif name == "output_norm.weight":
            out["model.norm.weight"] = x
        elif name == "output.weight":
            out["lm_head.weight"] = x
        elif name.startswith("blk."):
            _, L, rest = name.split(".", 2)
            hf = inv_layer[rest]
            if a == "llama" and hf.startswith("self_attn.q_proj"):
                x = unpermute_qk(x, H)
            elif a == "llama" and hf.startswith("self_attn.k_proj"):
                x = unpermute_qk(x, KV)
            out[f"model.layers.{L}.{hf}"] = x
        else:
            raise ValueError(f"{path}: unexpected tensor {name}")
    div = r.get("rope_freqs.weight") if "rope_freqs.weight" in r.tensors else None
    return cfg, out, div


def quantized_weights(cfg, weights, wtype):
    """The HF-named weights as a GGUF of type wtype would hold them (2-D quantized, 1-D F32)."""
    return {k: (quants.roundtrip(v, wtype) if np.asarray(v).ndim == 2 else
                np.asarray(v, np.float32)) for k, v in weights.items()}

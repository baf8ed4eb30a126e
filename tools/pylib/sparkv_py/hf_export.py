#!/usr/bin/python3
"""Write a Hugging Face model folder from HF-named float32 weights.

    cfg = make_config("qwen3", hidden_size=256, intermediate_size=512, num_hidden_layers=2,
                      num_attention_heads=8, num_key_value_heads=2, head_dim=64, vocab_size=320,
                      rope_theta=1e6, tie_word_embeddings=True, bos_token_id=318, eos_token_id=319)
    write_hf_folder(dir, cfg, weights, dtype="F32", n_shards=2, tokenizer=tok)
    cfg, weights = read_hf_folder(dir)

Writes config.json, generation_config.json, model.safetensors (or N shards + index),
and, if a sparkv_py.tokenizer_bpe tokenizer is given, tokenizer.json + tokenizer_config.json.
lm_head.weight is dropped when tie_word_embeddings is true. All JSON is written with sorted
keys so the folder is byte-identical between runs.
"""
import json
import os

from . import safetensors_io

ARCHS = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
         "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"}
TORCH_DTYPE = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


def make_config(model_type, hidden_size, intermediate_size, num_hidden_layers,
                num_attention_heads, num_key_value_heads, vocab_size, head_dim=None,
                rms_norm_eps=1e-6, rope_theta=10000.0, rope_scaling=None,
                max_position_embeddings=4096, tie_word_embeddings=False, bos_token_id=None,
                eos_token_id=None, torch_dtype="float32"):
    cfg = {
        "architectures": [ARCHS[model_type]],
        "model_type": model_type,
        "hidden_size": hidden_size,
        "intermediate_size": intermediate_size,
        "num_hidden_layers": num_hidden_layers,
        "num_attention_heads": num_attention_heads,
        "num_key_value_heads": num_key_value_heads,
        "head_dim": head_dim or hidden_size // num_attention_heads,
        "hidden_act": "silu",
        "rms_norm_eps": rms_norm_eps,
        "rope_theta": rope_theta,
        "rope_scaling": rope_scaling,
        "max_position_embeddings": max_position_embeddings,
        "tie_word_embeddings": tie_word_embeddings,
        "vocab_size": vocab_size,
        "bos_token_id": bos_token_id,
        "eos_token_id": eos_token_id,
        "torch_dtype": torch_dtype,
        "attention_bias": model_type == "qwen2",
    }
    if model_type in ("qwen2", "qwen3"):
        cfg["use_sliding_window"] = False
        cfg["sliding_window"] = None
    if model_type == "mistral":
        cfg["sliding_window"] = None
    return cfg


def _dump(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")


def write_hf_folder(folder, config, weights, dtype="F32", n_shards=1, tokenizer=None):
    """Returns the list of written file names (relative to folder)."""
    os.makedirs(folder, exist_ok=True)
    cfg = dict(config)
    cfg["torch_dtype"] = TORCH_DTYPE[dtype]
    tensors = dict(weights)
    if cfg.get("tie_word_embeddings"):
        tensors.pop("lm_head.weight", None)
    files = ["config.json", "generation_config.json"]
    _dump(os.path.join(folder, "config.json"), cfg)
    gen = {"bos_token_id": cfg.get("bos_token_id"), "eos_token_id": cfg.get("eos_token_id"),
           "do_sample": False}
    _dump(os.path.join(folder, "generation_config.json"), gen)
    files += safetensors_io.write_folder(folder, tensors, dtype, n_shards)
    if tokenizer is not None:
        if tokenizer.n_vocab != cfg["vocab_size"]:
            raise ValueError(f"tokenizer has {tokenizer.n_vocab} tokens, config vocab_size "
                             f"{cfg['vocab_size']}")
        _dump(os.path.join(folder, "tokenizer.json"), tokenizer.hf_tokenizer_json())
        _dump(os.path.join(folder, "tokenizer_config.json"), tokenizer.hf_tokenizer_config())
        files += ["tokenizer.json", "tokenizer_config.json"]
    return sorted(files)


def read_hf_folder(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    return cfg, safetensors_io.read_folder(folder)

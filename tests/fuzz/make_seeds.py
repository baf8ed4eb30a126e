#!/usr/bin/env python3
"""Writes the committed seed corpora of the libFuzzer harnesses (tests/fuzz/corpus/<target>/).

Small valid (and a few near-valid) inputs for each parser, so fuzzing starts from deep inside
the accepted grammar instead of from random bytes. Deterministic: re-running rewrites identical
files. Usage: tests/fuzz/make_seeds.py [corpus_dir]
"""
import json
import os
import struct
import sys

SEP = b"\n--8<--\n"  # fuzz_util.h kFileSeparator

# ---------------------------------------------------------------- GGUF

GGUF_U8, GGUF_I8, GGUF_U16, GGUF_I16, GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL = range(8)
GGUF_STRING, GGUF_ARRAY, GGUF_U64, GGUF_I64, GGUF_F64 = 8, 9, 10, 11, 12
SCALAR_FMT = {GGUF_U8: "<B", GGUF_I8: "<b", GGUF_U16: "<H", GGUF_I16: "<h", GGUF_U32: "<I",
              GGUF_I32: "<i", GGUF_F32: "<f", GGUF_BOOL: "<B", GGUF_U64: "<Q", GGUF_I64: "<q",
              GGUF_F64: "<d"}
GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0 = 0, 1, 2, 8


def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gvalue(t, v):
    if t == GGUF_STRING:
        return gstr(v)
    if t == GGUF_ARRAY:
        elem, items = v
        out = struct.pack("<IQ", elem, len(items))
        return out + b"".join(gvalue(elem, x) for x in items)
    return struct.pack(SCALAR_FMT[t], v)


def gguf(kv, tensors, alignment=32, version=3):
    """kv: [(key, type, value)]; tensors: [(name, ggml_type, ne, bytes)]."""
    out = struct.pack("<IIQQ", 0x46554747, version, len(tensors), len(kv))
    for key, t, v in kv:
        out += gstr(key) + struct.pack("<I", t) + gvalue(t, v)
    offset, data = 0, b""
    for name, t, ne, raw in tensors:
        out += gstr(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        out += struct.pack("<IQ", t, offset)
        pad = (-len(raw)) % alignment
        data += raw + b"\0" * pad
        offset += len(raw) + pad
    out += b"\0" * ((-len(out)) % alignment)
    return out + data


class Lcg:
    def __init__(self, seed):
        self.s = seed

    def f32s(self, n, scale=0.25):
        vals = []
        for _ in range(n):
            self.s = (self.s * 1664525 + 1013904223) % (1 << 32)
            vals.append(((self.s >> 9) % 2001 - 1000) / 1000.0 * scale)
        return struct.pack("<%df" % n, *vals)


def bytes_to_unicode():
    """GPT-2's byte -> printable code point table (byte-level BPE token spelling)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def tiny_llama_tensors(n_vocab, arch="llama", E=8, H=2, Hkv=1, D=4, F=16):
    rng = Lcg(7)
    t = [("token_embd.weight", GGML_F32, [E, n_vocab], rng.f32s(E * n_vocab)),
         ("output_norm.weight", GGML_F32, [E], rng.f32s(E, 1.0)),
         ("output.weight", GGML_F32, [E, n_vocab], rng.f32s(E * n_vocab))]
    p = "blk.0."
    t += [(p + "attn_norm.weight", GGML_F32, [E], rng.f32s(E, 1.0)),
          (p + "attn_q.weight", GGML_F32, [E, H * D], rng.f32s(E * H * D)),
          (p + "attn_k.weight", GGML_F32, [E, Hkv * D], rng.f32s(E * Hkv * D)),
          (p + "attn_v.weight", GGML_F32, [E, Hkv * D], rng.f32s(E * Hkv * D)),
          (p + "attn_output.weight", GGML_F32, [H * D, E], rng.f32s(E * H * D)),
          (p + "ffn_norm.weight", GGML_F32, [E], rng.f32s(E, 1.0)),
          (p + "ffn_gate.weight", GGML_F32, [E, F], rng.f32s(E * F)),
          (p + "ffn_up.weight", GGML_F32, [E, F], rng.f32s(E * F)),
          (p + "ffn_down.weight", GGML_F32, [F, E], rng.f32s(E * F))]
    if arch == "qwen2":
        t += [(p + "attn_q.bias", GGML_F32, [H * D], rng.f32s(H * D)),
              (p + "attn_k.bias", GGML_F32, [Hkv * D], rng.f32s(Hkv * D)),
              (p + "attn_v.bias", GGML_F32, [Hkv * D], rng.f32s(Hkv * D))]
    if arch == "qwen3":
        t += [(p + "attn_q_norm.weight", GGML_F32, [D], rng.f32s(D, 1.0)),
              (p + "attn_k_norm.weight", GGML_F32, [D], rng.f32s(D, 1.0))]
    return t


def arch_kv(arch, ctx=64):
    a = arch + "."
    return [("general.architecture", GGUF_STRING, arch),
            (a + "block_count", GGUF_U32, 1), (a + "embedding_length", GGUF_U32, 8),
            (a + "feed_forward_length", GGUF_U32, 16), (a + "attention.head_count", GGUF_U32, 2),
            (a + "attention.head_count_kv", GGUF_U32, 1), (a + "context_length", GGUF_U32, ctx),
            (a + "attention.layer_norm_rms_epsilon", GGUF_F32, 1e-5),
            (a + "rope.freq_base", GGUF_F32, 10000.0)]


def gpt2_vocab_kv(pre="qwen2"):
    b2u = bytes_to_unicode()
    tokens = [b2u[b] for b in range(256)]
    merges = ["Ġ t", "h e", "Ġt he", "l l", "e ll", "o ,"]
    for m in merges:
        tokens.append(m.replace(" ", ""))
    tokens += ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    types = [1] * (len(tokens) - 3) + [3, 3, 3]
    kv = [("tokenizer.ggml.model", GGUF_STRING, "gpt2"), ("tokenizer.ggml.pre", GGUF_STRING, pre),
          ("tokenizer.ggml.tokens", GGUF_ARRAY, (GGUF_STRING, tokens)),
          ("tokenizer.ggml.token_type", GGUF_ARRAY, (GGUF_I32, types)),
          ("tokenizer.ggml.merges", GGUF_ARRAY, (GGUF_STRING, merges)),
          ("tokenizer.ggml.eos_token_id", GGUF_U32, len(tokens) - 1),
          ("tokenizer.ggml.bos_token_id", GGUF_U32, len(tokens) - 3),
          ("tokenizer.chat_template", GGUF_STRING,
           "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
           "<|im_end|>\n{% endfor %}")]
    return kv, len(tokens)


def spm_vocab_kv():
    tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    tokens += ["\u2581", "a", "b", "\u2581a", "ab", "\u2581ab", "\u2581the", "e"]
    scores = [0.0] * 259 + [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0, -8.0]
    types = [2, 3, 3] + [6] * 256 + [1] * 8
    return [("tokenizer.ggml.model", GGUF_STRING, "llama"),
            ("tokenizer.ggml.tokens", GGUF_ARRAY, (GGUF_STRING, tokens)),
            ("tokenizer.ggml.scores", GGUF_ARRAY, (GGUF_F32, scores)),
            ("tokenizer.ggml.token_type", GGUF_ARRAY, (GGUF_I32, types)),
            ("tokenizer.ggml.bos_token_id", GGUF_U32, 1), ("tokenizer.ggml.eos_token_id", GGUF_U32, 2),
            ("tokenizer.ggml.add_bos_token", GGUF_BOOL, 1)], len(tokens)


def gguf_seeds():
    seeds = {}
    every_type = [("t.u8", GGUF_U8, 200), ("t.i8", GGUF_I8, -5), ("t.u16", GGUF_U16, 60000),
                  ("t.i16", GGUF_I16, -300), ("t.u32", GGUF_U32, 7), ("t.i32", GGUF_I32, -7),
                  ("t.f32", GGUF_F32, 0.5), ("t.bool", GGUF_BOOL, 1), ("t.str", GGUF_STRING, "hé"),
                  ("t.u64", GGUF_U64, 1 << 40), ("t.i64", GGUF_I64, -(1 << 40)), ("t.f64", GGUF_F64, 1e-9),
                  ("t.arr", GGUF_ARRAY, (GGUF_I32, [1, 2, 3])),
                  ("t.nested", GGUF_ARRAY, (GGUF_ARRAY, [(GGUF_U8, [1, 2]), (GGUF_STRING, ["x"])])),
                  ("general.alignment", GGUF_U32, 64)]
    q4 = b"\0\x3c" + bytes(range(16))  # one q4_0 block: f16 scale 1.0 + 16 nibble bytes
    q8 = b"\0\x3c" + bytes(range(32))
    seeds["metadata_all_types.gguf"] = gguf(
        every_type, [("a", GGML_F32, [4], Lcg(1).f32s(4)), ("b", GGML_Q4_0, [32, 2], q4 * 2),
                     ("c", GGML_Q8_0, [32], q8), ("d", GGML_F16, [2, 2], b"\0\x3c" * 4)], alignment=64)
    seeds["empty_v2.gguf"] = gguf([], [], version=2)
    kv, n_vocab = gpt2_vocab_kv()
    seeds["tiny_llama_gpt2_vocab.gguf"] = gguf(arch_kv("llama") + kv, tiny_llama_tensors(n_vocab))
    seeds["tiny_qwen2.gguf"] = gguf(arch_kv("qwen2") + kv, tiny_llama_tensors(n_vocab, "qwen2"))
    skv, s_vocab = spm_vocab_kv()
    seeds["tiny_qwen3_spm_vocab.gguf"] = gguf(arch_kv("qwen3") + skv,
                                              tiny_llama_tensors(s_vocab, "qwen3"))
    seeds["spm_vocab_only.gguf"] = gguf(skv, [])
    # Regression (CI fuzzing found it): a control token ending inside a UTF-8 sequence.
    broken = [(k, t, (v[0], v[1] + [b"<s> h\xc3"]) if k == "tokenizer.ggml.tokens" else
               (v[0], v[1] + [3]) if k == "tokenizer.ggml.token_type" else
               (v[0], v[1] + [0.0]) if k == "tokenizer.ggml.scores" else v) for k, t, v in skv]
    seeds["spm_vocab_broken_control_token.gguf"] = gguf(broken, [])
    return seeds


# ---------------------------------------------------------------- safetensors

def safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape, bytes)] laid out in order."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h)) + h + data


def safetensors_seeds():
    a = safetensors([("w", "F32", [2, 3], Lcg(2).f32s(6)), ("b", "BF16", [4], b"\x80\x3f" * 4),
                     ("e", "F16", [0, 5], b""), ("i", "I64", [1], struct.pack("<q", 9))],
                    {"format": "pt"})
    s0 = safetensors([("x.weight", "F32", [2], Lcg(3).f32s(2))])
    s1 = safetensors([("y.weight", "F16", [2, 2], b"\0\x3c" * 4), ("z", "U8", [3], b"abc")])
    index = json.dumps({"metadata": {"total_size": 21},
                        "weight_map": {"x.weight": "shard-0.safetensors",
                                       "y.weight": "shard-1.safetensors",
                                       "z": "shard-1.safetensors"}}).encode()
    return {"single.bin": b"\0" + a,
            "sharded.bin": b"\1" + index + SEP + s0 + SEP + s1,
            "folder_one_file.bin": b"\2" + s1,
            "empty_header.bin": b"\0" + safetensors([])}


# ---------------------------------------------------------------- HF config.json

def config_seeds():
    base = {"num_hidden_layers": 1, "hidden_size": 8, "intermediate_size": 16,
            "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 16,
            "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
            "bos_token_id": 1, "eos_token_id": [2, 3], "tie_word_embeddings": False}
    seeds = {}
    for arch in ["LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM", "MistralForCausalLM"]:
        c = dict(base, architectures=[arch])
        if arch == "Qwen3ForCausalLM":
            c["head_dim"] = 4
        seeds[arch + ".json"] = json.dumps(c, indent=1).encode()
    c = dict(base, model_type="llama",
             rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                           "high_freq_factor": 4.0, "original_max_position_embeddings": 32})
    seeds["llama3_rope.json"] = json.dumps(c).encode() + SEP + json.dumps({"eos_token_id": [5, 6]}).encode()
    c = dict(base, architectures=["LlamaForCausalLM"], rope_scaling={"type": "linear", "factor": 2.0},
             attention_bias=False)
    seeds["linear_rope.json"] = json.dumps(c).encode()
    c = dict(base, architectures=["Qwen2ForCausalLM"], rope_parameters={"rope_theta": 5e5, "rope_type": "default"})
    del c["rope_theta"]
    seeds["rope_parameters.json"] = json.dumps(c).encode()
    # Numeric edge values (a regression: 1e300 here was cast to int unchecked).
    c = dict(base, architectures=["LlamaForCausalLM"], rope_theta=1e308, rms_norm_eps=0,
             rope_scaling={"rope_type": "llama3", "factor": -1, "original_max_position_embeddings": 1e300})
    seeds["numeric_edges.json"] = json.dumps(c).encode()
    return seeds


# ---------------------------------------------------------------- tokenizer.json

QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def bytelevel_tokenizer(pre):
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    merges = [["Ġ", "t"], ["h", "e"], ["Ġt", "he"], ["l", "l"], ["e", "ll"]]
    for m in merges:
        vocab["".join(m)] = len(vocab)
    added = [{"id": len(vocab), "content": "<|endoftext|>", "special": True},
             {"id": len(vocab) + 1, "content": "<|im_start|>", "special": True},
             {"id": len(vocab) + 2, "content": "<|im_end|>", "special": True, "lstrip": False}]
    return {"version": "1.0", "added_tokens": added, "normalizer": {"type": "NFC"},
            "pre_tokenizer": pre, "post_processor": None, "decoder": {"type": "ByteLevel"},
            "model": {"type": "BPE", "vocab": vocab, "merges": merges, "ignore_merges": False}}


def tokenizer_seeds():
    seq = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": QWEN2_SPLIT}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}
    chatml = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
              " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
              "{{ '<|im_start|>assistant\\n' }}{% endif %}")
    cfg = {"bos_token": None, "eos_token": "<|im_end|>", "add_bos_token": False, "chat_template": chatml}
    seeds = {"bytelevel_split.json": json.dumps(bytelevel_tokenizer(seq)).encode() + SEP +
             json.dumps(cfg).encode(),
             "bytelevel_plain.json": json.dumps(bytelevel_tokenizer(
                 {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True})).encode()}
    t = bytelevel_tokenizer({"type": "ByteLevel", "add_prefix_space": False, "use_regex": True})
    t["post_processor"] = {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|endoftext|>"}},
                                                                     {"Sequence": {"id": "A"}}]}
    t["model"]["merges"] = [" ".join(m) for m in t["model"]["merges"]]
    seeds["bytelevel_template_bos.json"] = json.dumps(t).encode()
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    for p in ["\u2581", "a", "b", "\u2581a", "ab", "\u2581ab"]:
        vocab[p] = len(vocab)
    spm = {"added_tokens": [{"id": 0, "content": "<unk>", "special": True},
                            {"id": 1, "content": "<s>", "special": True},
                            {"id": 2, "content": "</s>", "special": True}],
           "normalizer": {"type": "Sequence", "normalizers": [
               {"type": "Prepend", "prepend": "\u2581"},
               {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
           "pre_tokenizer": None,
           "model": {"type": "BPE", "byte_fallback": True, "vocab": vocab,
                     "merges": ["\u2581 a", "a b", "\u2581 ab"]}}
    llama_chat = ("{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
                  "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ message['content'] + eos_token }}"
                  "{% endif %}{% endfor %}")
    seeds["spm_byte_fallback.json"] = json.dumps(spm).encode() + SEP + json.dumps(
        {"bos_token": {"content": "<s>"}, "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True,
         "chat_template": [{"name": "default", "template": llama_chat}]}).encode()
    return seeds


def encode_seeds():
    texts = [b"Hello, world! It's 2024.", " ab  ba\r\n\tab ".encode(), "héllo wörld café".encode(),
             "日本語のテキスト、中文。".encode(), "👨‍👩‍👧 🇫🇷 ✨".encode(),
             b"<|im_start|>user\nhi<|im_end|>\n<|endoftext|>", "e\u0301 \u00e9 \u212b".encode(),
             b"12345678901234567890 3.14159", b"def f(x):\n    return x  # ok\n", b"\xff\xfe bad utf8 \xc3",
             "\u2028\u180e\x00\U00100000".encode(), b"   leading and trailing   ",
             "a\u2581b \u2581\u2581c".encode()]  # a literal SentencePiece space marker
    seeds = {}
    for i, t in enumerate(texts):
        seeds["text_%02d_qwen.bin" % i] = bytes([0x04 if b"<|" in t else 0x00]) + t
        seeds["text_%02d_spm.bin" % i] = bytes([0x01]) + t
    return seeds


def press_seeds():
    specs = ["full", "snapkv:budget=128", "snapkv:ratio=0.5,window=32,kernel=7",
             "pyramidkv:budget=512,window=16,kernel=5,beta=20,compat=1", "streamingllm:budget=64,sinks=4",
             "h2o:ratio=0.3", "tova:budget=100", "knorm:ratio=0.25", "random:ratio=0.5,seed=3",
             "expected:budget=256,sinks=4,future=512,cov=1,vnorm=0", "think:ratio=0.5,window=32,recent=8",
             "spark:ratio=0.8", "spark:variant=p,p=0.9,recovery=normal,values=0.5,window=16,seed=1",
             "spark:ratio=0.5,recovery=constant,constant=0.01",
             "snapkv:budget=128+spark:ratio=0.8", "pyramidkv:budget=512+think:ratio=0.5",
             "streamingllm:budget=64+spark:ratio=0.5,kq=q8", "snapkv:budget=1e3", "snapkv:budget=",
             "spark:ratio=nan", "full+snapkv:budget=1"]
    return {"spec_%02d.txt" % i: s.encode() for i, s in enumerate(specs)}


def longbench_seeds():
    rows = [{"input": "Who wrote it?", "context": "Passage 1: Alice wrote the book in 1999.",
             "answers": ["Alice"], "length": 9, "dataset": "hotpotqa", "language": "en",
             "all_classes": None, "_id": "a1"},
            {"input": "What type?", "context": "Question: how far is it? Type: Distance",
             "answers": ["Distance"], "dataset": "trec", "all_classes": ["Distance", "Manner", "Other"],
             "_id": "t1"},
            {"input": "", "context": "Paragraph 1: x\nParagraph 2: y", "answers": ["Paragraph 2"],
             "dataset": "passage_retrieval_en", "_id": "p1"},
            {"input": "def f(", "context": "import os\n", "answers": ["    return 1"], "dataset": "lcc"},
            {"input": "count", "context": "p", "answers": ["3"], "dataset": "passage_count"},
            {"input": "Summarize.", "context": "Dialogue: A: hi", "answers": ["A greets."], "dataset": "samsum"},
            {"input": "q", "context": "c", "answers": ["a"], "dataset": "dureader"}]
    jsonl = "\n".join(json.dumps(r) for r in rows).encode() + b"\n\n"
    prompts = json.dumps({"hotpotqa": "Answer based on:\n{context}\n\nQ: {input}\nA:",
                          "trec": "{context}\n{input}", "lcc": "{context}{{input}}"}).encode()
    return {"rows.bin": jsonl, "rows_prompts.bin": jsonl + SEP + prompts,
            "plain_template.bin": json.dumps(rows[0]).encode() + SEP + b"Read {context} {input} {{x}}",
            "bad_template.bin": json.dumps(rows[0]).encode() + SEP + b"{nope} }"}


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    groups = {"gguf": gguf_seeds(), "safetensors": safetensors_seeds(), "hf_config": config_seeds(),
              "tokenizer_json": tokenizer_seeds(), "tokenizer_encode": encode_seeds(),
              "press_spec": press_seeds(), "longbench": longbench_seeds()}
    for target, files in groups.items():
        d = os.path.join(root, target)
        os.makedirs(d, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
    print("wrote", sum(len(v) for v in groups.values()), "seeds under", root)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Runs every class of bad input sparkv is tested against through the real CLI and prints the
markdown table of docs/limits.md (class | how it is triggered | exact message).

Usage: tests/fuzz/bad_inputs.py BUILD_DIR > table.md
BUILD_DIR holds the `sparkv` binary and golden/ (the tiny models the build generates).
Temporary paths in messages are shown as <dir>.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_seeds as ms  # noqa: E402  (the GGUF / safetensors writers of the seed corpora)

GOOD_CONFIG = {"architectures": ["LlamaForCausalLM"], "num_hidden_layers": 1, "hidden_size": 8,
               "intermediate_size": 16, "num_attention_heads": 2, "num_key_value_heads": 1,
               "vocab_size": 16, "max_position_embeddings": 64}


def main():
    build = os.path.abspath(sys.argv[1])
    cli = os.path.join(build, "sparkv")
    golden = os.path.join(build, "golden", "qwen3-f32.gguf")
    tmp = tempfile.mkdtemp(prefix="sparkv-bad-")
    rows = []

    def path(name):
        return os.path.join(tmp, name)

    def write(name, data):
        p = path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return p

    def run(area, what, args, env=None):
        r = subprocess.run([cli] + args, capture_output=True, text=True, errors="replace",
                           env=dict(os.environ, **(env or {})))
        err = [line for line in r.stderr.splitlines() if line.startswith("sparkv: error: ")]
        msg = err[0][len("sparkv: error: "):] if err else "(exit %d, no error line)" % r.returncode
        rows.append((area, what, msg.replace(tmp, "<dir>").replace(build, "<build>"), r.returncode))

    # ------------------------------------------------------------------ GGUF containers
    def gguf_case(what, data):
        run("GGUF", what, ["inspect", "-m", write("x.gguf", data)])

    hdr = lambda nt, nkv, v=3: struct.pack("<IIQQ", 0x46554747, v, nt, nkv)  # noqa: E731
    gguf_case("empty file", b"")
    gguf_case("not a GGUF file (text)", b"this is not a model file at all")
    gguf_case("GGUF version 1", hdr(0, 0, 1))
    gguf_case("big-endian file (version byte-swapped)", hdr(0, 0, 0x03000000))
    gguf_case("unknown version 4", hdr(0, 0, 4))
    gguf_case("tensor count 2^40 in a tiny file", hdr(1 << 40, 0))
    gguf_case("metadata count 2^62", hdr(0, 1 << 62))
    gguf_case("key length 2^62", hdr(0, 1) + struct.pack("<Q", 1 << 62) + b"\0" * 64)
    gguf_case("unknown metadata value type 99", hdr(0, 1) + ms.gstr("k") + struct.pack("<I", 99) + b"\0" * 16)
    nested = struct.pack("<I", 9)
    for _ in range(10):
        nested += struct.pack("<IQ", 9, 1)
    gguf_case("arrays nested 10 deep", hdr(0, 1) + ms.gstr("k") + nested + b"\0" * 64)
    gguf_case("array count 2^60", hdr(0, 1) + ms.gstr("big") + struct.pack("<IIQ", 9, 10, 1 << 60) + b"\0" * 64)
    gguf_case("string runs past end of file", hdr(0, 1) + ms.gstr("k") + struct.pack("<IQ", 8, 1000) + b"abc" * 5)
    gguf_case("duplicate metadata key", ms.gguf([("k", ms.GGUF_U32, 1), ("k", ms.GGUF_U32, 2)], []))
    gguf_case("general.alignment not a power of two", ms.gguf([("general.alignment", ms.GGUF_U32, 48)], []))
    gguf_case("general.alignment of the wrong type", ms.gguf([("general.alignment", ms.GGUF_STRING, "32")], []))

    def tinfo(name, ne, t, off):
        return ms.gstr(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne) + \
            struct.pack("<IQ", t, off)

    gguf_case("tensor with 5 dimensions", hdr(1, 0) + tinfo("w", [1, 1, 1, 1, 1], 0, 0) + b"\0" * 64)
    gguf_case("tensor of unknown ggml type 99", hdr(1, 0) + tinfo("w", [4], 99, 0) + b"\0" * 64)
    gguf_case("q4_0 tensor with ne[0] = 33", hdr(1, 0) + tinfo("w", [33], 2, 0) + b"\0" * 64)
    gguf_case("tensor offset not aligned", hdr(1, 0) + tinfo("w", [4], 0, 3) + b"\0" * 64)
    gguf_case("tensor of 2^60 f32 in a small file", hdr(1, 0) + tinfo("w", [1 << 40, 1 << 20], 0, 0) + b"\0" * 64)
    gguf_case("tensor byte size overflows int64", hdr(1, 0) + tinfo("w", [1 << 62, 8], 0, 0) + b"\0" * 64)
    gguf_case("overlapping tensors", hdr(2, 0) + tinfo("a", [16], 0, 0) + tinfo("b", [16], 0, 32) + b"\0" * 160)
    gguf_case("duplicate tensor name", hdr(2, 0) + tinfo("a", [4], 0, 0) + tinfo("a", [4], 0, 32) + b"\0" * 96)
    with open(golden, "rb") as f:
        model_bytes = f.read()
    gguf_case("real model truncated to half its size", model_bytes[: len(model_bytes) // 2])

    # ------------------------------------------------------------------ GGUF models
    kv, n_vocab = ms.gpt2_vocab_kv()
    tensors = ms.tiny_llama_tensors(n_vocab)
    gguf_case("unknown architecture 'gptj'",
              ms.gguf([("general.architecture", ms.GGUF_STRING, "gptj")] + ms.arch_kv("llama")[1:], tensors))
    gguf_case("missing metadata key (block_count)",
              ms.gguf([k for k in ms.arch_kv("llama") if k[0] != "llama.block_count"], tensors))
    gguf_case("missing tensor", ms.gguf(ms.arch_kv("llama"), [t for t in tensors if t[0] != "blk.0.ffn_up.weight"]))
    bad = [(n, t, [ne[0] + 1] + ne[1:] if n == "blk.0.attn_q.weight" else ne,
            ms.Lcg(1).f32s((ne[0] + 1) * ne[1]) if n == "blk.0.attn_q.weight" else raw) for n, t, ne, raw in tensors]
    gguf_case("tensor with the wrong shape", ms.gguf(ms.arch_kv("llama"), bad))
    heads = [(k, t, 3 if k.endswith("head_count") else 2 if k.endswith("head_count_kv") else v)
             for k, t, v in ms.arch_kv("llama")]
    gguf_case("head_count not a multiple of head_count_kv", ms.gguf(heads, tensors))
    gguf_case("tokenizer.ggml.model 'bert'", ms.gguf(ms.arch_kv("llama") + [("tokenizer.ggml.model", ms.GGUF_STRING, "bert"),
              ("tokenizer.ggml.tokens", ms.GGUF_ARRAY, (ms.GGUF_STRING, ["a"] * n_vocab))], tensors))
    nan_t = [(n, t, ne, raw if n != "token_embd.weight" else struct.pack("<f", float("nan")) * (len(raw) // 4))
             for n, t, ne, raw in tensors]
    nan_model = write("nan.gguf", ms.gguf(ms.arch_kv("llama") + kv, nan_t))
    run("GGUF", "weights containing NaN (sparkv run)", ["run", "-m", nan_model, "-p", "hello", "-n", "2"])

    # ------------------------------------------------------------------ safetensors (HF folders)
    def st_case(what, data, extra=None):
        d = os.path.join(tmp, "hf-%d" % len(rows))
        write(os.path.join(d, "config.json"), json.dumps(GOOD_CONFIG))
        if isinstance(data, dict):
            for name, content in data.items():
                write(os.path.join(d, name), content)
        else:
            write(os.path.join(d, "model.safetensors"), data)
        run("safetensors", what, ["inspect", "-m", d])

    st = ms.safetensors

    def raw_st(header, data):
        return struct.pack("<Q", len(header)) + header + data

    st_case("file shorter than 8 bytes", b"\1\2\3")
    st_case("header length 2^60", struct.pack("<Q", 1 << 60) + b"{}")
    st_case("header runs past end of file", struct.pack("<Q", 5000) + b"{}")
    st_case("header not a JSON object", raw_st(b"[]", b""))
    st_case("header is invalid JSON", raw_st(b'{"a":}', b""))
    st_case("duplicate tensor name in the header",
            raw_st(b'{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                   b'"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\0"))
    st_case("unsupported dtype F8_E4M3", st([("w", "F8_E4M3", [2], b"\0\0")]))
    st_case("data_offsets disagree with shape x dtype",
            raw_st(b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', b"\0" * 4))
    st_case("shape 2^40 x 2^20 with 16 bytes of data",
            st([("w", "F32", [1 << 40, 1 << 20], b"")]).replace(b'"data_offsets":[0,0]', b'"data_offsets":[0,16]') + b"\0" * 16)
    st_case("shape whose byte size overflows",
            st([("w", "F32", [1 << 62, 16], b"")]).replace(b'"data_offsets":[0,0]', b'"data_offsets":[0,16]') + b"\0" * 16)
    st_case("data_offsets past the data buffer",
            raw_st(b'{"w":{"dtype":"U8","shape":[64],"data_offsets":[0,64]}}', b"\0" * 8))
    st_case("gap in the data buffer", raw_st(b'{"w":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}', b"\0" * 8))
    st_case("overlapping tensors",
            raw_st(b'{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},'
                   b'"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}', b"\0" * 6))
    st_case("trailing bytes no tensor covers", raw_st(b'{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}', b"\0" * 9))
    st_case("negative shape entry", raw_st(b'{"w":{"dtype":"U8","shape":[-4],"data_offsets":[0,4]}}', b"\0" * 4))
    s0 = st([("x", "F32", [2], ms.Lcg(3).f32s(2))])
    st_case("index names a shard outside the folder",
            {"model.safetensors.index.json": json.dumps({"weight_map": {"x": "../evil.safetensors"}}), "a.safetensors": s0})
    st_case("index names a missing shard",
            {"model.safetensors.index.json": json.dumps({"weight_map": {"x": "b.safetensors"}}), "a.safetensors": s0})
    st_case("index maps a tensor to the wrong shard",
            {"model.safetensors.index.json": json.dumps({"weight_map": {"x": "a.safetensors", "y": "a.safetensors"}}),
             "a.safetensors": s0})
    st_case("index has no weight_map", {"model.safetensors.index.json": "{}", "a.safetensors": s0})
    st_case("two .safetensors files and no index", {"a.safetensors": s0, "b.safetensors": s0})
    st_case("valid file, but the model's tensors are missing", s0)

    # ------------------------------------------------------------------ config.json
    def cfg_case(what, text, size=None):
        d = os.path.join(tmp, "cfg-%d" % len(rows))
        p = write(os.path.join(d, "config.json"), text)
        if size:
            os.truncate(p, size)
        run("config.json", what, ["inspect", "-m", d])

    run("config.json", "folder without config.json", ["inspect", "-m", tmp])
    cfg_case("invalid JSON", "{ not json")
    cfg_case("not an object", "[1, 2]")
    cfg_case("unknown architecture", json.dumps(dict(GOOD_CONFIG, architectures=["GPTNeoXForCausalLM"])))
    cfg_case("missing field", json.dumps({"architectures": ["LlamaForCausalLM"], "num_hidden_layers": 1}))
    cfg_case("negative field", json.dumps(dict(GOOD_CONFIG, num_hidden_layers=-1)))
    cfg_case("field of the wrong type", json.dumps(dict(GOOD_CONFIG, hidden_size="8")))
    cfg_case("implausible size (1,000,000 layers)", json.dumps(dict(GOOD_CONFIG, num_hidden_layers=1000000)))
    cfg_case("odd head_dim", json.dumps(dict(GOOD_CONFIG, head_dim=3)))
    cfg_case("rope_scaling type yarn", json.dumps(dict(GOOD_CONFIG, rope_scaling={"rope_type": "yarn", "factor": 4})))
    cfg_case("rms_norm_eps out of range", json.dumps(dict(GOOD_CONFIG, rms_norm_eps=2.0)))
    cfg_case("llama3 rope original context 1e300",
             json.dumps(dict(GOOD_CONFIG, rope_scaling={"rope_type": "llama3", "factor": 8.0,
                                                        "original_max_position_embeddings": 1e300})))
    cfg_case("config.json of 65 MiB", "{}", size=65 << 20)

    # ------------------------------------------------------------------ tokenizer.json
    def tok_case(what, text, prompt="hello", cfg=None):
        d = os.path.join(tmp, "tok-%d" % len(rows))
        write(os.path.join(d, "tokenizer.json"), text)
        if cfg is not None:
            write(os.path.join(d, "tokenizer_config.json"), cfg)
        run("tokenizer.json", what, ["tokenize", "--tokenizer", d, "-p", prompt])

    base = json.loads(ms.tokenizer_seeds()["bytelevel_plain.json"])
    model = json.dumps(base["model"])
    tok_case("malformed JSON", "{")
    tok_case("no model object", "{}")
    tok_case("model type Unigram", json.dumps({"model": {"type": "Unigram", "vocab": []}}))
    tok_case("empty vocab", json.dumps({"model": {"type": "BPE", "vocab": {}, "merges": ["a b"]}}))
    tok_case("negative token id", json.dumps({"model": {"type": "BPE", "vocab": {"a": -1}, "merges": ["a b"]}}))
    tok_case("token id 2^40", json.dumps({"model": {"type": "BPE", "vocab": {"a": 1 << 40}, "merges": ["a b"]}}))
    tok_case("sparse id space (one id 186256 in a 3-token vocab)",
             json.dumps({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 186256}, "merges": ["a b"]}}))
    tok_case("merge that is not 'left right'", json.dumps({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["ab"]}}))
    tok_case("unsupported normalizer (Lowercase)", '{"normalizer": {"type": "Lowercase"}, "model": %s}' % model)
    tok_case("unsupported pre_tokenizer (Whitespace)", '{"pre_tokenizer": {"type": "Whitespace"}, "model": %s}' % model)
    tok_case("no pre_tokenizer on a byte-level BPE", '{"model": %s}' % model)
    tok_case("vocabulary missing a byte-level token",
             json.dumps({"pre_tokenizer": {"type": "ByteLevel"},
                         "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}}))
    tok_case("JSON nested 100,000 levels deep", '{"normalizer": ' + "[" * 100000 + "]" * 100000 + ', "model": %s}' % model)
    tok_case("added token without an id", '{"added_tokens": [{"content": "x"}], "model": %s}' % model)
    good_tok = json.dumps(base)
    tok_case("prompt that is not valid UTF-8", good_tok, prompt="caf\udce9")
    d = os.path.join(tmp, "tok-chat")
    write(os.path.join(d, "tokenizer.json"), good_tok)
    write(os.path.join(d, "tokenizer_config.json"), json.dumps({"chat_template": "{{ x }}"}))
    run("tokenizer.json", "chat template of an unknown family (run --chat)",
        ["run", "-m", golden, "--tokenizer", d, "--chat", "-p", "hi", "-n", "1"])

    # ------------------------------------------------------------------ press recipes
    for spec, what in [("", "empty recipe"), ("bogus", "unknown method"), ("snapkv", "eviction press without budget/ratio"),
                       ("snapkv:budget=1,ratio=0.5", "both budget and ratio"), ("snapkv:budget", "item not key=value"),
                       ("snapkv:budget=1,budget=2", "key given twice"), ("snapkv:budget=128,sink=2", "unknown key"),
                       ("snapkv:budget=0", "budget out of range"), ("spark:ratio=1", "ratio out of range"),
                       ("spark:ratio=abc", "value not a number"), ("spark:ratio=nan", "NaN value"),
                       ("snapkv:budget=1e3", "integer written as a float"), ("snapkv:budget=128+", "empty press after '+'"),
                       ("full+snapkv:budget=8", "'full' combined"), ("spark:ratio=0.5,recovery=magic", "unknown choice"),
                       ("snapkv:budget=16,window=32", "window larger than budget")]:
        run("press recipe", what + " (`--press '%s'`)" % spec, ["run", "-m", golden, "-p", "hi", "-n", "1", "--press", spec])

    # ------------------------------------------------------------------ limits
    long_prompt = " ".join(["word"] * 40)
    run("limits", "prompt longer than the context (`-c 16`)", ["run", "-m", golden, "-p", long_prompt, "-c", "16"])
    run("limits", "unknown --truncate mode", ["run", "-m", golden, "-p", "hi", "--truncate", "left"])
    run("limits", "--truncate middle with no room left (`-c 16 -n 15`)",
        ["run", "-m", golden, "-p", long_prompt, "-c", "16", "-n", "15", "--truncate", "middle"])
    run("limits", "KV budget too small (`-c 4096 --kv-mem-limit 1MiB`)",
        ["run", "-m", golden, "-p", "hi", "-c", "4096", "--kv-mem-limit", "1MiB"])
    run("limits", "KV budget too small for one bench depth",
        ["bench", "-m", golden, "-d", "0,100000", "-p", "8", "-n", "2", "--kv-mem-limit", "16MiB"])
    run("limits", "unparsable --kv-mem-limit", ["run", "-m", golden, "-p", "hi", "--kv-mem-limit", "lots"])
    run("limits", "--kv-mem-limit with an unknown unit", ["run", "-m", golden, "-p", "hi", "--kv-mem-limit", "3parsecs"])
    run("limits", "both -p and -f", ["run", "-m", golden, "-p", "hi", "-f", "x"])
    run("limits", "prompt file that does not exist", ["run", "-m", golden, "-f", path("nofile.txt")])

    # ------------------------------------------------------------------ LongBench jsonl
    def lb_case(what, text, template="{context}\n{input}"):
        p = write("lb-%d.jsonl" % len(rows), text)
        suite = "longbench:" + p + ",template=" + write("t-%d.txt" % len(rows), template)
        run("LongBench jsonl", what, ["eval", "-m", golden, "--suite", suite, "--samples", "1", "--length", "256",
                                      "--out", path("out-%d" % len(rows)), "--no-progress", "--no-plots"])

    row = {"input": "q?", "context": "c", "answers": ["a"], "dataset": "hotpotqa"}
    lb_case("line that is not JSON", "{not json\n")
    lb_case("line that is a JSON array", "[1]\n")
    lb_case("row without context", json.dumps({"input": "q", "answers": ["a"]}) + "\n")
    lb_case("answers not a list of strings", json.dumps(dict(row, answers=[1])) + "\n")
    lb_case("empty answers", json.dumps(dict(row, answers=[])) + "\n")
    lb_case("file with no rows", "\n\n")
    lb_case("task needing a Chinese metric", json.dumps(dict(row, dataset="dureader")) + "\n")
    lb_case("template with an unknown field", json.dumps(row) + "\n", template="{context} {question}")
    lb_case("template with an unclosed brace", json.dumps(row) + "\n", template="{context")

    print("| input | bad input class | exact message (`sparkv: error: ` + ...) |")
    print("| --- | --- | --- |")
    for area, what, msg, rc in rows:
        msg = msg.replace("|", "\\|")
        if len(msg) > 400:
            msg = msg[:400] + " …"
        flag = "" if rc == 1 else " **(exit %d)**" % rc
        print("| %s | %s%s | `%s` |" % (area, what, flag, msg.replace("`", "'")))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Self-checks for tools/pylib/sparkv_py (plain asserts; exit status 1 on any failure).

    /usr/bin/python3 tests/golden/test_pylib.py
"""
import json
import os
import struct
import sys
import tempfile
import traceback

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "pylib"))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

from sparkv_py import (gguf_export, gguf_reader, gguf_writer, hf_export, quants,  # noqa: E402
                       reference_model, rng, safetensors_io, tokenizer_bpe)

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def f16(x):
    return struct.pack("<e", x)


# ------------------------------------------------------------------------------- rng
@test
def rng_known_values():
    z = rng.splitmix64(0, 2)
    assert int(z[0]) == 0xE220A8397B1DCDAF, hex(int(z[0]))
    assert int(z[1]) == 0x6E789E6AA1B965F4, hex(int(z[1]))
    u = rng.uniform(7, 1000, -1, 1)
    assert u.min() >= -1 and u.max() < 1 and abs(u.mean()) < 0.1
    assert np.array_equal(rng.uniform(7, 5), rng.uniform(7, 1000)[:5])


# ------------------------------------------------------------------------------- quants
@test
def f16_bf16_rounding():
    x = np.array([1 + 2 ** -8, 1 + 3 * 2 ** -8, -(1 + 2 ** -8 + 2 ** -20), 3.0e38], np.float32)
    b = quants.bf16_bits(x)
    assert list(b) == [0x3F80, 0x3F82, 0xBF81, 0x7F62], [hex(v) for v in b]
    assert quants.dequantize(quants.quantize(x, "BF16"), "BF16", x.shape)[1] == 1 + 2 ** -6
    h = np.frombuffer(quants.quantize(np.array([1 + 2 ** -11, 1 + 3 * 2 ** -11], np.float32), "F16"),
                      "<u2")
    assert list(h) == [0x3C00, 0x3C02], [hex(v) for v in h]


@test
def q8_0_hand_block():
    x = np.zeros(32, np.float32)
    x[:6] = [127, 1.5, -2.5, 0.5, -0.5, -127]      # d = 1: roundf ties away from zero
    raw = quants.quantize(x, "Q8_0")
    assert raw[:2] == f16(1.0)
    assert list(np.frombuffer(raw[2:8], np.int8)) == [127, 2, -3, 1, -1, -127]
    assert len(raw) == 34
    x2 = np.linspace(-3, 2, 64, dtype=np.float32)
    y2 = quants.roundtrip(x2, "Q8_0")
    assert np.max(np.abs(x2 - y2)) <= 3 / 127 * 0.5 + 1e-3
    assert np.array_equal(quants.roundtrip(np.zeros(32, np.float32), "Q8_0"), np.zeros(32))


@test
def q4_0_hand_block():
    x = np.zeros(32, np.float32)
    x[:6] = [-8, 7, 0.4, 0.5, -0.5, 7.4]           # max (signed) = -8 -> d = 1
    x[16] = 3.0
    raw = quants.quantize(x, "Q4_0")
    assert raw[:2] == f16(1.0) and len(raw) == 18
    q = [min(15, int(v + 8.5)) for v in x]
    assert q[:6] == [0, 15, 8, 9, 8, 15] and q[16] == 11
    expect = bytes((q[j] | (q[j + 16] << 4)) for j in range(16))
    assert raw[2:] == expect, (raw[2:].hex(), expect.hex())
    y = quants.dequantize(raw, "Q4_0", (32,))
    assert list(y[:6]) == [-8, 7, 0, 1, 0, 7] and y[16] == 3.0
    # positive extreme: d = max/-8 is negative, extreme maps to code 0
    x3 = np.array([4.0] + [0.0] * 31, np.float32)
    raw3 = quants.quantize(x3, "Q4_0")
    assert raw3[:2] == f16(-0.5) and raw3[2] & 15 == 0
    assert quants.roundtrip(x3, "Q4_0")[0] == 4.0


@test
def q4_k_hand_block():
    # spec decode rule, written out independently of quants.py
    rs = np.random.RandomState(0)  # test data only; not used for fixtures
    s = rs.randint(0, 256, 12).astype(np.uint8)
    blk = bytearray(f16(1.0) + f16(0.5) + bytes(s))
    qs = bytearray(128)
    for g in range(4):
        for l in range(32):
            qs[32 * g + l] = (l % 16) | ((15 - (l % 16)) << 4)
    blk += qs
    assert len(blk) == 144

    def scm(j):
        if j < 4:
            return s[j] & 63, s[j + 4] & 63
        return (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4)

    y = quants.dequantize(bytes(blk), "Q4_K", (256,))
    for n in range(256):
        g, r = divmod(n, 64)
        l = r % 32
        sub = 2 * g + (r >= 32)
        qv = (l % 16) if r < 32 else 15 - (l % 16)
        sc, m = scm(sub)
        assert y[n] == np.float32(1.0 * int(sc) * qv - 0.5 * int(m)), (n, y[n])
    # packing inverse
    sc = np.array([[1, 2, 3, 63, 17, 33, 50, 5]])
    m = np.array([[0, 63, 7, 20, 48, 1, 31, 60]])
    sc2, m2 = quants.unpack_q4k_scales(quants.pack_q4k_scales(sc, m))
    assert np.array_equal(sc, sc2) and np.array_equal(m, m2)
    x = rng.uniform_array(5, (4, 512), -1, 1)
    x[0, :32] += 3.0
    y = quants.roundtrip(x, "Q4_K")
    assert np.max(np.abs(x - y)) < 0.15, np.max(np.abs(x - y))


@test
def q6_k_hand_block():
    rs = np.random.RandomState(1)
    ql = rs.randint(0, 256, 128).astype(np.uint8)
    qh = rs.randint(0, 256, 64).astype(np.uint8)
    sc = rs.randint(-128, 128, 16).astype(np.int8)
    blk = bytes(ql) + bytes(qh) + sc.tobytes() + f16(0.25)
    assert len(blk) == 210
    y = quants.dequantize(blk, "Q6_K", (256,))
    for n in range(256):
        h, r = divmod(n, 128)
        quarter, l = divmod(r, 32)
        byte = ql[64 * h + l + (32 if quarter in (1, 3) else 0)]
        lo4 = byte & 15 if quarter in (0, 1) else byte >> 4
        hi2 = (qh[32 * h + l] >> (2 * quarter)) & 3
        q = (lo4 | (hi2 << 4)) - 32
        s = sc[8 * h + r // 16]
        assert y[n] == np.float32(0.25 * int(s) * q), (n, y[n], 0.25 * int(s) * q)
    x = rng.uniform_array(6, (4, 512), -1, 1)
    yy = quants.roundtrip(x, "Q6_K")
    assert np.max(np.abs(x - yy)) < 0.03, np.max(np.abs(x - yy))


@test
def quant_sizes():
    for t, (be, bb) in [("Q8_0", (32, 34)), ("Q4_0", (32, 18)), ("Q4_K", (256, 144)),
                        ("Q6_K", (256, 210)), ("F16", (1, 2)), ("BF16", (1, 2)), ("F32", (1, 4))]:
        assert quants.row_bytes(512, t) == 512 // be * bb
    try:
        quants.row_bytes(100, "Q4_K")
        raise AssertionError("expected ValueError")
    except ValueError:
        pass


# ------------------------------------------------------------------------------- gguf
@test
def gguf_round_trip():
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "t.gguf")
        w = gguf_writer.GgufWriter(p)
        vals = [("a.u8", 200, "u8"), ("a.i8", -5, "i8"), ("a.u16", 65000, "u16"),
                ("a.i16", -300, "i16"), ("a.u32", 4000000000, "u32"), ("a.i32", -7, "i32"),
                ("a.f32", 0.5, "f32"), ("a.bool", True, "bool"), ("a.str", "héllo", "string"),
                ("a.u64", 2 ** 40, "u64"), ("a.i64", -2 ** 40, "i64"), ("a.f64", 1e-300, "f64")]
        for k, v, t in vals:
            w.add_kv(k, v, t)
        w.add_kv("arr.str", ["x", "Ġthe", ""], "array", elem_type="string")
        w.add_kv("arr.i32", [1, -2, 3], "array:i32")
        w.add_kv("arr.f32", [0.25, -1.5], "array:f32")
        w.add_kv("arr.nested", [[1, 2], [3]], "array:array:u8")
        w.add_kv("arr.empty", [], "array:u32")
        tensors = {}
        for i, t in enumerate(["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"]):
            x = rng.uniform_array(100 + i, (3, 256), -1, 1)
            tensors[f"t.{t}"] = (x, t)
            w.add_tensor(f"t.{t}", x, t)
        w.add_tensor("v", np.arange(5, dtype=np.float32), "F32")
        w.write()
        r = gguf_reader.GgufReader(p)
        for k, v, t in vals:
            assert r.kv_types[k] == t, (k, r.kv_types[k])
            if t == "f32":
                assert r.kv[k] == np.float32(v)
            else:
                assert r.kv[k] == v, (k, r.kv[k], v)
        assert r.kv["arr.str"] == ["x", "Ġthe", ""]
        assert r.kv_types["arr.str"] == "array:string"
        assert r.kv["arr.i32"] == [1, -2, 3] and r.kv["arr.f32"] == [0.25, -1.5]
        assert r.kv["arr.nested"] == [[1, 2], [3]] and r.kv["arr.empty"] == []
        assert r.kv["general.alignment"] == 32
        assert r.data_start % 32 == 0
        for name, (x, t) in tensors.items():
            ti = r.tensors[name]
            assert ti["ne"] == [256, 3] and ti["type"] == quants.TYPE_IDS[t]
            assert (ti["offset"] - r.data_start) % 32 == 0
            assert np.array_equal(r.get(name), quants.roundtrip(x, t)), name
        assert list(r.get("v")) == [0, 1, 2, 3, 4]
        # raw header layout
        with open(p, "rb") as f:
            head = f.read(24)
        assert head[:4] == b"GGUF" and struct.unpack("<IQQ", head[4:]) == (3, 8, 18)


# ------------------------------------------------------------------------------- permutation
@test
def permutation_inverse():
    n_head, hd, din = 3, 8, 5
    w = np.arange(n_head * hd * din, dtype=np.float32).reshape(n_head * hd, din)
    p = gguf_export.permute_qk(w, n_head)
    for h in range(n_head):
        for i in range(hd // 2):
            for j in range(2):
                assert np.array_equal(p[h * hd + 2 * i + j], w[h * hd + j * (hd // 2) + i])
    assert np.array_equal(gguf_export.unpermute_qk(p, n_head), w)
    b = np.arange(n_head * hd, dtype=np.float32)
    assert np.array_equal(gguf_export.unpermute_qk(gguf_export.permute_qk(b, n_head), n_head), b)


@test
def permuted_adjacent_rope_matches_rotate_half():
    # llama.cpp NORM rope (adjacent pairs) on permuted rows == permuted HF rotate_half rope
    hd, T = 16, 5
    x = rng.uniform_array(9, (T, 1, hd), -1, 1).astype(np.float64)
    inv = 10000.0 ** (-(np.arange(0, hd, 2) / hd))
    hf = reference_model.rope(x, np.arange(T), inv)[:, 0, :]
    xp = gguf_export.permute_qk(x[:, 0, :].T, 1).T          # permute channels
    ang = np.arange(T)[:, None] * inv[None, :]
    a, b = xp[:, 0::2], xp[:, 1::2]
    out = np.empty_like(xp)
    out[:, 0::2] = a * np.cos(ang) - b * np.sin(ang)
    out[:, 1::2] = a * np.sin(ang) + b * np.cos(ang)
    assert np.allclose(out, gguf_export.permute_qk(hf.T, 1).T, atol=1e-12)


# ------------------------------------------------------------------------------- safetensors
@test
def safetensors_round_trip():
    with tempfile.TemporaryDirectory() as d:
        t = {f"w{i}": rng.uniform_array(i, (4, 6), -1, 1) for i in range(5)}
        t["b"] = rng.uniform_array(11, (6,), -1, 1)
        safetensors_io.write_folder(d, t, "F32", n_shards=2)
        idx = json.load(open(os.path.join(d, "model.safetensors.index.json")))
        assert sorted(idx["weight_map"]) == sorted(t)
        assert len(set(idx["weight_map"].values())) == 2
        assert idx["metadata"]["total_size"] == sum(v.size * 4 for v in t.values())
        back = safetensors_io.read_folder(d)
        for k in t:
            assert np.array_equal(back[k], t[k]), k
        p = os.path.join(d, "x.safetensors")
        safetensors_io.write_file(p, t, "BF16")
        raw = open(p, "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        assert (8 + n) % 8 == 0
        back = safetensors_io.read_file(p)
        for k in t:
            assert np.array_equal(back[k], quants.roundtrip(t[k], "BF16")), k


# ------------------------------------------------------------------------------- tokenizer
@test
def tokenizer_basics():
    tok = tokenizer_bpe.build_tokenizer(320)
    assert tok.n_vocab == 320 and tok.bos_id == 318 and tok.eos_id == 319
    assert tok.tokens[32] == "Ġ" and tok.tokens[10] == "Ċ" and tok.tokens[65] == "A"
    assert len(set(tok.tokens)) == 320
    for a, b in tok.merges:
        assert a in tok.ids and b in tok.ids and tok.ids[a + b] >= 256
    s = "Hello, the world!\n  x"
    assert tok.decode(tok.encode(s)) == s
    hf = tok.hf_tokenizer_json()
    assert len(hf["model"]["vocab"]) == 318 and len(hf["model"]["merges"]) == 62


# ------------------------------------------------------------------------------- end to end
@test
def gguf_vs_hf_reference_logits():
    import make_golden as G
    cfgs = G.case_configs()
    with tempfile.TemporaryDirectory() as d:
        written, _, _ = G.write_models(d)
        by = {m["name"]: m for m in written}
        ids = list(range(0, 300, 19))
        for case in cfgs:
            cfg = cfgs[case]
            _, w_hf = hf_export.read_hf_folder(os.path.join(d, f"{case}-hf-f32"))
            gcfg, w_gg, div = gguf_export.load_gguf_as_hf(os.path.join(d, f"{case}-f32.gguf"))
            assert sorted(w_hf) == sorted(w_gg), (case, set(w_hf) ^ set(w_gg))
            for k in w_hf:
                assert np.array_equal(w_hf[k], w_gg[k]), (case, k)
            l_hf = reference_model.logits_for(cfg, w_hf, ids)
            l_gg = reference_model.logits_for(cfg, w_gg, ids)
            assert np.array_equal(l_hf, l_gg), case
            if case == "llama3":
                assert div is not None
                inv0 = 500000.0 ** (-(np.arange(0, 64, 2) / 64))
                assert np.allclose(inv0 / div, reference_model.inv_freq(cfg), rtol=1e-6)
                l_div = reference_model.logits_for(cfg, w_gg, ids, div)
                assert np.max(np.abs(l_div - l_hf)) < 1e-4
                assert div[0] == 1.0 and div[-1] == 8.0
                assert 1.0 < div[16] < 8.0
                r = gguf_reader.GgufReader(os.path.join(d, "llama3-q4_k.gguf"))
                assert r.kv["general.file_type"] == 14 and r.kv["general.quantization_version"] == 2
                assert r.tensors["token_embd.weight"]["type"] == quants.Q4_K
                assert r.tensors["blk.0.attn_norm.weight"]["type"] == quants.F32
                assert r.tensors["rope_freqs.weight"]["ne"] == [32]
                assert "output.weight" in r.tensors
            else:
                assert div is None
            for k in ("hidden_size", "num_attention_heads", "num_key_value_heads", "head_dim",
                      "tie_word_embeddings", "vocab_size", "num_hidden_layers"):
                assert gcfg[k] == cfg[k], (case, k)
            r = gguf_reader.GgufReader(os.path.join(d, f"{case}-f32.gguf"))
            arch = r.kv["general.architecture"]
            assert arch == ("llama" if case in ("llama3", "mistral") else case)
            assert r.kv["tokenizer.ggml.model"] == "gpt2" and r.kv["tokenizer.ggml.pre"] == "qwen2"
            assert len(r.kv["tokenizer.ggml.tokens"]) == 320
            assert ("output.weight" in r.tensors) == (not cfg["tie_word_embeddings"])
            assert "general.quantization_version" not in r.kv
            if case == "qwen3":
                assert r.kv["qwen3.attention.key_length"] == 64
                assert r.tensors["blk.0.attn_q.weight"]["ne"] == [256, 512]
                assert "blk.1.attn_k_norm.weight" in r.tensors
            if case == "qwen2":
                assert r.tensors["blk.0.attn_q.bias"]["ne"] == [256]
        # HF llama3 f32 is sharded; bf16 reference = bf16-rounded weights
        assert "llama3-hf-f32/model.safetensors.index.json" in by["llama3-hf-f32"]["files"]
        _, w16 = hf_export.read_hf_folder(os.path.join(d, "llama3-hf-bf16"))
        _, w32 = hf_export.read_hf_folder(os.path.join(d, "llama3-hf-f32"))
        for k in w32:
            assert np.array_equal(w16[k], quants.roundtrip(w32[k], "BF16")), k


@test
def manifest_matches_written_models():
    import make_golden as G
    if not os.path.exists(G.MANIFEST):
        print("  (no manifest yet; skipped)")
        return
    with tempfile.TemporaryDirectory() as d:
        assert G.verify(d) == 0
        man = json.load(open(G.MANIFEST))
        m = [x for x in man["models"] if x["name"] == "qwen3-q8_0"][0]
        w, div = G.load_for_reference(d, m, man["cases"]["qwen3"]["config"])
        lg = reference_model.logits_for(man["cases"]["qwen3"]["config"], w, m["prompt"], div)
        assert np.max(np.abs(lg - np.array(m["logits"]))) < 1e-9
        assert m["greedy_margins_min"] > 0.02


def main():
    failed = 0
    for fn in TESTS:
        try:
            fn()
            print(f"ok   {fn.__name__}")
        except Exception:
            failed += 1
            print(f"FAIL {fn.__name__}")
            traceback.print_exc()
    print(f"{len(TESTS) - failed}/{len(TESTS)} passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

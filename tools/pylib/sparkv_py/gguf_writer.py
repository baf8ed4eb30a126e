#!/usr/bin/python3
"""Minimal GGUF v3 writer (little-endian), deterministic byte output.

    from sparkv_py.gguf_writer import GgufWriter
    w = GgufWriter("model.gguf")                       # alignment 32 (general.alignment written)
    w.add_kv("general.architecture", "llama", "string")
    w.add_kv("llama.block_count", 2, "u32")
    w.add_kv("llama.attention.layer_norm_rms_epsilon", 1e-5, "f32")
    w.add_kv("tokenizer.ggml.tokens", ["a", "b"], "array", elem_type="string")
    w.add_kv("tokenizer.ggml.token_type", [1, 1], "array:i32")   # shorthand for the same thing
    w.add_tensor("blk.0.attn_q.weight", W, "Q8_0")   # W: float32 HF shape [out, in] (or 1-D)
    w.write()

Value types (name or GGUF id): u8 i8 u16 i16 u32 i32 f32 bool string array u64 i64 f64.
Arrays: vtype "array" + elem_type=..., or "array:<elem>"; nested arrays as "array:array:i32"
(value = list of lists). Keys are written in insertion order; general.alignment (u32) is added
at the end if not given. Tensors are written in insertion order; `ne` is the reversed numpy
shape (ne[0] = innermost = `in`), data quantized with sparkv_py.quants (row = last axis).
add_tensor_raw(name, raw_bytes, shape, ggml_type) stores pre-encoded bytes.
"""
import struct

import numpy as np

from . import quants

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3

VT = {"u8": 0, "i8": 1, "u16": 2, "i16": 3, "u32": 4, "i32": 5, "f32": 6, "bool": 7,
      "string": 8, "array": 9, "u64": 10, "i64": 11, "f64": 12}
VT_NAMES = {v: k for k, v in VT.items()}
_SCALAR_FMT = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<B",
               10: "<Q", 11: "<q", 12: "<d"}


def _vt(v):
    if isinstance(v, str):
        if v not in VT:
            raise ValueError(f"unknown GGUF value type {v!r}")
        return VT[v]
    if int(v) not in VT_NAMES:
        raise ValueError(f"unknown GGUF value type id {v}")
    return int(v)


def _split_type(vtype, elem_type=None):
    """-> (type id, element type spec or None)."""
    if isinstance(vtype, str) and vtype.startswith("array:"):
        return VT["array"], vtype[len("array:"):]
    t = _vt(vtype)
    if t == VT["array"] and elem_type is None:
        raise ValueError("array value needs elem_type")
    return t, elem_type


def _enc_string(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def _enc_value(value, vtype, elem_type=None):
    t, et = _split_type(vtype, elem_type)
    if t == VT["string"]:
        return _enc_string(value)
    if t == VT["array"]:
        et_id, et_sub = _split_type(et) if isinstance(et, str) and et.startswith("array:") \
            else (_vt(et), None)
        out = [struct.pack("<IQ", et_id, len(value))]
        if et_id == VT["string"]:
            out.extend(_enc_string(s) for s in value)
        elif et_id == VT["array"]:
            out.extend(_enc_value(v, et) for v in value)
        else:
            fmt = _SCALAR_FMT[et_id]
            arr = np.asarray(value)
            if et_id == VT["bool"]:
                arr = arr.astype(bool).astype(np.uint8)
            out.append(arr.astype(np.dtype(fmt)).tobytes() if len(value) else b"")
        return b"".join(out)
    if t == VT["bool"]:
        return struct.pack("<B", 1 if value else 0)
    return struct.pack(_SCALAR_FMT[t], value)


class GgufWriter:
    def __init__(self, path, alignment=32):
        self.path = path
        self.alignment = int(alignment)
        self._kv = []          # (key, encoded type+value bytes)
        self._keys = set()
        self._tensors = []     # (name, ne list, ggml type id, raw bytes)

    def add_kv(self, key, value, vtype, elem_type=None):
        if key in self._keys:
            raise ValueError(f"duplicate GGUF key {key}")
        t, _ = _split_type(vtype, elem_type)
        self._keys.add(key)
        self._kv.append((key, struct.pack("<I", t) + _enc_value(value, vtype, elem_type)))

    def add_tensor(self, name, array, ggml_type="F32"):
        a = np.asarray(array, dtype=np.float32)
        if a.ndim == 0 or a.ndim > 4:
            raise ValueError(f"{name}: tensor rank {a.ndim} not in 1..4")
        self.add_tensor_raw(name, quants.quantize(a, ggml_type), a.shape, ggml_type)

    def add_tensor_raw(self, name, raw, shape, ggml_type):
        if len(name.encode()) >= 64:
            raise ValueError(f"tensor name too long: {name}")
        if any(n == name for n, *_ in self._tensors):
            raise ValueError(f"duplicate tensor {name}")
        t = quants.type_id(ggml_type)
        shape = tuple(int(s) for s in shape)
        if len(raw) != quants.nbytes(shape, t):
            raise ValueError(f"{name}: {len(raw)} bytes, expected {quants.nbytes(shape, t)}")
        self._tensors.append((name, list(reversed(shape)), t, bytes(raw)))

    def _pad(self, n):
        return (-n) % self.alignment

    def write(self):
        if "general.alignment" not in self._keys:
            self.add_kv("general.alignment", self.alignment, "u32")
        head = [GGUF_MAGIC, struct.pack("<IQQ", GGUF_VERSION, len(self._tensors), len(self._kv))]
        for key, enc in self._kv:
            head.append(_enc_string(key))
            head.append(enc)
        offset = 0
        offsets = []
        for name, ne, t, raw in self._tensors:
            offsets.append(offset)
            head.append(_enc_string(name))
            head.append(struct.pack("<I", len(ne)))
            head.append(struct.pack(f"<{len(ne)}Q", *ne))
            head.append(struct.pack("<IQ", t, offset))
            offset += len(raw) + self._pad(len(raw))
        header = b"".join(head)
        with open(self.path, "wb") as f:
            f.write(header)
            f.write(b"\0" * self._pad(len(header)))
            for (name, ne, t, raw), off in zip(self._tensors, offsets):
                f.write(raw)
                f.write(b"\0" * self._pad(len(raw)))
        return self.path

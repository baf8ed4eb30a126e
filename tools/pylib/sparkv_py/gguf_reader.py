#!/usr/bin/python3
"""Minimal GGUF v3 reader for self-checks.

    r = GgufReader("model.gguf")
    r.kv["llama.block_count"]          # python value (arrays -> lists)
    r.kv_types["llama.block_count"]    # GGUF value type name, e.g. "u32" or "array:string"
    r.tensors["token_embd.weight"]     # dict(ne=[...], type=id, offset=abs file offset, nbytes=...)
    r.raw("token_embd.weight")         # bytes
    r.get("token_embd.weight")         # dequantized float32, numpy shape = reversed(ne)
"""
import struct

import numpy as np

from . import quants
from .gguf_writer import VT, VT_NAMES, _SCALAR_FMT


class GgufReader:
    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.data = f.read()
        self.pos = 0
        if self.data[:4] != b"GGUF":
            raise ValueError(f"{path}: bad magic")
        self.pos = 4
        self.version = self._u("<I")
        if self.version not in (2, 3):
            raise ValueError(f"{path}: unsupported version {self.version}")
        n_tensors = self._u("<Q")
        n_kv = self._u("<Q")
        self.kv, self.kv_types = {}, {}
        for _ in range(n_kv):
            key = self._str()
            t = self._u("<I")
            val, tname = self._value(t)
            if key in self.kv:
                raise ValueError(f"{path}: duplicate key {key}")
            self.kv[key] = val
            self.kv_types[key] = tname
        infos = []
        for _ in range(n_tensors):
            name = self._str()
            nd = self._u("<I")
            ne = list(struct.unpack_from(f"<{nd}Q", self.data, self.pos))
            self.pos += 8 * nd
            t = self._u("<I")
            off = self._u("<Q")
            infos.append((name, ne, t, off))
        self.alignment = int(self.kv.get("general.alignment", 32))
        self.data_start = self.pos + ((-self.pos) % self.alignment)
        self.tensors = {}
        for name, ne, t, off in infos:
            if off % self.alignment:
                raise ValueError(f"{path}: tensor {name} offset {off} misaligned")
            shape = tuple(reversed(ne))
            nb = quants.nbytes(shape, t)
            start = self.data_start + off
            if start + nb > len(self.data):
                raise ValueError(f"{path}: tensor {name} out of file")
            self.tensors[name] = dict(ne=ne, type=t, offset=start, nbytes=nb, shape=shape)

    def _u(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return v

    def _str(self):
        n = self._u("<Q")
        s = self.data[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def _value(self, t):
        if t == VT["string"]:
            return self._str(), "string"
        if t == VT["array"]:
            et = self._u("<I")
            n = self._u("<Q")
            if et in (VT["string"], VT["array"]):
                vals = []
                sub = VT_NAMES[et]
                for _ in range(n):
                    v, sub = self._value(et)
                    vals.append(v)
                return vals, "array:" + sub
            fmt = _SCALAR_FMT[et]
            sz = struct.calcsize(fmt)
            arr = np.frombuffer(self.data, dtype=np.dtype(fmt), count=n, offset=self.pos)
            self.pos += sz * n
            vals = [bool(x) for x in arr] if et == VT["bool"] else arr.tolist()
            return vals, "array:" + VT_NAMES[et]
        if t not in _SCALAR_FMT:
            raise ValueError(f"{self.path}: unknown value type {t}")
        v = self._u(_SCALAR_FMT[t])
        return (bool(v) if t == VT["bool"] else v), VT_NAMES[t]

    def raw(self, name):
        ti = self.tensors[name]
        return self.data[ti["offset"]:ti["offset"] + ti["nbytes"]]

    def get(self, name):
        ti = self.tensors[name]
        return quants.dequantize(self.raw(name), ti["type"], ti["shape"])

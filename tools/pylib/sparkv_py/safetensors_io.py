#!/usr/bin/python3
"""safetensors write/read (F32, F16, BF16), optional sharding with model.safetensors.index.json.

    write_file(path, {name: float32 array}, dtype="F32", metadata={"format": "pt"})
    write_folder(dir, tensors, dtype="BF16", n_shards=2)  # model-0000K-of-0000N.safetensors + index
    read_file(path)   -> {name: float32 array}   (F32/F16/BF16/F64 accepted)
    read_folder(dir)  -> {name: float32 array}   (single file or index.json)

Deterministic: tensors are stored in sorted name order, header JSON has sorted keys and no
whitespace, padded with spaces to a multiple of 8. BF16 uses round-to-nearest-even.
"""
import json
import os
import struct

import numpy as np

from . import quants

_DTYPES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8}


def _encode(a, dtype):
    a = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
    if dtype == "F32":
        return a.astype("<f4").tobytes()
    if dtype == "F16":
        return a.astype("<f2").tobytes()
    if dtype == "BF16":
        return quants.bf16_bits(a).astype("<u2").tobytes()
    raise ValueError(f"unsupported safetensors dtype for writing: {dtype}")


def write_file(path, tensors, dtype="F32", metadata=None):
    header = {}
    blobs = []
    off = 0
    for name in sorted(tensors):
        a = np.asarray(tensors[name])
        raw = _encode(a, dtype)
        header[name] = {"dtype": dtype, "shape": [int(s) for s in a.shape],
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata is None:
        metadata = {"format": "pt"}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hj = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((-(8 + len(hj))) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)
    return off


def write_folder(folder, tensors, dtype="F32", n_shards=1):
    """Writes model.safetensors (n_shards == 1) or N shards + model.safetensors.index.json.
    Tensors are split into N contiguous runs of the sorted names, balanced by byte size."""
    os.makedirs(folder, exist_ok=True)
    if n_shards <= 1:
        write_file(os.path.join(folder, "model.safetensors"), tensors, dtype)
        return ["model.safetensors"]
    names = sorted(tensors)
    sizes = [int(np.asarray(tensors[n]).size) * _DTYPES[dtype] for n in names]
    total = sum(sizes)
    groups = [[] for _ in range(n_shards)]
    acc = 0
    for n, s in zip(names, sizes):
        k = min(n_shards - 1, acc * n_shards // max(total, 1))
        groups[k].append(n)
        acc += s
    files = []
    weight_map = {}
    for k, g in enumerate(groups):
        fn = f"model-{k + 1:05d}-of-{n_shards:05d}.safetensors"
        write_file(os.path.join(folder, fn), {n: tensors[n] for n in g}, dtype)
        files.append(fn)
        for n in g:
            weight_map[n] = fn
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2, sort_keys=True)
        f.write("\n")
    files.append("model.safetensors.index.json")
    return files


def read_file(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack_from("<Q", data, 0)[0]
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = data[base + b:base + e]
        shape = tuple(info["shape"])
        dt = info["dtype"]
        if dt == "F32":
            a = np.frombuffer(raw, "<f4").astype(np.float32)
        elif dt == "F16":
            a = np.frombuffer(raw, "<f2").astype(np.float32)
        elif dt == "BF16":
            a = quants.bf16_val(np.frombuffer(raw, "<u2"))
        elif dt == "F64":
            a = np.frombuffer(raw, "<f8").astype(np.float32)
        else:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {dt}")
        out[name] = a.reshape(shape)
    return out


def read_folder(folder):
    idx = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            wm = json.load(f)["weight_map"]
        out = {}
        for fn in sorted(set(wm.values())):
            out.update(read_file(os.path.join(folder, fn)))
        return out
    return read_file(os.path.join(folder, "model.safetensors"))

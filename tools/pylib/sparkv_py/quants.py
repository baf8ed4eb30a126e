#!/usr/bin/python3
"""ggml tensor types: row-wise quantize (float32 -> bytes) and dequantize (bytes -> float32).

Supported: F32 (0), F16 (1), Q4_0 (2), Q8_0 (8), Q4_K (12), Q6_K (14), BF16 (30).

    raw = quantize(x, "Q4_K")          # x: float32 [..., n], n % block == 0; bytes, rows contiguous
    y   = dequantize(raw, "Q4_K", shape)   # float32 array of `shape` (last dim = row length)

A row of n elements is n/block blocks, stored contiguously; rows follow each other.

Encoders:
  - F16: IEEE round-to-nearest-even (numpy's float16 cast). BF16: round-to-nearest-even of the
    upper 16 bits (NaN kept quiet).
  - Q8_0 / Q4_0: llama.cpp's reference quantizers (quantize_row_*_ref), float32 arithmetic:
    Q8_0: d = amax/127, id = 1/d, q = roundf(x*id) (ties away from zero).
    Q4_0: max = signed value of largest |x| (first one), d = max/-8, id = 1/d,
          q = min(15, trunc(x*id + 8.5)).
  - Q4_K / Q6_K: a simple valid encoding (not llama.cpp's iterative search): per-sub-block
    min/max (Q4_K) or absmax (Q6_K) scales, quantized to 6-bit / int8 super-block-relative scales.
Decoders follow ggml's dequantize_row_* exactly (float32 arithmetic, same operation order).
"""
import numpy as np

F32, F16, Q4_0, Q8_0, Q4_K, Q6_K, BF16 = 0, 1, 2, 8, 12, 14, 30

TYPE_IDS = {"F32": F32, "F16": F16, "Q4_0": Q4_0, "Q8_0": Q8_0, "Q4_K": Q4_K, "Q6_K": Q6_K,
            "BF16": BF16}
TYPE_NAMES = {v: k for k, v in TYPE_IDS.items()}
# type id -> (block elements, block bytes)
BLOCK = {F32: (1, 4), F16: (1, 2), BF16: (1, 2), Q8_0: (32, 34), Q4_0: (32, 18),
         Q4_K: (256, 144), Q6_K: (256, 210)}


def type_id(t):
    if isinstance(t, str):
        if t.upper() not in TYPE_IDS:
            raise ValueError(f"unsupported ggml type {t!r}")
        return TYPE_IDS[t.upper()]
    if int(t) not in BLOCK:
        raise ValueError(f"unsupported ggml type id {t}")
    return int(t)


def row_bytes(n, t):
    t = type_id(t)
    be, bb = BLOCK[t]
    if n % be:
        raise ValueError(f"row length {n} not a multiple of block size {be} for {TYPE_NAMES[t]}")
    return n // be * bb


def nbytes(shape, t):
    shape = tuple(shape)
    rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    return rows * row_bytes(shape[-1], t)


# ---------------------------------------------------------------- scalar helpers (float32)

def _f32(x):
    return np.asarray(x, dtype=np.float32)


def _roundf(v):
    """C roundf: nearest, ties away from zero (exact: v - trunc(v) is exact in binary fp)."""
    t = np.trunc(v)
    frac = np.abs(v - t)
    return t + np.where(frac >= np.float32(0.5), np.sign(v), np.float32(0)).astype(v.dtype)


def _safe_inv(d):
    with np.errstate(divide="ignore"):
        return np.where(d != 0, np.float32(1) / np.where(d != 0, d, np.float32(1)),
                        np.float32(0)).astype(np.float32)


def _f16_bits(x):
    return _f32(x).astype(np.float16).view(np.uint16)


def _f16_val(bits):
    return np.asarray(bits, dtype=np.uint16).view(np.float16).astype(np.float32)


def bf16_bits(x):
    u = _f32(x).view(np.uint32).astype(np.uint64)
    r = ((u + np.uint64(0x7FFF) + ((u >> np.uint64(16)) & np.uint64(1))) >> np.uint64(16))
    nan = np.isnan(_f32(x))
    r = np.where(nan, (u >> np.uint64(16)) | np.uint64(0x40), r)
    return r.astype(np.uint16)


def bf16_val(bits):
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << np.uint32(16)).view(np.float32)


# ---------------------------------------------------------------- Q8_0

def _q8_0_enc(b):  # b: [nb, 32] float32
    amax = np.max(np.abs(b), axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    idv = _safe_inv(d)
    q = _roundf(b * idv[:, None]).astype(np.int8)
    out = np.zeros((b.shape[0], 34), np.uint8)
    out[:, 0:2] = _f16_bits(d).reshape(-1, 1).view(np.uint8).reshape(-1, 2)
    out[:, 2:34] = q.view(np.uint8)
    return out


def _q8_0_dec(blk):  # [nb, 34] uint8
    d = _f16_val(blk[:, 0:2].copy().view(np.uint16)[:, 0])
    q = blk[:, 2:34].copy().view(np.int8).astype(np.float32)
    return (q * d[:, None]).astype(np.float32)


# ---------------------------------------------------------------- Q4_0

def _q4_0_enc(b):
    nb = b.shape[0]
    idx = np.argmax(np.abs(b), axis=1)          # first largest |x|, like llama.cpp's strict '<'
    mx = b[np.arange(nb), idx]
    d = (mx / np.float32(-8)).astype(np.float32)
    idv = _safe_inv(d)
    v = (b * idv[:, None] + np.float32(8.5)).astype(np.float32)
    q = np.minimum(np.float32(15), np.trunc(v)).astype(np.int32)   # v >= 0.5 > 0
    q = np.clip(q, 0, 15).astype(np.uint8)
    out = np.zeros((nb, 18), np.uint8)
    out[:, 0:2] = _f16_bits(d).reshape(-1, 1).view(np.uint8).reshape(-1, 2)
    out[:, 2:18] = q[:, :16] | (q[:, 16:] << 4)
    return out


def _q4_0_dec(blk):
    d = _f16_val(blk[:, 0:2].copy().view(np.uint16)[:, 0])
    qs = blk[:, 2:18]
    lo = (qs & 15).astype(np.int32) - 8
    hi = (qs >> 4).astype(np.int32) - 8
    q = np.concatenate([lo, hi], axis=1).astype(np.float32)
    return (q * d[:, None]).astype(np.float32)


# ---------------------------------------------------------------- Q4_K

def pack_q4k_scales(sc, m):
    """sc, m: [nb, 8] ints in 0..63 -> scales [nb, 12] uint8 (ggml's 6-bit packing)."""
    sc = np.asarray(sc, np.uint8)
    m = np.asarray(m, np.uint8)
    s = np.zeros((sc.shape[0], 12), np.uint8)
    for j in range(4):
        s[:, j] = (sc[:, j] & 63) | ((sc[:, j + 4] >> 4) << 6)
        s[:, j + 4] = (m[:, j] & 63) | ((m[:, j + 4] >> 4) << 6)
        s[:, j + 8] = (sc[:, j + 4] & 15) | ((m[:, j + 4] & 15) << 4)
    return s


def unpack_q4k_scales(s):
    """scales [nb, 12] uint8 -> (sc, m) [nb, 8] int, following the spec's decode rule."""
    s = s.astype(np.int32)
    sc = np.zeros((s.shape[0], 8), np.int32)
    m = np.zeros((s.shape[0], 8), np.int32)
    for j in range(8):
        if j < 4:
            sc[:, j] = s[:, j] & 63
            m[:, j] = s[:, j + 4] & 63
        else:
            sc[:, j] = (s[:, j + 4] & 15) | ((s[:, j - 4] >> 6) << 4)
            m[:, j] = (s[:, j + 4] >> 4) | ((s[:, j] >> 6) << 4)
    return sc, m


def _q4_k_enc(b):  # [nb, 256]
    nb = b.shape[0]
    sub = b.reshape(nb, 8, 32)
    mn = np.minimum(np.min(sub, axis=2), np.float32(0))            # <= 0
    mx = np.max(sub, axis=2)
    scale = ((mx - mn) / np.float32(15)).astype(np.float32)        # >= 0
    mval = (-mn).astype(np.float32)                                 # >= 0
    d = (np.max(scale, axis=1) / np.float32(63)).astype(np.float32)
    dmin = (np.max(mval, axis=1) / np.float32(63)).astype(np.float32)
    d16 = _f16_val(_f16_bits(d))
    dmin16 = _f16_val(_f16_bits(dmin))
    sc = np.clip(_roundf(scale * _safe_inv(d16)[:, None]), 0, 63).astype(np.int32)
    m = np.clip(_roundf(mval * _safe_inv(dmin16)[:, None]), 0, 63).astype(np.int32)
    # rounding m down could leave x + dmin*m slightly negative: fine, q clamps at 0.
    d1 = (d16[:, None] * sc.astype(np.float32)).astype(np.float32)    # [nb, 8]
    m1 = (dmin16[:, None] * m.astype(np.float32)).astype(np.float32)
    q = _roundf(((sub + m1[:, :, None]) * _safe_inv(d1)[:, :, None]).astype(np.float32))
    q = np.clip(q, 0, 15).astype(np.uint8).reshape(nb, 256)
    out = np.zeros((nb, 144), np.uint8)
    out[:, 0:2] = _f16_bits(d).reshape(-1, 1).view(np.uint8).reshape(-1, 2)
    out[:, 2:4] = _f16_bits(dmin).reshape(-1, 1).view(np.uint8).reshape(-1, 2)
    out[:, 4:16] = pack_q4k_scales(sc, m)
    for g in range(4):
        out[:, 16 + 32 * g:16 + 32 * g + 32] = q[:, 64 * g:64 * g + 32] | (q[:, 64 * g + 32:64 * g + 64] << 4)
    return out


def _q4_k_dec(blk):
    nb = blk.shape[0]
    d = _f16_val(blk[:, 0:2].copy().view(np.uint16)[:, 0])
    dmin = _f16_val(blk[:, 2:4].copy().view(np.uint16)[:, 0])
    sc, m = unpack_q4k_scales(blk[:, 4:16])
    qs = blk[:, 16:144]
    y = np.zeros((nb, 256), np.float32)
    for g in range(4):
        q = qs[:, 32 * g:32 * g + 32]
        for half, nib in ((0, q & 15), (1, q >> 4)):
            j = 2 * g + half
            d1 = (d * sc[:, j].astype(np.float32)).astype(np.float32)
            m1 = (dmin * m[:, j].astype(np.float32)).astype(np.float32)
            y[:, 64 * g + 32 * half:64 * g + 32 * half + 32] = \
                (d1[:, None] * nib.astype(np.float32) - m1[:, None]).astype(np.float32)
    return y


# ---------------------------------------------------------------- Q6_K

def _q6_k_enc(b):  # [nb, 256]
    nb = b.shape[0]
    sub = b.reshape(nb, 16, 16)
    amax = np.max(np.abs(sub), axis=2)
    scale = (amax / np.float32(31)).astype(np.float32)                 # |x|/scale <= 31
    d = (np.max(scale, axis=1) / np.float32(127)).astype(np.float32)
    d16 = _f16_val(_f16_bits(d))
    sc = np.clip(_roundf(scale * _safe_inv(d16)[:, None]), -128, 127).astype(np.int32)
    ds = (d16[:, None] * sc.astype(np.float32)).astype(np.float32)     # [nb, 16]
    q = _roundf((sub * _safe_inv(ds)[:, :, None]).astype(np.float32))
    q = (np.clip(q, -32, 31) + 32).astype(np.uint8).reshape(nb, 256)  # 0..63
    out = np.zeros((nb, 210), np.uint8)
    for h in range(2):
        qh_ = q[:, 128 * h:128 * h + 128]
        a, bq, c, e = qh_[:, 0:32], qh_[:, 32:64], qh_[:, 64:96], qh_[:, 96:128]
        out[:, 64 * h:64 * h + 32] = (a & 15) | ((c & 15) << 4)
        out[:, 64 * h + 32:64 * h + 64] = (bq & 15) | ((e & 15) << 4)
        out[:, 128 + 32 * h:128 + 32 * h + 32] = (a >> 4) | ((bq >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6)
    out[:, 192:208] = sc.astype(np.int8).view(np.uint8)
    out[:, 208:210] = _f16_bits(d).reshape(-1, 1).view(np.uint8).reshape(-1, 2)
    return out


def _q6_k_dec(blk):
    nb = blk.shape[0]
    ql = blk[:, 0:128].astype(np.int32)
    qh = blk[:, 128:192].astype(np.int32)
    sc = blk[:, 192:208].copy().view(np.int8).astype(np.float32)
    d = _f16_val(blk[:, 208:210].copy().view(np.uint16)[:, 0])
    y = np.zeros((nb, 256), np.float32)
    for h in range(2):
        L, H, S = ql[:, 64 * h:64 * h + 64], qh[:, 32 * h:32 * h + 32], sc[:, 8 * h:8 * h + 8]
        for l in range(32):
            s = l // 16
            q1 = ((L[:, l] & 15) | (((H[:, l] >> 0) & 3) << 4)) - 32
            q2 = ((L[:, l + 32] & 15) | (((H[:, l] >> 2) & 3) << 4)) - 32
            q3 = ((L[:, l] >> 4) | (((H[:, l] >> 4) & 3) << 4)) - 32
            q4 = ((L[:, l + 32] >> 4) | (((H[:, l] >> 6) & 3) << 4)) - 32
            base = 128 * h
            for off, qv, si in ((0, q1, s), (32, q2, s + 2), (64, q3, s + 4), (96, q4, s + 6)):
                y[:, base + l + off] = ((d * S[:, si]).astype(np.float32) * qv.astype(np.float32)).astype(np.float32)
    return y


_ENC = {Q8_0: _q8_0_enc, Q4_0: _q4_0_enc, Q4_K: _q4_k_enc, Q6_K: _q6_k_enc}
_DEC = {Q8_0: _q8_0_dec, Q4_0: _q4_0_dec, Q4_K: _q4_k_dec, Q6_K: _q6_k_dec}


def quantize(x, t):
    """float array [..., n] -> bytes of ggml type t (rows contiguous)."""
    t = type_id(t)
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    n = x.shape[-1] if x.ndim else 1
    row_bytes(n, t)  # validates divisibility
    if t == F32:
        return x.astype("<f4").tobytes()
    if t == F16:
        return x.astype("<f2").tobytes()
    if t == BF16:
        return bf16_bits(x).astype("<u2").tobytes()
    be, _ = BLOCK[t]
    blocks = x.reshape(-1, be)
    return _ENC[t](blocks).tobytes()


def dequantize(raw, t, shape):
    """bytes of ggml type t -> float32 array of `shape` (last dim is the row length)."""
    t = type_id(t)
    shape = tuple(int(s) for s in shape)
    need = nbytes(shape, t)
    buf = np.frombuffer(raw, dtype=np.uint8, count=need)
    if t == F32:
        return buf.view("<f4").astype(np.float32).reshape(shape)
    if t == F16:
        return buf.view("<f2").astype(np.float32).reshape(shape)
    if t == BF16:
        return bf16_val(buf.view("<u2")).reshape(shape)
    be, bb = BLOCK[t]
    return _DEC[t](buf.reshape(-1, bb)).reshape(shape)


def roundtrip(x, t):
    """dequantize(quantize(x)): the values a file of type t actually holds."""
    x = np.asarray(x, dtype=np.float32)
    return dequantize(quantize(x, t), t, x.shape)

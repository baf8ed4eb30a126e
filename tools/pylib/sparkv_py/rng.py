#!/usr/bin/python3
"""Bit-reproducible random numbers: splitmix64, vectorised over numpy uint64.

Every random weight in the golden fixtures comes from here (never from np.random), so the
generated files are identical on any numpy version and any machine.

    u = uniform(seed, n)              # float64 in [0, 1), n values
    x = uniform(seed, n, -a, a)       # float64 in [-a, a)
    w = uniform_array(seed, (4, 8), -a, a, np.float32)

Stream element k (k = 0, 1, ...) of seed s is splitmix64's (k+1)-th output for state s:
    z = s + (k+1)*0x9E3779B97F4A7C15 ; z = (z^(z>>30))*0xBF58476D1CE4E5B9 ;
    z = (z^(z>>27))*0x94D049BB133111EB ; z ^= z>>31 ; u = (z>>11) * 2^-53
"""
import numpy as np

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def splitmix64(seed, n):
    """n raw uint64 outputs of splitmix64 seeded with `seed` (wrapping arithmetic)."""
    k = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed & 0xFFFFFFFFFFFFFFFF) + k * _GAMMA
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        z = z ^ (z >> np.uint64(31))
    return z


def uniform(seed, n, lo=0.0, hi=1.0):
    """n float64 values uniform in [lo, hi); exact IEEE arithmetic, so reproducible."""
    u = (splitmix64(seed, n) >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)
    return lo + (hi - lo) * u


def uniform_array(seed, shape, lo=0.0, hi=1.0, dtype=np.float32):
    shape = tuple(int(s) for s in np.atleast_1d(shape))
    n = int(np.prod(shape)) if shape else 1
    return uniform(seed, n, lo, hi).reshape(shape).astype(dtype)


def randint(seed, n, lo, hi):
    """n ints uniform in [lo, hi)."""
    return (lo + np.floor(uniform(seed, n) * (hi - lo))).astype(np.int64)

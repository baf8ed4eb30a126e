"""splitmix64 and the exact draw procedures used by every generator (docs/generators.md §1)."""

MASK64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
M1 = 0xBF58476D1CE4E5B9
M2 = 0x94D049BB133111EB
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


def fnv1a64(data: bytes) -> int:
    h = FNV_OFFSET
    for b in data:
        h ^= b
        h = (h * FNV_PRIME) & MASK64
    return h


class SplitMix64:
    """state += GAMMA; z = mix(state). below(n) is unbiased by rejection."""

    __slots__ = ("state",)

    def __init__(self, seed: int):
        self.state = seed & MASK64

    def next_u64(self) -> int:
        self.state = (self.state + GAMMA) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * M1) & MASK64
        z = ((z ^ (z >> 27)) * M2) & MASK64
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        """Uniform integer in [0, n): reject r >= 2^64 - (2^64 mod n), return r mod n."""
        if n <= 0:
            raise ValueError("below(n) needs n >= 1")
        limit = (1 << 64) - ((1 << 64) % n)
        while True:
            r = self.next_u64()
            if r < limit:
                return r % n

    def between(self, lo: int, hi: int) -> int:
        """Uniform integer in [lo, hi] (inclusive)."""
        return lo + self.below(hi - lo + 1)

    def choice(self, seq):
        return seq[self.below(len(seq))]

    def shuffle(self, lst) -> None:
        """Fisher-Yates: for i = n-1 down to 1: j = below(i+1); swap(i, j)."""
        for i in range(len(lst) - 1, 0, -1):
            j = self.below(i + 1)
            lst[i], lst[j] = lst[j], lst[i]

    def distinct(self, n: int, k: int):
        """k distinct integers of [0, n) in draw order (redraw on repeats)."""
        if k > n:
            raise ValueError("distinct(n, k) needs k <= n")
        seen, out = set(), []
        while len(out) < k:
            x = self.below(n)
            if x not in seen:
                seen.add(x)
                out.append(x)
        return out


def stream(task: str, seed: int, length: int, name: str) -> SplitMix64:
    """The RNG of one named stream of one sample: seeded with FNV-1a-64 of
    "<task>|<seed>|<length>|<name>" (ASCII, decimal integers)."""
    return SplitMix64(fnv1a64(f"{task}|{seed}|{length}|{name}".encode("ascii")))

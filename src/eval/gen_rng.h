// The generators' random numbers (docs/generators.md §1): splitmix64 plus the exact integer draw
// procedures, and FNV-1a-64 stream seeding. Integer-only on purpose: the Python reference
// (tools/train/sparkv_gen/rng.py) must agree bit for bit on every machine.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/fnv.h"
#include "sample/sampler.h"

namespace sparkv {

inline uint64_t fnv1a64(std::string_view bytes) {
  return fnv1a64(bytes.data(), bytes.size());
}

class GenRng {
 public:
  explicit GenRng(uint64_t seed) : sm_(seed) {}

  uint64_t next_u64() { return sm_.next(); }

  // Uniform in [0, n) by rejection: values >= 2^64 - (2^64 mod n) are redrawn, so no modulo bias.
  uint64_t below(uint64_t n) {
    SPARKV_CHECK(n >= 1, "generator: below({}) needs n >= 1", n);
    // 2^64 mod n computed without 128-bit arithmetic: (2^64 - n) mod n == 2^64 mod n.
    const uint64_t rem = (0 - n) % n;
    for (;;) {
      const uint64_t r = next_u64();
      // limit = 2^64 - rem; when rem == 0 every r is accepted.
      if (rem == 0 || r < 0 - rem) return r % n;
    }
  }
  int64_t between(int64_t lo, int64_t hi) {  // inclusive
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo + 1)));
  }
  template <typename T>
  const T& choice(const std::vector<T>& v) {
    return v[below(v.size())];
  }
  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i-- > 1;) {
      const size_t j = below(i + 1);
      std::swap(v[i], v[j]);
    }
  }
  // k distinct values of [0, n) in draw order.
  std::vector<uint64_t> distinct(uint64_t n, uint64_t k) {
    SPARKV_CHECK(k <= n, "generator: distinct({}, {}) needs k <= n", n, k);
    std::unordered_set<uint64_t> seen;
    std::vector<uint64_t> out;
    out.reserve(k);
    while (out.size() < k) {
      const uint64_t x = below(n);
      if (seen.insert(x).second) out.push_back(x);
    }
    return out;
  }

 private:
  SplitMix64 sm_;
};

// The named stream of one sample: seeded with FNV-1a-64 of "<task>|<seed>|<length>|<name>".
inline GenRng gen_stream(std::string_view task, uint64_t seed, int64_t length,
                         std::string_view name) {
  std::string key;
  key.reserve(task.size() + name.size() + 48);
  key.append(task).append("|").append(std::to_string(seed)).append("|");
  key.append(std::to_string(length)).append("|").append(name);
  return GenRng(fnv1a64(key));
}

}  // namespace sparkv

// Test oracles shared by the attention and cache tests: seeded random tensors and plain softmax
// attention in double precision, written out independently of the kernels under test.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "core/cpu_features.h"

namespace sparkv::test {

inline std::vector<float> randn(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Softmax attention of one query head over n rows: k, v are [n, D] row-major.
inline std::vector<double> naive_attention(const float* q, const float* k, const float* v, int64_t n,
                                           int D) {
  std::vector<double> s(n);
  double mx = -1e300;
  for (int64_t t = 0; t < n; ++t) {
    double acc = 0;
    for (int d = 0; d < D; ++d) acc += static_cast<double>(q[d]) * k[t * D + d];
    s[t] = acc / std::sqrt(static_cast<double>(D));
    mx = std::max(mx, s[t]);
  }
  double sum = 0;
  for (auto& x : s) sum += (x = std::exp(x - mx));
  std::vector<double> out(D, 0.0);
  for (int64_t t = 0; t < n; ++t)
    for (int d = 0; d < D; ++d) out[d] += s[t] / sum * v[t * D + d];
  return out;
}

// The same over rows held as separate vectors (keys rebuilt token by token).
inline std::vector<double> naive_attention(const float* q, const std::vector<std::vector<float>>& keys,
                                           const std::vector<std::vector<float>>& vals, int D) {
  std::vector<float> k, v;
  for (size_t t = 0; t < keys.size(); ++t) {
    k.insert(k.end(), keys[t].begin(), keys[t].end());
    v.insert(v.end(), vals[t].begin(), vals[t].end());
  }
  return naive_attention(q, k.data(), v.data(), static_cast<int64_t>(keys.size()), D);
}

// Caps the attention kernels' dispatch level (limit_simd_level) for one scope, so a failing
// assertion cannot leave the cap lowered for the tests that run after it.
class SimdCap {
 public:
  explicit SimdCap(SimdLevel level) { limit_simd_level(level); }
  ~SimdCap() { limit_simd_level(SimdLevel::kAvx512); }
  SimdCap(const SimdCap&) = delete;
  SimdCap& operator=(const SimdCap&) = delete;
};

}  // namespace sparkv::test

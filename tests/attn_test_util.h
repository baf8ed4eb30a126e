// Test oracles shared by the attention and cache tests: seeded random tensors and plain softmax
// attention in double precision, written out independently of the kernels under test.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "attn/attn_state.h"
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

// Largest difference between two online-softmax states of g heads ([g] m, l; [g, D] o) after
// both are finished: max over |m1 - m2| and the normalised outputs. Kernel-vs-reference tests
// fold the same tokens into both and compare with this.
inline float max_state_diff(int g, int D, const std::vector<float>& m1, const std::vector<float>& l1,
                            const std::vector<float>& o1, const std::vector<float>& m2,
                            const std::vector<float>& l2, const std::vector<float>& o2) {
  std::vector<float> a(static_cast<size_t>(g) * D), b(a.size());
  attn_state_finish(g, D, l1.data(), o1.data(), a.data());
  attn_state_finish(g, D, l2.data(), o2.data(), b.data());
  float worst = 0.0f;
  for (int i = 0; i < g; ++i) worst = std::max(worst, std::abs(m1[i] - m2[i]));
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

}  // namespace sparkv::test

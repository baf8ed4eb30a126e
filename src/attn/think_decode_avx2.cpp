// AVX2/FMA/F16C attention over ThinK packed storage. Same blocking as the dense kernel: a block of
// scores first (one packed K row load feeds every head of the group), one max/rescale per head per
// block, then the V accumulation (one full-width V row load feeds every head).
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "attn/attn_state.h"
#include "attn/think_decode.h"

namespace sparkv {

namespace {

constexpr int kBlock = 64;
constexpr int kMaxHeads = 8;  // heads handled per pass; larger groups loop

inline __m256 load8(const void* p, KvDtype dtype, int64_t i) {
  if (dtype == KvDtype::kF32) return _mm256_loadu_ps(static_cast<const float*>(p) + i);
  return _mm256_cvtph_ps(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(p) + i)));
}

// F16C scalar conversion: this unit must not instantiate the portable inline helpers of
// core/fp16.h with AVX2 code generation (the linker could keep this copy for everyone).
inline float load1(const void* p, KvDtype dtype, int64_t i) {
  return dtype == KvDtype::kF32 ? static_cast<const float*>(p)[i]
                                : _cvtsh_ss(static_cast<const uint16_t*>(p)[i]);
}

inline float hsum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

void update_heads(const float* q, int g, int q_stride, const void* k, int dk, const void* v, int D,
                  KvDtype dtype, int64_t n, float* m, float* l, float* o) {
  alignas(32) float s[kMaxHeads][kBlock];
  const int dk8 = dk - dk % 8;
  for (int64_t t0 = 0; t0 < n; t0 += kBlock) {
    const int nb = static_cast<int>(std::min<int64_t>(kBlock, n - t0));
    for (int t = 0; t < nb; ++t) {
      __m256 acc[kMaxHeads];
      for (int h = 0; h < g; ++h) acc[h] = _mm256_setzero_ps();
      const int64_t row = (t0 + t) * dk;
      for (int c = 0; c < dk8; c += 8) {
        const __m256 kv = load8(k, dtype, row + c);
        for (int h = 0; h < g; ++h)
          acc[h] = _mm256_fmadd_ps(_mm256_loadu_ps(q + h * q_stride + c), kv, acc[h]);
      }
      for (int h = 0; h < g; ++h) {
        float tail = 0.0f;
        for (int c = dk8; c < dk; ++c) tail += q[h * q_stride + c] * load1(k, dtype, row + c);
        s[h][t] = hsum(acc[h]) + tail;
      }
    }
    for (int h = 0; h < g; ++h) {
      float bm = s[h][0];
      for (int t = 1; t < nb; ++t) bm = std::max(bm, s[h][t]);
      const float mn = std::max(m[h], bm);
      const float a = m[h] == kNegInf ? 0.0f : std::exp(m[h] - mn);
      float sum = 0.0f;
      for (int t = 0; t < nb; ++t) {
        s[h][t] = std::exp(s[h][t] - mn);
        sum += s[h][t];
      }
      l[h] = l[h] * a + sum;
      m[h] = mn;
      if (a != 1.0f) {
        const __m256 va = _mm256_set1_ps(a);
        for (int d = 0; d < D; d += 8)
          _mm256_storeu_ps(o + h * D + d, _mm256_mul_ps(_mm256_loadu_ps(o + h * D + d), va));
      }
    }
    for (int t = 0; t < nb; ++t) {
      const int64_t row = (t0 + t) * D;
      for (int d = 0; d < D; d += 8) {
        const __m256 vv = load8(v, dtype, row + d);
        for (int h = 0; h < g; ++h) {
          float* oh = o + h * D + d;
          _mm256_storeu_ps(oh, _mm256_fmadd_ps(_mm256_set1_ps(s[h][t]), vv, _mm256_loadu_ps(oh)));
        }
      }
    }
  }
}

}  // namespace

void attn_think_update_avx2(const float* q, int g, const void* k, int dk, const void* v, int D,
                            KvDtype dtype, int64_t n, float* m, float* l, float* o) {
  for (int h0 = 0; h0 < g; h0 += kMaxHeads) {
    const int gh = std::min(kMaxHeads, g - h0);
    update_heads(q + h0 * dk, gh, dk, k, dk, v, D, dtype, n, m + h0, l + h0, o + h0 * D);
  }
}

}  // namespace sparkv

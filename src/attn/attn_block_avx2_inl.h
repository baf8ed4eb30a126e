// Pieces shared by the AVX2 decode kernels (dense, SparK): a vector exp, the per-block online
// softmax update, and the value accumulation with the output rows held in registers. Templated
// on the GQA group size G so the per-head accumulators are registers, not stack arrays indexed
// by a runtime loop. Include only from *_avx2.cpp units (unnamed namespace: one private copy each).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "attn/attn_state.h"
#include "attn/kv_load_avx2_inl.h"

namespace sparkv::attn_avx2 {
namespace {

constexpr int kBlock = 64;     // tokens per softmax block
constexpr int kMaxHeads = 8;   // heads per pass; larger groups loop
using Scores = float[kMaxHeads][kBlock];

// e^x for x <= 0 (scores minus the running max), Cephes-style: range reduction by ln 2 and a
// degree-6 polynomial; relative error ~2e-7, i.e. within the f32 rounding of the reference.
static inline __m256 exp256(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
  __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
  fx = _mm256_floor_ps(fx);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

static inline float hmax(__m256 v) {
  __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_max_ps(x, _mm_movehl_ps(x, x));
  x = _mm_max_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

static inline float hsum(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

// Turns the block's scores s[h][0..nb) into probabilities relative to the new running max, and
// rescales l and o. Padding lanes past nb are set to 0 so vector loops may run over whole vectors.
static inline void block_softmax(Scores& s, int g, int nb, int D, float* m, float* l, float* o) {
  const int nv = (nb + 7) / 8;
  for (int h = 0; h < g; ++h) {
    for (int t = nb; t < nv * 8; ++t) s[h][t] = kNegInf;
    __m256 vm = _mm256_load_ps(s[h]);
    for (int i = 1; i < nv; ++i) vm = _mm256_max_ps(vm, _mm256_load_ps(s[h] + 8 * i));
    const float mn = std::max(m[h], hmax(vm));
    const float a = m[h] == kNegInf ? 0.0f : std::exp(m[h] - mn);
    const __m256 vmn = _mm256_set1_ps(mn);
    __m256 sum = _mm256_setzero_ps();
    for (int i = 0; i < nv; ++i) {
      __m256 p = exp256(_mm256_sub_ps(_mm256_load_ps(s[h] + 8 * i), vmn));
      if (8 * i + 8 > nb) {  // zero the padding lanes (exp of -inf - mn is clamped, not 0)
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(nb - 8 * i), lane);
        p = _mm256_and_ps(p, _mm256_castsi256_ps(keep));
      }
      _mm256_store_ps(s[h] + 8 * i, p);
      sum = _mm256_add_ps(sum, p);
    }
    l[h] = l[h] * a + hsum(sum);
    m[h] = mn;
    if (a != 1.0f) {
      const __m256 va = _mm256_set1_ps(a);
      for (int d = 0; d < D; d += 8)
        _mm256_storeu_ps(o + h * D + d, _mm256_mul_ps(_mm256_loadu_ps(o + h * D + d), va));
    }
  }
}

// o_h += Σ_t s[h][t] · v_t over nb value rows of type T (row_bytes apart). For 8-element loads the
// loop runs channel group outer, token inner, so the G output vectors stay in registers over the
// whole block and each V element is loaded once; block types (4 vectors per load) go token outer.
template <KvDtype T, int G>
void accumulate_rows(const uint8_t* v, size_t row_bytes, int nb, int D, const Scores& s, float* o) {
  using L = kv_avx2::KvLoad<T>;
  constexpr int W = L::kVecs;
  if constexpr (W == 1) {
    // Even and odd tokens go to separate accumulators (2G independent FMA chains) when registers
    // allow; one set of G chains is latency-bound for small groups.
    constexpr bool kPairs = G <= 6;
    for (int i = 0; i < D / 8; ++i) {
      __m256 acc[G], acc2[G];
      for (int h = 0; h < G; ++h) {
        acc[h] = _mm256_loadu_ps(o + h * D + 8 * i);
        acc2[h] = _mm256_setzero_ps();
      }
      int t = 0;
      if constexpr (kPairs) {
        for (; t + 1 < nb; t += 2) {
          __m256 x0[1], x1[1];
          L::load(v + t * row_bytes, i, x0);
          L::load(v + (t + 1) * row_bytes, i, x1);
          for (int h = 0; h < G; ++h) {
            acc[h] = _mm256_fmadd_ps(_mm256_broadcast_ss(&s[h][t]), x0[0], acc[h]);
            acc2[h] = _mm256_fmadd_ps(_mm256_broadcast_ss(&s[h][t + 1]), x1[0], acc2[h]);
          }
        }
      }
      for (; t < nb; ++t) {
        __m256 x[1];
        L::load(v + t * row_bytes, i, x);
        for (int h = 0; h < G; ++h) acc[h] = _mm256_fmadd_ps(_mm256_broadcast_ss(&s[h][t]), x[0], acc[h]);
      }
      for (int h = 0; h < G; ++h) _mm256_storeu_ps(o + h * D + 8 * i, _mm256_add_ps(acc[h], acc2[h]));
    }
  } else {
    for (int t = 0; t < nb; ++t) {
      for (int i = 0; i < D / (8 * W); ++i) {
        __m256 x[W];
        L::load(v + t * row_bytes, i, x);
        for (int h = 0; h < G; ++h) {
          const __m256 p = _mm256_broadcast_ss(&s[h][t]);
          for (int w = 0; w < W; ++w) {
            float* oh = o + h * D + (i * W + w) * 8;
            _mm256_storeu_ps(oh, _mm256_fmadd_ps(p, x[w], _mm256_loadu_ps(oh)));
          }
        }
      }
    }
  }
}

// Calls f.template operator()<G>() for the runtime group size g in [1, 8].
template <typename F>
static inline auto dispatch_group(int g, F&& f) {
  switch (g) {
    case 1: return f.template operator()<1>();
    case 2: return f.template operator()<2>();
    case 3: return f.template operator()<3>();
    case 4: return f.template operator()<4>();
    case 5: return f.template operator()<5>();
    case 6: return f.template operator()<6>();
    case 7: return f.template operator()<7>();
    default: return f.template operator()<8>();
  }
}

}  // namespace
}  // namespace sparkv::attn_avx2

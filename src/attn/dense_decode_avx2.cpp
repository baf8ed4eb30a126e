// AVX2/FMA/F16C dense decode attention. Tokens are processed in blocks: scores for the block first
// (one K row load feeds every head of the group), then one max/rescale per head per block, then
// the V accumulation (one V row load feeds every head). Rows of every cache type are read in
// place: f32/f16/bf16 8 channels at a time, block types one 32-channel block (4 registers) at a
// time, dequantized in registers (kv_load_avx2_inl.h). The score and value passes are chosen per
// type separately, so K and V types combine freely without 81 instantiations.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "attn/attn_state.h"
#include "attn/dense_decode.h"
#include "attn/kv_load_avx2_inl.h"

namespace sparkv {

namespace {

using kv_avx2::KvLoad;

constexpr int kBlock = 64;
constexpr int kMaxHeads = 8;  // heads handled per pass; larger groups loop

using Scores = float[kMaxHeads][kBlock];

inline float hsum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

// s[h][t] = q_h · k_t for the nb rows starting at k (row_bytes apart).
template <KvDtype T>
void score_rows(const float* q, int g, const uint8_t* k, size_t row_bytes, int nb, int D, Scores& s) {
  constexpr int W = KvLoad<T>::kVecs;
  for (int t = 0; t < nb; ++t) {
    const uint8_t* row = k + t * row_bytes;
    __m256 acc[kMaxHeads];
    for (int h = 0; h < g; ++h) acc[h] = _mm256_setzero_ps();
    for (int i = 0; i < D / (8 * W); ++i) {
      __m256 x[W];
      KvLoad<T>::load(row, i, x);
      for (int w = 0; w < W; ++w) {
        const int d = (i * W + w) * 8;
        for (int h = 0; h < g; ++h) acc[h] = _mm256_fmadd_ps(_mm256_loadu_ps(q + h * D + d), x[w], acc[h]);
      }
    }
    for (int h = 0; h < g; ++h) s[h][t] = hsum(acc[h]);
  }
}

// o_h += s[h][t] · v_t for the nb rows starting at v.
template <KvDtype T>
void accumulate_rows(const uint8_t* v, size_t row_bytes, int nb, int D, int g, const Scores& s, float* o) {
  constexpr int W = KvLoad<T>::kVecs;
  for (int t = 0; t < nb; ++t) {
    const uint8_t* row = v + t * row_bytes;
    for (int i = 0; i < D / (8 * W); ++i) {
      __m256 x[W];
      KvLoad<T>::load(row, i, x);
      for (int h = 0; h < g; ++h) {
        const __m256 p = _mm256_set1_ps(s[h][t]);
        for (int w = 0; w < W; ++w) {
          float* oh = o + h * D + (i * W + w) * 8;
          _mm256_storeu_ps(oh, _mm256_fmadd_ps(p, x[w], _mm256_loadu_ps(oh)));
        }
      }
    }
  }
}

using ScoreFn = void (*)(const float*, int, const uint8_t*, size_t, int, int, Scores&);
using AccumulateFn = void (*)(const uint8_t*, size_t, int, int, int, const Scores&, float*);

ScoreFn score_fn(KvDtype t) {
  return kv_avx2::dispatch_kv_type(t, []<KvDtype T>() -> ScoreFn { return &score_rows<T>; });
}
AccumulateFn accumulate_fn(KvDtype t) {
  return kv_avx2::dispatch_kv_type(t, []<KvDtype T>() -> AccumulateFn { return &accumulate_rows<T>; });
}

void update_heads(const float* q, int g, const uint8_t* k, const uint8_t* v, KvDtype kt, KvDtype vt,
                  int64_t n, int D, float* m, float* l, float* o) {
  alignas(32) Scores s;
  const size_t krow = kv_row_bytes(kt, D), vrow = kv_row_bytes(vt, D);
  const ScoreFn score = score_fn(kt);
  const AccumulateFn accumulate = accumulate_fn(vt);
  for (int64_t t0 = 0; t0 < n; t0 += kBlock) {
    const int nb = static_cast<int>(std::min<int64_t>(kBlock, n - t0));
    score(q, g, k + t0 * krow, krow, nb, D, s);
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
    accumulate(v + t0 * vrow, vrow, nb, D, g, s, o);
  }
}

}  // namespace

void attn_dense_update_avx2(const float* q, int g, const void* k, const void* v, KvDtype kt,
                            KvDtype vt, int64_t n, int D, float* m, float* l, float* o) {
  const auto* kb = static_cast<const uint8_t*>(k);
  const auto* vb = static_cast<const uint8_t*>(v);
  for (int h0 = 0; h0 < g; h0 += kMaxHeads) {
    const int gh = std::min(kMaxHeads, g - h0);
    update_heads(q + h0 * D, gh, kb, vb, kt, vt, n, D, m + h0, l + h0, o + h0 * D);
  }
}

}  // namespace sparkv

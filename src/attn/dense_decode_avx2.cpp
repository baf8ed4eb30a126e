// AVX2/FMA/F16C dense decode attention. Tokens are processed in blocks of 64: scores for the block
// first (one K row load feeds every head of the group, G accumulators in registers), then one
// vectorised softmax update per head per block, then the V accumulation with the output rows in
// registers (attn_block_avx2_inl.h). Rows of every cache type are read in place: f32/f16/bf16 8
// channels at a time, block types one 32-channel block (4 registers) at a time, dequantized in
// registers (kv_load_avx2_inl.h). K and V types combine freely.
#include <immintrin.h>

#include <algorithm>

#include "attn/attn_block_avx2_inl.h"
#include "attn/dense_decode.h"

namespace sparkv {

namespace {

using attn_avx2::kBlock;
using attn_avx2::kMaxHeads;
using attn_avx2::Scores;
using kv_avx2::KvLoad;

// s[h][t] = q_h · k_t for the nb rows starting at k (row_bytes apart). Two tokens per step for
// small groups: each q load feeds both, and 2G independent FMA chains hide the FMA latency (one
// token's G chains alone are latency-bound at G <= 4).
template <KvDtype T, int G>
void score_rows(const float* q, const uint8_t* k, size_t row_bytes, int nb, int D, Scores& s) {
  constexpr int W = KvLoad<T>::kVecs;
  int t = 0;
  if constexpr (W == 1 && G <= 4) {
    for (; t + 1 < nb; t += 2) {
      const uint8_t* r0 = k + t * row_bytes;
      const uint8_t* r1 = r0 + row_bytes;
      // Stream ahead: the rows of the next block are fetched while these are scored.
      for (size_t b = 0; b < 2 * row_bytes; b += 64)
        _mm_prefetch(reinterpret_cast<const char*>(r0 + kBlock * row_bytes + b), _MM_HINT_T0);
      __m256 a0[G], a1[G];
      for (int h = 0; h < G; ++h) a0[h] = a1[h] = _mm256_setzero_ps();
      for (int i = 0; i < D / 8; ++i) {
        __m256 x0[1], x1[1];
        KvLoad<T>::load(r0, i, x0);
        KvLoad<T>::load(r1, i, x1);
        for (int h = 0; h < G; ++h) {
          const __m256 qv = _mm256_loadu_ps(q + h * D + 8 * i);
          a0[h] = _mm256_fmadd_ps(qv, x0[0], a0[h]);
          a1[h] = _mm256_fmadd_ps(qv, x1[0], a1[h]);
        }
      }
      for (int h = 0; h < G; ++h) {
        s[h][t] = attn_avx2::hsum(a0[h]);
        s[h][t + 1] = attn_avx2::hsum(a1[h]);
      }
    }
  }
  for (; t < nb; ++t) {
    const uint8_t* row = k + t * row_bytes;
    __m256 acc[G];
    for (int h = 0; h < G; ++h) acc[h] = _mm256_setzero_ps();
    for (int i = 0; i < D / (8 * W); ++i) {
      __m256 x[W];
      KvLoad<T>::load(row, i, x);
      for (int w = 0; w < W; ++w) {
        const int d = (i * W + w) * 8;
        for (int h = 0; h < G; ++h) acc[h] = _mm256_fmadd_ps(_mm256_loadu_ps(q + h * D + d), x[w], acc[h]);
      }
    }
    for (int h = 0; h < G; ++h) s[h][t] = attn_avx2::hsum(acc[h]);
  }
}

using ScoreFn = void (*)(const float*, const uint8_t*, size_t, int, int, Scores&);
using AccumulateFn = void (*)(const uint8_t*, size_t, int, int, const Scores&, float*);

ScoreFn score_fn(KvDtype t, int g) {
  return kv_avx2::dispatch_kv_type(t, [g]<KvDtype T>() -> ScoreFn {
    return attn_avx2::dispatch_group(g, []<int G>() -> ScoreFn { return &score_rows<T, G>; });
  });
}
AccumulateFn accumulate_fn(KvDtype t, int g) {
  return kv_avx2::dispatch_kv_type(t, [g]<KvDtype T>() -> AccumulateFn {
    return attn_avx2::dispatch_group(g, []<int G>() -> AccumulateFn {
      return &attn_avx2::accumulate_rows<T, G>;
    });
  });
}

void update_heads(const float* q, int g, const uint8_t* k, const uint8_t* v, KvDtype kt, KvDtype vt,
                  int64_t n, int D, float* m, float* l, float* o) {
  alignas(32) Scores s;
  const size_t krow = kv_row_bytes(kt, D), vrow = kv_row_bytes(vt, D);
  const ScoreFn score = score_fn(kt, g);
  const AccumulateFn accumulate = accumulate_fn(vt, g);
  for (int64_t t0 = 0; t0 < n; t0 += kBlock) {
    const int nb = static_cast<int>(std::min<int64_t>(kBlock, n - t0));
    score(q, k + t0 * krow, krow, nb, D, s);
    attn_avx2::block_softmax(s, g, nb, D, m, l, o);
    accumulate(v + t0 * vrow, vrow, nb, D, s, o);
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

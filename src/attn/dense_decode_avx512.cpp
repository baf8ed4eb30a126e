// AVX-512 dense decode attention: the AVX2 kernel's structure (dense_decode_avx2.cpp) at 16 lanes.
// Tokens are processed in blocks of 64: scores for the block first (one K row load feeds every
// head of the group; P tokens per step so P·G FMA chains are in flight; the accumulators of 16
// tokens are reduced together, attn_block_avx512_inl.h), then one vectorised softmax update per
// head per block, then the V accumulation with the output rows in registers, reading each value
// row front to back. While keys are scored, the K and V rows kPrefetchTokens ahead are prefetched
// (DenseLayerCache hands whole runs of contiguous rows to one call, so "ahead" crosses its 64-token
// pages). Every cache type: block types (q8_0, q4_0, ...) dequantize 16 channels (half a block)
// per load in registers (attn_block_avx512_inl.h).
#include <immintrin.h>

#include <algorithm>

#include "attn/attn_block_avx512_inl.h"
#include "attn/dense_decode.h"

namespace sparkv {

namespace {

using attn_avx512::kBlock;
using attn_avx512::kLanes;
using attn_avx512::kMaxHeads;
using attn_avx512::Load16;
using attn_avx512::ScoreBatch;
using attn_avx512::Scores;

// Prefetch distance in tokens: 16 KiB of f16 K+V rows at D = 128, within L1 next to the block
// being read. Measured on one Zen 5 core at 32k tokens: 9.3 ms without software prefetch, 6.2 ms
// at 32, 6.3 at 64, worse beyond and with the T1 / NTA hints.
constexpr int kPrefetchTokens = 32;

// Scores P consecutive tokens (rows row_bytes apart) for the G heads into slots [slot, slot + P)
// of the batch. Each q vector is loaded once for the P tokens.
template <KvDtype T, int G, int P>
inline void score_tokens(const float* q, const uint8_t* row, size_t row_bytes, int D,
                         ScoreBatch<G>& batch, int slot) {
  __m512 a[P][G];
  for (int p = 0; p < P; ++p)
    for (int h = 0; h < G; ++h) a[p][h] = _mm512_setzero_ps();
  for (int i = 0; i < D / kLanes; ++i) {
    __m512 x[P];
    for (int p = 0; p < P; ++p) x[p] = Load16<T>::load(row + p * row_bytes, i);
    for (int h = 0; h < G; ++h) {
      const __m512 qv = _mm512_loadu_ps(q + h * D + kLanes * i);
      for (int p = 0; p < P; ++p) a[p][h] = _mm512_fmadd_ps(qv, x[p], a[p][h]);
    }
  }
  for (int p = 0; p < P; ++p)
    for (int h = 0; h < G; ++h) batch.acc[h][slot + p] = a[p][h];
}

// s[h][t] = q_h · k_t for the nb rows starting at k (row_bytes apart). v (vrow_bytes apart) are
// the value rows of the same tokens; `avail` rows of K and V are readable from k and v on.
template <KvDtype T, int G>
void score_rows(const float* q, const uint8_t* k, size_t row_bytes, const uint8_t* v,
                size_t vrow_bytes, int nb, int64_t avail, int D, Scores& s) {
  // Tokens per step: enough for ~8 independent FMA chains (two pipes, four cycles of latency)
  // and each q vector load feeds P FMAs.
  constexpr int P = G <= 2 ? 8 : G <= 4 ? 4 : G <= 6 ? 2 : 3;
  ScoreBatch<G> batch;
  for (int t0 = 0; t0 < nb; t0 += kLanes) {
    const int cnt = std::min(kLanes, nb - t0);
    int t = 0;
    for (; t + P <= cnt; t += P) {
      // The K and V rows kPrefetchTokens ahead, spread evenly over the scoring (one burst per
      // page stalls on the load queue instead of overlapping the FMAs).
      const int64_t ahead = t0 + t + kPrefetchTokens;
      if (ahead + P <= avail) {
        const char* kp = reinterpret_cast<const char*>(k + ahead * row_bytes);
        const char* vp = reinterpret_cast<const char*>(v + ahead * vrow_bytes);
        for (size_t b = 0; b < P * row_bytes; b += 64) _mm_prefetch(kp + b, _MM_HINT_T0);
        for (size_t b = 0; b < P * vrow_bytes; b += 64) _mm_prefetch(vp + b, _MM_HINT_T0);
      }
      score_tokens<T, G, P>(q, k + (t0 + t) * row_bytes, row_bytes, D, batch, t);
    }
    for (; t < cnt; ++t) score_tokens<T, G, 1>(q, k + (t0 + t) * row_bytes, row_bytes, D, batch, t);
    batch.flush(cnt, t0, s);
  }
}

template <int G>
void update_heads(const float* q, const uint8_t* k, const uint8_t* v, KvDtype kt, KvDtype vt,
                  int64_t n, int D, float* m, float* l, float* o) {
  using ScoreFn = void (*)(const float*, const uint8_t*, size_t, const uint8_t*, size_t, int,
                           int64_t, int, Scores&);
  const ScoreFn score =
      kv_avx2::dispatch_kv_type(kt, []<KvDtype T>() -> ScoreFn { return &score_rows<T, G>; });
  const attn_avx512::AccumulateFn accumulate = attn_avx512::accumulate_fn<G>(vt);
  alignas(64) Scores s;
  const size_t krow = kv_row_bytes(kt, D), vrow = kv_row_bytes(vt, D);
  for (int64_t t0 = 0; t0 < n; t0 += kBlock) {
    const int nb = static_cast<int>(std::min<int64_t>(kBlock, n - t0));
    score(q, k + t0 * krow, krow, v + t0 * vrow, vrow, nb, n - t0, D, s);
    attn_avx512::block_softmax(s, G, nb, D, m, l, o);
    accumulate(v + t0 * vrow, vrow, nb, D, s, o);
  }
}

}  // namespace

void attn_dense_update_avx512(const float* q, int g, const void* k, const void* v, KvDtype kt,
                              KvDtype vt, int64_t n, int D, float* m, float* l, float* o) {
  if (D % kLanes != 0) return attn_dense_update_avx2(q, g, k, v, kt, vt, n, D, m, l, o);
  const auto* kb = static_cast<const uint8_t*>(k);
  const auto* vb = static_cast<const uint8_t*>(v);
  for (int h0 = 0; h0 < g; h0 += kMaxHeads) {
    const int gh = std::min(kMaxHeads, g - h0);
    attn_avx2::dispatch_group(gh, [&]<int G>() {
      update_heads<G>(q + h0 * D, kb, vb, kt, vt, n, D, m + h0, l + h0, o + h0 * D);
    });
  }
}

}  // namespace sparkv

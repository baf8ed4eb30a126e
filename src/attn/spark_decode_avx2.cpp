// AVX2/FMA/F16C attention over SparK-compressed keys. Each 8-channel group of a token is rebuilt in
// registers from its mask byte: the packed kept values are loaded sequentially and moved into their
// lanes with one permute (index table by mask byte), and the pruned lanes get σ·r_t·w_j from the
// sign byte — so K streams once, nothing is gathered from memory, and every head of the GQA group
// is served from the same rebuilt vector. Kept values stored as int8 / int4 (kq=q8 / q4) are
// widened the same way and scaled by the token's d; the vpermps works on any 8-lane source.
// Dense values are read in their cache type (kv_load_avx2_inl.h); pruned values are rebuilt like
// the keys.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "attn/attn_block_avx2_inl.h"
#include "attn/attn_state.h"
#include "attn/kv_load_avx2_inl.h"
#include "attn/spark_decode.h"
#include "core/fp16.h"

namespace sparkv {

namespace {

using attn_avx2::kBlock;
using attn_avx2::Scores;

struct Luts {
  alignas(32) int32_t idx[256][8];  // lane i -> rank of lane i among the set bits (0 if unset)
  alignas(32) float bits[256][8];   // lane i -> 1.0 if bit i set else 0.0
  Luts() {
    for (int b = 0; b < 256; ++b) {
      int rank = 0;
      for (int i = 0; i < 8; ++i) {
        const bool set = (b >> i) & 1;
        idx[b][i] = set ? rank : 0;
        bits[b][i] = set ? 1.0f : 0.0f;
        rank += set;
      }
    }
  }
};

const Luts& luts() {
  static const Luts l;
  return l;
}

inline __m256 load_f16x8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Packed values of one 8-lane group moved into their lanes; unset lanes are zero.
inline __m256 expand8(__m256 packed, unsigned mb, const Luts& L) {
  const __m256i idx = _mm256_load_si256(reinterpret_cast<const __m256i*>(L.idx[mb]));
  return _mm256_mul_ps(_mm256_permutevar8x32_ps(packed, idx), _mm256_load_ps(L.bits[mb]));
}
inline __m256 expand8(const uint16_t* vals, unsigned mb, const Luts& L) {
  return expand8(load_f16x8(vals), mb, L);
}

// The next 8 kept key values of the stream from element e on, as floats (codes, not yet scaled,
// for q8 / q4). The stream carries 16 bytes of padding, so reading past a token's end is safe.
template <SparkKeyQuant KQ>
inline __m256 load_kept8(const void* base, int64_t e) {
  if constexpr (KQ == SparkKeyQuant::kF16) {
    return load_f16x8(static_cast<const uint16_t*>(base) + e);
  } else if constexpr (KQ == SparkKeyQuant::kQ8) {
    const __m128i q =
        _mm_loadl_epi64(reinterpret_cast<const __m128i*>(static_cast<const int8_t*>(base) + e));
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
  } else {
    uint64_t w;
    std::memcpy(&w, static_cast<const uint8_t*>(base) + e / 2, 8);
    const uint32_t nib = static_cast<uint32_t>(w >> (4 * (e & 1)));  // 8 codes, element e lowest
    const __m256i lanes = _mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(nib)),
                                            _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28));
    const __m256i code = _mm256_and_si256(lanes, _mm256_set1_epi32(0xF));
    return _mm256_cvtepi32_ps(_mm256_sub_epi32(code, _mm256_set1_epi32(8)));
  }
}

template <SparkKeyQuant KQ, int G>
void update(const float* q, const SparkView& s, int64_t t0, int64_t t1, float* m, float* l,
            float* o) {
  const Luts& L = luts();
  const int D = s.D, nb = D / 8;
  alignas(32) Scores sc;
  alignas(32) float vhat[1024];
  const __m256 two = _mm256_set1_ps(2.0f);
  const uint16_t* vv = s.vvals ? s.vvals + t0 * s.v_fixed : nullptr;
  const size_t v_row_bytes = kv_row_bytes(s.v_type, D);
  using AccumulateFn = void (*)(const uint8_t*, size_t, int, int, const Scores&, float*);
  const AccumulateFn accumulate = kv_avx2::dispatch_kv_type(
      s.v_type, []<KvDtype T>() -> AccumulateFn { return &attn_avx2::accumulate_rows<T, G>; });

  for (int64_t b0 = t0; b0 < t1; b0 += kBlock) {
    const int nblk = static_cast<int>(std::min<int64_t>(kBlock, t1 - b0));
    // Scores: each 8-channel group of k̂ is rebuilt once and feeds the G heads' accumulators.
    // Small groups take two tokens per step so 2G independent FMA chains hide the latency.
    struct TokenCursor {
      const uint8_t* mask;
      const uint8_t* pos;
      __m256 r, d;
      int64_t e;
    };
    auto cursor = [&](int64_t t) {
      TokenCursor c;
      c.mask = s.kmask + t * nb;
      c.pos = s.kpos ? s.kpos + t * nb : nullptr;  // none: every pruned entry is +w_j
      c.r = _mm256_set1_ps(s.r ? fp16_to_f32(s.r[t]) : 1.0f);
      c.e = s.kval_offset(t);
      c.d = _mm256_set1_ps(1.0f);
      if constexpr (KQ != SparkKeyQuant::kF16) c.d = _mm256_set1_ps(_cvtsh_ss(s.kscale[t]));
      return c;
    };
    auto rebuild = [&](TokenCursor& c, int p) {
      const unsigned mb = c.mask[p];
      __m256 kept = expand8(load_kept8<KQ>(s.kvals, c.e), mb, L);
      if constexpr (KQ != SparkKeyQuant::kF16) kept = _mm256_mul_ps(kept, c.d);
      c.e += __builtin_popcount(mb);
      // coef = +1 on pruned positive, -1 on pruned negative, 0 on kept.
      const unsigned pb = c.pos ? c.pos[p] : ~mb & 0xff;
      const __m256 coef =
          _mm256_fmsub_ps(two, _mm256_load_ps(L.bits[pb]), _mm256_load_ps(L.bits[~mb & 0xff]));
      return _mm256_fmadd_ps(_mm256_mul_ps(coef, _mm256_loadu_ps(s.w + 8 * p)), c.r, kept);
    };
    int i = 0;
    if constexpr (G <= 4) {
      for (; i + 1 < nblk; i += 2) {
        TokenCursor c0 = cursor(b0 + i), c1 = cursor(b0 + i + 1);
        __m256 a0[G], a1[G];
        for (int h = 0; h < G; ++h) a0[h] = a1[h] = _mm256_setzero_ps();
        for (int p = 0; p < nb; ++p) {
          const __m256 k0 = rebuild(c0, p), k1 = rebuild(c1, p);
          for (int h = 0; h < G; ++h) {
            const __m256 qv = _mm256_loadu_ps(q + h * D + 8 * p);
            a0[h] = _mm256_fmadd_ps(qv, k0, a0[h]);
            a1[h] = _mm256_fmadd_ps(qv, k1, a1[h]);
          }
        }
        for (int h = 0; h < G; ++h) {
          sc[h][i] = attn_avx2::hsum(a0[h]);
          sc[h][i + 1] = attn_avx2::hsum(a1[h]);
        }
      }
    }
    for (; i < nblk; ++i) {
      TokenCursor c = cursor(b0 + i);
      __m256 acc[G];
      for (int h = 0; h < G; ++h) acc[h] = _mm256_setzero_ps();
      for (int p = 0; p < nb; ++p) {
        const __m256 k = rebuild(c, p);
        for (int h = 0; h < G; ++h)
          acc[h] = _mm256_fmadd_ps(_mm256_loadu_ps(q + h * D + 8 * p), k, acc[h]);
      }
      for (int h = 0; h < G; ++h) sc[h][i] = attn_avx2::hsum(acc[h]);
    }
    attn_avx2::block_softmax(sc, G, nblk, D, m, l, o);
    // Values: dense rows through the shared register-resident accumulation; pruned values are
    // rebuilt per token (kept values expanded, the fill in the pruned lanes).
    if (s.v) {
      accumulate(static_cast<const uint8_t*>(s.v) + b0 * v_row_bytes, v_row_bytes, nblk, D, sc, o);
      continue;
    }
    for (int i = 0; i < nblk; ++i) {
      const int64_t t = b0 + i;
      const uint8_t* vm = s.vmask + t * nb;
      const __m256 fill = _mm256_set1_ps(fp16_to_f32(s.vfill[t]));
      for (int p = 0; p < nb; ++p) {
        const unsigned mb = vm[p];
        const __m256 kept = expand8(vv, mb, L);
        vv += __builtin_popcount(mb);
        _mm256_store_ps(vhat + 8 * p,
                        _mm256_fmadd_ps(fill, _mm256_load_ps(L.bits[~mb & 0xff]), kept));
      }
      for (int dd = 0; dd < D; dd += 8) {
        const __m256 v8 = _mm256_load_ps(vhat + dd);
        for (int h = 0; h < G; ++h) {
          float* oh = o + h * D + dd;
          _mm256_storeu_ps(oh, _mm256_fmadd_ps(_mm256_set1_ps(sc[h][i]), v8, _mm256_loadu_ps(oh)));
        }
      }
    }
  }
}

template <SparkKeyQuant KQ>
void update_group(const float* q, int g, const SparkView& s, int64_t t0, int64_t t1, float* m,
                  float* l, float* o) {
  attn_avx2::dispatch_group(g, [&]<int G>() { update<KQ, G>(q, s, t0, t1, m, l, o); });
}

}  // namespace

void attn_spark_update_avx2(const float* q, int g, const SparkView& s, int64_t t0, int64_t t1,
                            float* m, float* l, float* o) {
  switch (s.kq) {
    case SparkKeyQuant::kF16:
      return update_group<SparkKeyQuant::kF16>(q, g, s, t0, t1, m, l, o);
    case SparkKeyQuant::kQ8:
      return update_group<SparkKeyQuant::kQ8>(q, g, s, t0, t1, m, l, o);
    case SparkKeyQuant::kQ4:
      return update_group<SparkKeyQuant::kQ4>(q, g, s, t0, t1, m, l, o);
  }
}

}  // namespace sparkv

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

#include "attn/attn_state.h"
#include "attn/kv_load_avx2_inl.h"
#include "attn/spark_decode.h"
#include "core/fp16.h"

namespace sparkv {

namespace {

constexpr int kBlock = 64;

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

inline float hsum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  lo = _mm_add_ps(lo, _mm256_extractf128_ps(v, 1));
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
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
    const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(static_cast<const int8_t*>(base) + e));
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

using ValueRowFn = void (*)(const uint8_t* row, int D, float* out);

template <KvDtype T>
void value_row(const uint8_t* row, int D, float* out) {
  constexpr int W = kv_avx2::KvLoad<T>::kVecs;
  for (int i = 0; i < D / (8 * W); ++i) {
    __m256 x[W];
    kv_avx2::KvLoad<T>::load(row, i, x);
    for (int w = 0; w < W; ++w) _mm256_store_ps(out + (i * W + w) * 8, x[w]);
  }
}

template <SparkKeyQuant KQ>
void update(const float* q, int g, const SparkView& s, int64_t t0, int64_t t1, float* m, float* l,
            float* o) {
  const Luts& L = luts();
  const int D = s.D, nb = D / 8;
  alignas(32) float sc[8][kBlock];
  alignas(32) float khat[1024];
  const __m256 two = _mm256_set1_ps(2.0f);
  const uint16_t* vv = s.vvals ? s.vvals + t0 * s.v_fixed : nullptr;
  const size_t v_row_bytes = kv_row_bytes(s.v_type, D);
  const ValueRowFn value_fn = kv_avx2::dispatch_kv_type(
      s.v_type, []<KvDtype T>() -> ValueRowFn { return &value_row<T>; });

  for (int64_t b0 = t0; b0 < t1; b0 += kBlock) {
    const int nblk = static_cast<int>(std::min<int64_t>(kBlock, t1 - b0));
    // Scores.
    for (int i = 0; i < nblk; ++i) {
      const int64_t t = b0 + i;
      const uint8_t* mask = s.kmask + t * nb;
      const uint8_t* pos = s.kpos + t * nb;
      const __m256 r = _mm256_set1_ps(fp16_to_f32(s.r[t]));
      int64_t e = s.kval_offset(t);
      __m256 d = _mm256_set1_ps(1.0f);
      if constexpr (KQ != SparkKeyQuant::kF16) d = _mm256_set1_ps(_cvtsh_ss(s.kscale[t]));
      __m256 acc[8];
      for (int h = 0; h < g; ++h) acc[h] = _mm256_setzero_ps();
      for (int p = 0; p < nb; ++p) {
        const unsigned mb = mask[p];
        __m256 kept = expand8(load_kept8<KQ>(s.kvals, e), mb, L);
        if constexpr (KQ != SparkKeyQuant::kF16) kept = _mm256_mul_ps(kept, d);
        e += __builtin_popcount(mb);
        // coef = +1 on pruned positive, -1 on pruned negative, 0 on kept.
        const __m256 coef = _mm256_fmsub_ps(two, _mm256_load_ps(L.bits[pos[p]]),
                                            _mm256_load_ps(L.bits[~mb & 0xff]));
        const __m256 k = _mm256_fmadd_ps(_mm256_mul_ps(coef, _mm256_loadu_ps(s.w + 8 * p)), r, kept);
        for (int h = 0; h < g; ++h) acc[h] = _mm256_fmadd_ps(_mm256_loadu_ps(q + h * D + 8 * p), k, acc[h]);
      }
      for (int h = 0; h < g; ++h) sc[h][i] = hsum(acc[h]);
    }
    // Online softmax bookkeeping, one rescale per head per block.
    for (int h = 0; h < g; ++h) {
      float bm = sc[h][0];
      for (int i = 1; i < nblk; ++i) bm = std::max(bm, sc[h][i]);
      const float mn = std::max(m[h], bm);
      const float a = m[h] == kNegInf ? 0.0f : std::exp(m[h] - mn);
      float sum = 0.0f;
      for (int i = 0; i < nblk; ++i) sum += (sc[h][i] = std::exp(sc[h][i] - mn));
      l[h] = l[h] * a + sum;
      m[h] = mn;
      if (a != 1.0f) {
        const __m256 va = _mm256_set1_ps(a);
        for (int d = 0; d < D; d += 8)
          _mm256_storeu_ps(o + h * D + d, _mm256_mul_ps(_mm256_loadu_ps(o + h * D + d), va));
      }
    }
    // Values.
    for (int i = 0; i < nblk; ++i) {
      const int64_t t = b0 + i;
      const float* vrow = khat;
      if (s.v) {
        value_fn(static_cast<const uint8_t*>(s.v) + t * v_row_bytes, D, khat);
      } else {
        const uint8_t* vm = s.vmask + t * nb;
        const __m256 fill = _mm256_set1_ps(fp16_to_f32(s.vfill[t]));
        for (int p = 0; p < nb; ++p) {
          const unsigned mb = vm[p];
          const __m256 kept = expand8(vv, mb, L);
          vv += __builtin_popcount(mb);
          _mm256_store_ps(khat + 8 * p,
                          _mm256_fmadd_ps(fill, _mm256_load_ps(L.bits[~mb & 0xff]), kept));
        }
      }
      for (int d = 0; d < D; d += 8) {
        const __m256 v8 = _mm256_load_ps(vrow + d);
        for (int h = 0; h < g; ++h) {
          float* oh = o + h * D + d;
          _mm256_storeu_ps(oh, _mm256_fmadd_ps(_mm256_set1_ps(sc[h][i]), v8, _mm256_loadu_ps(oh)));
        }
      }
    }
  }
}

}  // namespace

void attn_spark_update_avx2(const float* q, int g, const SparkView& s, int64_t t0, int64_t t1,
                            float* m, float* l, float* o) {
  switch (s.kq) {
    case SparkKeyQuant::kF16: return update<SparkKeyQuant::kF16>(q, g, s, t0, t1, m, l, o);
    case SparkKeyQuant::kQ8: return update<SparkKeyQuant::kQ8>(q, g, s, t0, t1, m, l, o);
    case SparkKeyQuant::kQ4: return update<SparkKeyQuant::kQ4>(q, g, s, t0, t1, m, l, o);
  }
}

}  // namespace sparkv

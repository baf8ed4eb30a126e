// Pieces shared by the AVX-512 decode kernels (dense, SparK), the 16-lane counterparts of
// attn_block_avx2_inl.h: row loads of the plain cache types, a vector exp, the batched
// horizontal sums of the score accumulators, the per-block online-softmax update and the value
// accumulation with the output rows in registers. Templated on the GQA group size G so the
// per-head accumulators are registers. Include only from *_avx512.cpp units (unnamed namespace:
// one private copy each). Score blocks use the AVX2 kernels' Scores layout.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "attn/attn_block_avx2_inl.h"
#include "attn/attn_state.h"
#include "quant/kv_types.h"

namespace sparkv::attn_avx512 {
namespace {

using attn_avx2::kBlock;     // tokens per softmax block
using attn_avx2::kMaxHeads;  // heads per pass; larger groups loop
using attn_avx2::Scores;     // [kMaxHeads][kBlock]

constexpr int kLanes = 16;

// Row loads of 16 channels (channel group i) as f32, for every cache type.
template <KvDtype T>
struct Load16;

template <>
struct Load16<KvDtype::kF32> {
  static inline __m512 load(const uint8_t* row, int i) {
    return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + kLanes * i);
  }
};

template <>
struct Load16<KvDtype::kF16> {
  static inline __m512 load(const uint8_t* row, int i) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 32 * i)));
  }
};

template <>
struct Load16<KvDtype::kBF16> {
  static inline __m512 load(const uint8_t* row, int i) {
    const __m512i w =
        _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 32 * i)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
  }
};

// Block types: channel group i is half (i & 1) of 32-channel block i / 2. The block's fp16 scale
// (and min) is converted once per group; the codes are widened to 16 int32 lanes, so every type
// costs a handful of integer ops per 16 channels on top of the f16 path's convert.
inline __m512 block_scale(const uint8_t* b) {
  uint16_t h;
  std::memcpy(&h, b, 2);
  return _mm512_set1_ps(_cvtsh_ss(h));
}

// 16 nibbles of a block's qs[16] as int32 lanes: the low nibbles (channels 0..15) for half 0, the
// high ones (16..31) for half 1.
inline __m512i nibbles16(const uint8_t* qs, int half) {
  const __m512i b = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
  return _mm512_and_si512(_mm512_srli_epi32(b, 4 * half), _mm512_set1_epi32(0x0F));
}

// q5_0 / q5_1: the nibbles plus bit 4 from qh (bit j of the 32-bit qh is channel j's).
inline __m512i q5_codes16(const uint8_t* qh, const uint8_t* qs, int half) {
  uint32_t h;
  std::memcpy(&h, qh, 4);
  const __mmask16 hi = static_cast<__mmask16>(h >> (16 * half));
  const __m512i c = nibbles16(qs, half);
  return _mm512_mask_or_epi32(c, hi, c, _mm512_set1_epi32(16));
}

template <>
struct Load16<KvDtype::kQ8_0> {
  static inline __m512 load(const uint8_t* row, int i) {
    const uint8_t* b = row + 34 * (i >> 1);  // d, qs[32]
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 2 + 16 * (i & 1)));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), block_scale(b));
  }
};

template <>
struct Load16<KvDtype::kQ4_0> {
  static inline __m512 load(const uint8_t* row, int i) {
    const uint8_t* b = row + 18 * (i >> 1);  // d, qs[16]
    const __m512i c = _mm512_sub_epi32(nibbles16(b + 2, i & 1), _mm512_set1_epi32(8));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(c), block_scale(b));
  }
};

template <>
struct Load16<KvDtype::kQ4_1> {
  static inline __m512 load(const uint8_t* row, int i) {
    const uint8_t* b = row + 20 * (i >> 1);  // d, m, qs[16]
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(nibbles16(b + 4, i & 1)), block_scale(b),
                           block_scale(b + 2));
  }
};

template <>
struct Load16<KvDtype::kQ5_0> {
  static inline __m512 load(const uint8_t* row, int i) {
    const uint8_t* b = row + 22 * (i >> 1);  // d, qh[4], qs[16]
    const __m512i c = _mm512_sub_epi32(q5_codes16(b + 2, b + 6, i & 1), _mm512_set1_epi32(16));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(c), block_scale(b));
  }
};

template <>
struct Load16<KvDtype::kQ5_1> {
  static inline __m512 load(const uint8_t* row, int i) {
    const uint8_t* b = row + 24 * (i >> 1);  // d, m, qh[4], qs[16]
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(q5_codes16(b + 4, b + 8, i & 1)), block_scale(b),
                           block_scale(b + 2));
  }
};

template <>
struct Load16<KvDtype::kIQ4_NL> {
  static inline __m512 load(const uint8_t* row, int i) {
    const uint8_t* b = row + 18 * (i >> 1);  // d, qs[16]
    const __m512i table =
        _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
    const __m512i c = _mm512_permutexvar_epi32(nibbles16(b + 2, i & 1), table);
    return _mm512_mul_ps(_mm512_cvtepi32_ps(c), block_scale(b));
  }
};

// The types whose 16-channel loads are a single convert (no block scale).
constexpr bool loads16_plain(KvDtype t) {
  return t == KvDtype::kF32 || t == KvDtype::kF16 || t == KvDtype::kBF16;
}

// e^x for x <= 0, the same Cephes-style reduction and polynomial as attn_avx2::exp256 (relative
// error ~2e-7); 2^n is applied with vscalefps, which needs no integer exponent arithmetic.
static inline __m512 exp512(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
  __m512 fx = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f));
  fx = _mm512_roundscale_ps(fx, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), x);
  __m512 y = _mm512_set1_ps(1.9875691500e-4f);
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507e-3f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073e-3f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894e-2f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459e-1f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201e-1f));
  y = _mm512_fmadd_ps(y, _mm512_mul_ps(x, x), _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(y, fx);
}

// Lane i of the result = the sum of the 16 lanes of v[i]. A horizontal sum per vector costs ~7
// shuffles and adds; this tree shares them, 3 per vector (the score accumulators of 16 tokens
// are reduced together).
static inline __m512 reduce16(const __m512* v) {
  __m512 t[8], u[4], x[2];
  // Level 1: 256-bit halves of v[j] and v[j+8] -> lanes 0..7 sum to v[j], 8..15 to v[j+8].
  for (int j = 0; j < 8; ++j)
    t[j] = _mm512_add_ps(_mm512_shuffle_f32x4(v[j], v[j + 8], 0x44),
                         _mm512_shuffle_f32x4(v[j], v[j + 8], 0xEE));
  // Level 2: 128-bit chunks hold 4-lane partials of tokens j, j+8, j+4, j+12.
  for (int j = 0; j < 4; ++j)
    u[j] = _mm512_add_ps(_mm512_shuffle_f32x4(t[j], t[j + 4], 0x88),
                         _mm512_shuffle_f32x4(t[j], t[j + 4], 0xDD));
  // Levels 3 and 4 within each 128-bit chunk.
  for (int j = 0; j < 2; ++j)
    x[j] = _mm512_add_ps(_mm512_shuffle_ps(u[j], u[j + 2], 0x44),
                         _mm512_shuffle_ps(u[j], u[j + 2], 0xEE));
  const __m512 r =
      _mm512_add_ps(_mm512_shuffle_ps(x[0], x[1], 0x88), _mm512_shuffle_ps(x[0], x[1], 0xDD));
  // The tree leaves token i in lane perm[i].
  const __m512i perm = _mm512_setr_epi32(0, 2, 1, 3, 8, 10, 9, 11, 4, 6, 5, 7, 12, 14, 13, 15);
  return _mm512_permutexvar_ps(perm, r);
}

// Partial score accumulators of up to 16 tokens per head, reduced to scores 16 at a time.
template <int G>
struct ScoreBatch {
  alignas(64) __m512 acc[G][kLanes];
  // Reduces tokens [0, cnt) of the batch into s[h][t0 + 0 .. t0 + 16) (lanes past cnt are junk
  // that block_softmax overwrites; they are zeroed first so no stale value is summed).
  inline void flush(int cnt, int t0, Scores& s) {
    for (int h = 0; h < G; ++h) {
      for (int i = cnt; i < kLanes; ++i) acc[h][i] = _mm512_setzero_ps();
      _mm512_store_ps(s[h] + t0, reduce16(acc[h]));
    }
  }
};

// Turns the block's scores s[h][0..nb) into probabilities relative to the new running max and
// rescales l and o; lanes past nb become 0, so the value loops may run over whole vectors.
static inline void block_softmax(Scores& s, int g, int nb, int D, float* m, float* l, float* o) {
  const int nv = (nb + kLanes - 1) / kLanes;
  const __mmask16 tail =
      static_cast<__mmask16>(nb % kLanes == 0 ? 0xFFFF : (1u << (nb % kLanes)) - 1);
  for (int h = 0; h < g; ++h) {
    __m512 vm = _mm512_set1_ps(kNegInf);
    for (int i = 0; i < nv; ++i) {
      const __mmask16 k = i == nv - 1 ? tail : 0xFFFF;
      vm = _mm512_mask_max_ps(vm, k, vm, _mm512_load_ps(s[h] + kLanes * i));
    }
    const float mn = std::max(m[h], _mm512_reduce_max_ps(vm));
    const float a = m[h] == kNegInf ? 0.0f : std::exp(m[h] - mn);
    const __m512 vmn = _mm512_set1_ps(mn);
    __m512 sum = _mm512_setzero_ps();
    for (int i = 0; i < nv; ++i) {
      const __mmask16 k = i == nv - 1 ? tail : 0xFFFF;
      const __m512 p =
          _mm512_maskz_mov_ps(k, exp512(_mm512_sub_ps(_mm512_load_ps(s[h] + kLanes * i), vmn)));
      _mm512_store_ps(s[h] + kLanes * i, p);
      sum = _mm512_add_ps(sum, p);
    }
    l[h] = l[h] * a + _mm512_reduce_add_ps(sum);
    m[h] = mn;
    if (a != 1.0f) {
      const __m512 va = _mm512_set1_ps(a);
      for (int d = 0; d < D; d += kLanes)
        _mm512_storeu_ps(o + h * D + d, _mm512_mul_ps(_mm512_loadu_ps(o + h * D + d), va));
    }
  }
}

// o[h0 + h][16c0 .. 16(c0 + C)) += Σ_t s[h0 + h][t] · v_t over those channels, for h < H: the
// H·C accumulators stay in registers over the block and H·C independent FMA chains are in flight.
template <KvDtype T, int H, int C>
static inline void accumulate_pass(const uint8_t* v, size_t row_bytes, int nb, int D, int h0,
                                   int c0, const Scores& s, float* o) {
  __m512 acc[H][C];
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < C; ++c) acc[h][c] = _mm512_loadu_ps(o + (h0 + h) * D + kLanes * (c0 + c));
  for (int t = 0; t < nb; ++t) {
    const uint8_t* row = v + t * row_bytes;
    __m512 x[C];
    for (int c = 0; c < C; ++c) x[c] = Load16<T>::load(row, c0 + c);
    for (int h = 0; h < H; ++h) {
      const __m512 p = _mm512_set1_ps(s[h0 + h][t]);
      for (int c = 0; c < C; ++c) acc[h][c] = _mm512_fmadd_ps(p, x[c], acc[h][c]);
    }
  }
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < C; ++c) _mm512_storeu_ps(o + (h0 + h) * D + kLanes * (c0 + c), acc[h][c]);
}

// All G heads over channel groups [c0, c0 + C), H = 16 / C heads per pass (16 accumulators).
template <KvDtype T, int G, int C>
static inline void accumulate_heads(const uint8_t* v, size_t row_bytes, int nb, int D, int c0,
                                    const Scores& s, float* o) {
  constexpr int H = std::min(G, std::max(1, 16 / C));
  int h0 = 0;
  for (; h0 + H <= G; h0 += H) accumulate_pass<T, H, C>(v, row_bytes, nb, D, h0, c0, s, o);
  if constexpr (G % H != 0) accumulate_pass<T, G % H, C>(v, row_bytes, nb, D, h0, c0, s, o);
}

// o_h += Σ_t s[h][t] · v_t over nb value rows of a 16-lane type T (row_bytes apart), D % 16 == 0.
// The channel chunk is a whole row when it fits (up to 8 groups, D 128): the first pass then
// reads the block's rows front to back, which the hardware prefetchers follow, and the other
// head passes re-read the block from L1. Passes over half-rows leave a strided pattern they
// follow poorly (a synthetic K-then-V stream with this kernel's FMA count: 27 vs 20 GB/s on one
// Zen 5 core; the dense kernel at 32k tokens went from 7.3 to 6.2 ms).
//
// Block types are the exception: dequantizing a 16-channel group costs ~4 vector ops (widen,
// convert, scale broadcast, multiply) where f16 costs one, so re-reading the row once per head
// pass would redo that work; their chunks shrink until every head of the group fits one pass
// (G = 4: half rows, 4 heads × 4 groups of accumulators). Measured at 32k tokens, f16 K + q8_0 V,
// 2 threads: 2.96 ms with whole-row chunks (2 passes), see docs/results/performance.md for after.
template <KvDtype T, int G>
void accumulate_rows(const uint8_t* v, size_t row_bytes, int nb, int D, const Scores& s, float* o) {
  constexpr bool kBlockType = !loads16_plain(T);
  constexpr int kMaxChunk = kBlockType ? std::max(2, 16 / G) : 8;
  const int nv = D / kLanes;
  for (int c = 0; c < nv;) {
    const int left = nv - c;
    if (left >= 8 && kMaxChunk >= 8) {
      accumulate_heads<T, G, 8>(v, row_bytes, nb, D, c, s, o);
      c += 8;
    } else if (left >= 4 && kMaxChunk >= 4) {
      accumulate_heads<T, G, 4>(v, row_bytes, nb, D, c, s, o);
      c += 4;
    } else if (left >= 2) {
      accumulate_heads<T, G, 2>(v, row_bytes, nb, D, c, s, o);
      c += 2;
    } else {
      accumulate_heads<T, G, 1>(v, row_bytes, nb, D, c, s, o);
      c += 1;
    }
  }
}

using AccumulateFn = void (*)(const uint8_t*, size_t, int, int, const Scores&, float*);

// The value accumulation for V type t (16 lanes for every cache type).
template <int G>
AccumulateFn accumulate_fn(KvDtype t) {
  return kv_avx2::dispatch_kv_type(
      t, []<KvDtype T>() -> AccumulateFn { return &accumulate_rows<T, G>; });
}

}  // namespace
}  // namespace sparkv::attn_avx512

// AVX-512 decode dot products for the weight types whose AVX2 kernels are compute-bound past the
// last-level cache on a 2-core Zen 5 (q8_0 reached 46% of a 77 GB/s triad, f16 73%): 16 lanes per
// instruction halve the widen/convert/FMA count per byte. Same arithmetic as the AVX2 twins (f32
// activations, f32 accumulation, the block scale applied to the block's partial sum), a different
// summation order; tests compare both with the scalar reference.
#include <immintrin.h>

#include <cstring>

#include "quant/quant_blocks.h"
#include "quant/quant_impl.h"

namespace sparkv::quant_detail {

namespace {

inline float half_scalar(uint16_t h) {
  return _cvtsh_ss(h);
}

inline __m512 load_f16x16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline __m512 load_bf16x16(const uint16_t* p) {
  const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}
inline __m512 load_f32x16(const float* p) {
  return _mm512_loadu_ps(p);
}

float f32_scalar(float v) {
  return v;
}
float bf16_scalar(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

template <typename T, __m512 (*Load)(const T*), float (*Scalar)(T)>
float dot_plain(const T* w, const float* x, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = _mm512_fmadd_ps(Load(w + i), _mm512_loadu_ps(x + i), acc0);
    acc1 = _mm512_fmadd_ps(Load(w + i + 16), _mm512_loadu_ps(x + i + 16), acc1);
    acc2 = _mm512_fmadd_ps(Load(w + i + 32), _mm512_loadu_ps(x + i + 32), acc2);
    acc3 = _mm512_fmadd_ps(Load(w + i + 48), _mm512_loadu_ps(x + i + 48), acc3);
  }
  for (; i + 16 <= n; i += 16) acc0 = _mm512_fmadd_ps(Load(w + i), _mm512_loadu_ps(x + i), acc0);
  float sum =
      _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
  for (; i < n; ++i) {  // memcpy: tensors in files need not be aligned to their element size
    T v;
    std::memcpy(&v, w + i, sizeof v);
    sum += Scalar(v) * x[i];
  }
  return sum;
}

inline __m512 broadcast_half(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_set1_epi16(static_cast<short>(*p)));
}

// One block: 32 codes as two 16-lane halves, the partial sum scaled once.
inline __m512 dot_q8_0_block(const BlockQ8_0& b, const float* x, __m512 acc) {
  const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
  const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs + 16));
  __m512 p = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(lo)), _mm512_loadu_ps(x));
  p = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(hi)), _mm512_loadu_ps(x + 16), p);
  return _mm512_fmadd_ps(broadcast_half(&b.d), p, acc);
}

// Two blocks per step into two accumulators, so consecutive blocks' chains overlap.
template <typename Block, __m512 (*BlockDot)(const Block&, const float*, __m512)>
float dot_blocks(const Block* b, const float* x, int64_t nb) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2, x += 2 * kQK) {
    acc0 = BlockDot(b[i], x, acc0);
    acc1 = BlockDot(b[i + 1], x + kQK, acc1);
  }
  if (i < nb) acc0 = BlockDot(b[i], x, acc0);
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// q4_0: the low nibbles are elements 0..15, the high ones 16..31, both minus 8.
inline __m512 dot_q4_0_block(const BlockQ4_0& b, const float* x, __m512 acc) {
  const __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs)));
  const __m512i m4 = _mm512_set1_epi32(0x0F), k8 = _mm512_set1_epi32(8);
  const __m512i lo = _mm512_sub_epi32(_mm512_and_si512(v, m4), k8);
  const __m512i hi = _mm512_sub_epi32(_mm512_srli_epi32(v, 4), k8);
  __m512 p = _mm512_mul_ps(_mm512_cvtepi32_ps(lo), _mm512_loadu_ps(x));
  p = _mm512_fmadd_ps(_mm512_cvtepi32_ps(hi), _mm512_loadu_ps(x + 16), p);
  return _mm512_fmadd_ps(broadcast_half(&b.d), p, acc);
}

}  // namespace

bool avx512_supports(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
    case GgmlType::kF16:
    case GgmlType::kBF16:
    case GgmlType::kQ8_0:
    case GgmlType::kQ4_0:
      return true;
    default:
      return false;
  }
}

float dot_row_avx512(GgmlType type, const void* w, const float* x, int64_t n) {
  const int64_t nb = check_row(type, n, "dot_row_avx512");
  switch (type) {
    case GgmlType::kF32:
      return dot_plain<float, load_f32x16, f32_scalar>(static_cast<const float*>(w), x, n);
    case GgmlType::kF16:
      return dot_plain<uint16_t, load_f16x16, half_scalar>(static_cast<const uint16_t*>(w), x, n);
    case GgmlType::kBF16:
      return dot_plain<uint16_t, load_bf16x16, bf16_scalar>(static_cast<const uint16_t*>(w), x, n);
    case GgmlType::kQ8_0:
      return dot_blocks<BlockQ8_0, dot_q8_0_block>(static_cast<const BlockQ8_0*>(w), x, nb);
    case GgmlType::kQ4_0:
      return dot_blocks<BlockQ4_0, dot_q4_0_block>(static_cast<const BlockQ4_0*>(w), x, nb);
    default:
      return dot_row_avx2(type, w, x, n);
  }
}

}  // namespace sparkv::quant_detail

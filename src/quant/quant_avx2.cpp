// AVX2 + FMA + F16C row kernels (compiled with those flags; reached only via runtime dispatch).
// Activations stay f32: weights are widened to f32 and fused-multiply-added, so results equal the
// reference up to f32 summation order. Each dot keeps at least two independent accumulator chains
// so FMA latency never limits a memory-bound GEMV.
//
// This unit deliberately includes no header with non-template inline functions shared with
// baseline units (core/fp16.h, core/error.h): the linker could keep the AVX2-compiled copy of
// such a function for the whole program and break the scalar fallback on older CPUs.
#include <immintrin.h>

#include <cstring>

#include "quant/quant.h"
#include "quant/quant_blocks.h"
#include "quant/quant_impl.h"

namespace sparkv::quant_detail {

namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float half_to_f32(uint16_t h) {
  return _cvtsh_ss(h);
}

// Eight signed bytes (the low 64 bits of v) widened to eight floats.
inline __m256 i8x8_to_ps(__m128i v) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v));
}

// Sum over 16 elements of q[j] * x[j], q given as 16 signed bytes; returned as 8 partial lanes.
inline __m256 dot16(__m128i q, const float* x) {
  const __m256 a = _mm256_mul_ps(i8x8_to_ps(q), _mm256_loadu_ps(x));
  return _mm256_fmadd_ps(i8x8_to_ps(_mm_unpackhi_epi64(q, q)), _mm256_loadu_ps(x + 8), a);
}

// Sum over 32 elements, q given as 32 signed bytes (element j in byte j).
inline __m256 dot32(__m256i q, const float* x) {
  const __m256 a = dot16(_mm256_castsi256_si128(q), x);
  const __m256 b = dot16(_mm256_extracti128_si256(q, 1), x + 16);
  return _mm256_add_ps(a, b);
}

// Stores 16 signed bytes times `scale` as floats: one rounding, as in the reference's d*sc*q.
inline void store16(__m128i q, __m256 scale, float* y) {
  _mm256_storeu_ps(y, _mm256_mul_ps(i8x8_to_ps(q), scale));
  _mm256_storeu_ps(y + 8, _mm256_mul_ps(i8x8_to_ps(_mm_unpackhi_epi64(q, q)), scale));
}

// Q4_K outputs q * d_sc - m_min as one FMA: q * d_sc is exact (<= 21 significant bits), so this
// rounds once exactly like the reference's separate multiply and subtract.
inline void store16_affine(__m128i q, __m256 scale, __m256 neg_min, float* y) {
  _mm256_storeu_ps(y, _mm256_fmadd_ps(i8x8_to_ps(q), scale, neg_min));
  _mm256_storeu_ps(y + 8, _mm256_fmadd_ps(i8x8_to_ps(_mm_unpackhi_epi64(q, q)), scale, neg_min));
}

inline __m256 sum32(const float* x) {
  const __m256 a = _mm256_add_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8));
  const __m256 b = _mm256_add_ps(_mm256_loadu_ps(x + 16), _mm256_loadu_ps(x + 24));
  return _mm256_add_ps(a, b);
}

// ---- plain types -------------------------------------------------------------------------------

inline __m256 load_f16x8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline __m256 load_bf16x8(const uint16_t* p) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
inline __m256 load_f32x8(const float* p) {
  return _mm256_loadu_ps(p);
}

// One template for the three elementwise types: Load widens 8 weights at element offset i.
template <typename T, __m256 (*Load)(const T*), float (*Scalar)(T)>
float dot_plain(const T* w, const float* x, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(Load(w + i), _mm256_loadu_ps(x + i), acc0);
    acc1 = _mm256_fmadd_ps(Load(w + i + 8), _mm256_loadu_ps(x + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(Load(w + i + 16), _mm256_loadu_ps(x + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(Load(w + i + 24), _mm256_loadu_ps(x + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(Load(w + i), _mm256_loadu_ps(x + i), acc0);
  float sum = hsum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < n; ++i) {  // memcpy: tensors in files need not be aligned to their element size
    T v;
    std::memcpy(&v, w + i, sizeof v);
    sum += Scalar(v) * x[i];
  }
  return sum;
}

template <typename T, __m256 (*Load)(const T*), float (*Scalar)(T)>
void dequant_plain(const T* w, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, Load(w + i));
  for (; i < n; ++i) {
    T v;
    std::memcpy(&v, w + i, sizeof v);
    y[i] = Scalar(v);
  }
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

// ---- Q8_0 / Q4_0 -------------------------------------------------------------------------------

// 32 codes of a block as signed bytes: elements 0..15 in `lo`, 16..31 in `hi`.
struct Codes32 {
  __m128i lo, hi;
};

inline Codes32 q8_0_codes(const BlockQ8_0& b) {
  return {_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs)),
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs + 16))};
}

// Q4_0: low nibbles are elements 0..15, high nibbles 16..31; both shifted to q - 8.
inline Codes32 q4_0_codes(const BlockQ4_0& b) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
  const __m128i m4 = _mm_set1_epi8(0x0F);
  const __m128i k8 = _mm_set1_epi8(8);
  return {_mm_sub_epi8(_mm_and_si128(v, m4), k8),
          _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(v, 4), m4), k8)};
}

// Eight signed bytes at p widened to floats; the widening load folds the memory access into the
// sign-extending shuffle, which is the bottleneck of the int8 kernels.
inline __m256 load_i8x8_ps(const int8_t* p) {
  return _mm256_cvtepi32_ps(
      _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

// The fp16 scale broadcast to 8 lanes: a 16-bit broadcast load plus one conversion.
inline __m256 broadcast_half(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_set1_epi16(static_cast<short>(*p)));
}

// One block's sum of d * q[j] * x[j]: a single chain per block; consecutive blocks overlap.
inline __m256 dot_q8_0_block(const BlockQ8_0& b, const float* x, __m256 acc) {
  __m256 p = _mm256_mul_ps(load_i8x8_ps(b.qs), _mm256_loadu_ps(x));
  p = _mm256_fmadd_ps(load_i8x8_ps(b.qs + 8), _mm256_loadu_ps(x + 8), p);
  p = _mm256_fmadd_ps(load_i8x8_ps(b.qs + 16), _mm256_loadu_ps(x + 16), p);
  p = _mm256_fmadd_ps(load_i8x8_ps(b.qs + 24), _mm256_loadu_ps(x + 24), p);
  return _mm256_fmadd_ps(broadcast_half(&b.d), p, acc);
}

float dot_q8_0(const BlockQ8_0* b, const float* x, int64_t nb) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2, x += 2 * kQK) {
    acc0 = dot_q8_0_block(b[i], x, acc0);
    acc1 = dot_q8_0_block(b[i + 1], x + kQK, acc1);
  }
  if (i < nb) acc0 = dot_q8_0_block(b[i], x, acc0);
  return hsum(_mm256_add_ps(acc0, acc1));
}

inline __m256 dot_codes32(const Codes32& q, const float* x) {
  return _mm256_add_ps(dot16(q.lo, x), dot16(q.hi, x + 16));
}

template <typename Block, Codes32 (*Codes)(const Block&)>
float dot_block32(const Block* b, const float* x, int64_t nb) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2, x += 2 * kQK) {
    acc0 = _mm256_fmadd_ps(broadcast_half(&b[i].d), dot_codes32(Codes(b[i]), x), acc0);
    acc1 =
        _mm256_fmadd_ps(broadcast_half(&b[i + 1].d), dot_codes32(Codes(b[i + 1]), x + kQK), acc1);
  }
  if (i < nb) acc0 = _mm256_fmadd_ps(broadcast_half(&b[i].d), dot_codes32(Codes(b[i]), x), acc0);
  return hsum(_mm256_add_ps(acc0, acc1));
}

template <typename Block, Codes32 (*Codes)(const Block&)>
void dequant_block32(const Block* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const __m256 d = _mm256_set1_ps(half_to_f32(b[i].d));
    const Codes32 q = Codes(b[i]);
    store16(q.lo, d, y);
    store16(q.hi, d, y + 16);
  }
}

// ---- Q4_K --------------------------------------------------------------------------------------

struct Q4KScales {
  float d_sc[8];
  float m_min[8];
};

inline Q4KScales q4_k_scales(const BlockQ4_K& b) {
  const float d = half_to_f32(b.d), dmin = half_to_f32(b.dmin);
  Q4KScales s;
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    q4k_scale_min(j, b.scales, &sc, &m);
    s.d_sc[j] = d * sc;
    s.m_min[j] = dmin * m;
  }
  return s;
}

// Sub-block nibbles of group g (64 outputs): low nibbles = sub-block 2g, high = 2g+1.
inline void q4_k_group(const BlockQ4_K& b, int g, __m256i* lo, __m256i* hi) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * g));
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  *lo = _mm256_and_si256(v, m4);
  *hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
}

// sum_j (d*sc_j * q_j - dmin*m_j) * x_j = sum_j d*sc_j * (q.x)_j - sum_j dmin*m_j * (sum x)_j.
float dot_q4_k(const BlockQ4_K* b, const float* x, int64_t nb) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 accm0 = _mm256_setzero_ps(), accm1 = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    const Q4KScales s = q4_k_scales(b[i]);
    for (int g = 0; g < 4; ++g) {
      __m256i lo, hi;
      q4_k_group(b[i], g, &lo, &hi);
      const float* x0 = x + 64 * g;
      const float* x1 = x0 + 32;
      acc0 = _mm256_fmadd_ps(_mm256_set1_ps(s.d_sc[2 * g]), dot32(lo, x0), acc0);
      acc1 = _mm256_fmadd_ps(_mm256_set1_ps(s.d_sc[2 * g + 1]), dot32(hi, x1), acc1);
      accm0 = _mm256_fmadd_ps(_mm256_set1_ps(s.m_min[2 * g]), sum32(x0), accm0);
      accm1 = _mm256_fmadd_ps(_mm256_set1_ps(s.m_min[2 * g + 1]), sum32(x1), accm1);
    }
  }
  return hsum(_mm256_sub_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(accm0, accm1)));
}

void dequant_q4_k(const BlockQ4_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const Q4KScales s = q4_k_scales(b[i]);
    for (int g = 0; g < 4; ++g, y += 64) {
      __m256i lo, hi;
      q4_k_group(b[i], g, &lo, &hi);
      for (int h = 0; h < 2; ++h) {
        const int j = 2 * g + h;
        const __m256i q = h == 0 ? lo : hi;
        const __m256 sc = _mm256_set1_ps(s.d_sc[j]);
        const __m256 nm = _mm256_set1_ps(-s.m_min[j]);
        store16_affine(_mm256_castsi256_si128(q), sc, nm, y + 32 * h);
        store16_affine(_mm256_extracti128_si256(q, 1), sc, nm, y + 32 * h + 16);
      }
    }
  }
}

// ---- Q6_K --------------------------------------------------------------------------------------

// The four 32-output runs of half h as signed bytes q - 32: run k covers outputs 128h + 32k + l.
inline void q6_k_half(const BlockQ6_K& b, int h, __m256i q[4]) {
  const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * h));
  const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * h + 32));
  const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * h));
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i m30 = _mm256_set1_epi8(0x30);
  const __m256i k32 = _mm256_set1_epi8(32);
  // 16-bit shifts move bits across byte boundaries, but every result is masked back to its byte.
  const __m256i h0 = _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30);  // qh bits 0-1 -> 4-5
  const __m256i h1 = _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30);  // bits 2-3 -> 4-5
  const __m256i h2 = _mm256_and_si256(qh, m30);                        // bits 4-5 in place
  const __m256i h3 = _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30);  // bits 6-7 -> 4-5
  q[0] = _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(ql0, m4), h0), k32);
  q[1] = _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(ql1, m4), h1), k32);
  q[2] = _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), h2), k32);
  q[3] = _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4), h3), k32);
}

// Every 16 consecutive outputs share one int8 scale: output o uses scales[o / 16].
float dot_q6_k(const BlockQ6_K* b, const float* x, int64_t nb) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    const float d = half_to_f32(b[i].d);
    for (int h = 0; h < 2; ++h) {
      __m256i q[4];
      q6_k_half(b[i], h, q);
      for (int k = 0; k < 4; ++k) {
        const int o = 128 * h + 32 * k;
        const __m256 s0 = _mm256_set1_ps(d * b[i].scales[o / 16]);
        const __m256 s1 = _mm256_set1_ps(d * b[i].scales[o / 16 + 1]);
        acc0 = _mm256_fmadd_ps(s0, dot16(_mm256_castsi256_si128(q[k]), x + o), acc0);
        acc1 = _mm256_fmadd_ps(s1, dot16(_mm256_extracti128_si256(q[k], 1), x + o + 16), acc1);
      }
    }
  }
  return hsum(_mm256_add_ps(acc0, acc1));
}

void dequant_q6_k(const BlockQ6_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQKK) {
    const float d = half_to_f32(b[i].d);
    for (int h = 0; h < 2; ++h) {
      __m256i q[4];
      q6_k_half(b[i], h, q);
      for (int k = 0; k < 4; ++k) {
        const int o = 128 * h + 32 * k;
        store16(_mm256_castsi256_si128(q[k]), _mm256_set1_ps(d * b[i].scales[o / 16]), y + o);
        store16(_mm256_extracti128_si256(q[k], 1), _mm256_set1_ps(d * b[i].scales[o / 16 + 1]),
                y + o + 16);
      }
    }
  }
}

}  // namespace

bool avx2_supports(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
    case GgmlType::kF16:
    case GgmlType::kBF16:
    case GgmlType::kQ8_0:
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_K:
    case GgmlType::kQ6_K:
      return true;
    default:
      return false;
  }
}

void dequantize_row_avx2(GgmlType type, const void* src, float* dst, int64_t n) {
  const int64_t nb = check_row(type, n, "dequantize_row_avx2");
  switch (type) {
    case GgmlType::kF32:
      return dequant_plain<float, load_f32x8, f32_scalar>(static_cast<const float*>(src), dst, n);
    case GgmlType::kF16:
      return dequant_plain<uint16_t, load_f16x8, half_to_f32>(static_cast<const uint16_t*>(src),
                                                              dst, n);
    case GgmlType::kBF16:
      return dequant_plain<uint16_t, load_bf16x8, bf16_scalar>(static_cast<const uint16_t*>(src),
                                                               dst, n);
    case GgmlType::kQ8_0:
      return dequant_block32<BlockQ8_0, q8_0_codes>(static_cast<const BlockQ8_0*>(src), dst, nb);
    case GgmlType::kQ4_0:
      return dequant_block32<BlockQ4_0, q4_0_codes>(static_cast<const BlockQ4_0*>(src), dst, nb);
    case GgmlType::kQ4_K:
      return dequant_q4_k(static_cast<const BlockQ4_K*>(src), dst, nb);
    case GgmlType::kQ6_K:
      return dequant_q6_k(static_cast<const BlockQ6_K*>(src), dst, nb);
    default:
      return dequantize_row_ref(type, src, dst, n);
  }
}

float dot_row_avx2(GgmlType type, const void* w, const float* x, int64_t n) {
  const int64_t nb = check_row(type, n, "dot_row_avx2");
  switch (type) {
    case GgmlType::kF32:
      return dot_plain<float, load_f32x8, f32_scalar>(static_cast<const float*>(w), x, n);
    case GgmlType::kF16:
      return dot_plain<uint16_t, load_f16x8, half_to_f32>(static_cast<const uint16_t*>(w), x, n);
    case GgmlType::kBF16:
      return dot_plain<uint16_t, load_bf16x8, bf16_scalar>(static_cast<const uint16_t*>(w), x, n);
    case GgmlType::kQ8_0:
      return dot_q8_0(static_cast<const BlockQ8_0*>(w), x, nb);
    case GgmlType::kQ4_0:
      return dot_block32<BlockQ4_0, q4_0_codes>(static_cast<const BlockQ4_0*>(w), x, nb);
    case GgmlType::kQ4_K:
      return dot_q4_k(static_cast<const BlockQ4_K*>(w), x, nb);
    case GgmlType::kQ6_K:
      return dot_q6_k(static_cast<const BlockQ6_K*>(w), x, nb);
    default:
      return dot_row_ref(type, w, x, n);
  }
}

}  // namespace sparkv::quant_detail

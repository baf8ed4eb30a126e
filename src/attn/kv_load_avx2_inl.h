// AVX2/FMA/F16C loads of cached K/V rows of every KV cache type into f32 registers. Include only
// from *_avx2.cpp units (they are compiled with the matching -m flags and reached through runtime
// dispatch); everything is in an unnamed namespace so that no AVX2 copy can stand in for another
// symbol.
//
// KvLoad<T>::kVecs registers of 8 floats are produced per step: 1 for f32/f16/bf16 (8 elements, so
// D % 8 == 0 suffices) and 4 for the 32-element block types. Block values are rebuilt exactly as
// the scalar dequantizers compute them (code · d, or code · d + m), so the kernels see the same
// numbers as the reference (q4_1 / q5_1 fuse the + m into an FMA: one rounding fewer).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "quant/kv_types.h"

namespace sparkv::kv_avx2 {
namespace {  // one private copy per AVX2 unit

static inline __m256 broadcast_fp16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _mm256_set1_ps(_cvtsh_ss(h));
}

// Elements 0..15 (low nibbles) and 16..31 (high nibbles) of a 16-byte nibble block.
static inline void split_nibbles(const uint8_t* qs, __m128i* lo, __m128i* hi) {
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i mask = _mm_set1_epi8(0x0F);
  *lo = _mm_and_si128(x, mask);
  *hi = _mm_and_si128(_mm_srli_epi16(x, 4), mask);
}

// 16 int8 lanes -> two vectors of 8 floats.
static inline void i8x16_to_ps(__m128i x, __m256* a, __m256* b) {
  *a = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(x));
  *b = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(x, 8)));
}

// Lanes of element group i (elements 8i..8i+7) get bit (8i + lane) of qh, moved to bit 4.
static inline __m256i q5_high_bits(uint32_t qh, int i) {
  const __m256i shifts =
      _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(8 * i));
  const __m256i bit = _mm256_and_si256(
      _mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(qh)), shifts), _mm256_set1_epi32(1));
  return _mm256_slli_epi32(bit, 4);
}

// 5-bit codes of a q5 block as 4 x 8 int32 lanes (before the - 16 of q5_0).
static inline void q5_codes(const uint8_t* qh_bytes, const uint8_t* qs, __m256i out[4]) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  __m128i lo, hi;
  split_nibbles(qs, &lo, &hi);
  const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
  for (int i = 0; i < 4; ++i)
    out[i] = _mm256_or_si256(_mm256_cvtepu8_epi32(parts[i]), q5_high_bits(qh, i));
}

template <KvDtype T>
struct KvLoad;

template <>
struct KvLoad<KvDtype::kF32> {
  static constexpr int kVecs = 1;
  static inline void load(const uint8_t* row, int i, __m256* x) {
    x[0] = _mm256_loadu_ps(reinterpret_cast<const float*>(row) + 8 * i);
  }
};

template <>
struct KvLoad<KvDtype::kF16> {
  static constexpr int kVecs = 1;
  static inline void load(const uint8_t* row, int i, __m256* x) {
    x[0] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 16 * i)));
  }
};

template <>
struct KvLoad<KvDtype::kBF16> {
  static constexpr int kVecs = 1;
  static inline void load(const uint8_t* row, int i, __m256* x) {
    const __m256i w =
        _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 16 * i)));
    x[0] = _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  }
};

template <>
struct KvLoad<KvDtype::kQ8_0> {
  static constexpr int kVecs = 4;
  static inline void load(const uint8_t* row, int i, __m256* x) {
    const uint8_t* b = row + 34 * i;  // d, qs[32]
    const __m256 d = broadcast_fp16(b);
    for (int j = 0; j < 4; ++j) {
      const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + 2 + 8 * j));
      x[j] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), d);
    }
  }
};

template <>
struct KvLoad<KvDtype::kQ4_0> {
  static constexpr int kVecs = 4;
  static inline void load(const uint8_t* row, int i, __m256* x) {
    const uint8_t* b = row + 18 * i;  // d, qs[16]
    const __m256 d = broadcast_fp16(b);
    __m128i lo, hi;
    split_nibbles(b + 2, &lo, &hi);
    const __m128i eight = _mm_set1_epi8(8);
    i8x16_to_ps(_mm_sub_epi8(lo, eight), &x[0], &x[1]);
    i8x16_to_ps(_mm_sub_epi8(hi, eight), &x[2], &x[3]);
    for (int j = 0; j < 4; ++j) x[j] = _mm256_mul_ps(x[j], d);
  }
};

template <>
struct KvLoad<KvDtype::kQ4_1> {
  static constexpr int kVecs = 4;
  static inline void load(const uint8_t* row, int i, __m256* x) {
    const uint8_t* b = row + 20 * i;  // d, m, qs[16]
    const __m256 d = broadcast_fp16(b), m = broadcast_fp16(b + 2);
    __m128i lo, hi;
    split_nibbles(b + 4, &lo, &hi);
    i8x16_to_ps(lo, &x[0], &x[1]);  // codes 0..15 read the same signed or unsigned
    i8x16_to_ps(hi, &x[2], &x[3]);
    for (int j = 0; j < 4; ++j) x[j] = _mm256_fmadd_ps(x[j], d, m);
  }
};

template <>
struct KvLoad<KvDtype::kQ5_0> {
  static constexpr int kVecs = 4;
  static inline void load(const uint8_t* row, int i, __m256* x) {
    const uint8_t* b = row + 22 * i;  // d, qh[4], qs[16]
    const __m256 d = broadcast_fp16(b);
    __m256i c[4];
    q5_codes(b + 2, b + 6, c);
    const __m256i sixteen = _mm256_set1_epi32(16);
    for (int j = 0; j < 4; ++j)
      x[j] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(c[j], sixteen)), d);
  }
};

template <>
struct KvLoad<KvDtype::kQ5_1> {
  static constexpr int kVecs = 4;
  static inline void load(const uint8_t* row, int i, __m256* x) {
    const uint8_t* b = row + 24 * i;  // d, m, qh[4], qs[16]
    const __m256 d = broadcast_fp16(b), m = broadcast_fp16(b + 2);
    __m256i c[4];
    q5_codes(b + 4, b + 8, c);
    for (int j = 0; j < 4; ++j) x[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(c[j]), d, m);
  }
};

template <>
struct KvLoad<KvDtype::kIQ4_NL> {
  static constexpr int kVecs = 4;
  static inline void load(const uint8_t* row, int i, __m256* x) {
    const uint8_t* b = row + 18 * i;  // d, qs[16]
    const __m256 d = broadcast_fp16(b);
    const __m128i table = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues));
    __m128i lo, hi;
    split_nibbles(b + 2, &lo, &hi);
    i8x16_to_ps(_mm_shuffle_epi8(table, lo), &x[0], &x[1]);
    i8x16_to_ps(_mm_shuffle_epi8(table, hi), &x[2], &x[3]);
    for (int j = 0; j < 4; ++j) x[j] = _mm256_mul_ps(x[j], d);
  }
};

// Calls f.template operator()<T>() for the runtime type t (one instantiation per type).
template <typename F>
static inline auto dispatch_kv_type(KvDtype t, F&& f) {
  switch (t) {
    case KvDtype::kF32:
      return f.template operator()<KvDtype::kF32>();
    case KvDtype::kF16:
      return f.template operator()<KvDtype::kF16>();
    case KvDtype::kBF16:
      return f.template operator()<KvDtype::kBF16>();
    case KvDtype::kQ8_0:
      return f.template operator()<KvDtype::kQ8_0>();
    case KvDtype::kQ4_0:
      return f.template operator()<KvDtype::kQ4_0>();
    case KvDtype::kQ4_1:
      return f.template operator()<KvDtype::kQ4_1>();
    case KvDtype::kQ5_0:
      return f.template operator()<KvDtype::kQ5_0>();
    case KvDtype::kQ5_1:
      return f.template operator()<KvDtype::kQ5_1>();
    case KvDtype::kIQ4_NL:
      break;
  }
  return f.template operator()<KvDtype::kIQ4_NL>();
}

}  // namespace
}  // namespace sparkv::kv_avx2

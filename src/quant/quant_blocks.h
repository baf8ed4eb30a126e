// On-disk byte layouts of the ggml block types (ggml-common.h), shared by the reference and SIMD
// row kernels. Members are uint8/uint16 only, so no padding appears; the static_asserts pin the
// sizes to the GGUF values. fp16 fields are kept as raw bits. The helpers are `static` so that the
// copy compiled into the AVX2 unit never replaces the baseline one at link time.
#pragma once

#include <cstdint>
#include <cstring>

namespace sparkv::quant_detail {

constexpr int kQK = 32;    // elements per block of the legacy types (q8_0, q4_*, q5_*)
constexpr int kQKK = 256;  // elements per K-quant super-block

struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];
};
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];  // low nibble = element j, high nibble = element j + 16
};
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[kQK / 2];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];  // little-endian uint32: bit j = 5th bit of element j
  uint8_t qs[kQK / 2];
};
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];  // 8 x (6-bit scale, 6-bit min), packed; see q4k_scale_min
  uint8_t qs[kQKK / 2];
};
struct BlockQ6_K {
  uint8_t ql[kQKK / 2];
  uint8_t qh[kQKK / 4];
  int8_t scales[kQKK / 16];
  uint16_t d;
};

static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ6_K) == 210);

// Sub-block j (0..7) of a Q4_K super-block: 6-bit scale and min. Sub-blocks 0..3 keep both in the
// low 6 bits of s[j] / s[j+4]; 4..7 put their low 4 bits in s[j+4] and borrow the spare top two
// bits of s[j-4] (scale) and s[j] (min).
static inline void q4k_scale_min(int j, const uint8_t* s, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

static inline uint32_t load_u32_le(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);  // x86 is little-endian, matching the file
  return v;
}

}  // namespace sparkv::quant_detail

// Row kernels over ggml block types. The layout tests build blocks byte by byte and compute the
// expected values by hand from the spec (engine-and-formats §2.2, baselines §4.1), never through
// the reference kernels; the SIMD and GEMV tests then use the reference as the oracle.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "quant/quant.h"
#include "quant/quant_impl.h"

namespace sparkv {
namespace {

using Bytes = std::vector<uint8_t>;

void put_u16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v & 0xFF);
  b[at + 1] = static_cast<uint8_t>(v >> 8);
}

std::vector<float> dequant(GgmlType t, const Bytes& b, int64_t n) {
  std::vector<float> y(n);
  dequantize_row_ref(t, b.data(), y.data(), n);
  return y;
}

std::vector<uint8_t> quant(GgmlType t, const std::vector<float>& x) {
  Bytes b(ggml_row_bytes(t, static_cast<int64_t>(x.size())));
  quantize_row_ref(t, x.data(), b.data(), static_cast<int64_t>(x.size()));
  return b;
}

// fp16 constants used below (sign | 5-bit exponent | 10-bit mantissa).
constexpr uint16_t kHalfOne = 0x3C00, kHalfTwo = 0x4000, kHalfHalf = 0x3800, kHalfQuarter = 0x3400;
constexpr uint16_t kHalfMinusOne = 0xBC00, kHalfMinusTwo = 0xC000;

// ---- hand-built layouts
// --------------------------------------------------------------------------

TEST(QuantLayout, F16SubnormalsInfAndNan) {
  const uint16_t h[] = {0x0001, 0x03FF, 0x0400, 0x7BFF, 0x7C00, 0xFC00, 0x8001, 0x3555, 0x7E00, 0};
  Bytes b(sizeof(h));
  std::memcpy(b.data(), h, sizeof(h));
  const std::vector<float> y = dequant(GgmlType::kF16, b, 10);
  EXPECT_EQ(y[0], std::ldexp(1.0f, -24));            // smallest subnormal
  EXPECT_EQ(y[1], 1023.0f * std::ldexp(1.0f, -24));  // largest subnormal
  EXPECT_EQ(y[2], std::ldexp(1.0f, -14));            // smallest normal
  EXPECT_EQ(y[3], 65504.0f);
  EXPECT_EQ(y[4], std::numeric_limits<float>::infinity());
  EXPECT_EQ(y[5], -std::numeric_limits<float>::infinity());
  EXPECT_EQ(y[6], -std::ldexp(1.0f, -24));
  EXPECT_EQ(y[7], 0.333251953125f);  // 1/3 rounded to 10 mantissa bits: 0x155 / 1024 * 0.25 + 0.25
  EXPECT_TRUE(std::isnan(y[8]));
  EXPECT_EQ(y[9], 0.0f);
}

TEST(QuantLayout, F16QuantizeRoundsToNearestEven) {
  const std::vector<float> x = {
      std::ldexp(1.0f, -24),      // exactly the smallest subnormal
      std::ldexp(1.0f, -25),      // half of it: tie -> even (0)
      3 * std::ldexp(1.0f, -25),  // 1.5 subnormal steps: tie -> even (2)
      65504.0f,                   // largest finite
      65520.0f,                   // tie between 65504 and 65536: even -> overflow to inf
      1e6f,
      -std::numeric_limits<float>::infinity(),
      1.0f + std::ldexp(1.0f, -11),      // tie between 1 and 1 + 2^-10 -> 1
      1.0f + 3 * std::ldexp(1.0f, -11),  // tie -> 1 + 2^-9 (mantissa 2)
  };
  const Bytes b = quant(GgmlType::kF16, x);
  const uint16_t want[] = {0x0001, 0x0000, 0x0002, 0x7BFF, 0x7C00, 0x7C00, 0xFC00, 0x3C00, 0x3C02};
  for (size_t i = 0; i < x.size(); ++i)
    EXPECT_EQ(b[2 * i] | (b[2 * i + 1] << 8), want[i]) << "element " << i;
}

TEST(QuantLayout, Bf16) {
  Bytes b(6);
  put_u16(b, 0, 0x3F80);
  put_u16(b, 2, 0xC0A0);
  put_u16(b, 4, 0x0001);
  const std::vector<float> y = dequant(GgmlType::kBF16, b, 3);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -5.0f);
  EXPECT_EQ(y[2], std::ldexp(1.0f, -133));  // bf16 keeps f32's subnormals

  const Bytes q =
      quant(GgmlType::kBF16, {1.0f + std::ldexp(1.0f, -8), 1.0f + 3 * std::ldexp(1.0f, -8),
                              1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)});
  EXPECT_EQ(q[0] | (q[1] << 8), 0x3F80);  // tie -> even
  EXPECT_EQ(q[2] | (q[3] << 8), 0x3F82);  // tie -> even (upwards)
  EXPECT_EQ(q[4] | (q[5] << 8), 0x3F81);  // just above the tie
}

TEST(QuantLayout, Q8_0) {
  Bytes b(2 * 34);
  put_u16(b, 0, kHalfHalf);
  for (int j = 0; j < 32; ++j) b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j - 16));
  put_u16(b, 34, kHalfMinusTwo);
  for (int j = 0; j < 32; ++j) b[36 + j] = (j % 2 == 0) ? 127 : 0x80;  // 127, -128
  const std::vector<float> y = dequant(GgmlType::kQ8_0, b, 64);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 0.5f * (j - 16)) << j;
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[32 + j], j % 2 == 0 ? -254.0f : 256.0f) << j;
}

TEST(QuantLayout, Q4_0LowNibbleIsElementJHighIsJPlus16) {
  Bytes b(18);
  put_u16(b, 0, kHalfTwo);
  for (int j = 0; j < 16; ++j) b[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const std::vector<float> y = dequant(GgmlType::kQ4_0, b, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 2.0f * (j - 8)) << j;
    EXPECT_EQ(y[j + 16], 2.0f * (7 - j)) << j;  // (15 - j) - 8
  }
}

TEST(QuantLayout, Q4_1) {
  Bytes b(20);
  put_u16(b, 0, kHalfHalf);
  put_u16(b, 2, kHalfMinusOne);
  for (int j = 0; j < 16; ++j) b[4 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const std::vector<float> y = dequant(GgmlType::kQ4_1, b, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.5f * j - 1.0f) << j;
    EXPECT_EQ(y[j + 16], 0.5f * (15 - j) - 1.0f) << j;
  }
}

// qh = bits {0, 3, 17, 31} as little-endian bytes; qs[j] = j | j << 4. So element j < 16 has low
// bits j and element j + 16 low bits j; the 5th bit is set only for elements 0, 3, 17 and 31.
Bytes q5_block(size_t header) {
  Bytes b(header + 4 + 16);
  b[header + 0] = 0x09;  // bits 0 and 3
  b[header + 1] = 0x00;
  b[header + 2] = 0x02;  // bit 17
  b[header + 3] = 0x80;  // bit 31
  for (int j = 0; j < 16; ++j) b[header + 4 + j] = static_cast<uint8_t>(j | (j << 4));
  return b;
}

int q5_code(int e) {
  const int low = e % 16;
  const bool high = e == 0 || e == 3 || e == 17 || e == 31;
  return low + (high ? 16 : 0);
}

TEST(QuantLayout, Q5_0HighBitOrder) {
  Bytes b = q5_block(2);
  put_u16(b, 0, kHalfOne);
  const std::vector<float> y = dequant(GgmlType::kQ5_0, b, 32);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[3], 3.0f);
  EXPECT_EQ(y[17], 1.0f);
  EXPECT_EQ(y[31], 15.0f);
  EXPECT_EQ(y[1], -15.0f);
  EXPECT_EQ(y[16], -16.0f);
  for (int e = 0; e < 32; ++e) EXPECT_EQ(y[e], static_cast<float>(q5_code(e) - 16)) << e;
}

TEST(QuantLayout, Q5_1HighBitOrder) {
  Bytes b = q5_block(4);
  put_u16(b, 0, kHalfHalf);
  put_u16(b, 2, kHalfTwo);
  const std::vector<float> y = dequant(GgmlType::kQ5_1, b, 32);
  for (int e = 0; e < 32; ++e) EXPECT_EQ(y[e], 0.5f * q5_code(e) + 2.0f) << e;
}

// Scales and mins chosen so that sub-blocks 4..7 need their two high bits.
constexpr int kQ4KScale[8] = {1, 2, 3, 63, 17, 33, 48, 5};
constexpr int kQ4KMin[8] = {0, 4, 10, 62, 20, 37, 49, 63};
// Packed by hand: s[0..3] = sc[j] | (sc[j+4] >> 4) << 6, s[4..7] = m[j] | (m[j+4] >> 4) << 6,
// s[8..11] = (sc[j+4] & 15) | (m[j+4] & 15) << 4.
constexpr uint8_t kQ4KPacked[12] = {0x41, 0x82, 0xC3, 0x3F, 0x40, 0x84,
                                    0xCA, 0xFE, 0x41, 0x51, 0x10, 0xF5};

int q4k_code(int o) {  // the 4-bit code the test block stores for output o
  const int g = o / 64, r = o % 64;
  return r < 32 ? (r + 3 * g) & 15 : (5 * (r - 32) + g) & 15;
}

Bytes q4k_block() {
  Bytes b(144);
  put_u16(b, 0, kHalfHalf);     // d
  put_u16(b, 2, kHalfQuarter);  // dmin
  std::memcpy(&b[4], kQ4KPacked, 12);
  for (int g = 0; g < 4; ++g)
    for (int l = 0; l < 32; ++l)
      b[16 + 32 * g + l] =
          static_cast<uint8_t>(q4k_code(64 * g + l) | (q4k_code(64 * g + 32 + l) << 4));
  return b;
}

TEST(QuantLayout, Q4KScaleMinPacking) {
  const std::vector<float> y = dequant(GgmlType::kQ4_K, q4k_block(), 256);
  for (int o = 0; o < 256; ++o) {
    const int j = o / 32;  // sub-block
    EXPECT_EQ(y[o], 0.5f * kQ4KScale[j] * q4k_code(o) - 0.25f * kQ4KMin[j]) << "output " << o;
  }
  // Spot checks written out in full: sub-block 4 (sc 17, m 20), output 128 has code (0+6)&15 = 6.
  EXPECT_EQ(y[128], 0.5f * 17 * 6 - 0.25f * 20);
  // Sub-block 7 (sc 5, m 63), output 255: r = 63, code (5*31 + 3) & 15 = 14.
  EXPECT_EQ(y[255], 0.5f * 5 * 14 - 0.25f * 63);
  // Sub-block 3 (sc 63, m 62), output 96: r = 32, code (0 + 1) & 15 = 1.
  EXPECT_EQ(y[96], 0.5f * 63 * 1 - 0.25f * 62);
}

TEST(QuantLayout, Q6KSingleBytes) {
  Bytes b(210);
  b[0] = 0x21;         // ql[0]: low nibble -> output 0, high nibble -> output 64
  b[32] = 0x43;        // ql[32]: low -> output 32, high -> output 96
  b[128] = 0xE4;       // qh[0] = 0b11'10'01'00: 2-bit highs 0, 1, 2, 3 for outputs 0, 32, 64, 96
  b[64] = 0x0F;        // ql[64]: low nibble -> output 128
  b[128 + 32] = 0x03;  // qh[32]: high bits of output 128
  for (int k = 0; k < 16; ++k) b[192 + k] = static_cast<uint8_t>(k + 1);
  b[192 + 8] = static_cast<uint8_t>(-3);
  put_u16(b, 208, kHalfOne);
  const std::vector<float> y = dequant(GgmlType::kQ6_K, b, 256);
  EXPECT_EQ(y[0], 1.0f * (1 - 32));                 // scale[0] = 1
  EXPECT_EQ(y[32], 3.0f * ((3 | 1 << 4) - 32));     // scale[2] = 3
  EXPECT_EQ(y[64], 5.0f * ((2 | 2 << 4) - 32));     // scale[4] = 5
  EXPECT_EQ(y[96], 7.0f * ((4 | 3 << 4) - 32));     // scale[6] = 7
  EXPECT_EQ(y[128], -3.0f * ((15 | 3 << 4) - 32));  // scale[8] = -3
  EXPECT_EQ(y[1], 1.0f * -32);
  EXPECT_EQ(y[16], 2.0f * -32);  // outputs 16..31 use scale[1]
  EXPECT_EQ(y[129], -3.0f * -32);
  EXPECT_EQ(y[255], 16.0f * -32);
}

TEST(QuantLayout, Q6KFullPattern) {
  // Pack a chosen 6-bit code per output following the spec's write-up, then check every output
  // against d * scales[o / 16] * (code - 32).
  auto code = [](int o) { return (o * 7 + 3) % 64; };
  Bytes b(210);
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      const int o = 128 * h + l;
      const int q1 = code(o), q2 = code(o + 32), q3 = code(o + 64), q4 = code(o + 96);
      b[64 * h + l] = static_cast<uint8_t>((q1 & 15) | ((q3 & 15) << 4));
      b[64 * h + l + 32] = static_cast<uint8_t>((q2 & 15) | ((q4 & 15) << 4));
      b[128 + 32 * h + l] =
          static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
    }
  }
  for (int k = 0; k < 16; ++k) b[192 + k] = static_cast<uint8_t>(static_cast<int8_t>(k - 8));
  put_u16(b, 208, kHalfQuarter);
  const std::vector<float> y = dequant(GgmlType::kQ6_K, b, 256);
  for (int o = 0; o < 256; ++o)
    EXPECT_EQ(y[o], 0.25f * (o / 16 - 8) * (code(o) - 32)) << "output " << o;
}

// ---- reference quantizers
// ------------------------------------------------------------------------

TEST(QuantizeRef, Q8_0RoundsTiesAwayAndStoresD) {
  std::vector<float> x(64, 0.0f);
  x[0] = 127.0f;  // amax -> d = 1 exactly
  x[1] = 2.5f;
  x[2] = -2.5f;
  x[3] = 0.5f;
  x[4] = -0.49f;
  x[5] = -127.0f;
  x[32] = 1.0f;  // second block: d = 1/127, which fp16 rounds to 0x2008
  x[33] = 0.25f;
  x[34] = -1.0f;
  x[35] = 0.791315f;  // 100.497 with id = 1/d from the unrounded d (100.503 with the fp16 d)
  const Bytes b = quant(GgmlType::kQ8_0, x);
  EXPECT_EQ(b[0] | (b[1] << 8), kHalfOne);
  const int8_t want0[] = {127, 3, -3, 1, 0, -127, 0};
  for (int j = 0; j < 7; ++j) EXPECT_EQ(static_cast<int8_t>(b[2 + j]), want0[j]) << j;
  EXPECT_EQ(b[34] | (b[35] << 8), 0x2008);
  const int8_t want1[] = {127, 32, -127, 100, 0};
  for (int j = 0; j < 5; ++j) EXPECT_EQ(static_cast<int8_t>(b[36 + j]), want1[j]) << j;
  const std::vector<float> y = dequant(GgmlType::kQ8_0, b, 64);
  EXPECT_EQ(y[32], 127 * 0.00787353515625f);
}

TEST(QuantizeRef, ZeroBlocksGiveZeroScale) {
  const std::vector<float> z(32, 0.0f);
  const Bytes q8 = quant(GgmlType::kQ8_0, z);
  for (uint8_t v : q8) EXPECT_EQ(v, 0);
  const Bytes q4 = quant(GgmlType::kQ4_0, z);
  EXPECT_EQ(q4[0] | (q4[1] << 8), 0x8000);  // d = 0 / -8 = -0.0, as llama.cpp stores it
  for (int j = 0; j < 16; ++j) EXPECT_EQ(q4[2 + j], 0x88);  // trunc(0 + 8.5) = 8 in both nibbles
  for (float v : dequant(GgmlType::kQ4_0, q4, 32)) EXPECT_EQ(v, 0.0f);
  const Bytes q41 = quant(GgmlType::kQ4_1, std::vector<float>(32, 1.5f));  // max == min
  EXPECT_EQ(q41[0] | (q41[1] << 8), 0);
  EXPECT_EQ(q41[2] | (q41[3] << 8), 0x3E00);  // m = 1.5
  for (float v : dequant(GgmlType::kQ4_1, q41, 32)) EXPECT_EQ(v, 1.5f);
}

TEST(QuantizeRef, Q4_0SignedMaxMapsToCodeZero) {
  std::vector<float> x(32, 0.0f);
  x[0] = -4.0f;   // signed max: d = -4 / -8 = 0.5, id = 2
  x[1] = 3.5f;    // 7 + 8.5 -> 15
  x[2] = 3.75f;   // 7.5 + 8.5 = 16 -> clamped to 15
  x[3] = 0.25f;   // 9
  x[4] = -0.25f;  // -0.5 + 8.5 = 8 exactly -> 8
  x[16] = 1.0f;   // 10.5 -> 10
  x[17] = -3.0f;  // 2.5 -> 2
  const Bytes b = quant(GgmlType::kQ4_0, x);
  EXPECT_EQ(b[0] | (b[1] << 8), kHalfHalf);
  const uint8_t want[16] = {0xA0, 0x2F, 0x8F, 0x89, 0x88, 0x88, 0x88, 0x88,
                            0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88};
  for (int j = 0; j < 16; ++j) EXPECT_EQ(b[2 + j], want[j]) << j;

  // A positive extreme gives a negative d; the extreme still maps to code 0, and the opposite
  // value of equal magnitude (second, so not chosen as max) saturates at code 15 = -3.5.
  std::vector<float> p(32, 0.0f);
  p[0] = 4.0f;
  p[1] = -4.0f;
  const Bytes c = quant(GgmlType::kQ4_0, p);
  EXPECT_EQ(c[0] | (c[1] << 8), 0xB800);  // -0.5
  EXPECT_EQ(c[2], 0x80);                  // element 0 -> 0, element 16 (zero) -> 8
  EXPECT_EQ(c[3], 0x8F);                  // element 1 -> 16 -> clamped 15
  const std::vector<float> y = dequant(GgmlType::kQ4_0, c, 32);
  EXPECT_EQ(y[0], 4.0f);
  EXPECT_EQ(y[1], -3.5f);
}

TEST(QuantizeRef, Q4_1) {
  std::vector<float> x(32, 0.0f);
  x[0] = -3.0f;                               // min -> code 0; d = (12 - -3) / 15 = 1
  x[1] = 12.0f;                               // max -> 15
  x[2] = 0.5f;                                // 3.5 + 0.5 = 4
  x[3] = 1.49f;                               // 4.49 + 0.5 -> 4
  x[16] = 11.6f;                              // 14.6 + 0.5 -> 15
  const Bytes b = quant(GgmlType::kQ4_1, x);  // zeros -> 3
  EXPECT_EQ(b[0] | (b[1] << 8), kHalfOne);
  EXPECT_EQ(b[2] | (b[3] << 8), 0xC200);  // m = -3
  const uint8_t want[4] = {0xF0, 0x3F, 0x34, 0x34};
  for (int j = 0; j < 4; ++j) EXPECT_EQ(b[4 + j], want[j]) << j;
  for (int j = 4; j < 16; ++j) EXPECT_EQ(b[4 + j], 0x33) << j;
}

TEST(QuantizeRef, Q5_0) {
  std::vector<float> x(32, 0.0f);
  x[0] = -16.0f;                              // signed max: d = 1 -> code 0
  x[1] = 15.0f;                               // 31.5 -> 31
  x[2] = 15.5f;                               // 32 -> clamped 31
  x[3] = -0.5f;                               // 16 exactly
  x[17] = 3.0f;                               // 19.5 -> 19
  x[20] = -10.0f;                             // 6.5 -> 6 (5th bit clear)
  const Bytes b = quant(GgmlType::kQ5_0, x);  // zeros -> 16 (5th bit set, low nibble 0)
  EXPECT_EQ(b[0] | (b[1] << 8), kHalfOne);
  const uint8_t want_qh[4] = {0xFE, 0xFF, 0xEF, 0xFF};  // every bit but 0 and 20
  for (int j = 0; j < 4; ++j) EXPECT_EQ(b[2 + j], want_qh[j]) << j;
  const uint8_t want_qs[5] = {0x00, 0x3F, 0x0F, 0x00, 0x60};
  for (int j = 0; j < 5; ++j) EXPECT_EQ(b[6 + j], want_qs[j]) << j;
  for (int j = 5; j < 16; ++j) EXPECT_EQ(b[6 + j], 0x00) << j;
}

TEST(QuantizeRef, Q5_1) {
  std::vector<float> x(32, 0.0f);
  x[1] = 31.0f;   // max; min = 0 -> d = 1
  x[2] = 3.5f;    // 4
  x[3] = 16.49f;  // 16 (5th bit)
  x[18] = 20.5f;  // 21 (5th bit, low nibble 5)
  const Bytes b = quant(GgmlType::kQ5_1, x);
  EXPECT_EQ(b[0] | (b[1] << 8), kHalfOne);
  EXPECT_EQ(b[2] | (b[3] << 8), 0x0000);
  const uint8_t want_qh[4] = {0x0A, 0x00, 0x04, 0x00};  // bits 1, 3, 18
  for (int j = 0; j < 4; ++j) EXPECT_EQ(b[4 + j], want_qh[j]) << j;
  const uint8_t want_qs[4] = {0x00, 0x0F, 0x54, 0x00};
  for (int j = 0; j < 4; ++j) EXPECT_EQ(b[8 + j], want_qs[j]) << j;
}

TEST(QuantizeRef, RandomRoundTripErrorIsWithinHalfAStep) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(32 * 64);
  for (float& v : x) v = dist(rng);
  struct Case {
    GgmlType type;
    float steps;  // quantization levels across the block's range
  };
  for (const Case c :
       {Case{GgmlType::kQ8_0, 254}, Case{GgmlType::kQ4_0, 16}, Case{GgmlType::kQ5_0, 32},
        Case{GgmlType::kQ4_1, 15}, Case{GgmlType::kQ5_1, 31}}) {
    const std::vector<float> y = dequant(c.type, quant(c.type, x), static_cast<int64_t>(x.size()));
    for (size_t b = 0; b < x.size(); b += 32) {
      float lo = x[b], hi = x[b], amax = 0;
      for (int j = 0; j < 32; ++j) {
        lo = std::min(lo, x[b + j]);
        hi = std::max(hi, x[b + j]);
        amax = std::max(amax, std::fabs(x[b + j]));
      }
      const bool affine = c.type == GgmlType::kQ4_1 || c.type == GgmlType::kQ5_1;
      const float step = affine ? (hi - lo) / c.steps : 2 * amax / c.steps;
      // The symmetric types clamp the top code (a full step), the rest round (half a step);
      // fp16 storage of d and m adds well under 1% of a step.
      const float tol = (affine ? 0.51f : 1.01f) * step + 1e-3f * amax;
      for (int j = 0; j < 32; ++j)
        ASSERT_LE(std::fabs(y[b + j] - x[b + j]), tol)
            << quant_detail::type_label(c.type) << " element " << b + j;
    }
  }
}

// ---- errors ----------------------------------------------------------------------------------

TEST(QuantErrors, UnsupportedTypeAndBadLengthAreNamed) {
  float x[64] = {};
  uint8_t buf[256] = {};
  try {
    dot_row_ref(static_cast<GgmlType>(99), buf, x, 32);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("99"), std::string::npos) << e.what();
  }
  try {
    quantize_row_ref(GgmlType::kQ4_K, x, buf, 256);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("q4_K"), std::string::npos) << e.what();
  }
  try {
    dequantize_row(GgmlType::kQ8_0, buf, x, 33);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("33"), std::string::npos) << e.what();
  }
  EXPECT_THROW(gemv(GgmlType::kQ4_0, buf, 1, 48, x, x), Error);
}

// ---- SIMD and GEMV against the reference
// ---------------------------------------------------------

// A random row of `type`: quantized from N(0,1) where a quantizer exists; for the K-quants random
// code bytes with sane fp16 scales patched in (every bit pattern of the codes is a valid block).
Bytes random_row(GgmlType type, int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  if (type != GgmlType::kQ4_K && type != GgmlType::kQ6_K) {
    std::vector<float> x(n);
    for (float& v : x) v = dist(rng);
    return quant(type, x);
  }
  Bytes b(ggml_row_bytes(type, n));
  for (uint8_t& v : b) v = static_cast<uint8_t>(rng());
  const uint16_t d_bits[] = {0x1C00, 0x2400, 0x2A66, 0x1E00, 0x2000};  // 2^-8 .. ~0.05
  for (int64_t blk = 0; blk < n / 256; ++blk) {
    const size_t at = blk * (type == GgmlType::kQ4_K ? 144 : 210);
    if (type == GgmlType::kQ4_K) {
      put_u16(b, at, d_bits[rng() % 5]);
      put_u16(b, at + 2, d_bits[rng() % 5]);
    } else {
      put_u16(b, at + 208, d_bits[rng() % 5]);
    }
  }
  return b;
}

std::vector<int64_t> test_lengths(GgmlType type) {
  switch (ggml_type_info(type).block_size) {
    case 1:
      return {1, 7, 8, 31, 32, 33, 100, 4099};
    case 32:
      return {32, 64, 96, 160, 4128};
    default:
      return {256, 512, 2816};
  }
}

constexpr GgmlType kAllTypes[] = {
    GgmlType::kF32,  GgmlType::kF16,  GgmlType::kBF16, GgmlType::kQ8_0, GgmlType::kQ4_0,
    GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kQ4_K, GgmlType::kQ6_K};

// Bound for a float32 dot of n terms against the double oracle: relative to sum |w_i x_i|.
double dot_tolerance(GgmlType type, const Bytes& w, const std::vector<float>& x) {
  const std::vector<float> wf = dequant(type, w, static_cast<int64_t>(x.size()));
  double abs_sum = 0;
  for (size_t i = 0; i < x.size(); ++i) abs_sum += std::fabs(static_cast<double>(wf[i]) * x[i]);
  return 2e-6 * abs_sum + 1e-30;
}

// A SIMD dot kernel against the scalar reference on random rows of every type and length.
void check_dot_kernel(float (*dot)(GgmlType, const void*, const float*, int64_t), uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (GgmlType type : kAllTypes) {
    for (int64_t n : test_lengths(type)) {
      SCOPED_TRACE(quant_detail::type_label(type) + " n=" + std::to_string(n));
      const Bytes w = random_row(type, n, rng);
      std::vector<float> x(n);
      for (float& v : x) v = dist(rng);
      const float ref = dot_row_ref(type, w.data(), x.data(), n);
      EXPECT_NEAR(dot(type, w.data(), x.data(), n), ref, dot_tolerance(type, w, x));
      EXPECT_NEAR(dot_row(type, w.data(), x.data(), n), ref, dot_tolerance(type, w, x));
    }
  }
}

TEST(QuantAvx2, MatchesReference) {
  if (!cpu_features().has_avx2_set()) GTEST_SKIP() << "CPU lacks AVX2/FMA/F16C";
  check_dot_kernel(&quant_detail::dot_row_avx2, 42);
  // Dequantization is exact: every product the kernels form fits f32's mantissa.
  std::mt19937 rng(44);
  for (GgmlType type : kAllTypes) {
    for (int64_t n : test_lengths(type)) {
      SCOPED_TRACE(quant_detail::type_label(type) + " n=" + std::to_string(n));
      const Bytes w = random_row(type, n, rng);
      const std::vector<float> want = dequant(type, w, n);
      std::vector<float> got(n);
      quant_detail::dequantize_row_avx2(type, w.data(), got.data(), n);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(got[i], want[i]) << "element " << i;
    }
  }
}

TEST(QuantAvx512, MatchesReference) {
  if (!cpu_features().has_avx512_set()) GTEST_SKIP() << "CPU lacks AVX-512 F/BW/VL/DQ";
  check_dot_kernel(&quant_detail::dot_row_avx512, 43);
}

// Tensors in files are not always aligned to their element size (the fuzzer found an f32 tensor
// at an odd offset): every dispatch level must read such rows, including the scalar tail of the
// vector loops (n = 40 leaves one on 16 and on 32 lanes), without a misaligned typed load.
TEST(QuantDot, MisalignedPlainRows) {
  std::mt19937 rng(8);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (GgmlType type : {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16}) {
    const int64_t n = 40;
    const Bytes w = random_row(type, n, rng);
    std::vector<float> x(n);
    for (float& v : x) v = dist(rng);
    std::vector<uint8_t> shifted(w.size() + 1);
    std::memcpy(shifted.data() + 1, w.data(), w.size());
    const float ref = dot_row_ref(type, w.data(), x.data(), n);
    EXPECT_NEAR(dot_row(type, shifted.data() + 1, x.data(), n), ref, dot_tolerance(type, w, x))
        << quant_detail::type_label(type);
  }
}

TEST(QuantGemv, MatchesReferenceRowByRow) {
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (GgmlType type : kAllTypes) {
    const int64_t n = ggml_type_info(type).block_size == 256 ? 512 : 256;
    for (int64_t rows : {1, 37, 300}) {  // 300 rows takes the parallel path for every type
      SCOPED_TRACE(quant_detail::type_label(type) + " rows=" + std::to_string(rows));
      const size_t row_bytes = ggml_row_bytes(type, n);
      Bytes w;
      for (int64_t r = 0; r < rows; ++r) {
        const Bytes row = random_row(type, n, rng);
        w.insert(w.end(), row.begin(), row.end());
      }
      // x one float past a 64-byte boundary exercises gemv's aligned copy of the activations.
      std::vector<float> storage(n + 16), y(rows, -1.0f);
      float* xp = storage.data();
      while (reinterpret_cast<uintptr_t>(xp) % 64 != 4) ++xp;
      std::vector<float> x(n);
      for (float& v : x) v = dist(rng);
      std::memcpy(xp, x.data(), n * sizeof(float));
      gemv(type, w.data(), rows, n, xp, y.data());
      for (int64_t r = 0; r < rows; ++r) {
        const Bytes row(w.begin() + r * row_bytes, w.begin() + (r + 1) * row_bytes);
        ASSERT_NEAR(y[r], dot_row_ref(type, row.data(), x.data(), n), dot_tolerance(type, row, x))
            << "row " << r;
      }
    }
  }
}

}  // namespace
}  // namespace sparkv

// KV cache types (llama.cpp's -ctk / -ctv set) and SparK kept keys stored as int8 / int4.
// quant_test.cpp pins the ggml block encoders bit for bit; here: iq4_nl (its own quantizer), a
// hand-computed row through the cache for every type (fp16 rounding of d, signed-max scale rule,
// nibble and 5th-bit order, as the cache stores and reads them), attention over each K/V type
// against naive attention over the dequantized rows, SparK × q8/q4 against dense attention over
// independently rebuilt keys, byte formulas, and error messages.
#include <gtest/gtest.h>

#include "attn_test_util.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include "attn/attn_state.h"
#include "attn/dense_decode.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/fp16.h"
#include "kv/dense_cache.h"
#include "kv/spark_cache.h"
#include "press/press_spec.h"
#include "press/spark_plan.h"
#include "press/spark_select.h"
#include "quant/kv_types.h"

namespace sparkv {
namespace {

using test::naive_attention;
using test::randn;

constexpr KvDtype kAllTypes[] = {KvDtype::kF32,  KvDtype::kF16,  KvDtype::kBF16,
                                 KvDtype::kQ8_0, KvDtype::kQ4_0, KvDtype::kQ4_1,
                                 KvDtype::kQ5_0, KvDtype::kQ5_1, KvDtype::kIQ4_NL};

float h16(float x) {
  return fp16_to_f32(f32_to_fp16(x));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// ---- type table ---------------------------------------------------------------------------

TEST(KvTypes, NamesBlockGeometryAndErrors) {
  const char* names[] = {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "iq4_nl"};
  const int bytes_per_32[] = {128, 64, 64, 34, 18, 20, 22, 24, 18};
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(kv_dtype_from_name(names[i]), kAllTypes[i]);
    EXPECT_STREQ(kv_dtype_name(kAllTypes[i]), names[i]);
    EXPECT_EQ(kv_row_bytes(kAllTypes[i], 32), static_cast<size_t>(bytes_per_32[i])) << names[i];
    EXPECT_EQ(kv_row_bytes(kAllTypes[i], 128), static_cast<size_t>(4 * bytes_per_32[i]))
        << names[i];
  }
  const std::string bad = error_of([] { kv_dtype_from_name("q3_k"); });
  EXPECT_NE(bad.find("'q3_k'"), std::string::npos) << bad;
  EXPECT_NE(bad.find("iq4_nl"), std::string::npos) << bad;
  // Block types need 32 | head_dim; the message names the type and the head_dim.
  const std::string dim =
      error_of([] { DenseLayerCache c(1, 48, 1, KvDtype::kF16, KvDtype::kQ8_0); });
  EXPECT_NE(dim.find("V cache"), std::string::npos) << dim;
  EXPECT_NE(dim.find("q8_0"), std::string::npos) << dim;
  EXPECT_NE(dim.find("head_dim 48"), std::string::npos) << dim;
  EXPECT_NO_THROW(DenseLayerCache(1, 48, 1, KvDtype::kBF16, KvDtype::kF32));
}

// ---- iq4_nl quantizer ---------------------------------------------------------------------

// The hand-computed row used below: x[0] = -4 is the signed max, elements 16/17 are the high
// nibbles of bytes 0/1.
std::vector<float> hand_row() {
  std::vector<float> x(32, 0.0f);
  x[0] = -4.0f;
  x[1] = 3.5f;
  x[2] = 3.75f;
  x[3] = 0.25f;
  x[4] = -0.25f;
  x[16] = 1.0f;
  x[17] = -3.0f;
  return x;
}

TEST(KvTypes, Iq4nlHandBlock) {
  // d0 = max / T[0] = -4 / -127, id = 31.75; x·id = -127, 111.1, 119.1, 7.94, -7.94, 0, 31.75,
  // -95.25 -> nearest entries -127 (0), 113 (15), 113 (15), 13 (9), -10 (7), 1 (8), 38 (11),
  // -104 (1). Refit with w = x²: d = Σ w·T·x / Σ w·T² = 21778.21875 / 692853.125 = 0.0314327,
  // which fp16 rounds to 0x2806 = 0.03143310546875.
  const std::vector<float> x = hand_row();
  uint8_t b[18];
  kv_quantize_row(KvDtype::kIQ4_NL, x.data(), b, 32);
  EXPECT_EQ(b[0] | (b[1] << 8), 0x2806);
  const uint8_t want[16] = {0xB0, 0x1F, 0x8F, 0x89, 0x87, 0x88, 0x88, 0x88,
                            0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88};
  for (int j = 0; j < 16; ++j) EXPECT_EQ(b[2 + j], want[j]) << j;

  // Exact ties go to the upper entry: with d0 = -1 (max = 127), x = 4.5 maps to -4.5, halfway
  // between -10 and 1, and takes 1 (code 8); x = -113 maps to 113 (code 15).
  std::vector<float> t(32, 0.0f);
  t[0] = 127.0f;
  t[1] = -113.0f;
  t[2] = 4.5f;
  kv_quantize_row(KvDtype::kIQ4_NL, t.data(), b, 32);
  EXPECT_EQ(b[2], 0x80);
  EXPECT_EQ(b[3], 0x8F);
  EXPECT_EQ(b[4], 0x88);
  EXPECT_EQ(b[0] | (b[1] << 8), 0xBC00);  // the refit d is -1 to fp16 precision

  // An all-zero block stores d = 0 and decodes to zeros.
  const std::vector<float> z(32, 0.0f);
  kv_quantize_row(KvDtype::kIQ4_NL, z.data(), b, 32);
  EXPECT_EQ(b[0] | (b[1] << 8), 0);
  std::vector<float> y(32, 1.0f);
  kv_dequantize_row(KvDtype::kIQ4_NL, b, y.data(), 32);
  for (float v : y) EXPECT_EQ(v, 0.0f);
}

// ---- the hand row through the cache, every type ---------------------------------------------

// The f16 row conversions take an F16C path when the CPU has it; it must equal the scalar
// f32_to_fp16 / fp16_to_f32 bit for bit, including ties, subnormals, overflow and the tail.
TEST(KvTypes, F16RowConversionMatchesScalar) {
  std::mt19937 rng(9);
  std::vector<float> src;
  for (uint32_t h = 0; h < 0x7c00;
       h += 7) {  // every 7th finite half, both signs, and halfway points
    src.push_back(fp16_to_f32(static_cast<uint16_t>(h)));
    src.push_back(-fp16_to_f32(static_cast<uint16_t>(h)));
    const float a = fp16_to_f32(static_cast<uint16_t>(h)),
                b = fp16_to_f32(static_cast<uint16_t>(h + 1));
    src.push_back(0.5f * (a + b));
  }
  for (float x : {65504.0f, 65520.0f, 1e6f, -1e6f, 1e-8f, 5.96e-8f, 2.98e-8f, 0.0f, -0.0f, INFINITY,
                  -INFINITY})
    src.push_back(x);
  std::normal_distribution<float> d(0.0f, 3.0f);
  while (src.size() % 8 != 3) src.push_back(d(rng));  // a tail the 8-wide loop does not cover
  const int n = static_cast<int>(src.size());
  std::vector<uint16_t> h(n);
  kv_quantize_row(KvDtype::kF16, src.data(), h.data(), n);
  for (int i = 0; i < n; ++i) ASSERT_EQ(h[i], f32_to_fp16(src[i])) << "value " << src[i];
  std::vector<float> back(n);
  kv_dequantize_row(KvDtype::kF16, h.data(), back.data(), n);
  for (int i = 0; i < n; ++i) ASSERT_EQ(back[i], fp16_to_f32(h[i])) << i;
}

TEST(KvCacheRoundTrip, HandRowEveryType) {
  const std::vector<float> x = hand_row();
  // Dequantized values at elements 0, 1, 2, 3, 4, 16, 17 and at a zero element, per type.
  struct Want {
    KvDtype t;
    float v[8];
  };
  const float dq8 = 0.031494140625f;    // fp16(4/127): 0x2808
  const float d41 = 0.5166015625f;      // fp16(7.75/15)
  const float dnl = 0.03143310546875f;  // 0x2806, see Iq4nlHandBlock
  const Want wants[] = {
      {KvDtype::kF32, {-4, 3.5f, 3.75f, 0.25f, -0.25f, 1, -3, 0}},
      {KvDtype::kF16, {-4, 3.5f, 3.75f, 0.25f, -0.25f, 1, -3, 0}},
      {KvDtype::kBF16, {-4, 3.5f, 3.75f, 0.25f, -0.25f, 1, -3, 0}},
      // d = 4/127, codes round(x·31.75): -127 111 119 8 -8 32 -95 0.
      {KvDtype::kQ8_0,
       {-127 * dq8, 111 * dq8, 119 * dq8, 8 * dq8, -8 * dq8, 32 * dq8, -95 * dq8, 0}},
      // d = -4/-8 = 0.5: codes 0 15 15(clamped) 9 8 10 2 8.
      {KvDtype::kQ4_0, {-4, 3.5f, 3.5f, 0.5f, 0, 1, -3, 0}},
      // d = 7.75/15, m = -4: codes 0 15 15 8 7 10 2 8.
      {KvDtype::kQ4_1,
       {-4, 15 * d41 - 4, 15 * d41 - 4, 8 * d41 - 4, 7 * d41 - 4, 10 * d41 - 4, 2 * d41 - 4,
        8 * d41 - 4}},
      // d = 0.25 exactly (signed max / -16): every value is on the grid.
      {KvDtype::kQ5_0, {-4, 3.5f, 3.75f, 0.25f, -0.25f, 1, -3, 0}},
      // d = 7.75/31 = 0.25, m = -4: on the grid too.
      {KvDtype::kQ5_1, {-4, 3.5f, 3.75f, 0.25f, -0.25f, 1, -3, 0}},
      {KvDtype::kIQ4_NL,
       {-127 * dnl, 113 * dnl, 113 * dnl, 13 * dnl, -10 * dnl, 38 * dnl, -104 * dnl, 1 * dnl}},
  };
  const int at[8] = {0, 1, 2, 3, 4, 16, 17, 5};
  for (const Want& w : wants) {
    // K in the type under test, V in q4_0 (types are independent); two KV heads so that rows of
    // different heads sit side by side in the pages.
    DenseLayerCache c(2, 32, 1, w.t, KvDtype::kQ4_0);
    std::vector<float> kv(64), vv(64);
    std::copy(x.begin(), x.end(), kv.begin() + 32);  // head 1
    std::copy(x.begin(), x.end(), vv.begin() + 32);
    c.append(kv.data(), vv.data(), 1);
    std::vector<float> k(32), v(32);
    c.read(1, 0, 1, k.data(), v.data());
    for (int i = 0; i < 8; ++i)
      EXPECT_FLOAT_EQ(k[at[i]], w.v[i]) << kv_dtype_name(w.t) << " element " << at[i];
    EXPECT_FLOAT_EQ(v[2], 3.5f);  // q4_0's clamp
    EXPECT_FLOAT_EQ(v[4], 0.0f);
    c.read(0, 0, 1, k.data(), nullptr);
    for (float z : k) EXPECT_EQ(z, 0.0f) << kv_dtype_name(w.t);
  }
}

// ---- attention over each type -------------------------------------------------------------

// Softmax attention of one query head over n dequantized rows, in double.

// max |a - b| over max |b|.
double rel_err(const float* a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    num = std::max(num, std::abs(a[i] - b[i]));
    den = std::max(den, std::abs(b[i]));
  }
  return num / std::max(den, 1e-30);
}

void check_cache_attention(KvDtype kt, KvDtype vt, int g, int D, int64_t n, int n_q) {
  const int n_kv = 2, H = n_kv * g;
  DenseLayerCache cache(n_kv, D, g, kt, vt);
  auto k = randn(static_cast<size_t>(n) * n_kv * D, 11 + D + g);
  auto v = randn(static_cast<size_t>(n) * n_kv * D, 12 + D + g);
  for (size_t i = 0; i < k.size(); i += D)
    k[i + 5] *= 8.0f;  // an outlier channel, as real keys have
  cache.append(k.data(), v.data(), static_cast<int>(n));
  auto q = randn(static_cast<size_t>(n_q) * H * D, 13, 0.5f);
  std::vector<float> out(static_cast<size_t>(n_q) * H * D);
  cache.attend(q.data(), n_q, out.data());
  for (int h = 0; h < n_kv; ++h) {
    std::vector<float> kd(static_cast<size_t>(n) * D), vd(static_cast<size_t>(n) * D);
    cache.read(h, 0, n, kd.data(), vd.data());
    for (int i = 0; i < n_q; ++i) {
      const int64_t visible = n - (n_q - 1 - i);
      for (int j = 0; j < g; ++j) {
        const size_t off = (static_cast<size_t>(i) * H + h * g + j) * D;
        const auto want = naive_attention(q.data() + off, kd.data(), vd.data(), visible, D);
        ASSERT_LE(rel_err(out.data() + off, want), 1e-5)
            << kv_dtype_name(kt) << "/" << kv_dtype_name(vt) << " g=" << g << " D=" << D
            << " n=" << n << " query " << i << " head " << h * g + j;
      }
    }
  }
}

TEST(KvQuantAttention, EveryTypeMatchesNaiveAttentionOverDequantizedRows) {
  for (KvDtype t : kAllTypes)
    for (int g : {1, 2, 4, 8})
      for (int D : {64, 128}) check_cache_attention(t, t, g, D, 300, 1);  // 300: crosses a page
}

TEST(KvQuantAttention, MixedTypesLongContextAndPrefillChunk) {
  const std::pair<KvDtype, KvDtype> mixed[] = {{KvDtype::kQ8_0, KvDtype::kQ4_0},
                                               {KvDtype::kF16, KvDtype::kQ8_0},
                                               {KvDtype::kQ4_0, KvDtype::kF16},
                                               {KvDtype::kQ5_1, KvDtype::kIQ4_NL}};
  for (const auto& [kt, vt] : mixed) check_cache_attention(kt, vt, 4, 128, 300, 3);
  // Long enough for attend_split to cut the token axis into merged chunks.
  check_cache_attention(KvDtype::kQ8_0, KvDtype::kQ8_0, 4, 128, 2100, 1);
  check_cache_attention(KvDtype::kQ4_0, KvDtype::kQ4_1, 2, 64, 2100, 1);
}

TEST(KvQuantAttention, Avx2KernelMatchesScalarTwin) {
  if (!cpu_features().has_avx2_set()) GTEST_SKIP() << "no AVX2";
  const int D = 128;
  const int64_t n = 150;
  for (KvDtype kt : kAllTypes)
    for (KvDtype vt : {KvDtype::kF16, KvDtype::kQ8_0, KvDtype::kQ5_0, kt})
      for (int g : {1, 4, 12}) {
        auto kf = randn(n * D, 21), vf = randn(n * D, 22);
        std::vector<uint8_t> kb(n * kv_row_bytes(kt, D)), vb(n * kv_row_bytes(vt, D));
        for (int64_t t = 0; t < n; ++t) {
          kv_quantize_row(kt, kf.data() + t * D, kb.data() + t * kv_row_bytes(kt, D), D);
          kv_quantize_row(vt, vf.data() + t * D, vb.data() + t * kv_row_bytes(vt, D), D);
        }
        auto q = randn(g * D, 23, 0.3f);
        std::vector<float> m1(g), l1(g), o1(g * D), m2(g), l2(g), o2(g * D), a(g * D), b(g * D);
        attn_state_init(g, D, m1.data(), l1.data(), o1.data());
        attn_state_init(g, D, m2.data(), l2.data(), o2.data());
        attn_dense_update_ref(q.data(), g, kb.data(), vb.data(), kt, vt, n, D, m1.data(), l1.data(),
                              o1.data());
        attn_dense_update_avx2(q.data(), g, kb.data(), vb.data(), kt, vt, n, D, m2.data(),
                               l2.data(), o2.data());
        attn_state_finish(g, D, l1.data(), o1.data(), a.data());
        attn_state_finish(g, D, l2.data(), o2.data(), b.data());
        for (int i = 0; i < g * D; ++i)
          ASSERT_NEAR(a[i], b[i], 1e-5f)
              << kv_dtype_name(kt) << "/" << kv_dtype_name(vt) << " g=" << g;
      }
}

// ---- bytes ----------------------------------------------------------------------------------

TEST(KvQuantBytes, DenseCacheMatchesTheAnalyticFormula) {
  // Pages of kPageTokens tokens per KV head; a page holds K rows then V rows.
  const int bytes_per_32[] = {128, 64, 64, 34, 18, 20, 22, 24, 18};
  const int n_kv = 4, D = 128;
  const int64_t n = 300;  // not a whole number of pages
  for (int i = 0; i < 9; ++i)
    for (int j : {1, 3, 4}) {
      DenseLayerCache c(n_kv, D, 2, kAllTypes[i], kAllTypes[j]);
      auto k = randn(n * n_kv * D, 1), v = randn(n * n_kv * D, 2);
      c.append(k.data(), v.data(), static_cast<int>(n));
      const int64_t pages = (n + DenseLayerCache::kPageTokens - 1) / DenseLayerCache::kPageTokens;
      const size_t want = static_cast<size_t>(n_kv) * pages * DenseLayerCache::kPageTokens *
                          (D / 32) * (bytes_per_32[i] + bytes_per_32[j]);
      EXPECT_EQ(c.bytes(), want) << c.kind();
    }
}

// ---- SparK with quantized kept keys -----------------------------------------------------------

struct SparkData {
  int n_kv, g, D;
  int64_t T;
  std::vector<float> k, v, wq;  // k, v: [T, n_kv, D]; wq: [w, n_head, D]
  int w = 8;
  DenseLayerCache cache;
  SparkData(int n_kv_, int g_, int D_, int64_t T_, uint32_t seed)
      : n_kv(n_kv_), g(g_), D(D_), T(T_), cache(n_kv_, D_, g_, KvDtype::kF32) {
    k = randn(T * n_kv * D, seed);
    v = randn(T * n_kv * D, seed + 1);
    for (int64_t t = 0; t < T * n_kv; ++t) k[t * D + 3] *= 6.0f;
    wq = randn(static_cast<size_t>(w) * n_kv * g * D, seed + 2, 0.5f);
    cache.append(k.data(), v.data(), static_cast<int>(T));
  }
  std::vector<float> norms() const {
    std::vector<float> n(static_cast<size_t>(n_kv) * D);
    for (int h = 0; h < n_kv; ++h)
      spark_channel_norms(wq.data(), w, n_kv * g, D, h, g, n.data() + h * D);
    return n;
  }
};

// k̂ from the method's definition with the kept values quantized per token as spark_decode.h
// states (q8: d = amax/127, round half away; q4: d = signed max/-8, trunc(x/d + 8.5) <= 15),
// written out independently of the storage.
std::vector<float> expected_khat(const float* k, const float* n, int D, const SparkOptions& o,
                                 SparkKeyQuant kq) {
  std::vector<uint8_t> mask(D / 8);
  float mu = 0;
  spark_select_token(k, n, D, o, mask.data(), &mu);
  float amax = 0, max = 0;
  for (int j = 0; j < D; ++j)
    if ((mask[j / 8] >> (j % 8) & 1) && std::fabs(k[j]) > amax) {
      amax = std::fabs(k[j]);
      max = k[j];
    }
  const float d = kq == SparkKeyQuant::kQ8 ? amax / 127.0f : max / -8.0f;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  const float dh = h16(d);
  std::vector<float> out(D);
  for (int j = 0; j < D; ++j) {
    if (mask[j / 8] >> (j % 8) & 1) {
      if (kq == SparkKeyQuant::kQ8)
        out[j] = dh * std::roundf(k[j] * id);
      else
        out[j] = dh * (std::min(15, static_cast<int>(k[j] * id + 8.5f)) - 8);
      continue;
    }
    out[j] = (k[j] > 0 ? 1.0f : -1.0f) * h16(std::sqrt(mu)) / std::sqrt(n[j]);
  }
  return out;
}

void check_spark_quant(SparkKeyQuant kq, KvDtype v_type, int D, int g, double ratio,
                       SparkVariant var) {
  const int n_kv = 2, H = n_kv * g, n_tail = 5;
  SparkData s(n_kv, g, D, 700, 31 + D + g);
  const auto norms = s.norms();
  SparkOptions o;
  o.ratio = ratio;
  o.variant = var;
  SparkStorage st;
  st.kq = kq;
  st.v_type = v_type;
  st.tail = {KvDtype::kQ8_0, v_type};
  auto cache_p =
      spark_compress(s.cache, TokenSelection::all(n_kv, s.T).kept, norms.data(), 0, o, st);
  SparkLayerCache& cache = *cache_p;
  auto kt = randn(static_cast<size_t>(n_tail) * n_kv * D, 7),
       vt = randn(static_cast<size_t>(n_tail) * n_kv * D, 8);
  cache.append(kt.data(), vt.data(), n_tail);
  auto q = randn(static_cast<size_t>(H) * D, 9, 0.5f);
  std::vector<float> out(static_cast<size_t>(H) * D);
  cache.attend(q.data(), 1, out.data());

  for (int h = 0; h < n_kv; ++h) {
    const SparkView view = cache.view(h);
    const int64_t n = s.T + n_tail;
    std::vector<float> keys(n * D), vals(n * D), row(D);
    std::vector<uint8_t> vq(kv_row_bytes(v_type, D));
    for (int64_t t = 0; t < s.T; ++t) {
      const float* k = s.k.data() + (t * n_kv + h) * D;
      const auto want = expected_khat(k, norms.data() + h * D, D, o, kq);
      // The kernels' own reconstruction agrees with the definition...
      spark_reconstruct_key(view, t, row.data());
      for (int d = 0; d < D; ++d)
        ASSERT_FLOAT_EQ(row[d], want[d]) << "token " << t << " channel " << d;
      std::copy(want.begin(), want.end(), keys.begin() + t * D);
      kv_quantize_row(v_type, s.v.data() + (t * n_kv + h) * D, vq.data(), D);
      kv_dequantize_row(v_type, vq.data(), vals.data() + t * D, D);
    }
    // ... and the dense tail holds the decode tokens in its own types.
    cache.tail().read(h, 0, n_tail, keys.data() + s.T * D, vals.data() + s.T * D);
    for (int j = 0; j < g; ++j) {
      const size_t off = static_cast<size_t>(h * g + j) * D;
      const auto want = naive_attention(q.data() + off, keys.data(), vals.data(), n, D);
      ASSERT_LE(rel_err(out.data() + off, want), 1e-5)
          << spark_key_quant_name(kq) << " v=" << kv_dtype_name(v_type) << " D=" << D << " g=" << g;
    }
  }
}

TEST(SparkKeyQuantTest, AttentionEqualsDenseOverRebuiltKeys) {
  for (SparkKeyQuant kq : {SparkKeyQuant::kQ8, SparkKeyQuant::kQ4})
    for (int D : {64, 128})
      for (int g : {1, 4}) check_spark_quant(kq, KvDtype::kF16, D, g, 0.5, SparkVariant::kFixed);
  // λ = 0.8 at D = 64 keeps 13 channels: odd runs, so int4 runs are padded to a byte.
  check_spark_quant(SparkKeyQuant::kQ4, KvDtype::kF16, 64, 2, 0.8, SparkVariant::kFixed);
  check_spark_quant(SparkKeyQuant::kQ8, KvDtype::kQ8_0, 128, 8, 0.8, SparkVariant::kFixed);
  check_spark_quant(SparkKeyQuant::kQ4, KvDtype::kQ4_0, 128, 2, 0.5, SparkVariant::kFixed);
  // Variable kept counts (SparK-g): offsets per token, odd counts common.
  check_spark_quant(SparkKeyQuant::kQ4, KvDtype::kF16, 128, 2, 0.0, SparkVariant::kGroup);
  check_spark_quant(SparkKeyQuant::kQ8, KvDtype::kF16, 64, 4, 0.0, SparkVariant::kGroup);
}

TEST(SparkKeyQuantTest, BytesMatchTheAnalyticFormula) {
  for (int D : {64, 128})
    for (double ratio : {0.5, 0.8})
      for (SparkKeyQuant kq : {SparkKeyQuant::kQ8, SparkKeyQuant::kQ4}) {
        const int n_kv = 2;
        SparkData s(n_kv, 2, D, 1000, 41);
        const auto norms = s.norms();
        SparkOptions o;
        o.ratio = ratio;
        SparkStorage st;
        st.kq = kq;
        st.v_type = KvDtype::kQ8_0;
        auto cache_p =
            spark_compress(s.cache, TokenSelection::all(n_kv, s.T).kept, norms.data(), 0, o, st);
        SparkLayerCache& cache = *cache_p;
        const int T = spark_fixed_keep(D, ratio);
        // Per token-head: kept values (T | ceil(T/2) bytes) + 2 (scale) + D/8 (mask) + D/8 (signs)
        // + 2 (r_t) + 34·D/32 (q8_0 values); per head: 4·D (weights) + 16 (stream padding).
        const double kept = kq == SparkKeyQuant::kQ8 ? T : (T + 1) / 2;
        const double per_token = kept + 2 + D / 8 + D / 8 + 2 + 34.0 * D / 32;
        const double analytic = n_kv * (s.T * per_token + 4.0 * D + 16);
        EXPECT_NEAR(static_cast<double>(cache.bytes()), analytic, 0.01 * analytic)
            << "D=" << D << " λ=" << ratio << " kq=" << spark_key_quant_name(kq);
      }
}

TEST(SparkKeyQuantTest, PressSpecKeyAndErrors) {
  EXPECT_EQ(parse_press_spec("spark:ratio=0.5,kq=q8").spec(),
            "spark:ratio=0.5,window=32,recovery=scaled,variant=fixed,recent=32,kq=q8");
  EXPECT_EQ(parse_press_spec("spark:ratio=0.5,kq=f16,recovery=mean,recent=0").spec(),
            "spark:ratio=0.5,window=32,recovery=mean,variant=fixed,recent=0");
  const std::string bad = error_of([] { parse_press_spec("spark:ratio=0.5,kq=q2"); });
  EXPECT_NE(bad.find("q2"), std::string::npos) << bad;
  const std::string sampled =
      error_of([] { parse_press_spec("spark:ratio=0.5,kq=q8,recovery=normal"); });
  EXPECT_NE(sampled.find("kq=q8"), std::string::npos) << sampled;
}

}  // namespace
}  // namespace sparkv

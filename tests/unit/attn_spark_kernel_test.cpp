// The SparK decode kernels (AVX2, AVX-512) against their scalar twin on the packed storage itself:
// every storage form the cache builds (kept keys f16 / q8 / q4; fixed, group and top-p kept
// counts; every deterministic recovery; nothing pruned; dense values of several types and
// pruned values), every group size, both head dims, and token ranges that start mid-stream (odd
// t0, so the kept-value cursors start inside the packed stream) and end inside a 16-token score
// batch or a 64-token softmax block. The cache-level tests (press_spark_test.cpp,
// kv_quant_test.cpp) check the dispatched kernel against attention over independently rebuilt
// keys; these pin each SIMD kernel to the oracle directly.
#include <gtest/gtest.h>

#include "attn_test_util.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "attn/attn_state.h"
#include "attn/spark_decode.h"
#include "core/cpu_features.h"
#include "kv/dense_cache.h"
#include "kv/spark_cache.h"
#include "press/press.h"
#include "press/spark_plan.h"

namespace sparkv {
namespace {

using test::randn;

struct Case {
  double ratio;
  SparkVariant variant;
  SparkRecovery recovery;
  SparkKeyQuant kq;
  KvDtype v_type;
  double value_ratio;
};

std::string name(const Case& c, int D) {
  return std::string("D=") + std::to_string(D) + " λ=" + std::to_string(c.ratio) + " " +
         spark_variant_name(c.variant) + " " + spark_recovery_name(c.recovery) +
         " kq=" + spark_key_quant_name(c.kq) + " v=" + kv_dtype_name(c.v_type) +
         " λv=" + std::to_string(c.value_ratio);
}

const Case kCases[] = {
    {0.5, SparkVariant::kFixed, SparkRecovery::kMean, SparkKeyQuant::kF16, KvDtype::kF16, 0.0},
    {0.8, SparkVariant::kFixed, SparkRecovery::kZero, SparkKeyQuant::kF16, KvDtype::kF32, 0.0},
    {0.25, SparkVariant::kFixed, SparkRecovery::kConstant, SparkKeyQuant::kF16, KvDtype::kBF16,
     0.0},
    {0.0, SparkVariant::kFixed, SparkRecovery::kMean, SparkKeyQuant::kF16, KvDtype::kF16, 0.0},
    {0.5, SparkVariant::kFixed, SparkRecovery::kMean, SparkKeyQuant::kQ8, KvDtype::kQ8_0, 0.0},
    {0.8, SparkVariant::kFixed, SparkRecovery::kMean, SparkKeyQuant::kQ4, KvDtype::kF16, 0.0},
    {0.5, SparkVariant::kGroup, SparkRecovery::kMean, SparkKeyQuant::kF16, KvDtype::kF16, 0.0},
    {0.5, SparkVariant::kTopP, SparkRecovery::kMean, SparkKeyQuant::kQ4, KvDtype::kQ4_0, 0.0},
    {0.5, SparkVariant::kGroup, SparkRecovery::kConstant, SparkKeyQuant::kQ8, KvDtype::kF16, 0.0},
    {0.5, SparkVariant::kFixed, SparkRecovery::kMean, SparkKeyQuant::kF16, KvDtype::kF16, 0.5},
    // Beyond the paper: no stored r_t (absmean), no stored signs (chmean), per-token bounded
    // scales (bounded, token, scaled), on every kept-value form.
    {0.5, SparkVariant::kFixed, SparkRecovery::kAbsMean, SparkKeyQuant::kF16, KvDtype::kF16, 0.0},
    {0.8, SparkVariant::kFixed, SparkRecovery::kAbsMeanPruned, SparkKeyQuant::kQ8, KvDtype::kF16,
     0.0},
    {0.8, SparkVariant::kFixed, SparkRecovery::kChannelMean, SparkKeyQuant::kF16, KvDtype::kF16,
     0.0},
    {0.5, SparkVariant::kTopP, SparkRecovery::kChannelMean, SparkKeyQuant::kQ4, KvDtype::kF16, 0.0},
    {0.5, SparkVariant::kFixed, SparkRecovery::kBounded, SparkKeyQuant::kF16, KvDtype::kF16, 0.0},
    {0.8, SparkVariant::kFixed, SparkRecovery::kToken, SparkKeyQuant::kQ4, KvDtype::kQ8_0, 0.0},
    {0.5, SparkVariant::kGroup, SparkRecovery::kScaled, SparkKeyQuant::kF16, KvDtype::kF16, 0.0},
    {0.5, SparkVariant::kFixed, SparkRecovery::kAbsMedian, SparkKeyQuant::kF16, KvDtype::kF16, 0.5},
};

constexpr int64_t kTokens = 203;

// One KV head of T compressed tokens (keys with a few heavy channels, as real keys have).
std::unique_ptr<SparkLayerCache> build(const Case& c, int D, uint32_t seed) {
  DenseLayerCache src(1, D, 1, KvDtype::kF32);
  auto k = randn(kTokens * D, seed), v = randn(kTokens * D, seed + 1);
  for (int64_t t = 0; t < kTokens; ++t) k[t * D + 3] *= 6.0f;
  src.append(k.data(), v.data(), static_cast<int>(kTokens));
  auto norms = randn(D, seed + 2);
  for (auto& x : norms) x = std::abs(x) + 0.1f;
  SparkOptions o;
  o.ratio = c.ratio;
  o.variant = c.variant;
  o.p = 0.9;
  o.recovery = c.recovery;
  o.value_ratio = c.value_ratio;
  SparkStorage st;
  st.kq = c.kq;
  st.v_type = c.v_type;
  return spark_compress(src, TokenSelection::all(1, kTokens).kept, norms.data(), 0, o, st);
}

using Kernel = void (*)(const float*, int, const SparkView&, int64_t, int64_t, float*, float*,
                        float*);

// Runs `kernel` and the scalar twin over [t0, t1) from the same state (tokens [0, t0) folded in
// by the reference, so the rescale of o and l is exercised); returns max |diff| of m and output.
float max_diff_vs_ref(Kernel kernel, const SparkView& v, int g, int64_t t0, int64_t t1,
                      uint32_t seed) {
  const int D = v.D;
  auto q = randn(g * D, seed, 0.3f);
  std::vector<float> m1(g), l1(g), o1(g * D);
  attn_state_init(g, D, m1.data(), l1.data(), o1.data());
  attn_spark_update_ref(q.data(), g, v, 0, t0, m1.data(), l1.data(), o1.data());
  std::vector<float> m2 = m1, l2 = l1, o2 = o1;
  attn_spark_update_ref(q.data(), g, v, t0, t1, m1.data(), l1.data(), o1.data());
  kernel(q.data(), g, v, t0, t1, m2.data(), l2.data(), o2.data());
  return test::max_state_diff(g, D, m1, l1, o1, m2, l2, o2);
}

void check_kernel(Kernel kernel, std::initializer_list<int> groups) {
  const std::pair<int64_t, int64_t> ranges[] = {
      {0, kTokens}, {37, 38}, {5, 75}, {0, 17}, {64, 64 + 63}};
  uint32_t seed = 1;
  for (int D : {64, 128})
    for (const Case& c : kCases) {
      const auto cache = build(c, D, 100 + D);
      const SparkView v = cache->view(0);
      for (int g : groups)
        for (auto [t0, t1] : ranges)
          ASSERT_LT(max_diff_vs_ref(kernel, v, g, t0, t1, seed++), 1e-5f)
              << name(c, D) << " g=" << g << " tokens [" << t0 << ", " << t1 << ")";
    }
}

TEST(SparkKernel, Avx2MatchesReference) {
  if (!cpu_features().has_avx2_set()) GTEST_SKIP() << "no AVX2";
  check_kernel(&attn_spark_update_avx2, {1, 2, 3, 4, 5, 6, 7, 8});
}

TEST(SparkKernel, Avx512MatchesReference) {
  if (!cpu_features().has_avx512_set()) GTEST_SKIP() << "no AVX-512 (F/BW/VL/DQ)";
  check_kernel(&attn_spark_update_avx512, {1, 2, 3, 4, 5, 6, 7, 8, 12});
}

// The whole cache (packed segment + dense tail, split across threads) gives the same answer at
// every dispatch level (limit_simd_level).
TEST(SparkKernel, DispatchLevelsAgree) {
  const int D = 128, g = 4;
  for (const Case& c : {kCases[0], kCases[5]}) {
    DenseLayerCache src(2, D, g, KvDtype::kF32);
    const int64_t T = 1500;
    auto k = randn(T * 2 * D, 41), v = randn(T * 2 * D, 42);
    src.append(k.data(), v.data(), static_cast<int>(T));
    auto norms = randn(2 * D, 43);
    for (auto& x : norms) x = std::abs(x) + 0.1f;
    SparkOptions o;
    o.ratio = c.ratio;
    SparkStorage st;
    st.kq = c.kq;
    auto cache_p = spark_compress(src, TokenSelection::all(2, T).kept, norms.data(), 0, o, st);
    SparkLayerCache& cache = *cache_p;
    auto kt = randn(3 * 2 * D, 44), vt = randn(3 * 2 * D, 45);
    cache.append(kt.data(), vt.data(), 3);
    auto q = randn(2 * g * D, 46, 0.5f);
    std::vector<float> ref(2 * g * D), out(2 * g * D);
    {
      test::SimdCap cap(SimdLevel::kScalar);
      cache.attend(q.data(), 1, ref.data());
    }
    for (SimdLevel level : {SimdLevel::kAvx2, SimdLevel::kAvx512}) {
      test::SimdCap cap(level);
      cache.attend(q.data(), 1, out.data());
      for (int i = 0; i < 2 * g * D; ++i)
        ASSERT_NEAR(out[i], ref[i], 1e-5f) << name(c, D) << " level " << static_cast<int>(level);
    }
  }
}

}  // namespace
}  // namespace sparkv

// SparK's recoveries beyond the paper (issue 23): the keys the cache presents to attention
// against the independent numpy reference (tests/golden/spark_recovery_ref.py), the bounds every
// recovery but the paper's mean keeps on adversarial inputs (all-zero query channels, denormal
// norms, f16 / bf16 caches), the bytes each one stores, and short prompts.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "attn_test_util.h"
#include "core/fp16.h"
#include "kv/dense_cache.h"
#include "kv/spark_cache.h"
#include "press/press.h"
#include "press/spark_plan.h"
#include "press/spark_select.h"

namespace sparkv {
namespace {

using test::randn;

SparkRecovery parse(const std::string& name) {
  SparkRecovery r{};
  EXPECT_TRUE(spark_recovery_parse(name, &r)) << name;
  return r;
}

// One KV head: every token of src packed with λ = ratio and recovery r, channel norms n.
std::unique_ptr<SparkLayerCache> pack(const DenseLayerCache& src, const std::vector<float>& n,
                                      double ratio, SparkRecovery r, double floor = 0.01) {
  SparkOptions o;
  o.ratio = ratio;
  o.recovery = r;
  o.floor = floor;
  return spark_compress(src, TokenSelection::all(1, src.n_tokens(0)).kept, n.data(), 0, o);
}

TEST(SparkRecovery, NamesRoundTrip) {
  for (const auto& n : spark_recovery_names()) EXPECT_EQ(spark_recovery_name(parse(n)), n);
  SparkRecovery r{};
  EXPECT_FALSE(spark_recovery_parse("median", &r));
}

TEST(SparkRecovery, CacheMatchesNumpyReference) {
  std::ifstream in(std::string(SPARKV_SOURCE_DIR) + "/tests/golden/spark/recoveries.json");
  const auto j = nlohmann::json::parse(in);
  int checked = 0;
  for (const auto& c : j["cases"]) {
    const int D = c["D"];
    const auto K = c["k"];
    const int T = static_cast<int>(K.size());
    std::vector<float> k, v(static_cast<size_t>(T) * D, 0.5f), n;
    for (const auto& row : K)
      for (const auto& x : row) k.push_back(x.get<float>());
    for (const auto& x : c["n"]) n.push_back(x.get<float>());
    DenseLayerCache src(1, D, 1, KvDtype::kF32);
    src.append(k.data(), v.data(), T);
    for (const auto& sel : c["selections"]) {
      for (const auto& [rec, rows] : sel["khat_pruned"].items()) {
        const auto cache = pack(src, n, sel["lambda"], parse(rec), j["floor"]);
        const SparkView view = cache->view(0);
        std::vector<float> kh(D);
        for (int t = 0; t < T; ++t) {
          spark_reconstruct_key(view, t, kh.data());
          const auto kept = sel["kept"][t].get<std::vector<int>>();
          const auto& want = rows[t];
          size_t ik = 0, ip = 0;
          for (int d = 0; d < D; ++d) {
            const bool is_kept = ik < kept.size() && kept[ik] == d;
            // Kept values are stored as f16; r_t as f16 (rounded toward zero where bounded).
            const double ref = is_kept ? k[t * D + d] : want[ip].get<double>();
            ASSERT_NEAR(kh[d], ref, 1.5e-3 * std::abs(ref) + 1e-6)
                << c["name"] << " λ=" << sel["lambda"] << " " << rec << " token " << t
                << " channel " << d << (is_kept ? " (kept)" : " (pruned)");
            is_kept ? ++ik : ++ip;
          }
          ASSERT_EQ(ip, want.size());
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 500);
}

// Largest |k| of the head as the cache holds it (after the dense cache's element type).
float head_kmax(const DenseLayerCache& src, int64_t T, int D) {
  std::vector<float> k(static_cast<size_t>(T) * D), v(k.size());
  src.read(0, 0, T, k.data(), v.data());
  float m = 0.0f;
  for (float x : k) m = std::max(m, std::abs(x));
  return m;
}

// No recovery but the paper's mean produces inf / NaN or a recovered entry larger than the
// largest |k| of the head's cache — on norms at the ε guard, denormal norms, huge keys on
// channels the window never reads, f16 and bf16 caches.
TEST(SparkRecovery, BoundedOnAdversarialInputs) {
  const int D = 64;
  const int64_t T = 150;
  for (KvDtype kt : {KvDtype::kF32, KvDtype::kF16, KvDtype::kBF16})
    for (int inputs = 0; inputs < 3; ++inputs) {
      auto k = randn(T * D, 7 + inputs), v = randn(T * D, 8);
      std::vector<float> n(D);
      for (int d = 0; d < D; ++d) {
        // 0: half the channels unread (ε); 1: denormal norms; 2: unread channels carry the
        // largest keys (what the paper's mean blows up most).
        n[d] = inputs == 1 ? std::numeric_limits<float>::denorm_min() * (d + 1)
               : d % 2     ? kSparkNormEps
                           : 1.0f + d;
        if (inputs == 2 && d % 2)
          for (int64_t t = 0; t < T; ++t) k[t * D + d] *= 1000.0f;
      }
      for (int d = 0; d < D; ++d) k[5 * D + d] = 0.0f;   // an all-zero token
      for (auto& x : n) x = std::max(x, kSparkNormEps);  // as spark_channel_norms guards them
      DenseLayerCache src(1, D, 1, KvTypes{kt, KvDtype::kF16});
      src.append(k.data(), v.data(), static_cast<int>(T));
      const float kmax = head_kmax(src, T, D);
      for (const auto& name : spark_recovery_names()) {
        const SparkRecovery r = parse(name);
        if (r == SparkRecovery::kMean || r == SparkRecovery::kNormal ||
            r == SparkRecovery::kExponential || r == SparkRecovery::kConstant)
          continue;  // the paper's (unbounded) and its ablations
        for (double ratio : {0.5, 0.8, 0.95}) {
          const auto cache = pack(src, n, ratio, r);
          const SparkView view = cache->view(0);
          std::vector<float> kh(D);
          for (int64_t t = 0; t < T; ++t) {
            spark_reconstruct_key(view, t, kh.data());
            for (int d = 0; d < D; ++d) {
              if (view.kmask[t * (D / 8) + d / 8] >> (d % 8) & 1) continue;
              ASSERT_TRUE(std::isfinite(kh[d])) << name << " " << kv_dtype_name(kt);
              ASSERT_LE(std::abs(kh[d]), kmax * (1.0f + 1e-6f))
                  << name << " λ=" << ratio << " " << kv_dtype_name(kt) << " inputs " << inputs
                  << " token " << t << " channel " << d;
            }
          }
        }
      }
    }
}

// The byte formula: the key-statistic recoveries store no r_t; chmean and zero no signs.
TEST(SparkRecovery, BytesFollowWhatEachModeStores) {
  const int D = 128;
  const int64_t T = 400;
  auto k = randn(T * D, 3), v = randn(T * D, 4);
  std::vector<float> n(D, 1.0f);
  DenseLayerCache src(1, D, 1, KvDtype::kF16);
  src.append(k.data(), v.data(), static_cast<int>(T));
  auto bytes = [&](SparkRecovery r) { return static_cast<int64_t>(pack(src, n, 0.5, r)->bytes()); };
  const int64_t mean = bytes(SparkRecovery::kMean);
  EXPECT_EQ(mean - bytes(SparkRecovery::kAbsMean), 2 * T);  // r_t
  EXPECT_EQ(mean - bytes(SparkRecovery::kAbsMedian), 2 * T);
  EXPECT_EQ(mean - bytes(SparkRecovery::kChannelMean), 2 * T + T * D / 8);  // r_t + signs
  EXPECT_EQ(mean - bytes(SparkRecovery::kZero), 2 * T + T * D / 8);
  EXPECT_EQ(mean, bytes(SparkRecovery::kBounded));
  EXPECT_EQ(mean, bytes(SparkRecovery::kScaled));
}

}  // namespace
}  // namespace sparkv

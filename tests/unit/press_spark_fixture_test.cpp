// SparK selection against the independent numpy reference (tests/golden/spark_ref.py): the spec's
// worked vector, and index-for-index kept channels, μ and k̂ for fixed / g / p variants, zero
// channel norms, exact ties and value pruning.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "press/spark_select.h"

namespace sparkv {
namespace {

nlohmann::json load(const std::string& name) {
  std::ifstream in(std::string(SPARKV_SOURCE_DIR) + "/tests/golden/spark/" + name);
  return nlohmann::json::parse(in);
}

std::vector<int> kept_list(const std::vector<uint8_t>& mask, int D) {
  std::vector<int> out;
  for (int j = 0; j < D; ++j)
    if (mask[j / 8] >> (j % 8) & 1) out.push_back(j);
  return out;
}

// Window queries [w, n_head = g, D] (one KV head) from the fixture's q [g][w][D].
std::vector<float> window_q(const nlohmann::json& q, int g, int w, int D) {
  std::vector<float> out(static_cast<size_t>(w) * g * D);
  for (int h = 0; h < g; ++h)
    for (int s = 0; s < w; ++s)
      for (int d = 0; d < D; ++d) out[(static_cast<size_t>(s) * g + h) * D + d] = q[h][s][d].get<float>();
  return out;
}

TEST(SparkFixture, WorkedVector) {
  const auto j = load("worked_vector.json");
  const int D = j["D"], g = j["g"], w = j["w"];
  // D = 8: one mask byte.
  const auto wq = window_q(j["q"], g, w, D);
  std::vector<float> n(D);
  spark_channel_norms(wq.data(), w, g, D, 0, g, n.data());
  for (int d = 0; d < D; ++d) EXPECT_NEAR(n[d], j["n"][d].get<double>(), 1e-6);
  const auto k = j["k"].get<std::vector<float>>();
  SparkOptions o;
  o.ratio = j["lambda"];
  std::vector<uint8_t> mask(1);
  float mu = 0;
  EXPECT_EQ(spark_select_token(k.data(), n.data(), D, o, mask.data(), &mu), 4);
  EXPECT_EQ(kept_list(mask, D), j["kept"].get<std::vector<int>>());
  EXPECT_NEAR(mu, j["mu"].get<double>(), 1e-6);
  // k̂ and the three dot products of spec §4.3.
  const auto qd = j["q_decode"].get<std::vector<double>>();
  double full = 0, zero = 0, spark = 0;
  for (int d = 0; d < D; ++d) {
    const bool keep = mask[0] >> d & 1;
    const double kh = keep ? k[d] : (k[d] > 0 ? 1 : -1) * std::sqrt(mu / n[d]);
    EXPECT_NEAR(kh, j["khat"]["mean"][d].get<double>(), 1e-6);
    full += qd[d] * k[d];
    zero += keep ? qd[d] * k[d] : 0.0;
    spark += qd[d] * kh;
  }
  EXPECT_NEAR(full, 1.39, 1e-6);
  EXPECT_NEAR(zero, 1.17, 1e-6);
  EXPECT_NEAR(spark, 1.2687, 5e-5);
}

TEST(SparkFixture, SelectionMatchesNumpyReferenceIndexForIndex) {
  const auto j = load("cases.json");
  int checked = 0;
  for (const auto& c : j["cases"]) {
    const int D = c["D"], g = c["g"], w = c["w"];
    const auto wq = window_q(c["q"], g, w, D);
    std::vector<float> n(D);
    spark_channel_norms(wq.data(), w, g, D, 0, g, n.data());
    for (int d = 0; d < D; ++d)
      ASSERT_NEAR(n[d], c["n"][d].get<double>(), 1e-5 * std::max(1.0, c["n"][d].get<double>()))
          << c["name"];
    const auto& K = c["k"];
    const int T = static_cast<int>(K.size());
    for (const auto& sel : c["selections"]) {
      SparkOptions o;
      const std::string var = sel["variant"];
      if (var == "fixed") o.ratio = sel["lambda"];
      if (var == "g") o.variant = SparkVariant::kGroup;
      if (var == "p") {
        o.variant = SparkVariant::kTopP;
        o.p = sel["p"];
      }
      for (int t = 0; t < T; ++t) {
        const auto k = K[t].get<std::vector<float>>();
        std::vector<uint8_t> mask(D / 8);
        float mu = 0;
        const int cnt = spark_select_token(k.data(), n.data(), D, o, mask.data(), &mu);
        const auto want = sel["kept"][t].get<std::vector<int>>();
        ASSERT_EQ(kept_list(mask, D), want) << c["name"] << " " << var << " token " << t;
        ASSERT_EQ(cnt, static_cast<int>(want.size()));
        const double mu_ref = sel["mu"][t];
        ASSERT_NEAR(mu, mu_ref, 1e-5 * std::max(1e-3, mu_ref)) << c["name"] << " token " << t;
        // Recovered entries of the pruned channels (mean recovery).
        const auto& kp = sel["khat_pruned"]["mean"][t];
        int i = 0;
        for (int d = 0; d < D; ++d) {
          if (mask[d / 8] >> (d % 8) & 1) continue;
          const double kh = (k[d] > 0 ? 1 : -1) * std::sqrt(static_cast<double>(mu) / n[d]);
          ASSERT_NEAR(kh, kp[i].get<double>(), 1e-4 * std::max(1.0, std::abs(kp[i].get<double>())));
          ++i;
        }
        ++checked;
      }
    }
    if (c.contains("value_pruning")) {
      const auto& vp = c["value_pruning"];
      std::vector<float> v;
      for (const auto& row : c["v"])
        for (const auto& x : row) v.push_back(x.get<float>());
      std::vector<uint8_t> masks(static_cast<size_t>(T) * D / 8);
      std::vector<float> fill(T);
      spark_select_values(v.data(), T, D, vp["lambda_v"], masks.data(), fill.data());
      for (int t = 0; t < T; ++t) {
        std::vector<uint8_t> m(masks.begin() + t * D / 8, masks.begin() + (t + 1) * D / 8);
        ASSERT_EQ(kept_list(m, D), vp["kept"][t].get<std::vector<int>>()) << "value token " << t;
        ASSERT_NEAR(fill[t], vp["fill"][t].get<double>(), 1e-5);
      }
    }
  }
  EXPECT_GT(checked, 500);
}

}  // namespace
}  // namespace sparkv

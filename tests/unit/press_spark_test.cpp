// SparK: attention over the packed cache against dense attention over keys reconstructed
// independently from the selection rule, the recovery identity, λ = 0 == dense, byte accounting,
// and bad recipes.
#include <gtest/gtest.h>

#include "attn_test_util.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/fp16.h"
#include "kv/spark_cache.h"
#include "press/press_spec.h"
#include "press/spark_plan.h"
#include "press/spark_select.h"

namespace sparkv {
namespace {

using test::naive_attention;
using test::randn;

float h16(float x) {
  return fp16_to_f32(f32_to_fp16(x));
}

struct SparkFixtureData {
  int n_kv, g, D;
  int64_t T;
  std::vector<float> k, v, wq;  // k, v: [T, n_kv, D]; wq: [w, n_head, D]
  int w = 8;
  DenseLayerCache cache;
  SparkFixtureData(int n_kv_, int g_, int D_, int64_t T_, uint32_t seed)
      : n_kv(n_kv_), g(g_), D(D_), T(T_), cache(n_kv_, D_, g_, KvDtype::kF32) {
    k = randn(T * n_kv * D, seed);
    v = randn(T * n_kv * D, seed + 1);
    // A few heavy channels, as real keys have.
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

// k̂ written out from the method's definition (spec §3.3 / §4.1), independent of the storage.
std::vector<float> expected_khat(const float* k, const float* n, int D, const SparkOptions& o) {
  std::vector<uint8_t> mask(D / 8);
  float mu = 0;
  spark_select_token(k, n, D, o, mask.data(), &mu);
  std::vector<float> out(D);
  for (int j = 0; j < D; ++j) {
    if (mask[j / 8] >> (j % 8) & 1) {
      out[j] = h16(k[j]);
      continue;
    }
    const float sign = k[j] > 0 ? 1.0f : -1.0f;
    switch (o.recovery) {
      case SparkRecovery::kMean:
        out[j] = sign * h16(std::sqrt(mu)) / std::sqrt(n[j]);
        break;
      case SparkRecovery::kZero:
        out[j] = 0.0f;
        break;
      case SparkRecovery::kConstant:
        out[j] = sign * h16(o.constant);
        break;
      default:
        ADD_FAILURE() << "sampled recoveries are checked separately";
    }
  }
  return out;
}

void check_against_reconstruction(int D, int g, const SparkOptions& o, int64_t T, int n_tail) {
  const int n_kv = 2, H = n_kv * g;
  SparkFixtureData s(n_kv, g, D, T, 100 + D + g);
  const auto norms = s.norms();
  // Keep every other token, as an eviction press would.
  TokenSelection sel;
  sel.kept.resize(n_kv);
  for (int h = 0; h < n_kv; ++h)
    for (int64_t t = h % 2; t < T; t += 2) sel.kept[h].push_back(static_cast<int32_t>(t));
  auto cache_p = spark_compress(s.cache, sel.kept, norms.data(), 0, o);
  SparkLayerCache& cache = *cache_p;
  // Decode-phase tokens go to the dense tail.
  auto kt = randn(static_cast<size_t>(n_tail) * n_kv * D, 7),
       vt = randn(static_cast<size_t>(n_tail) * n_kv * D, 8);
  if (n_tail) cache.append(kt.data(), vt.data(), n_tail);
  // 11 queries: several stacked blocks of attend_split (8 / g queries each) and a partial one.
  const int n_q = 11;
  auto q = randn(static_cast<size_t>(n_q) * H * D, 9, 0.5f);
  std::vector<float> out(static_cast<size_t>(n_q) * H * D);
  cache.attend(q.data(), n_q, out.data());

  for (int h = 0; h < n_kv; ++h) {
    std::vector<std::vector<float>> keys, vals;
    const size_t n_dense = std::min<size_t>(o.recent, sel.kept[h].size());
    for (size_t i = 0; i < sel.kept[h].size(); ++i) {
      const int32_t t = sel.kept[h][i];
      const float* k = s.k.data() + (static_cast<size_t>(t) * n_kv + h) * D;
      const float* v = s.v.data() + (static_cast<size_t>(t) * n_kv + h) * D;
      if (i + n_dense >= sel.kept[h].size()) {  // recent=: the last kept tokens stay dense
        std::vector<float> kr(D);
        for (int d = 0; d < D; ++d) kr[d] = h16(k[d]);
        keys.push_back(kr);
      } else {
        keys.push_back(expected_khat(k, norms.data() + h * D, D, o));
      }
      std::vector<float> vr(D);
      for (int d = 0; d < D; ++d) vr[d] = h16(v[d]);
      vals.push_back(vr);
    }
    for (int i = 0; i < n_tail; ++i) {
      std::vector<float> kr(D), vr(D);
      for (int d = 0; d < D; ++d) {
        kr[d] = h16(kt[(static_cast<size_t>(i) * n_kv + h) * D + d]);
        vr[d] = h16(vt[(static_cast<size_t>(i) * n_kv + h) * D + d]);
      }
      keys.push_back(kr);
      vals.push_back(vr);
    }
    for (int i = 0; i < n_q; ++i) {
      // Query i of the last n_q appended tokens sees all but the last n_q-1-i.
      const size_t visible = keys.size() - (n_q - 1 - i);
      std::vector<std::vector<float>> kv(keys.begin(), keys.begin() + visible);
      std::vector<std::vector<float>> vv(vals.begin(), vals.begin() + visible);
      for (int j = 0; j < g; ++j) {
        const int qh = h * g + j;
        const auto ref =
            naive_attention(q.data() + (static_cast<size_t>(i) * H + qh) * D, kv, vv, D);
        double num = 0, den = 0;
        for (int d = 0; d < D; ++d) {
          const double diff = out[(static_cast<size_t>(i) * H + qh) * D + d] - ref[d];
          num += diff * diff;
          den += ref[d] * ref[d];
        }
        ASSERT_LE(std::sqrt(num / den), 1e-5)
            << "D=" << D << " g=" << g << " λ=" << o.ratio << " " << spark_recovery_name(o.recovery)
            << " " << spark_variant_name(o.variant) << " query " << i << " head " << qh;
      }
    }
  }
}

TEST(SparkAttention, EqualsDenseAttentionOverReconstructedKeys) {
  for (int D : {64, 128})
    for (int g : {1, 2, 4, 8})
      for (double ratio : {0.25, 0.5, 0.8})
        for (SparkRecovery rec :
             {SparkRecovery::kMean, SparkRecovery::kZero, SparkRecovery::kConstant}) {
          SparkOptions o;
          o.ratio = ratio;
          o.recovery = rec;
          check_against_reconstruction(D, g, o, 300, 0);
        }
}

TEST(SparkAttention, VariantsAndDenseTail) {
  for (SparkVariant var : {SparkVariant::kGroup, SparkVariant::kTopP})
    for (int g : {1, 2, 4, 8}) {
      SparkOptions o;
      o.variant = var;
      o.p = 0.9;
      check_against_reconstruction(64, g, o, 256, 0);
      check_against_reconstruction(128, g, o, 130, 5);
    }
  SparkOptions o;
  o.ratio = 0.8;
  check_against_reconstruction(64, 2, o, 1500, 40);  // long enough for the split-KV path
}

// A SparK cache over all 200 tokens of the shared 2-head, D=64 fixture (seed 5).
std::unique_ptr<SparkLayerCache> spark_over_all_tokens(const SparkOptions& o) {
  SparkFixtureData s(2, 2, 64, 200, 5);
  const auto norms = s.norms();
  auto c = spark_compress(s.cache, TokenSelection::all(2, 200).kept, norms.data(), 0, o);
  return c;
}

TEST(SparkAttention, RecentTokensStayDense) {
  for (int recent : {1, 17, 64, 1000}) {  // 1000 > the 150 kept tokens: everything dense
    SparkOptions o;
    o.ratio = 0.8;
    o.recent = recent;
    check_against_reconstruction(64, 2, o, 300, 3);
  }
  // The dense tokens are paid for at the tail's dense rate.
  SparkOptions o;
  o.ratio = 0.8;
  const auto a = spark_over_all_tokens(o);
  o.recent = 40;
  const auto b = spark_over_all_tokens(o);
  EXPECT_EQ(b->n_tokens(0), 200);
  EXPECT_EQ(b->tail().n_tokens(0), 40);
  EXPECT_GT(b->bytes(), a->bytes());
  EXPECT_EQ(parse_press_spec("spark:ratio=0.8,recent=64").spec(),
            "spark:ratio=0.8,window=32,recovery=scaled,variant=fixed,recent=64");
}

TEST(SparkAttention, RatioZeroEqualsDenseF16Cache) {
  SparkFixtureData s(2, 2, 64, 200, 5);
  const auto norms = s.norms();
  SparkOptions o;
  o.ratio = 0.0;
  auto sp_p = spark_compress(s.cache, TokenSelection::all(2, 200).kept, norms.data(), 0, o);
  SparkLayerCache& sp = *sp_p;
  DenseLayerCache dense(2, 64, 2, KvDtype::kF16);
  dense.append(s.k.data(), s.v.data(), 200);
  auto q = randn(4 * 64, 3, 0.5f);
  std::vector<float> a(4 * 64), b(4 * 64);
  sp.attend(q.data(), 1, a.data());
  dense.attend(q.data(), 1, b.data());
  for (int i = 0; i < 4 * 64; ++i) EXPECT_NEAR(a[i], b[i], 1e-5f);
}

TEST(SparkSelect, RecoveryIdentityPerToken) {
  SparkFixtureData s(1, 2, 128, 64, 11);
  const auto n = s.norms();
  for (double ratio : {0.25, 0.5, 0.8}) {
    SparkOptions o;
    o.ratio = ratio;
    for (int64_t t = 0; t < s.T; ++t) {
      const float* k = s.k.data() + t * 128;
      std::vector<uint8_t> mask(16);
      float mu = 0;
      const int kept = spark_select_token(k, n.data(), 128, o, mask.data(), &mu);
      ASSERT_EQ(kept, spark_fixed_keep(128, ratio));
      double before = 0, after = 0;
      for (int j = 0; j < 128; ++j) {
        if (mask[j / 8] >> (j % 8) & 1) continue;
        before += static_cast<double>(k[j]) * k[j] * n[j];
        const double kh = std::sqrt(static_cast<double>(mu) / n[j]);  // |k̂| from μ (f32)
        after += kh * kh * n[j];
      }
      ASSERT_NEAR(after, before, 1e-5 * before) << "token " << t;
    }
  }
}

// The fixed variant's kept set is the first keep channels of the total order (score desc, index
// asc), whatever the selection algorithm: checked against a full sort on keys with many ties
// (values from a small set), all-equal keys, zeros, and every head size the kernels take.
TEST(SparkSelect, FixedSelectionEqualsTheTotalOrder) {
  std::mt19937 rng(21);
  for (int D : {16, 64, 96, 128, 256}) {
    std::vector<float> n(D, 1.0f);
    for (int trial = 0; trial < 300; ++trial) {
      std::vector<float> k(D);
      const int mode = trial % 3;
      for (int j = 0; j < D; ++j)
        k[j] = mode == 0   ? std::normal_distribution<float>(0.0f, 1.0f)(rng)
               : mode == 1 ? static_cast<float>(static_cast<int>(rng() % 4)) - 1.5f  // ties
                           : (trial % 2 ? 0.0f : 0.5f);                              // all equal
      if (mode == 0) n[rng() % D] = 2.0f;
      for (double ratio : {0.1, 0.5, 0.8, 0.97}) {
        SparkOptions o;
        o.ratio = ratio;
        std::vector<uint8_t> mask(D / 8);
        float mu = 0;
        const int keep = spark_select_token(k.data(), n.data(), D, o, mask.data(), &mu);
        std::vector<int> order(D);
        std::vector<double> sc(D);
        for (int j = 0; j < D; ++j) order[j] = j, sc[j] = static_cast<double>(k[j]) * k[j] * n[j];
        std::sort(order.begin(), order.end(),
                  [&](int a, int b) { return sc[a] > sc[b] || (sc[a] == sc[b] && a < b); });
        std::vector<uint8_t> want(D / 8, 0);
        double pruned = 0;
        for (int i = 0; i < D; ++i) {
          if (i < keep)
            want[order[i] / 8] |= static_cast<uint8_t>(1u << (order[i] % 8));
          else
            pruned += sc[order[i]];
        }
        ASSERT_EQ(mask, want) << "D=" << D << " trial " << trial << " ratio " << ratio;
        ASSERT_FLOAT_EQ(mu, keep < D ? static_cast<float>(pruned / (D - keep)) : 0.0f);
      }
    }
  }
}

TEST(SparkSelect, FixedKeepCounts) {
  EXPECT_EQ(spark_fixed_keep(128, 0.5), 64);
  EXPECT_EQ(spark_fixed_keep(128, 0.8), 26);
  EXPECT_EQ(spark_fixed_keep(64, 0.8), 13);
  EXPECT_EQ(spark_fixed_keep(64, 0.0), 64);
}

TEST(SparkStorage, BytesMatchTheAnalyticFormula) {
  for (int D : {64, 128})
    for (double ratio : {0.5, 0.8}) {
      const int n_kv = 2;
      const int64_t T = 1000;
      SparkFixtureData s(n_kv, 2, D, T, 21);
      const auto norms = s.norms();
      SparkOptions o;
      o.ratio = ratio;
      auto cache_p = spark_compress(s.cache, TokenSelection::all(n_kv, T).kept, norms.data(), 0, o);
      SparkLayerCache& cache = *cache_p;
      const int keep = spark_fixed_keep(D, ratio);
      // docs/spark-storage.md: per token-head 2T + D/8 + D/8 + 2 (keys) + 2D (values);
      // per head 4D (weights) + 16 (stream padding).
      const double per_token = 2.0 * keep + D / 8 + D / 8 + 2 + 2.0 * D;
      const double analytic = n_kv * (T * per_token + 4.0 * D + 16);
      EXPECT_NEAR(static_cast<double>(cache.bytes()), analytic, 0.01 * analytic)
          << "D=" << D << " λ=" << ratio;
      EXPECT_LT(cache.bytes(), static_cast<size_t>(n_kv * T * 4 * D));  // below dense f16
    }
}

TEST(SparkSpec, BadRecipesGiveClearErrors) {
  auto msg = [](const std::string& spec) {
    try {
      parse_press_spec(spec);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(msg("spark:ratio=1").find("out of range"), std::string::npos);
  EXPECT_NE(msg("spark:ratio=-0.1").find("out of range"), std::string::npos);
  EXPECT_NE(msg("spark").find("ratio"), std::string::npos);
  EXPECT_NE(msg("spark:ratio=0.5,recovery=gauss").find("unknown recovery 'gauss'"),
            std::string::npos);
  EXPECT_NE(msg("spark:ratio=0.5,variant=q").find("unknown variant"), std::string::npos);
  EXPECT_NE(msg("spark:ratio=0.5,foo=1").find("unknown key 'foo'"), std::string::npos);
  EXPECT_NE(msg("spark:ratio=abc").find("not a number"), std::string::npos);
  EXPECT_NE(msg("sprak:ratio=0.5").find("unknown method 'sprak'"), std::string::npos);
  EXPECT_NE(msg("spark:ratio=0.5+spark:ratio=0.5").find("must come last"), std::string::npos);
  // The defaults (issue 23): recovery=scaled with the observation window's tokens dense; the
  // paper's recovery is named explicitly.
  EXPECT_EQ(parse_press_spec("spark:ratio=0.8").spec(),
            "spark:ratio=0.8,window=32,recovery=scaled,variant=fixed,recent=32");
  EXPECT_EQ(parse_press_spec("spark:ratio=0.8,recovery=mean,recent=0").spec(),
            "spark:ratio=0.8,window=32,recovery=mean,variant=fixed,recent=0");
  EXPECT_EQ(parse_press_spec("spark:ratio=0.8,recovery=bounded,floor=0.1").spec(),
            "spark:ratio=0.8,window=32,recovery=bounded,variant=fixed,floor=0.1,recent=32");
  EXPECT_NE(msg("spark:ratio=0.8,floor=0.1").find("floor= applies only to recovery=bounded"),
            std::string::npos);
  EXPECT_NE(msg("spark:ratio=0.8,recovery=median").find("unknown recovery 'median'"),
            std::string::npos);
}

}  // namespace
}  // namespace sparkv

namespace sparkv {
namespace {

// decode_block=B (beyond the paper): decode-phase tokens are compressed in blocks of B with the
// prefill's channel norms; attention must equal attention over the keys reconstructed from that
// same rule, and the compressed count must grow by whole blocks.
TEST(SparkDecodeBlock, CompressesWholeBlocksOfTheTail) {
  const int n_kv = 2, g = 2, D = 64, H = n_kv * g;
  SparkFixtureData s(n_kv, g, D, 200, 31);
  const auto norms = s.norms();
  SparkOptions o;
  o.ratio = 0.5;
  o.decode_block = 16;
  auto cache_p = spark_compress(s.cache, TokenSelection::all(n_kv, 200).kept, norms.data(), 0, o);
  SparkLayerCache& cache = *cache_p;
  auto kt = randn(static_cast<size_t>(37) * n_kv * D, 41),
       vt = randn(static_cast<size_t>(37) * n_kv * D, 42);
  for (int i = 0; i < 37; ++i)  // one token at a time, as decoding appends
    cache.append(kt.data() + static_cast<size_t>(i) * n_kv * D,
                 vt.data() + static_cast<size_t>(i) * n_kv * D, 1);
  EXPECT_EQ(cache.n_compressed(0), 200 + 32);
  EXPECT_EQ(cache.tail().n_tokens(0), 5);
  EXPECT_EQ(cache.n_tokens(1), 237);
  auto q = randn(static_cast<size_t>(H) * D, 43, 0.5f);
  std::vector<float> out(static_cast<size_t>(H) * D);
  cache.attend(q.data(), 1, out.data());
  for (int h = 0; h < n_kv; ++h) {
    std::vector<std::vector<float>> keys, vals;
    auto add = [&](const float* k, const float* v, bool compressed) {
      if (compressed)
        keys.push_back(expected_khat(k, norms.data() + h * D, D, o));
      else {
        std::vector<float> kr(D);
        for (int d = 0; d < D; ++d) kr[d] = h16(k[d]);
        keys.push_back(kr);
      }
      std::vector<float> vr(D);
      for (int d = 0; d < D; ++d) vr[d] = h16(v[d]);
      vals.push_back(vr);
    };
    for (int t = 0; t < 200; ++t)
      add(s.k.data() + (static_cast<size_t>(t) * n_kv + h) * D,
          s.v.data() + (static_cast<size_t>(t) * n_kv + h) * D, true);
    for (int i = 0; i < 37; ++i)
      add(kt.data() + (static_cast<size_t>(i) * n_kv + h) * D,
          vt.data() + (static_cast<size_t>(i) * n_kv + h) * D, i < 32);
    for (int j = 0; j < g; ++j) {
      const auto ref = naive_attention(q.data() + (h * g + j) * D, keys, vals, D);
      for (int d = 0; d < D; ++d)
        ASSERT_NEAR(out[(h * g + j) * D + d], ref[d], 1e-5 * (1 + std::abs(ref[d])));
    }
  }
}

}  // namespace
}  // namespace sparkv

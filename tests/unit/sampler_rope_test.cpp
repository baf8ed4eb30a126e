#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "core/error.h"
#include "model/rope.h"
#include "sample/sampler.h"

namespace sparkv {
namespace {

TEST(Sampler, GreedyPicksArgmaxLowestIdOnTies) {
  Sampler s(SamplerParams{});
  std::vector<float> l = {0.1f, 2.0f, 2.0f, -1.0f};
  EXPECT_EQ(s.sample(l.data(), 4, {}), 1);
}

TEST(Sampler, SeedReproducibleAndTopK1IsGreedy) {
  std::vector<float> l(50);
  for (int i = 0; i < 50; ++i) l[i] = std::sin(i * 0.7f) * 3;
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 42;
  Sampler a(p), b(p);
  std::vector<int32_t> ra, rb;
  for (int i = 0; i < 100; ++i) {
    ra.push_back(a.sample(l.data(), 50, {}));
    rb.push_back(b.sample(l.data(), 50, {}));
  }
  EXPECT_EQ(ra, rb);
  EXPECT_GT(std::set<int32_t>(ra.begin(), ra.end()).size(), 5u);  // it really samples
  p.top_k = 1;
  Sampler c(p);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(c.sample(l.data(), 50, {}), argmax(l.data(), 50));
}

TEST(Sampler, RepetitionPenaltyDemotesSeenTokens) {
  SamplerParams p;
  p.repeat_penalty = 2.0f;
  Sampler s(p);
  std::vector<float> l = {1.0f, 1.5f, 0.2f};
  EXPECT_EQ(s.sample(l.data(), 3, {1}), 0);  // 1.5/2 < 1.0
}

TEST(Sampler, MinPAndTopPRestrictTheSupport) {
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.5f;
  std::vector<float> l = {5.0f, 4.9f, 0.0f, -3.0f};
  for (uint64_t seed = 0; seed < 50; ++seed) {
    p.seed = seed;
    Sampler s(p);
    EXPECT_LE(s.sample(l.data(), 4, {}), 1);
  }
}

TEST(Sampler, RejectsBadParams) {
  SamplerParams p;
  p.top_p = 0.0f;
  EXPECT_THROW(Sampler{p}, Error);
  p = {};
  p.repeat_penalty = -1;
  EXPECT_THROW(Sampler{p}, Error);
}

TEST(Rope, RotateHalfMatchesFormula) {
  ModelConfig c;
  c.head_dim = 8;
  c.rope_theta = 10000.0f;
  auto inv = rope_inv_freq(c, {});
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<float> y = x;
  rope_apply(y.data(), 1, 8, 3, inv.data());
  for (int i = 0; i < 4; ++i) {
    const double a = 3.0 * std::pow(10000.0, -2.0 * i / 8);
    EXPECT_NEAR(y[i], x[i] * std::cos(a) - x[i + 4] * std::sin(a), 1e-5);
    EXPECT_NEAR(y[i + 4], x[i + 4] * std::cos(a) + x[i] * std::sin(a), 1e-5);
  }
}

TEST(Rope, Llama3ScalingBands) {
  ModelConfig c;
  c.head_dim = 128;
  c.rope_theta = 500000.0f;
  c.rope_scaling = RopeScaling::kLlama3;
  c.rope_factor = 8;
  c.rope_low_freq_factor = 1;
  c.rope_high_freq_factor = 4;
  c.rope_orig_ctx = 8192;
  auto inv = rope_inv_freq(c, {});
  for (int i = 0; i < 64; ++i) {
    const double base = std::pow(500000.0, -2.0 * i / 128);
    const double wl = 2 * M_PI / base;
    double want;
    if (wl < 8192.0 / 4) want = base;                // high frequency: unchanged
    else if (wl > 8192.0) want = base / 8;           // low frequency: divided by the factor
    else {
      const double s = (8192.0 / wl - 1) / 3;
      want = (1 - s) * base / 8 + s * base;
    }
    EXPECT_NEAR(inv[i], want, want * 1e-6) << i;
  }
  // GGUF rope_freqs divisors reproduce the same frequencies.
  ModelConfig plain = c;
  plain.rope_scaling = RopeScaling::kNone;
  std::vector<float> div(64);
  for (int i = 0; i < 64; ++i) div[i] = static_cast<float>(std::pow(500000.0, -2.0 * i / 128) / inv[i]);
  auto inv2 = rope_inv_freq(plain, div);
  for (int i = 0; i < 64; ++i) EXPECT_NEAR(inv2[i], inv[i], inv[i] * 1e-6);
}

}  // namespace
}  // namespace sparkv

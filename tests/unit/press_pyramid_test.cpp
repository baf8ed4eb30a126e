// PyramidKV per-layer budgets vs the reference formulas (KVCache-Factory's integer schedule, the
// kvpress float schedule in ratio mode and the SparK fork's budget-mode fallback), evaluated by
// tests/golden/press_ref.py for a table of (L, B, w, beta, N) including the edge cases.
#include <gtest/gtest.h>

#include "press/eviction_snapkv.h"
#include "press_fixture_util.h"

namespace sparkv {
namespace {

TEST(PressPyramid, KvfScheduleMatchesReference) {
  const auto& j = test::press_fixture("pyramid_budgets");
  for (const auto& r : j["kvf"]) {
    const int N = r["N"];
    for (int l = 0; l < N; ++l)
      EXPECT_EQ(pyramidkv_kept_kvf(r["L"], r["B"], r["w"], r["beta"], N, l), r["kept"][l].get<int64_t>())
          << "L=" << r["L"] << " B=" << r["B"] << " w=" << r["w"] << " beta=" << r["beta"]
          << " N=" << N << " layer " << l;
  }
}

TEST(PressPyramid, KvpressRatioScheduleMatchesReference) {
  const auto& j = test::press_fixture("pyramid_budgets");
  for (const auto& r : j["kvpress"]) {
    const int N = r["N"];
    for (int l = 0; l < N; ++l)
      EXPECT_EQ(pyramidkv_kept_kvpress(r["L"], r["ratio"], r["w"], r["beta"], N, l),
                r["kept"][l].get<int64_t>())
          << "L=" << r["L"] << " ratio=" << r["ratio"] << " layer " << l;
  }
}

TEST(PressPyramid, ForkCompatScheduleMatchesReference) {
  const auto& j = test::press_fixture("pyramid_budgets");
  for (const auto& r : j["fork"]) {
    const int N = r["N"];
    for (int l = 0; l < N; ++l)
      EXPECT_EQ(pyramidkv_kept_fork(r["L"], r["B"], r["w"], r["beta"], N, l), r["kept"][l].get<int64_t>())
          << "L=" << r["L"] << " B=" << r["B"] << " layer " << l;
  }
}

TEST(PressPyramid, ScheduleShapes) {
  // L < B: no compression; B <= L < 2(B - w): uniform B in every layer.
  for (int l = 0; l < 32; ++l) {
    EXPECT_EQ(pyramidkv_kept_kvf(100, 128, 64, 20, 32, l), 100);
    EXPECT_EQ(pyramidkv_kept_kvf(120, 128, 64, 20, 32, l), 120);
    EXPECT_EQ(pyramidkv_kept_kvf(700, 512, 64, 20, 32, l), 512);
  }
  // A real pyramid: decreasing, first layer about (2 - 1/beta)(B - w) + w, average about B.
  int64_t sum = 0, prev = 1 << 30;
  for (int l = 0; l < 32; ++l) {
    const int64_t k = pyramidkv_kept_kvf(8000, 512, 64, 20, 32, l);
    EXPECT_LE(k, prev);
    prev = k;
    sum += k;
  }
  EXPECT_EQ(pyramidkv_kept_kvf(8000, 512, 64, 20, 32, 0), 2 * 448 - 448 / 20 + 64);
  EXPECT_NEAR(static_cast<double>(sum) / 32, 512.0, 10.0);
  // Hazard 1: the fork falls back to 90% of the prompt for B < 1344 (w = 64, beta = 20).
  EXPECT_EQ(pyramidkv_kept_fork(4000, 512, 64, 20, 32, 5), 3600);
  EXPECT_LT(pyramidkv_kept_fork(4000, 2048, 64, 20, 32, 31), 3600);
}

}  // namespace
}  // namespace sparkv

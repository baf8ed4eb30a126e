// ThinK: channel masks vs the numpy reference (alone and composed after eviction), attention over
// the packed storage vs dense attention over zero-filled keys, the scalar vs AVX2 kernels, and the
// byte accounting of the packed form.
#include <gtest/gtest.h>

#include "attn_test_util.h"

#include <cmath>
#include <random>

#include "attn/attn_state.h"
#include "attn/think_decode.h"
#include "core/cpu_features.h"
#include "core/fp16.h"
#include "kv/think_cache.h"
#include "press/press_spec.h"
#include "press/think_press.h"
#include "press_fixture_util.h"
#include "test_util.h"

namespace sparkv {
namespace {

using test::naive_attention;
using test::randn;

using test::PressCase;

TEST(PressThink, ChannelsMatchReference) {
  int checked = 0;
  for (const char* name :
       {"case_a", "case_b", "case_c", "case_d", "case_model_l0", "case_model_l3"}) {
    PressCase c(name);
    for (const auto& e : (*c.j)["entries"]) {
      if (!e.contains("channels")) continue;
      const std::string spec = e["spec"];
      const PressPipeline p = parse_press_spec(spec);
      const PressContext ctx = c.context(e["layer"], e["n_layer"], e["ctx_seed"]);
      auto built = p.apply(ctx);
      const auto* think = dynamic_cast<const ThinkLayerCache*>(built.get());
      ASSERT_NE(think, nullptr) << spec;
      const auto want = e["channels"].get<std::vector<std::vector<int32_t>>>();
      for (int h = 0; h < c.n_kv; ++h)
        EXPECT_EQ(think->channels(h), want[h]) << name << " " << spec << " head " << h;
      EXPECT_EQ(think->n_tokens(0), static_cast<int64_t>(e["kept"][0].size())) << spec;
      // The surviving tokens are the reference's, and their values are intact.
      const auto kept = test::kept_of(e);
      std::vector<float> kr(c.D), vr(c.D), kd(c.D), vd(c.D);
      for (int h = 0; h < c.n_kv; ++h)
        for (size_t j = 0; j < kept[h].size(); ++j) {
          think->read(h, static_cast<int64_t>(j), kr.data(), vr.data());
          c.cache->read(h, kept[h][j], 1, kd.data(), vd.data());
          EXPECT_EQ(vr, vd) << spec;
          for (int32_t ch : want[h]) EXPECT_EQ(kr[ch], kd[ch]) << spec;
        }
      ++checked;
    }
  }
  EXPECT_GE(checked, 18);
}

// Composition order: ThinK after SnapKV scores channels on the survivors only (with the window
// queries of the full prompt) — the same mask as ThinK on a cache that holds only those tokens,
// and, on the composition fixture, a different mask from ThinK on the full prompt.
TEST(PressThink, ComposedAfterEvictionScoresSurvivorsOnly) {
  PressCase c("case_d");
  const PressContext ctx = c.context();
  const PressPipeline snap = parse_press_spec("snapkv:budget=100");
  const TokenSelection sel = test::run_selection(snap, ctx);
  const auto composed = think_channels(ctx, sel, 0.5, 32);
  const auto alone = think_channels(ctx, TokenSelection::all(c.n_kv, c.T), 0.5, 32);
  EXPECT_NE(composed, alone);
  auto built = parse_press_spec("snapkv:budget=100+think:ratio=0.5").apply(ctx);
  const auto* think = dynamic_cast<const ThinkLayerCache*>(built.get());
  ASSERT_NE(think, nullptr);
  for (int h = 0; h < c.n_kv; ++h) EXPECT_EQ(think->channels(h), composed[h]);
  // Same as scoring a cache that only holds the survivors (gathered), with the same queries.
  auto gathered = gather_dense(*c.cache, sel);
  PressContext gctx = ctx;
  gctx.cache = gathered.get();
  // The gathered cache is shorter, so its "last window" positions differ, but ThinK's query term
  // only reads ctx.window_q: the masks agree.
  EXPECT_EQ(think_channels(gctx, TokenSelection::all(c.n_kv, 100), 0.5, 32), composed);
}

// Attention over packed storage equals dense attention over the same tokens with the pruned key
// channels zero-filled, for f32 and f16, with a recent tail, decode appends and a multi-query
// chunk.
TEST(PressThink, PackedAttentionEqualsZeroFilledDense) {
  for (KvDtype dtype : {KvDtype::kF32, KvDtype::kF16}) {
    for (int D : {64, 40}) {
      const int n_kv = 2, g = 3, T = 700, recent = 20, dk = D * 5 / 8;
      std::vector<std::vector<int32_t>> channels(n_kv);
      std::mt19937 rng(7 + D);
      for (int h = 0; h < n_kv; ++h) {
        std::vector<int32_t> all(D);
        for (int i = 0; i < D; ++i) all[i] = i;
        std::shuffle(all.begin(), all.end(), rng);
        all.resize(dk);
        std::sort(all.begin(), all.end());
        channels[h] = all;
      }
      const auto k = randn(static_cast<size_t>(T) * n_kv * D, 1),
                 v = randn(k.size(), 2);  // [T, n_kv, D]
      ThinkLayerCache think(n_kv, D, g, dtype, channels);
      DenseLayerCache dense(n_kv, D, g, dtype);
      const int n_pruned = T - recent;
      std::vector<float> kz = k;  // zero-filled pruned channels on the pruned tokens
      for (int t = 0; t < n_pruned; ++t)
        for (int h = 0; h < n_kv; ++h)
          for (int d = 0; d < D; ++d)
            if (!std::binary_search(channels[h].begin(), channels[h].end(), d))
              kz[(static_cast<size_t>(t) * n_kv + h) * D + d] = 0.0f;
      for (int h = 0; h < n_kv; ++h) {
        std::vector<float> kh(static_cast<size_t>(n_pruned) * D), vh(kh.size());
        for (int t = 0; t < n_pruned; ++t)
          for (int d = 0; d < D; ++d) {
            kh[t * D + d] = k[(static_cast<size_t>(t) * n_kv + h) * D + d];
            vh[t * D + d] = v[(static_cast<size_t>(t) * n_kv + h) * D + d];
          }
        think.set_pruned(h, kh.data(), vh.data(), n_pruned);
      }
      const size_t off = static_cast<size_t>(n_pruned) * n_kv * D;
      think.append(k.data() + off, v.data() + off, recent);
      dense.append(kz.data(), v.data(), T);
      EXPECT_EQ(think.n_tokens(0), T);
      // Decode appends 3 tokens, then a chunk of 3 queries attends causally.
      const auto k2 = randn(3 * n_kv * D, 3), v2 = randn(3 * n_kv * D, 4);
      think.append(k2.data(), v2.data(), 3);
      dense.append(k2.data(), v2.data(), 3);
      for (int n_q : {1, 3, 11}) {  // 11: stacked query blocks (attend_split)
        const auto q = randn(static_cast<size_t>(n_q) * n_kv * g * D, 5 + n_q, 2.0f);
        std::vector<float> a(q.size()), b(q.size());
        think.attend(q.data(), n_q, a.data());
        dense.attend(q.data(), n_q, b.data());
        double worst = 0;
        for (size_t i = 0; i < a.size(); ++i)
          worst = std::max(worst, double(std::abs(a[i] - b[i])));
        EXPECT_LE(worst, 1e-5) << "D " << D << " dtype " << int(dtype) << " n_q " << n_q;
      }
      // Bytes: packed K of dk channels + full V for the pruned tokens, channel ids, tail pages.
      const size_t es = dtype == KvDtype::kF16 ? 2 : 4;
      const size_t want = n_kv * (static_cast<size_t>(n_pruned) * (dk + D) * es + dk * 4 +
                                  2 * ThinkLayerCache::kPageTokens * D * es);
      EXPECT_EQ(think.bytes(), want);
    }
  }
}

TEST(PressThink, KernelAvx2MatchesReference) {
  if (!cpu_features().has_avx2_set()) GTEST_SKIP() << "no AVX2";
  for (KvDtype dtype : {KvDtype::kF32, KvDtype::kF16}) {
    for (int dk : {64, 77, 5}) {
      for (int g : {1, 4, 8, 12}) {
        const int D = 128, n = 300;
        const auto q = randn(static_cast<size_t>(g) * dk, 11, 0.1f);
        const auto kf = randn(static_cast<size_t>(n) * dk, 12),
                   vf = randn(static_cast<size_t>(n) * D, 13);
        std::vector<uint16_t> kh(kf.size()), vh(vf.size());
        for (size_t i = 0; i < kf.size(); ++i) kh[i] = f32_to_fp16(kf[i]);
        for (size_t i = 0; i < vf.size(); ++i) vh[i] = f32_to_fp16(vf[i]);
        const void* k = dtype == KvDtype::kF32 ? static_cast<const void*>(kf.data()) : kh.data();
        const void* v = dtype == KvDtype::kF32 ? static_cast<const void*>(vf.data()) : vh.data();
        std::vector<float> m1(g), l1(g), o1(static_cast<size_t>(g) * D), m2(g), l2(g),
            o2(o1.size());
        attn_state_init(g, D, m1.data(), l1.data(), o1.data());
        attn_state_init(g, D, m2.data(), l2.data(), o2.data());
        attn_think_update_ref(q.data(), g, k, dk, v, D, dtype, n, m1.data(), l1.data(), o1.data());
        attn_think_update_avx2(q.data(), g, k, dk, v, D, dtype, n, m2.data(), l2.data(), o2.data());
        std::vector<float> r1(o1.size()), r2(o1.size());
        attn_state_finish(g, D, l1.data(), o1.data(), r1.data());
        attn_state_finish(g, D, l2.data(), o2.data(), r2.data());
        for (size_t i = 0; i < r1.size(); ++i)
          ASSERT_NEAR(r1[i], r2[i], 1e-5) << "dk " << dk << " g " << g << " i " << i;
      }
    }
  }
}

TEST(PressThink, RecentTokensStayDenseAndSavingsAreReal) {
  PressCase c("case_a", KvDtype::kF16);
  const PressContext ctx = c.context();
  auto plain = parse_press_spec("think:ratio=0.5").apply(ctx);
  auto recent = parse_press_spec("think:ratio=0.5,recent=32").apply(ctx);
  const auto* a = dynamic_cast<const ThinkLayerCache*>(plain.get());
  const auto* b = dynamic_cast<const ThinkLayerCache*>(recent.get());
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->n_pruned_tokens(), 300);
  EXPECT_EQ(b->n_pruned_tokens(), 268);
  EXPECT_EQ(b->n_tail_tokens(), 32);
  for (int h = 0; h < c.n_kv; ++h) EXPECT_EQ(a->channels(h), b->channels(h));
  // Recent tokens keep every key channel.
  std::vector<float> kr(c.D), kd(c.D);
  b->read(0, 299, kr.data(), nullptr);
  c.cache->read(0, 299, 1, kd.data(), nullptr);
  EXPECT_EQ(kr, kd);
  // K of 8 of 16 channels, V full, f16, plus 8 int32 channel ids per head.
  EXPECT_EQ(a->bytes(), static_cast<size_t>(2) * (300 * (8 + 16) * 2 + 8 * 4));
  EXPECT_LT(a->bytes(), static_cast<size_t>(2) * 300 * 32 * 2);
  EXPECT_STREQ(a->kind(), "think");
}

TEST(PressThink, RatioZeroKeepsEveryChannel) {
  PressCase c("case_c");
  auto out = parse_press_spec("think:ratio=0").apply(c.context());
  const auto* t = dynamic_cast<const ThinkLayerCache*>(out.get());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->kept_channels(), c.D);
}

}  // namespace
}  // namespace sparkv

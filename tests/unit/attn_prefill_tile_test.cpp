// Prefill attention by GEMM tiles (attn/prefill_tile.h, kv/attend_tiled_inl.h): the softmax step
// of every kernel set against its scalar twin, and the tiled cache attention against naive
// softmax attention per query (double) and against the stacked decode kernels it replaces for
// prefill chunks, across group sizes, head dims, cache types and causal offsets.
#include <gtest/gtest.h>

#include "attn_test_util.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "attn/attn_kernels.h"
#include "attn/attn_state.h"
#include "attn/prefill_tile.h"
#include "core/cpu_features.h"
#include "kv/dense_cache.h"

namespace sparkv {
namespace {

using test::naive_attention;
using test::randn;

TEST(AttnPrefillTile, SoftmaxSetsMatchReference) {
  for (SimdLevel level : {SimdLevel::kAvx2, SimdLevel::kAvx512}) {
    if (static_cast<int>(level) > static_cast<int>(simd_level())) continue;
    const AttnKernels& ks = attn_kernels(level);
    for (int g : {1, 2, 4}) {
      for (int nk : {1, 7, 16, 33, 256}) {
        for (int D : {64, 72, 128}) {
          const int nq = 5, rows = nq * g;
          // lim: nothing, part, all of the tile; a running state from an earlier tile on half
          // of the rows (m finite) and a fresh one (m = -inf) on the others
          const std::vector<int> lim = {0, nk / 2, nk, 1, std::max(0, nk - 3)};
          auto s0 = randn(static_cast<size_t>(rows) * nk, 3 + nk, 2.0f);
          std::vector<float> m0(rows), l0(rows);
          auto o0 = randn(static_cast<size_t>(rows) * D, 5);
          for (int r = 0; r < rows; ++r) {
            m0[r] = r % 2 ? kNegInf : 0.5f * static_cast<float>(r % 5) - 1.0f;
            l0[r] = r % 2 ? 0.0f : 1.5f;
            if (r % 2)
              for (int d = 0; d < D; ++d) o0[static_cast<size_t>(r) * D + d] = 0.0f;
          }
          auto s1 = s0, s2 = s0, o1 = o0, o2 = o0;
          auto m1 = m0, m2 = m0, l1 = l0, l2 = l0;
          attn_tile_softmax_ref(s1.data(), nq, g, nk, lim.data(), D, m1.data(), l1.data(),
                                o1.data());
          ks.tile_softmax(s2.data(), nq, g, nk, lim.data(), D, m2.data(), l2.data(), o2.data());
          for (int r = 0; r < rows; ++r) {
            ASSERT_EQ(m1[r], m2[r]) << ks.name << " row " << r;
            ASSERT_NEAR(l1[r], l2[r], 1e-5f * std::max(1.0f, l1[r])) << ks.name << " row " << r;
          }
          for (size_t i = 0; i < s1.size(); ++i)
            ASSERT_NEAR(s1[i], s2[i], 1e-6f) << ks.name << " nk " << nk << " at " << i;
          for (size_t i = 0; i < o1.size(); ++i) ASSERT_NEAR(o1[i], o2[i], 1e-6f) << ks.name;
          // masked lanes are exact zeros (they enter the P·V GEMM)
          for (int r = 0; r < rows; ++r)
            for (int c = lim[r / g]; c < nk; ++c)
              ASSERT_EQ(s2[static_cast<size_t>(r) * nk + c], 0.0f);
        }
      }
    }
  }
}

struct Shape {
  int n_kv, g, D;
  KvDtype type;
  int n0, n_q;  // cached before the chunk, queries in the chunk (appended, attended causally)
};

// The chunk's queries through DenseLayerCache::attend (tiled at n_q·g >= kTiledMinRows) against
// naive attention per query over the rows the cache holds.
TEST(AttnPrefillTile, CacheAttendMatchesNaive) {
  const Shape shapes[] = {
      {2, 2, 64, KvDtype::kF32, 0, 40},       // no context: the causal triangle alone
      {2, 2, 64, KvDtype::kF32, 300, 77},     // partial tiles and blocks everywhere
      {1, 8, 128, KvDtype::kF16, 513, 33},    // Llama-3-70B's group; 264 rows: 3 blocks
      {2, 4, 128, KvDtype::kQ8_0, 1000, 64},  // block-type cache rows
      {3, 1, 96, KvDtype::kF16, 257, 200},    // group 1 (MHA), D not a multiple of 64
  };
  for (const Shape& sh : shapes) {
    const int H = sh.n_kv * sh.g;
    ASSERT_GE(sh.n_q * sh.g, kTiledMinRows);
    DenseLayerCache cache(sh.n_kv, sh.D, sh.g, sh.type);
    if (sh.n0 > 0) {
      auto k0 = randn(static_cast<size_t>(sh.n0) * sh.n_kv * sh.D, 7),
           v0 = randn(static_cast<size_t>(sh.n0) * sh.n_kv * sh.D, 8);
      cache.append(k0.data(), v0.data(), sh.n0);
    }
    auto k1 = randn(static_cast<size_t>(sh.n_q) * sh.n_kv * sh.D, 9),
         v1 = randn(static_cast<size_t>(sh.n_q) * sh.n_kv * sh.D, 10);
    cache.append(k1.data(), v1.data(), sh.n_q);
    auto q = randn(static_cast<size_t>(sh.n_q) * H * sh.D, 11, 0.3f);
    const int64_t n = sh.n0 + sh.n_q;
    std::vector<float> ref_set;  // the scalar set's answer, for the other sets
    for (SimdLevel level : {SimdLevel::kScalar, SimdLevel::kAvx2, SimdLevel::kAvx512}) {
      if (static_cast<int>(level) > static_cast<int>(simd_level())) continue;
      test::SimdCap cap(level);
      std::vector<float> out(q.size());
      cache.attend(q.data(), sh.n_q, out.data());
      for (int h = 0; h < sh.n_kv; ++h) {
        std::vector<float> kh(n * sh.D), vh(n * sh.D);
        cache.read(h, 0, n, kh.data(), vh.data());
        for (int i = 0; i < sh.n_q; ++i)
          for (int j = 0; j < sh.g; ++j) {
            const size_t at = (static_cast<size_t>(i) * H + h * sh.g + j) * sh.D;
            auto ref = naive_attention(q.data() + at, kh.data(), vh.data(), sh.n0 + i + 1, sh.D);
            for (int d = 0; d < sh.D; ++d)
              ASSERT_NEAR(out[at + d], ref[d], 2e-5)
                  << "n_kv " << sh.n_kv << " g " << sh.g << " D " << sh.D << " n0 " << sh.n0
                  << " query " << i << " level " << static_cast<int>(level);
          }
      }
      if (ref_set.empty()) {
        ref_set = out;
      } else {
        for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], ref_set[i], 1e-5f);
      }
    }
  }
}

// The tiled path against the stacked decode kernels (attend_split) on the same cache: the
// prefill answer changed kernels, not values.
TEST(AttnPrefillTile, TiledEqualsStackedKernels) {
  const int n_kv = 8, g = 2, D = 128, H = n_kv * g, n0 = 2048, n_q = 512;
  DenseLayerCache cache(n_kv, D, g, KvDtype::kF16);
  auto k = randn(static_cast<size_t>(n0 + n_q) * n_kv * D, 21),
       v = randn(static_cast<size_t>(n0 + n_q) * n_kv * D, 22);
  cache.append(k.data(), v.data(), n0 + n_q);
  auto q = randn(static_cast<size_t>(n_q) * H * D, 23, 0.3f);
  std::vector<float> tiled(q.size()), stacked(q.size());
  cache.attend(q.data(), n_q, tiled.data());
  attend_split(q.data(), n_q, n_kv, g, D, cache.n_tokens(0), stacked.data(),
               [&](int rows, int h, int64_t t0, int64_t t1, const float* qs, float* m, float* l,
                   float* o) { cache.attend_range(h, t0, t1, qs, rows, m, l, o); });
  float worst = 0.0f;
  for (size_t i = 0; i < q.size(); ++i) worst = std::max(worst, std::fabs(tiled[i] - stacked[i]));
  EXPECT_LT(worst, 1e-5f);
}

}  // namespace
}  // namespace sparkv

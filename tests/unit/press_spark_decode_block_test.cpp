// decode_block= re-compresses decoded tokens in blocks. The packed streams then grow token by
// token, and a std::vector that doubles its capacity made a 700-token cache hold more bytes than
// the dense rows of the same tokens after one block (issue 20, "never above dense"): bytes() counts
// what is allocated, so the growth must be bounded.
#include <gtest/gtest.h>

#include <cmath>

#include "attn_test_util.h"
#include "kv/dense_cache.h"
#include "press/press.h"
#include "press/spark_plan.h"

namespace sparkv {
namespace {

using test::randn;

TEST(SparkDecodeBlock, PackedCacheStaysBelowDenseWhileDecoding) {
  for (int D : {64, 128})
    for (double ratio : {0.5, 0.8})
      for (int block : {4, 16}) {
        const int n_kv = 2, g = 2;
        const int64_t T = 700;
        DenseLayerCache src(n_kv, D, g, KvDtype::kF16);
        auto k = randn(static_cast<size_t>(T) * n_kv * D, 1), v = randn(k.size(), 2);
        src.append(k.data(), v.data(), static_cast<int>(T));
        auto norms = randn(static_cast<size_t>(n_kv) * D, 3);
        for (auto& x : norms) x = std::abs(x) + 0.1f;
        SparkOptions o;
        o.ratio = ratio;
        o.decode_block = block;
        o.recovery = SparkRecovery::kScaled;
        o.recent = 32;
        auto cache = spark_compress(src, TokenSelection::all(n_kv, T).kept, norms.data(), 0, o);
        DenseLayerCache dense(n_kv, D, g, KvDtype::kF16);
        dense.append(k.data(), v.data(), static_cast<int>(T));
        ASSERT_LE(cache->bytes(), dense.bytes());
        for (int step = 0; step < 300; ++step) {
          auto kt = randn(static_cast<size_t>(n_kv) * D, 100 + step);
          cache->append(kt.data(), kt.data(), 1);
          dense.append(kt.data(), kt.data(), 1);
          ASSERT_LE(cache->bytes(), dense.bytes())
              << "D=" << D << " ratio=" << ratio << " decode_block=" << block << " after "
              << step + 1 << " decoded tokens: " << cache->bytes() << " vs " << dense.bytes()
              << " (compressed " << cache->n_compressed(0) << ", tail " << cache->tail().n_tokens(0)
              << " " << cache->tail().bytes() << ")";
        }
        EXPECT_GT(cache->n_compressed(0), T - 32);  // blocks were really compressed
        EXPECT_EQ(cache->n_tokens(0), T + 300);
      }
}

}  // namespace
}  // namespace sparkv

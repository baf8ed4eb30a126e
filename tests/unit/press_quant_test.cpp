// The `quant` storage press: dense llama.cpp cache types applied after prefill. Its storage must
// hold exactly the rows a cache of that type would hold had the surviving tokens been appended
// to it directly (the same quantizer, no double rounding), composed after eviction.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "press/press_spec.h"
#include "press_fixture_util.h"
#include "quant/kv_types.h"

namespace sparkv {
namespace {

// A random f32 prefill state with D = 64 (the block types need D % 32 == 0), T = 300 tokens,
// 2 KV heads x 2 query heads, and 16 window queries.
struct RandomCase {
  int T = 300, n_kv = 2, group = 2, D = 64, window = 16;
  std::vector<float> k, v, q;  // k, v: [n_kv, T, D]; q: [window, n_head, D]
  std::unique_ptr<DenseLayerCache> cache;
  ModelConfig cfg;
  RandomCase() {
    std::mt19937 rng(11);
    std::normal_distribution<float> nd;
    k.resize(static_cast<size_t>(n_kv) * T * D);
    v.resize(k.size());
    q.resize(static_cast<size_t>(window) * n_kv * group * D);
    for (auto& x : k) x = nd(rng);
    for (auto& x : v) x = nd(rng);
    for (auto& x : q) x = nd(rng);
    cache = std::make_unique<DenseLayerCache>(n_kv, D, group, KvDtype::kF32);
    std::vector<float> kt(k.size()), vt(v.size());  // token-major for append: [T, n_kv, D]
    for (int h = 0; h < n_kv; ++h)
      for (int t = 0; t < T; ++t)
        for (int d = 0; d < D; ++d) {
          kt[(static_cast<size_t>(t) * n_kv + h) * D + d] =
              k[(static_cast<size_t>(h) * T + t) * D + d];
          vt[(static_cast<size_t>(t) * n_kv + h) * D + d] =
              v[(static_cast<size_t>(h) * T + t) * D + d];
        }
    cache->append(kt.data(), vt.data(), T);
    cfg.n_layer = 1;
    cfg.n_head = n_kv * group;
    cfg.n_head_kv = n_kv;
    cfg.head_dim = D;
  }
  PressContext context() const {
    PressContext ctx;
    ctx.config = &cfg;
    ctx.cache = cache.get();
    ctx.n_prompt = T;
    ctx.window = window;
    ctx.window_q = q.data();
    return ctx;
  }
};

// Reads every token of a dense cache back as f32: k, v [n_kv][n, D].
void read_all(const DenseLayerCache& c, std::vector<float>& k, std::vector<float>& v) {
  const int64_t n = c.n_tokens(0);
  k.assign(static_cast<size_t>(c.n_kv()) * n * c.head_dim(), 0.f);
  v.assign(k.size(), 0.f);
  for (int h = 0; h < c.n_kv(); ++h)
    c.read(h, 0, n, k.data() + static_cast<size_t>(h) * n * c.head_dim(),
           v.data() + static_cast<size_t>(h) * n * c.head_dim());
}

TEST(PressQuant, RowsEqualDirectAppendOfSurvivors) {
  RandomCase c;
  const PressContext ctx = c.context();
  for (const char* ty : {"q8_0", "q4_0", "q5_1", "iq4_nl", "f16"}) {
    const std::string spec = std::string("snapkv:budget=100,window=16+quant:k=") + ty + ",v=q8_0";
    const PressPipeline p = parse_press_spec(spec);
    const TokenSelection sel = test::run_selection(p, ctx);
    auto built = p.apply(ctx);
    const auto* dense = dynamic_cast<const DenseLayerCache*>(built.get());
    ASSERT_NE(dense, nullptr) << spec;
    EXPECT_EQ(dense->k_type(), kv_dtype_from_name(ty));
    EXPECT_EQ(dense->v_type(), KvDtype::kQ8_0);
    ASSERT_EQ(dense->n_tokens(0), 100);
    // The reference: the survivors' f32 rows appended to a fresh cache of the same types.
    DenseLayerCache want(c.n_kv, c.D, c.group, KvTypes{kv_dtype_from_name(ty), KvDtype::kQ8_0});
    std::vector<float> kt(static_cast<size_t>(100) * c.n_kv * c.D), vt(kt.size());
    for (int h = 0; h < c.n_kv; ++h)
      for (int j = 0; j < 100; ++j)
        for (int d = 0; d < c.D; ++d) {
          const size_t src = (static_cast<size_t>(h) * c.T + sel.kept[h][j]) * c.D + d;
          kt[(static_cast<size_t>(j) * c.n_kv + h) * c.D + d] = c.k[src];
          vt[(static_cast<size_t>(j) * c.n_kv + h) * c.D + d] = c.v[src];
        }
    want.append(kt.data(), vt.data(), 100);
    std::vector<float> gk, gv, wk, wv;
    read_all(*dense, gk, gv);
    read_all(want, wk, wv);
    EXPECT_EQ(gk, wk) << spec;
    EXPECT_EQ(gv, wv) << spec;
    EXPECT_EQ(dense->bytes(), want.bytes()) << spec;
  }
}

TEST(PressQuant, QuantizedBytesAreSmallerAndF32PrefillIsLosslessAtF32) {
  RandomCase c;
  const PressContext ctx = c.context();
  auto f32 = parse_press_spec("quant:k=f32,v=f32").apply(ctx);
  auto q8 = parse_press_spec("quant:k=q8_0,v=q8_0").apply(ctx);
  auto q4 = parse_press_spec("quant:k=q4_0,v=q4_0").apply(ctx);
  EXPECT_EQ(f32->bytes(), c.cache->bytes());
  // llama.cpp block sizes: q8_0 34 bytes per 32 values, q4_0 18 bytes.
  EXPECT_EQ(q8->bytes() * 128, c.cache->bytes() * 34);
  EXPECT_EQ(q4->bytes() * 128, c.cache->bytes() * 18);
  std::vector<float> k0, v0, k1, v1;
  read_all(*c.cache, k0, v0);
  read_all(dynamic_cast<const DenseLayerCache&>(*f32), k1, v1);
  EXPECT_EQ(k0, k1);
  EXPECT_EQ(v0, v1);
}

TEST(PressQuant, BadSpecs) {
  for (const char* bad : {"quant", "quant:k=q9", "quant:v=int8", "quant:k=q8_0,x=1",
                          "quant:k=q8_0+snapkv:budget=64"}) {
    EXPECT_THROW(parse_press_spec(bad), std::exception) << bad;
  }
  EXPECT_EQ(parse_press_spec("snapkv:budget=64+quant:k=q4_0").spec(),
            "snapkv:budget=64,window=64,kernel=5+quant:k=q4_0,v=f16");
}

}  // namespace
}  // namespace sparkv

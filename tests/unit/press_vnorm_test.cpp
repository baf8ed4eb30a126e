// The adding-a-press example (press/eviction_vnorm.cpp) runs end to end: registered, parsed,
// applied to a real prefill, and it keeps exactly the tokens with the largest value norms.
#include <algorithm>
#include <cmath>
#include <numeric>

#include <gtest/gtest.h>

#include "kv/dense_cache.h"
#include "model/model.h"
#include "press/eviction_common.h"
#include "press/press_registry.h"
#include "runtime/prefill.h"
#include "test_util.h"

namespace sparkv {
namespace {

TEST(VNormPress, KeepsTheLargestValueNorms) {
  ASSERT_NE(find_press_method("vnorm"), nullptr);
  const auto model = Model::load(test::golden_model_path("llama3-f32"), false);
  const ModelConfig& cfg = model->config();
  const int n = 150, budget = 40;
  std::vector<int32_t> ids(n);
  for (int i = 0; i < n; ++i) ids[i] = 1 + (i * 7919) % (cfg.n_vocab - 1);
  Session s(*model, SessionOptions{});
  const PressPipeline pipe = parse_press_spec("vnorm:budget=" + std::to_string(budget));
  EXPECT_EQ(pipe.spec(), "vnorm:budget=40");
  Prefill prefill(s, ids, pipe.needs());
  for (int l = 0; l < cfg.n_layer; ++l) {
    const auto& dense = dynamic_cast<const DenseLayerCache&>(*s.caches()[l]);
    TokenSelection sel = TokenSelection::all(dense.n_kv(), n);
    PressContext ctx;  // VNorm reads the cache only (needs() is empty)
    ctx.model = model.get();
    ctx.config = &cfg;
    ctx.layer = l;
    ctx.cache = &dense;
    ctx.n_prompt = n;
    pipe.presses()[0]->select_tokens(ctx, sel);
    for (int h = 0; h < dense.n_kv(); ++h) {
      // The expected set: the `budget` largest value norms, from the dense rows directly.
      std::vector<int32_t> all(n);
      std::iota(all.begin(), all.end(), 0);
      std::vector<double> v;
      read_rows(dense, h, all, nullptr, &v);
      const int D = dense.head_dim();
      std::vector<double> norm(n);
      for (int j = 0; j < n; ++j) {
        double ss = 0;
        for (int d = 0; d < D; ++d) ss += v[j * D + d] * v[j * D + d];
        norm[j] = std::sqrt(ss);
      }
      std::vector<int32_t> want = all;
      std::stable_sort(want.begin(), want.end(), [&](int a, int b) { return norm[a] > norm[b]; });
      want.resize(budget);
      std::sort(want.begin(), want.end());
      EXPECT_EQ(sel.kept[h], want) << "layer " << l << " head " << h;
    }
  }
  // And as a recipe: every layer holds `budget` tokens afterwards.
  for (const auto& c : prefill.compress(pipe)) EXPECT_EQ(c->n_tokens(0), budget);
}

}  // namespace
}  // namespace sparkv

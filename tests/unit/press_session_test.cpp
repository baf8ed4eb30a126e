// End to end on the golden models: prefill through Session with a PrefillCapture, apply a press
// pipeline to every layer, decode a few tokens. Every method and ThinK stacked on eviction runs on
// real prefill state; the caches shrink as expected; a no-op budget reproduces the full cache's
// logits exactly.
#include <gtest/gtest.h>

#include "test_util.h"

#include <cmath>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "kv/think_cache.h"
#include "model/model.h"
#include "press/capture.h"
#include "press/eviction_snapkv.h"
#include "press/press_spec.h"
#include "runtime/session.h"
#include "sample/sampler.h"

namespace sparkv {
namespace {

constexpr int kPrompt = 600;  // many pages, so evicting to 128 tokens frees real pages
constexpr int kDecode = 4;

std::vector<int32_t> prompt_ids(int V) {
  std::vector<int32_t> ids(kPrompt);
  uint32_t x = 12345;
  for (auto& id : ids) {
    x = x * 1664525u + 1013904223u;
    id = static_cast<int32_t>(1 + (x >> 8) % (V - 1));
  }
  return ids;
}

struct PressedRun {
  size_t bytes_full = 0, bytes_pressed = 0;
  std::vector<int64_t> tokens_per_layer;   // after the press
  std::vector<std::vector<float>> logits;  // per decode step
  std::vector<std::string> kinds;
};

// One prefill per model serves every recipe (as `sparkv eval` does): the capture records what any
// press needs (window 64, column sums, hidden statistics); each recipe builds new caches from the
// untouched prefill caches and decodes in a fork.
struct Prefilled {
  std::unique_ptr<Model> model;
  std::unique_ptr<Session> session;
  std::unique_ptr<PrefillCapture> capture;
};

const Prefilled& prefilled(const std::string& name) {
  static std::map<std::string, Prefilled> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  Prefilled p;
  p.model = Model::load(test::golden_model_path(name), false);
  const ModelConfig& cfg = p.model->config();
  SessionOptions so;
  so.n_ctx = 1024;
  so.prefill_chunk = 256;  // several chunks: column sums and window capture span chunks
  p.session = std::make_unique<Session>(*p.model, so);
  p.capture = std::make_unique<PrefillCapture>(
      cfg, PressNeeds{.window = 64, .attn_colsum = true, .hidden_stats = true}, 0, kPrompt);
  p.session->feed(prompt_ids(cfg.n_vocab), p.capture.get());
  return cache.emplace(name, std::move(p)).first->second;
}

PressedRun run_press(const Prefilled& p, const std::string& spec) {
  const Model& model = *p.model;
  const ModelConfig& cfg = model.config();
  const PressPipeline pipeline = parse_press_spec(spec);
  PressedRun r;
  r.bytes_full = p.session->kv_bytes();
  std::vector<std::unique_ptr<LayerCache>> caches;
  for (int l = 0; l < cfg.n_layer; ++l) {
    PressContext ctx;
    ctx.model = &model;
    ctx.config = &cfg;
    ctx.layer = l;
    ctx.cache = dynamic_cast<const DenseLayerCache*>(p.session->caches()[l].get());
    ctx.n_prompt = kPrompt;
    p.capture->fill(l, &ctx);
    caches.push_back(pipeline.empty()
                         ? gather_dense(*ctx.cache, TokenSelection::all(ctx.cache->n_kv(), kPrompt))
                         : pipeline.apply(ctx));
  }
  auto s = p.session->fork_with_caches(std::move(caches));
  r.bytes_pressed = s->kv_bytes();
  for (const auto& c : s->caches()) {
    r.tokens_per_layer.push_back(c->n_tokens(0));
    r.kinds.push_back(c->kind());
  }
  for (int i = 0; i < kDecode; ++i) {
    r.logits.push_back(s->logits());
    s->feed({argmax(s->logits().data(), cfg.n_vocab)});
  }
  EXPECT_EQ(s->n_past(), kPrompt + kDecode);
  for (int l = 0; l < cfg.n_layer; ++l)
    EXPECT_EQ(s->caches()[l]->n_tokens(0), r.tokens_per_layer[l] + kDecode) << spec;
  return r;
}

class PressSession : public ::testing::TestWithParam<std::string> {};

TEST_P(PressSession, EveryMethodRunsAndShrinksTheCache) {
  const Prefilled& p = prefilled(GetParam());
  const ModelConfig& cfg = p.model->config();
  const PressedRun full = run_press(p, "full");
  for (const std::string spec :
       {"snapkv:budget=128", "pyramidkv:budget=128", "pyramidkv:budget=128,compat=1",
        "streamingllm:budget=128", "h2o:budget=128", "tova:budget=128", "knorm:budget=128",
        "random:budget=128", "expected:budget=128", "snapkv:ratio=0.8"}) {
    const PressedRun r = run_press(p, spec);
    for (int l = 0; l < cfg.n_layer; ++l) {
      if (spec.rfind("pyramidkv:budget=128,compat", 0) == 0) {
        EXPECT_EQ(r.tokens_per_layer[l], 540) << spec;  // hazard 1: the fork keeps 90%
      } else if (spec.rfind("pyramidkv", 0) == 0) {
        EXPECT_EQ(r.tokens_per_layer[l], pyramidkv_kept_kvf(kPrompt, 128, 64, 20, cfg.n_layer, l))
            << spec;
      } else if (spec == "snapkv:ratio=0.8") {
        EXPECT_EQ(r.tokens_per_layer[l], static_cast<int64_t>(kPrompt * (1.0 - 0.8))) << spec;
      } else {
        EXPECT_EQ(r.tokens_per_layer[l], 128) << spec;
      }
    }
    // Dense caches allocate whole pages (DenseLayerCache::kPageTokens): even the fork's compat
    // fallback, which keeps 540 of 600 tokens (90%), frees a page.
    EXPECT_LT(r.bytes_pressed, full.bytes_full) << spec;
    for (const auto& lg : r.logits)
      for (float x : lg) ASSERT_TRUE(std::isfinite(x)) << spec;
  }
}

TEST_P(PressSession, ThinkStackedOnEvictionSavesKeyBytes) {
  const Prefilled& p = prefilled(GetParam());
  const ModelConfig& cfg = p.model->config();
  const size_t D = cfg.head_dim, n_kv = cfg.n_head_kv;
  const PressedRun think = run_press(p, "think:ratio=0.5");
  // f16 packed K of D/2 channels + full V + D/2 int32 channel ids, per KV head and layer.
  EXPECT_EQ(think.bytes_pressed, cfg.n_layer * n_kv * (kPrompt * (D / 2 + D) * 2 + D / 2 * 4));
  EXPECT_EQ(think.kinds[0], "think");
  for (const std::string spec :
       {"snapkv:budget=128+think:ratio=0.5", "pyramidkv:budget=128+think:ratio=0.5",
        "streamingllm:budget=128+think:ratio=0.5,recent=32", "tova:budget=128+think:ratio=0.5",
        "h2o:ratio=0.5+think:ratio=0.5"}) {
    const PressedRun r = run_press(p, spec);
    EXPECT_LT(r.bytes_pressed, think.bytes_pressed) << spec;
    for (const auto& lg : r.logits)
      for (float x : lg) ASSERT_TRUE(std::isfinite(x)) << spec;
  }
}

TEST_P(PressSession, NoOpPressesReproduceTheFullCache) {
  const Prefilled& p = prefilled(GetParam());
  const PressedRun full = run_press(p, "full");
  // A budget covering the prompt gathers every token unchanged: bit-identical logits.
  const PressedRun same = run_press(p, "snapkv:budget=600");
  EXPECT_EQ(same.logits, full.logits);
  // ThinK with nothing pruned reads the same values through the packed kernel.
  const PressedRun think0 = run_press(p, "think:ratio=0");
  double worst = 0;
  for (size_t i = 0; i < full.logits.size(); ++i)
    for (size_t v = 0; v < full.logits[i].size(); ++v)
      worst = std::max(worst, double(std::abs(full.logits[i][v] - think0.logits[i][v])));
  EXPECT_LT(worst, 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Golden, PressSession,
                         ::testing::Values("llama3-f32", "qwen2-f32", "qwen3-f32"),
                         test::GoldenName());

}  // namespace
}  // namespace sparkv

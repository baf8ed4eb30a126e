// Layer-major prefill that compresses as it goes (issue 20) against the chunk-major prefill
// followed by compression, on the golden models: for every press method the compressed caches
// (every row attention reads, kinds, bytes, token counts), the prefill's logits and the greedy
// continuation are bit-identical, a second prompt fed on the compressed cache gives the same
// logits, and while the prefill runs the KV bytes held never exceed the compressed layers plus
// one dense layer.
#include <gtest/gtest.h>

#include "test_util.h"

#include <algorithm>
#include <cstring>

#include "model/model.h"
#include "press/press_spec.h"
#include "runtime/compress.h"
#include "runtime/prefill.h"
#include "runtime/session.h"

namespace sparkv {
namespace {

constexpr int kPrompt = 600;

SessionOptions options() {
  SessionOptions so;
  so.n_ctx = 1024;
  so.prefill_chunk = 256;  // several chunks per layer: statistics span chunks
  return so;
}

// Every row attention reads from every head of every layer, and what the storage says of itself.
void expect_same_caches(const Session& a, const Session& b, const std::string& spec) {
  const int L = static_cast<int>(a.caches().size());
  ASSERT_EQ(L, static_cast<int>(b.caches().size()));
  for (int l = 0; l < L; ++l) {
    const LayerCache& ca = *a.caches()[l];
    const LayerCache& cb = *b.caches()[l];
    ASSERT_STREQ(ca.kind(), cb.kind()) << spec << " layer " << l;
    EXPECT_EQ(ca.bytes(), cb.bytes()) << spec << " layer " << l;
    for (int h = 0; h < ca.n_kv(); ++h) {
      const int64_t n = ca.n_tokens(h);
      ASSERT_EQ(n, cb.n_tokens(h)) << spec << " layer " << l << " head " << h;
      const size_t sz = static_cast<size_t>(n) * ca.head_dim();
      std::vector<float> ka(sz), va(sz), kb(sz), vb(sz);
      ca.read(h, 0, n, ka.data(), va.data());
      cb.read(h, 0, n, kb.data(), vb.data());
      ASSERT_EQ(0, std::memcmp(ka.data(), kb.data(), sz * sizeof(float)))
          << spec << " keys, layer " << l << " head " << h;
      ASSERT_EQ(0, std::memcmp(va.data(), vb.data(), sz * sizeof(float)))
          << spec << " values, layer " << l << " head " << h;
    }
  }
}

class LayerMajor : public ::testing::TestWithParam<std::string> {};

TEST_P(LayerMajor, CompressingAsItGoesEqualsCompressingAfter) {
  auto model = Model::load(test::golden_model_path(GetParam()), false);
  const int V = model->config().n_vocab;
  const std::vector<int32_t> prompt = test::pseudo_ids(V, kPrompt, 12345);
  const std::vector<int32_t> second =
      test::pseudo_ids(V, 70, 777);  // a follow-up turn, several tokens
  for (const std::string spec :
       {"snapkv:budget=128", "pyramidkv:budget=128", "streamingllm:budget=128", "h2o:budget=128",
        "tova:budget=128", "knorm:budget=128", "random:budget=128", "expected:budget=128",
        "vnorm:budget=128", "quant:k=q4_0,v=q8_0", "think:ratio=0.5", "spark:ratio=0.8",
        "spark:ratio=0.5,recovery=mean,recent=0", "spark:ratio=0.8,decode_block=16",
        "spark:ratio=0.8,kq=q8", "snapkv:budget=256+spark:ratio=0.8",
        "pyramidkv:budget=128+think:ratio=0.5", "h2o:ratio=0.5+spark:ratio=0.7,values=0.5"}) {
    const PressPipeline pipeline = parse_press_spec(spec);
    Session before(*model, options());
    Prefill pb(before, prompt, pipeline.needs());
    pb.apply(pipeline, 3);
    Session going(*model, options());
    const Prefill pg(going, prompt, pipeline, 3);
    EXPECT_TRUE(pg.compressed_as_it_went());
    EXPECT_EQ(pg.dense_bytes(), pb.dense_bytes()) << spec;
    ASSERT_EQ(before.logits(), going.logits()) << spec;
    expect_same_caches(before, going, spec);
    // Greedy decode, then a multi-token turn on the compressed cache.
    for (int step = 0; step < 3; ++step) {
      const int32_t id = test::argmax(before.logits());
      ASSERT_EQ(id, test::argmax(going.logits())) << spec;
      before.feed({id});
      going.feed({id});
      ASSERT_EQ(before.logits(), going.logits()) << spec << " step " << step;
    }
    before.feed(second);
    going.feed(second);
    ASSERT_EQ(before.logits(), going.logits()) << spec << " second turn";
    // No dense prefill remains to fork from.
    EXPECT_NE(test::error_message([&] { pg.fork(pipeline); }).find("compressed its caches"),
              std::string::npos);
  }
}

TEST_P(LayerMajor, HoldsTheCompressedLayersAndOneDenseLayer) {
  auto model = Model::load(test::golden_model_path(GetParam()), false);
  const ModelConfig& cfg = model->config();
  const std::vector<int32_t> prompt = test::pseudo_ids(cfg.n_vocab, kPrompt, 99);
  for (const std::string spec : {"snapkv:budget=128+spark:ratio=0.8", "think:ratio=0.5"}) {
    const PressPipeline pipeline = parse_press_spec(spec);
    Session s(*model, options());
    PrefillCapture capture(cfg, pipeline.needs(), 0, kPrompt);
    size_t peak = 0, max_dense_layer = 0;
    std::vector<size_t> dense(cfg.n_layer, 0);
    s.feed_layer_major(prompt, &capture, [&](int l) {
      // Layers after l have not started; layer l holds the whole prompt dense; layers before it
      // hold their compressed form, no larger than their dense prefill was.
      for (int m = l + 1; m < cfg.n_layer; ++m) EXPECT_EQ(s.caches()[m]->n_tokens(0), 0);
      EXPECT_EQ(s.caches()[l]->n_tokens(0), kPrompt);
      ASSERT_NE(s.caches()[l]->uncompressed(), nullptr);
      for (int m = 0; m < l; ++m) EXPECT_LE(s.caches()[m]->bytes(), dense[m]) << spec;
      peak = std::max(peak, s.kv_bytes());
      dense[l] = s.caches()[l]->bytes();
      max_dense_layer = std::max(max_dense_layer, dense[l]);
      s.caches()[l] = pipeline.apply(press_context(s, capture, l, kPrompt));
      capture.release(l);
    });
    EXPECT_LE(peak, s.kv_bytes() + max_dense_layer) << spec;
    EXPECT_LT(s.kv_bytes(), dense_kv_bytes(cfg, kPrompt, {})) << spec;
    EXPECT_LT(peak, dense_kv_bytes(cfg, kPrompt, {})) << spec;
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, LayerMajor,
                         ::testing::Values("llama3-f32", "qwen2-f32", "qwen3-q8_0", "mistral-f32"),
                         test::GoldenName());

}  // namespace
}  // namespace sparkv

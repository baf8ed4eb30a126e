// Storage presses on real prefills of every prompt length from 1 token up: a prompt shorter than
// SparK's window compresses with the queries it has (a server applies one recipe to every
// request), and no compressed layer ever holds more bytes than the dense rows of the same tokens
// (kv_bytes from the allocations): on short prompts the per-head constants would otherwise
// outweigh what packing saves, and such layers stay dense instead.
#include <gtest/gtest.h>

#include "test_util.h"

#include <cmath>

#include "model/model.h"
#include "press/capture.h"
#include "press/press_spec.h"
#include "runtime/compress.h"
#include "runtime/session.h"

namespace sparkv {
namespace {

// Per layer: bytes of each recipe's cache on one prefill of n tokens.
std::vector<std::vector<size_t>> layer_bytes(const Model& model, int n,
                                             const std::vector<std::string>& specs,
                                             std::vector<std::vector<std::string>>* kinds) {
  const ModelConfig& cfg = model.config();
  std::vector<int32_t> ids(n);
  for (int i = 0; i < n; ++i) ids[i] = 1 + (i * 7919) % (cfg.n_vocab - 1);
  Session s(model, SessionOptions{});
  PressNeeds needs;
  for (const auto& spec : specs) needs.merge(parse_press_spec(spec).needs());
  PrefillCapture cap(cfg, needs, 0, n);
  s.feed(ids, &cap);
  // The dense bytes no_larger_than_dense compares with are exactly what gathering allocates.
  const auto& dense = dynamic_cast<const DenseLayerCache&>(*s.caches()[0]);
  EXPECT_EQ(dense.bytes_for(n), gather_dense(dense, TokenSelection::all(dense.n_kv(), n))->bytes());
  std::vector<std::vector<size_t>> out;
  kinds->clear();
  for (const auto& spec : specs) {
    const PressPipeline p = parse_press_spec(spec);
    std::vector<size_t> b;
    std::vector<std::string> k;
    for (const auto& c : compress_caches(s, p, cap, n)) {
      b.push_back(c->bytes());
      k.push_back(c->kind());
    }
    out.push_back(b);
    kinds->push_back(k);
  }
  return out;
}

TEST(NeverAboveDense, EveryPromptLengthFromOneToken) {
  for (const char* name : {"llama3-f32", "qwen3-f32"}) {
    const auto model = Model::load(test::golden_model_path(name), false);
    const int D = model->config().head_dim;
    // Pairs: a storage recipe and the recipe whose dense rows hold exactly its tokens.
    const std::vector<std::pair<std::string, std::string>> pairs = {
        {"spark:ratio=0.5", "full"},
        {"spark:ratio=0.8", "full"},
        {"spark:ratio=0.5,recovery=mean,recent=0", "full"},
        {"spark:ratio=0.5,recent=32", "full"},
        {"spark:ratio=0.3,kq=q8", "full"},
        {"spark:ratio=0.5,values=0.5", "full"},
        {"spark:variant=p,p=0.999", "full"},
        {"think:ratio=0.5", "full"},
        {"think:ratio=0.5,recent=32", "full"},
        {"snapkv:budget=16,window=8+spark:ratio=0.8", "snapkv:budget=16,window=8"},
        {"snapkv:budget=16,window=8+think:ratio=0.5", "snapkv:budget=16,window=8"},
        {"spark:ratio=0.8,decode_block=16", "full"},
        {"quant:k=q8_0,v=q4_0", "full"},
        {"snapkv:budget=64,window=8", "full"},
        {"pyramidkv:budget=64,window=8", "full"},
        {"h2o:ratio=0.5", "full"},
        {"streamingllm:budget=64+spark:ratio=0.8", "streamingllm:budget=64"},
    };
    std::vector<std::string> specs;
    for (const auto& [a, b] : pairs) specs.insert(specs.end(), {a, b});
    bool saw_dense_fallback = false, saw_packed = false;
    for (int n : {1, 2, 5, 16, 31, 33, 64, 100, 300, 700, 1500, 4096}) {
      std::vector<std::vector<std::string>> kinds;
      const auto bytes = layer_bytes(*model, n, specs, &kinds);
      for (size_t i = 0; i < pairs.size(); ++i) {
        // The memory plan's bound (--kv-mem-limit) holds: never below what is allocated.
        size_t total = 0;
        for (size_t b : bytes[2 * i]) total += b;
        EXPECT_LE(total, parse_press_spec(pairs[i].first).compressed_bound(model->config(), {}, n))
            << name << " n=" << n << " " << pairs[i].first;
        for (size_t l = 0; l < bytes[2 * i].size(); ++l) {
          EXPECT_LE(bytes[2 * i][l], bytes[2 * i + 1][l])
              << name << " n=" << n << " " << pairs[i].first << " layer " << l << " ("
              << kinds[2 * i][l] << ") vs " << pairs[i].second;
          const std::string kind = kinds[2 * i][l];  // a dense layer reports its element type
          (kind == "spark" || kind == "think" ? saw_packed : saw_dense_fallback) = true;
        }
      }
    }
    EXPECT_TRUE(saw_dense_fallback) << name << ": short prompts should stay dense";
    EXPECT_TRUE(saw_packed) << name << ": long prompts should be packed (D=" << D << ")";
  }
}

}  // namespace
}  // namespace sparkv

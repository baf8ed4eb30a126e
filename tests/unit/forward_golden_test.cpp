// Forward-pass parity with the independent float64 Python reference (tests/golden/make_golden.py):
// every architecture (llama + llama3 RoPE scaling, mistral, qwen2 biases, qwen3 qk-norm with
// head_dim != hidden/heads), every GGUF weight type and the HF safetensors layouts, loaded by
// sparkv and compared logit by logit, then a 32-token greedy continuation compared id by id.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "model/model.h"
#include "runtime/session.h"
#include "sample/sampler.h"

namespace sparkv {
namespace {

const nlohmann::json& manifest() {
  static const nlohmann::json j = [] {
    std::ifstream in(std::string(SPARKV_SOURCE_DIR) + "/tests/golden/forward_manifest.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

class ForwardGolden : public ::testing::TestWithParam<std::string> {};

const nlohmann::json& entry(const std::string& name) {
  for (const auto& e : manifest()["models"])
    if (e["name"] == name) return e;
  throw std::runtime_error("no manifest entry " + name);
}

TEST_P(ForwardGolden, LogitsAndGreedyMatchReference) {
  const nlohmann::json& e = entry(GetParam());
  const std::string path = std::string(SPARKV_GOLDEN_DIR) + "/" + e["path"].get<std::string>();
  auto model = Model::load(path);
  const auto prompt = e["prompt"].get<std::vector<int32_t>>();
  const double tol = e["tolerance"]["max_abs_logit"].get<double>();
  const int V = model->config().n_vocab;

  SessionOptions so;
  so.kv_types = {KvDtype::kF32, KvDtype::kF32};  // the reference keeps K/V in full precision
  Session s(*model, so);
  const std::vector<float> logits = s.feed_all_logits(prompt);
  const auto& ref = e["logits"];
  const auto positions = e["logits_positions"].get<std::vector<int>>();
  double max_err = 0.0;
  for (size_t pi = 0; pi < positions.size(); ++pi) {
    const auto row = ref[pi].get<std::vector<double>>();
    ASSERT_EQ(static_cast<int>(row.size()), V);
    for (int v = 0; v < V; ++v)
      max_err = std::max(max_err, std::abs(logits[static_cast<size_t>(positions[pi]) * V + v] - row[v]));
  }
  EXPECT_LE(max_err, tol) << GetParam() << ": max |dlogit| " << max_err;
  RecordProperty("max_abs_dlogit", std::to_string(max_err));

  // Greedy continuation through the decode path (one token per forward, GEMV kernels).
  Session g(*model, so);
  g.feed(prompt);
  std::vector<int32_t> out;
  for (size_t i = 0; i < e["greedy"].size(); ++i) {
    const int32_t id = argmax(g.logits().data(), V);
    out.push_back(id);
    g.feed({id});
  }
  EXPECT_EQ(out, e["greedy"].get<std::vector<int32_t>>()) << GetParam();
}

std::vector<std::string> all_names() {
  std::vector<std::string> names;
  for (const auto& e : manifest()["models"]) names.push_back(e["name"].get<std::string>());
  return names;
}

INSTANTIATE_TEST_SUITE_P(AllModels, ForwardGolden, ::testing::ValuesIn(all_names()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

// GGUF (permuted Q/K rows, rope_freqs divisors) and HF (half-split rows, rope_scaling config)
// must produce the same model after loading.
TEST(ForwardGoldenCross, GgufAndHfLoadTheSameModel) {
  auto a = Model::load(std::string(SPARKV_GOLDEN_DIR) + "/" + entry("llama3-f32")["path"].get<std::string>());
  auto b = Model::load(std::string(SPARKV_GOLDEN_DIR) + "/" + entry("llama3-hf-f32")["path"].get<std::string>());
  const auto& la = a->weights().layers[0];
  const auto& lb = b->weights().layers[0];
  ASSERT_EQ(la.wq.bytes(), lb.wq.bytes());
  EXPECT_EQ(0, std::memcmp(la.wq.data, lb.wq.data, la.wq.bytes())) << "Q rows not un-permuted";
  EXPECT_EQ(0, std::memcmp(la.wk.data, lb.wk.data, la.wk.bytes())) << "K rows not un-permuted";
  for (size_t i = 0; i < a->weights().rope_inv_freq.size(); ++i)
    EXPECT_NEAR(a->weights().rope_inv_freq[i], b->weights().rope_inv_freq[i],
                1e-6 * b->weights().rope_inv_freq[i]);
}

}  // namespace
}  // namespace sparkv

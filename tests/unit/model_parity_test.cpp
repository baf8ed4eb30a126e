// The exported models (models/sparkv-tiny-*.gguf, and the learned one of issue 18,
// models/sparkv-tiny-learned-*) against the independent float64 reference on their own exported HF
// folders (tests/golden/make_model_parity.py): 20 held-out prompts, the logits of the last two
// positions — the second-to-last from the prefill (chunked SGEMM path), the last from a one-token
// decode step (GEMV path). A fixture belongs to one exact GGUF file (sha256); a model's tests skip
// when its files are absent and fail when they differ from the fixture's (rerun the script). Also:
// each model loads from its HF folder with the same greedy output as from its F16 GGUF.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "model/model.h"
#include "press_fixture_util.h"
#include "runtime/generate.h"
#include "runtime/session.h"
#include "sample/sampler.h"
#include "sha256_util.h"

namespace sparkv {
namespace {

const std::string kModelDir = std::string(SPARKV_SOURCE_DIR) + "/models/";

// One exported model: its file stem under models/ and its fixture under tests/golden/model/.
struct Exported {
  const char* stem;
  const char* fixture;
};

std::ostream& operator<<(std::ostream& os, const Exported& e) { return os << e.stem; }

std::string regen(const Exported& e) {
  return std::string("regenerate the fixture: /usr/bin/python3 tests/golden/make_model_parity.py "
                     "--model-dir models --name ") +
         e.stem + " --out tests/golden/model/" + e.fixture;
}

const nlohmann::json& fixture(const Exported& e) {
  static std::map<std::string, nlohmann::json> cache;
  auto it = cache.find(e.fixture);
  if (it != cache.end()) return it->second;
  const std::string path = std::string(SPARKV_SOURCE_DIR) + "/tests/golden/model/" + e.fixture;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("missing " + path + "; " + regen(e));
  return cache.emplace(e.fixture, nlohmann::json::parse(in)).first->second;
}

// "" when `file` is present and is the one the fixture was made from; otherwise why not.
std::string check_file(const Exported& e, const std::string& suffix, const char* sha_key) {
  const std::string path = kModelDir + e.stem + suffix;
  if (!std::filesystem::exists(path)) return "absent";
  const auto& m = fixture(e)["model"];
  if (!m.contains(sha_key)) return std::string("the fixture has no ") + sha_key;
  const std::string got = test::sha256_file(path);
  if (got != m[sha_key].get<std::string>())
    return "sha256 " + got + " differs from the fixture's " + m[sha_key].get<std::string>();
  return "";
}

struct Parity {
  double max_err = 0.0;     // max |logit - reference| over every prompt's last 2 positions
  std::string worst;        // the prompt it occurred on
  int argmax_mismatch = 0;  // positions whose top-1 id differs from the reference's
};

Parity measure(const Exported& e, const Model& model, KvTypes kv) {
  const auto& fx = fixture(e);
  const int V = model.config().n_vocab;
  EXPECT_EQ(V, fx["n_vocab"].get<int>());
  Parity p;
  for (const auto& c : fx["cases"]) {
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    const std::vector<float> ref = test::decode_f32(c["logits"]);  // [2, V]
    EXPECT_EQ(c["n_last"].get<int>(), 2);
    EXPECT_EQ(ref.size(), static_cast<size_t>(2) * V);
    SessionOptions so;
    so.kv_types = kv;
    Session s(model, so);
    std::vector<std::vector<float>> got;
    got.push_back(s.feed(std::vector<int32_t>(ids.begin(), ids.end() - 1)));
    got.push_back(s.feed({ids.back()}));
    for (int r = 0; r < 2; ++r) {
      const float* want = ref.data() + static_cast<size_t>(r) * V;
      int top_got = 0, top_want = 0;
      for (int v = 0; v < V; ++v) {
        const double e = std::abs(static_cast<double>(got[r][v]) - want[v]);
        if (e > p.max_err) {
          p.max_err = e;
          p.worst = c["label"].get<std::string>();
        }
        if (got[r][v] > got[r][top_got]) top_got = v;
        if (want[v] > want[top_want]) top_want = v;
      }
      p.argmax_mismatch += top_got != top_want;
    }
  }
  return p;
}

void report(const char* what, const Parity& p) {
  std::printf("[ model parity ] %s: max |dlogit| %.3g (on %s), top-1 mismatches %d\n", what,
              p.max_err, p.worst.c_str(), p.argmax_mismatch);
}

class ModelParity : public ::testing::TestWithParam<Exported> {
 protected:
  // Loads models/<stem><suffix> when it is the fixture's file; skips when it is absent.
  std::unique_ptr<Model> load(const std::string& suffix, const char* sha_key) {
    const Exported& e = GetParam();
    const std::string why = check_file(e, suffix, sha_key);
    if (why == "absent") {
      skipped_ = true;
      return nullptr;
    }
    EXPECT_EQ(why, "") << "models/" << e.stem << suffix << ": " << why << "; " << regen(e);
    if (!why.empty()) return nullptr;
    return Model::load(kModelDir + e.stem + suffix, false);
  }
  bool skipped_ = false;
};

#define SPARKV_LOAD_OR_SKIP(var, suffix, key)                                        \
  const auto var = load(suffix, key);                                                \
  if (skipped_) GTEST_SKIP() << "models/" << GetParam().stem << suffix << " is absent"; \
  ASSERT_NE(var, nullptr)

TEST_P(ModelParity, F16GgufF32CacheMatchesReference) {
  SPARKV_LOAD_OR_SKIP(model, "-f16.gguf", "gguf_f16_sha256");
  const auto& fx = fixture(GetParam());
  ASSERT_EQ(fx["cases"].size(), 20u);
  const Parity p = measure(GetParam(), *model, {KvDtype::kF32, KvDtype::kF32});
  report("F16 GGUF, f32 KV cache", p);
  RecordProperty("max_abs_dlogit", std::to_string(p.max_err));
  EXPECT_LE(p.max_err, fx["tolerance"]["f32_cache"].get<double>()) << p.worst;
  EXPECT_EQ(p.argmax_mismatch, 0);
}

// The default f16 cache rounds every cached K/V element (relative 2^-11).
TEST_P(ModelParity, F16GgufF16CacheMatchesReference) {
  SPARKV_LOAD_OR_SKIP(model, "-f16.gguf", "gguf_f16_sha256");
  const Parity p = measure(GetParam(), *model, {KvDtype::kF16, KvDtype::kF16});
  report("F16 GGUF, f16 KV cache", p);
  RecordProperty("max_abs_dlogit", std::to_string(p.max_err));
  EXPECT_LE(p.max_err, fixture(GetParam())["tolerance"]["f16_cache"].get<double>()) << p.worst;
}

// Q8_0 weights against the F16 reference: the quantisation error, bounded loosely.
TEST_P(ModelParity, Q8_0GgufIsClose) {
  SPARKV_LOAD_OR_SKIP(model, "-q8_0.gguf", "gguf_q8_0_sha256");
  const Parity p = measure(GetParam(), *model, {KvDtype::kF32, KvDtype::kF32});
  report("Q8_0 GGUF, f32 KV cache", p);
  RecordProperty("max_abs_dlogit", std::to_string(p.max_err));
  EXPECT_LE(p.max_err, fixture(GetParam())["tolerance"]["q8_0"].get<double>()) << p.worst;
}

// The HF folder (F16 matrices, F16 norm weights) and the F16 GGUF (the same matrices, F32 norms):
// greedy decoding from the fixture's task prompts gives the same tokens. 16 tokens covers every
// generated task's answer.
TEST_P(ModelParity, HfFolderGreedyMatchesGguf) {
  SPARKV_LOAD_OR_SKIP(gguf, "-f16.gguf", "gguf_f16_sha256");
  const std::string hf_dir = kModelDir + GetParam().stem + "-hf";
  ASSERT_TRUE(std::filesystem::exists(hf_dir + "/model.safetensors")) << hf_dir;
  const auto hf = Model::load(hf_dir, false);
  ASSERT_EQ(hf->config().head_dim, gguf->config().head_dim);
  ASSERT_EQ(hf->config().n_head_kv, gguf->config().n_head_kv);
  int compared = 0;
  for (const auto& c : fixture(GetParam())["cases"]) {
    const std::string label = c["label"].get<std::string>();
    if (label.rfind("prose/", 0) == 0) continue;  // task prompts: the answer follows the prompt
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    std::vector<std::vector<int32_t>> out;
    for (const Model* m : {gguf.get(), hf.get()}) {
      Session s(*m, SessionOptions{});
      SamplerParams sp;
      sp.temperature = 0.0f;
      Sampler sampler(sp);
      GenerateOptions go;
      go.n_predict = 16;
      out.push_back(generate(s, ids, sampler, go).ids);
    }
    EXPECT_EQ(out[0], out[1]) << label;
    if (++compared == 8) break;  // 8 prompts up to 1,024 tokens keep the test at seconds
  }
  EXPECT_EQ(compared, 8);
}

INSTANTIATE_TEST_SUITE_P(Models, ModelParity,
                         ::testing::Values(Exported{"sparkv-tiny", "parity.json"},
                                           Exported{"sparkv-tiny-learned", "parity-learned.json"}),
                         [](const ::testing::TestParamInfo<Exported>& i) {
                           return i.index == 0 ? std::string("shipped") : std::string("learned");
                         });

}  // namespace
}  // namespace sparkv

// The embedded model (models/sparkv-tiny-*.gguf) against the independent float64 reference on its
// own exported HF folder (tests/golden/make_model_parity.py): 20 held-out prompts, the logits of
// the last two positions — the second-to-last from the prefill (chunked SGEMM path), the last from
// a one-token decode step (GEMV path). The fixture belongs to one exact GGUF file (sha256); the
// model files are not in the repository until training ends, so the tests skip when they are
// absent and fail when they differ from the fixture's (rerun the script).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "model/model.h"
#include "press_fixture_util.h"
#include "runtime/session.h"
#include "sha256_util.h"

namespace sparkv {
namespace {

const std::string kModelDir = std::string(SPARKV_SOURCE_DIR) + "/models/";
const char* kRegen =
    "regenerate the fixture: /usr/bin/python3 tests/golden/make_model_parity.py --model-dir models";

const nlohmann::json& fixture() {
  static const nlohmann::json j = [] {
    std::ifstream in(std::string(SPARKV_SOURCE_DIR) + "/tests/golden/model/parity.json");
    if (!in) throw std::runtime_error("missing tests/golden/model/parity.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

// "" when `file` is present and is the one the fixture was made from; otherwise why not.
std::string check_file(const std::string& file, const char* sha_key) {
  const std::string path = kModelDir + file;
  if (!std::filesystem::exists(path)) return "absent";
  const auto& m = fixture()["model"];
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

Parity measure(const Model& model, KvTypes kv) {
  const auto& fx = fixture();
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

TEST(ModelParity, F16GgufF32CacheMatchesReference) {
  const std::string why = check_file("sparkv-tiny-f16.gguf", "gguf_f16_sha256");
  if (why == "absent") GTEST_SKIP() << "models/sparkv-tiny-f16.gguf is absent (not exported yet)";
  ASSERT_EQ(why, "") << "models/sparkv-tiny-f16.gguf: " << why << "; " << kRegen;
  const auto model = Model::load(kModelDir + "sparkv-tiny-f16.gguf", false);
  ASSERT_EQ(fixture()["cases"].size(), 20u);
  const Parity p = measure(*model, {KvDtype::kF32, KvDtype::kF32});
  report("F16 GGUF, f32 KV cache", p);
  RecordProperty("max_abs_dlogit", std::to_string(p.max_err));
  EXPECT_LE(p.max_err, fixture()["tolerance"]["f32_cache"].get<double>()) << p.worst;
}

// The default f16 cache rounds every cached K/V element (relative 2^-11).
TEST(ModelParity, F16GgufF16CacheMatchesReference) {
  const std::string why = check_file("sparkv-tiny-f16.gguf", "gguf_f16_sha256");
  if (why == "absent") GTEST_SKIP() << "models/sparkv-tiny-f16.gguf is absent (not exported yet)";
  ASSERT_EQ(why, "") << "models/sparkv-tiny-f16.gguf: " << why << "; " << kRegen;
  const auto model = Model::load(kModelDir + "sparkv-tiny-f16.gguf", false);
  const Parity p = measure(*model, {KvDtype::kF16, KvDtype::kF16});
  report("F16 GGUF, f16 KV cache", p);
  RecordProperty("max_abs_dlogit", std::to_string(p.max_err));
  EXPECT_LE(p.max_err, fixture()["tolerance"]["f16_cache"].get<double>()) << p.worst;
}

// Q8_0 weights against the F16 reference: the quantisation error, bounded loosely.
TEST(ModelParity, Q8_0GgufIsClose) {
  const std::string why = check_file("sparkv-tiny-q8_0.gguf", "gguf_q8_0_sha256");
  if (why == "absent") GTEST_SKIP() << "models/sparkv-tiny-q8_0.gguf is absent (not exported yet)";
  ASSERT_EQ(why, "") << "models/sparkv-tiny-q8_0.gguf: " << why << "; " << kRegen;
  const auto model = Model::load(kModelDir + "sparkv-tiny-q8_0.gguf", false);
  const Parity p = measure(*model, {KvDtype::kF32, KvDtype::kF32});
  report("Q8_0 GGUF, f32 KV cache", p);
  RecordProperty("max_abs_dlogit", std::to_string(p.max_err));
  EXPECT_LE(p.max_err, fixture()["tolerance"]["q8_0"].get<double>()) << p.worst;
}

}  // namespace
}  // namespace sparkv

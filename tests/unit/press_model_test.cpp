// Every press on the embedded model's real prefill, end to end: models/sparkv-tiny-f16.gguf
// prefills the prompt of tests/golden/press/model_e2e.json through a Session with the eval
// runner's capture (f32 cache), and the tokens each eviction press keeps / the channels ThinK
// keeps, per layer and KV head, must be the independent float64 reference's
// (tests/golden/make_press_model_case.py). sparkv's f32 prefill is not bit-identical to the float64
// one, so a difference is tolerated only where the reference itself has a near-tie at the cut: all
// swapped tokens lie in the fixture's tie band (scores within tie_rel of the cut). The compressed
// caches compress_caches builds must hold exactly the selected tokens.
// The model is not in the repository until training ends: the test skips when it is absent and
// fails when it is not the file the fixture was made from.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "kv/think_cache.h"
#include "model/model.h"
#include "press/capture.h"
#include "press/press_spec.h"
#include "press_fixture_util.h"
#include "runtime/compress.h"
#include "runtime/session.h"
#include "sha256_util.h"

namespace sparkv {
namespace {

enum class Outcome { kIdentical, kTolerated, kMismatch };

// got vs want (ascending index lists); `near` is the reference's tie band (empty: no near-tie).
Outcome compare(const std::vector<int32_t>& got, const std::vector<int32_t>& want,
                const std::vector<int32_t>& near) {
  if (got == want) return Outcome::kIdentical;
  if (got.size() != want.size() || near.empty()) return Outcome::kMismatch;
  std::vector<int32_t> diff;
  std::set_symmetric_difference(got.begin(), got.end(), want.begin(), want.end(),
                                std::back_inserter(diff));
  for (int32_t t : diff)
    if (!std::binary_search(near.begin(), near.end(), t)) return Outcome::kMismatch;
  return Outcome::kTolerated;
}

TEST(PressModel, KeptTokensAndChannelsMatchReferenceOnRealPrefill) {
  const std::string path = std::string(SPARKV_SOURCE_DIR) + "/models/sparkv-tiny-f16.gguf";
  if (!std::filesystem::exists(path))
    GTEST_SKIP() << "models/sparkv-tiny-f16.gguf is absent (not exported yet)";
  const nlohmann::json& fx = test::press_fixture("model_e2e");
  const std::string want_sha = fx["model"]["gguf_f16_sha256"];
  ASSERT_EQ(test::sha256_file(path), want_sha)
      << "models/sparkv-tiny-f16.gguf is not the file tests/golden/press/model_e2e.json was made "
         "from; regenerate: /usr/bin/python3 tests/golden/make_press_model_case.py --model-dir "
         "models";

  const auto model = Model::load(path, false);
  const ModelConfig& cfg = model->config();
  ASSERT_EQ(cfg.n_layer, fx["n_layer"].get<int>());
  const auto ids = fx["ids"].get<std::vector<int32_t>>();
  const int64_t T = static_cast<int64_t>(ids.size());

  // One prefill for every recipe, capturing the union of their needs (as the eval runner does).
  std::vector<PressPipeline> pipelines;
  PressNeeds needs;
  for (const auto& e : fx["entries"]) {
    pipelines.push_back(parse_press_spec(e["spec"].get<std::string>()));
    needs.merge(pipelines.back().needs());
  }
  SessionOptions so;
  so.kv_types = {KvDtype::kF32, KvDtype::kF32};
  Session session(*model, so);  // default prefill chunk: 1005 tokens take two forward chunks
  PrefillCapture capture(cfg, needs, 0, T);
  session.feed(ids, &capture);

  std::map<std::string, std::map<Outcome, int>> table;  // spec -> outcome -> layer-heads
  int mismatches = 0;
  for (size_t i = 0; i < pipelines.size(); ++i) {
    const auto& e = fx["entries"][i];
    const std::string spec = e["spec"];
    const PressPipeline& pipeline = pipelines[i];
    const auto caches = compress_caches(session, pipeline, capture, T);
    for (const auto& le : e["layers"]) {
      const int l = le["layer"];
      const PressContext ctx = press_context(session, capture, l, T);
      const bool channels = le.contains("channels");
      const auto want = le[channels ? "channels" : "kept"].get<std::vector<std::vector<int32_t>>>();
      const auto near = le["near"].get<std::vector<std::vector<int32_t>>>();
      std::vector<std::vector<int32_t>> got;
      if (channels) {
        const auto* think = dynamic_cast<const ThinkLayerCache*>(caches[l].get());
        ASSERT_NE(think, nullptr) << spec;
        for (int h = 0; h < cfg.n_head_kv; ++h) got.push_back(think->channels(h));
      } else {
        got = test::run_selection(pipeline, ctx).kept;
        // The cache compress_caches built holds exactly these tokens, in order.
        const auto* dense = dynamic_cast<const DenseLayerCache*>(caches[l].get());
        ASSERT_NE(dense, nullptr) << spec;
        std::vector<float> kc(cfg.head_dim), vc(cfg.head_dim), kf(cfg.head_dim), vf(cfg.head_dim);
        for (int h = 0; h < cfg.n_head_kv; ++h) {
          ASSERT_EQ(dense->n_tokens(h), static_cast<int64_t>(got[h].size())) << spec;
          for (size_t j = 0; j < got[h].size(); ++j) {
            dense->read(h, static_cast<int64_t>(j), 1, kc.data(), vc.data());
            ctx.cache->read(h, got[h][j], 1, kf.data(), vf.data());
            ASSERT_TRUE(kc == kf && vc == vf) << spec << " layer " << l << " head " << h;
          }
        }
      }
      for (int h = 0; h < cfg.n_head_kv; ++h) {
        const Outcome o = compare(got[h], want[h], near[h]);
        ++table[spec][o];
        if (o == Outcome::kMismatch) {
          ++mismatches;
          ADD_FAILURE() << spec << " layer " << l << " KV head " << h << ": "
                        << (channels ? "channels" : "kept tokens") << " differ from the reference "
                        << "(relative gap at the cut " << le["rel_gap"][h] << ")";
        }
      }
    }
  }
  std::printf("[ press model ] %-32s %9s %9s %9s   (layer x KV head)\n", "spec", "identical",
              "tolerated", "mismatch");
  for (const auto& [spec, o] : table)
    std::printf("[ press model ] %-32s %9d %9d %9d\n", spec.c_str(),
                o.count(Outcome::kIdentical) ? o.at(Outcome::kIdentical) : 0,
                o.count(Outcome::kTolerated) ? o.at(Outcome::kTolerated) : 0,
                o.count(Outcome::kMismatch) ? o.at(Outcome::kMismatch) : 0);
  EXPECT_EQ(mismatches, 0);
  EXPECT_GE(table.size(), 9u);
}

}  // namespace
}  // namespace sparkv

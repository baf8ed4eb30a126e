// Continuous batching's promises (include/sparkv/generation.h): a decode step of several sessions
// in one forward pass leaves each session bit-identical to feeding it alone, whatever else shares
// the batch (storage forms, positions, weight types differ across the batch); Generation stepped by
// hand equals Session::generate; misuse throws without changing anything.
#include <cstring>

#include <gtest/gtest.h>

#include "sparkv/sparkv.h"

namespace sparkv {
namespace {

const std::string kDir = std::string(SPARKV_SOURCE_DIR) + "/models/";

std::string prompt_text(int i) {
  std::string p = "The pass key is " + std::to_string(31808 + 1111 * i) + ". Remember it. ";
  for (int k = 0; k < 3 + 2 * i; ++k) p += "The grass is green. The sky is blue. ";
  return p + "What is the pass key? The pass key is";
}

struct Conv {
  api::Session s;
  api::Generation g;
};

// Sessions of different prompts and storage forms, each generating greedily. `batched`: step all
// of them with append_batch; else one by one with append. Returns per session the ids and, for
// every step, the logits.
std::vector<std::pair<std::vector<int32_t>, std::vector<std::vector<float>>>> drive(
    const api::Model& m, const std::vector<std::string>& recipes, bool batched, int n_tokens) {
  const api::Tokenizer tok = m.tokenizer();
  std::vector<std::unique_ptr<api::Session>> ss;
  std::vector<std::unique_ptr<api::Generation>> gs;
  std::vector<std::pair<std::vector<int32_t>, std::vector<std::vector<float>>>> out(recipes.size());
  for (size_t i = 0; i < recipes.size(); ++i) {
    const api::Recipe r = api::Recipe::parse(recipes[i]);
    ss.push_back(std::make_unique<api::Session>(m, api::SessionOptions{.n_ctx = 512}));
    ss.back()->prefill(tok.encode(prompt_text(static_cast<int>(i))), r);
    ss.back()->compress(r);
    gs.push_back(std::make_unique<api::Generation>(
        *ss.back(), api::GenerateOptions{.max_tokens = n_tokens, .stop_at_eos = false}));
  }
  for (;;) {
    std::vector<api::Session*> active;
    std::vector<int32_t> ids;
    std::vector<size_t> which;
    for (size_t i = 0; i < gs.size(); ++i) {
      if (!gs[i]->step()) continue;
      active.push_back(ss[i].get());
      ids.push_back(gs[i]->next_id());
      which.push_back(i);
    }
    if (active.empty()) break;
    if (batched) {
      api::append_batch(active, ids);
    } else {
      for (size_t k = 0; k < active.size(); ++k) active[k]->append({ids[k]});
    }
    for (size_t k = 0; k < active.size(); ++k) out[which[k]].second.push_back(active[k]->logits());
  }
  for (size_t i = 0; i < gs.size(); ++i) out[i].first = gs[i]->finish().ids;
  return out;
}

void expect_bit_identical(const std::string& model_file) {
  const api::Model m = api::Model::load(kDir + model_file);
  const std::vector<std::string> recipes = {"full", "spark:ratio=0.5", "think:ratio=0.5",
                                            "snapkv:budget=96+spark:ratio=0.8", "full"};
  const auto alone = drive(m, recipes, false, 12);
  const auto together = drive(m, recipes, true, 12);
  // The same sessions in a different company: only two of them batched together.
  const auto pair = drive(m, {recipes[1], recipes[3]}, true, 12);
  for (size_t i = 0; i < recipes.size(); ++i) {
    EXPECT_EQ(alone[i].first, together[i].first) << model_file << " " << recipes[i];
    ASSERT_EQ(alone[i].second.size(), together[i].second.size());
    for (size_t t = 0; t < alone[i].second.size(); ++t) {
      const auto& a = alone[i].second[t];
      const auto& b = together[i].second[t];
      ASSERT_EQ(a.size(), b.size());
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
          << model_file << " " << recipes[i] << ": logits differ at step " << t;
    }
  }
  // pair[0] ran prompt 0 with recipes[1]; alone[1] ran prompt 1: compare like with like by
  // rerunning alone with the pair's prompts.
  const auto pair_alone = drive(m, {recipes[1], recipes[3]}, false, 12);
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(pair[i].first, pair_alone[i].first);
  EXPECT_EQ(pair[0].second, pair_alone[0].second);
}

TEST(BatchDecode, BitIdenticalToOneByOneF16) {
  expect_bit_identical("sparkv-tiny-f16.gguf");
}

TEST(BatchDecode, BitIdenticalToOneByOneQ8) {
  expect_bit_identical("sparkv-tiny-q8_0.gguf");
}

TEST(BatchDecode, GenerationEqualsGenerate) {
  const api::Model m = api::Model::load(kDir + "sparkv-tiny-f16.gguf");
  const api::Recipe r = api::Recipe::parse("spark:ratio=0.7");
  const auto ids = m.tokenizer().encode(prompt_text(0));
  api::GenerateOptions o{
      .max_tokens = 20, .sampling = {.temperature = 0.8f, .seed = 7}, .stop = {" The"}};
  std::string streamed_a, streamed_b;
  api::Session a(m, {.n_ctx = 256}), b(m, {.n_ctx = 256});
  for (api::Session* s : {&a, &b}) {
    s->prefill(ids, r);
    s->compress(r);
  }
  o.on_token = [&](int32_t, std::string_view p) {
    streamed_a += p;
    return true;
  };
  const api::GenerateResult ra = a.generate(o);
  o.on_token = [&](int32_t, std::string_view p) {
    streamed_b += p;
    return true;
  };
  api::Generation g(b, o);
  while (g.step()) api::append_batch({&b}, {g.next_id()});
  const api::GenerateResult rb = g.finish();
  EXPECT_EQ(ra.ids, rb.ids);
  EXPECT_EQ(ra.text, rb.text);
  EXPECT_EQ(ra.stop_reason, rb.stop_reason);
  EXPECT_EQ(ra.decode_steps, rb.decode_steps);
  EXPECT_EQ(streamed_a, streamed_b);
  EXPECT_EQ(streamed_a, ra.text);
}

TEST(BatchDecode, MisuseThrowsAndChangesNothing) {
  const api::Model m = api::Model::load(kDir + "sparkv-tiny-f16.gguf");
  const auto ids = m.tokenizer().encode("The sky is blue.");
  api::Session a(m, {.n_ctx = static_cast<int64_t>(ids.size()) + 1}), b(m, {.n_ctx = 64});
  a.prefill(ids);
  b.prefill(ids);
  EXPECT_THROW(api::append_batch({&a, &a}, {1, 2}), Error);
  EXPECT_THROW(api::append_batch({&a}, {1, 2}), Error);
  EXPECT_THROW(api::append_batch({}, {}), Error);
  api::append_batch({&a, &b}, {5, 6});  // a is now full
  const int64_t nb = b.n_past();
  try {
    api::append_batch({&b, &a}, {7, 8});
    FAIL() << "a full session was fed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context full"), std::string::npos) << e.what();
  }
  EXPECT_EQ(b.n_past(), nb);  // checked before anything ran
  EXPECT_THROW(api::Generation(b, {.max_tokens = -1}), Error);
  api::Generation g(b, {.max_tokens = 0});
  EXPECT_FALSE(g.step());
  EXPECT_EQ(g.finish().stop_reason, "length");
}

}  // namespace
}  // namespace sparkv

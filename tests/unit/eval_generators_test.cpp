// The C++ generators against golden samples made by the Python reference
// (tests/golden/eval/make_eval_fixtures.py), plus the properties the spec asks for: fixed seed ->
// fixed output, the needle occurs exactly once, prompt + answer fits the target length.
#include <fstream>
#include <memory>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "eval/gen_rng.h"
#include "eval/generators.h"
#include "eval/prose.h"
#include "tokenizer/tokenizer.h"

namespace sparkv {
namespace {

const std::string kDir = std::string(SPARKV_SOURCE_DIR) + "/tests/golden/eval";

const nlohmann::json& fixture() {
  static const nlohmann::json j = [] {
    std::ifstream in(kDir + "/generators.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

const Tokenizer& tok() {
  static const std::unique_ptr<Tokenizer> t = Tokenizer::from_hf(kDir);
  return *t;
}

size_t count_occurrences(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

TEST(EvalGenRng, VectorsMatchPython) {
  const auto& v = fixture()["vectors"];
  SplitMix64 sm(1234567);
  for (const auto& want : v["splitmix_1234567"])
    EXPECT_EQ(fmt::format("{:016x}", sm.next()), want.get<std::string>());
  EXPECT_EQ(fmt::format("{:016x}", fnv1a64("abc")), v["fnv_abc"].get<std::string>());
  GenRng r = gen_stream("passkey", kEvalSeedBase, 1024, "main");
  const uint64_t ns[] = {1, 2, 3, 7, 40, 1000003, (uint64_t{1} << 63) + 5};
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(r.below(ns[i]), v["stream_passkey_main_below"][i].get<uint64_t>());
  GenRng r2(99);
  std::vector<int> lst = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  r2.shuffle(lst);
  EXPECT_EQ(lst, v["shuffle_99"].get<std::vector<int>>());
  const auto d = r2.distinct(40, 7);
  EXPECT_EQ(std::vector<uint64_t>(d.begin(), d.end()), v["distinct_99"].get<std::vector<uint64_t>>());
  GenRng p = gen_stream("prose", kEvalSeedBase, 512, "hay");
  EXPECT_EQ(prose_paragraphs(p, default_word_lists(), 12), v["prose_paragraphs"].get<std::string>());
  EXPECT_EQ(default_word_lists().cwe_pool.size(), v["cwe_pool_size"].get<size_t>());
  for (size_t i = 0; i < 5; ++i)
    EXPECT_EQ(default_word_lists().cwe_pool[i], v["cwe_pool_head"][i].get<std::string>());
}

TEST(EvalGenerators, EveryFieldMatchesPythonReference) {
  const TokenCounter count = token_counter(tok());
  size_t n = 0;
  for (const auto& want : fixture()["samples"]) {
    const std::string task = want["task"];
    const uint64_t seed = want["seed"];
    const int64_t length = want["length"];
    SCOPED_TRACE(fmt::format("{} seed {} length {}", task, seed, length));
    const TaskSample s = make_sample(task, seed, length, count);
    if (want.contains("context")) {
      EXPECT_EQ(s.context, want["context"].get<std::string>());
    } else {
      EXPECT_EQ(s.context.size(), want["context_bytes"].get<size_t>());
      EXPECT_EQ(fmt::format("{:016x}", fnv1a64(s.context)), want["context_fnv"].get<std::string>());
      EXPECT_EQ(s.context.substr(0, 200), want["context_head"].get<std::string>());
    }
    EXPECT_EQ(s.question, want["question"].get<std::string>());
    EXPECT_EQ(s.answer_prefix, want["answer_prefix"].get<std::string>());
    EXPECT_EQ(s.answers, want["answers"].get<std::vector<std::string>>());
    EXPECT_EQ(s.target, want["target"].get<std::string>());
    EXPECT_EQ(s.max_new_tokens, want["max_new_tokens"].get<int>());
    EXPECT_EQ(s.n_units, want["n_units"].get<int64_t>());
    EXPECT_EQ(s.depths, want["depths"].get<std::vector<int>>());
    EXPECT_EQ(count(s.prompt()), want["prompt_tokens"].get<int64_t>());
    ++n;
  }
  EXPECT_EQ(n, 72u);
}

TEST(EvalGenerators, FixedSeedFixedOutputAndFits) {
  const TokenCounter count = token_counter(tok());
  for (const std::string& task : generator_tasks()) {
    for (int64_t length : {700, 1200}) {  // cwe's smallest list alone needs ~400
      SCOPED_TRACE(task + " " + std::to_string(length));
      const TaskSample a = make_sample(task, kEvalSeedBase + 7, length, count);
      const TaskSample b = make_sample(task, kEvalSeedBase + 7, length, count);
      EXPECT_EQ(a.prompt(), b.prompt());
      EXPECT_EQ(a.answers, b.answers);
      EXPECT_LE(1 + count(a.prompt()) + a.max_new_tokens, length);
      const TaskSample c = make_sample(task, kEvalSeedBase + 8, length, count);
      EXPECT_NE(a.prompt(), c.prompt());
    }
  }
}

TEST(EvalGenerators, NeedlesOccurExactlyOnce) {
  const TokenCounter count = token_counter(tok());
  for (const std::string& task : generator_tasks()) {
    if (task == "cwe" || task == "fwe") continue;  // aggregation tasks: answers repeat by design
    for (int i = 0; i < 3; ++i) {
      const TaskSample s = make_sample(task, kEvalSeedBase + i, 800, count);
      SCOPED_TRACE(task);
      for (const std::string& a : s.answers) {
        // passkey states the key twice in its one line; vt names appear in two chain lines.
        const size_t want = task == "passkey" ? 2 : task == "vt" ? (a == s.answers.back() ? 1 : 2) : 1;
        EXPECT_EQ(count_occurrences(s.context, a), want) << a;
      }
      if (task.rfind("niah", 0) == 0) {
        for (const std::string& a : s.answers)
          EXPECT_EQ(count_occurrences(s.context, " is: " + a + "."), 1u) << a;
      }
    }
  }
  // cwe: the 10 common words are the only ones repeated 6 times at short lengths.
  const TaskSample c = make_sample("cwe", kEvalSeedBase, 800, count);
  for (const std::string& a : c.answers) {
    const size_t last = c.context.find(". " + a + "\n") != std::string::npos;  // the list's end
    EXPECT_EQ(count_occurrences(c.context, ". " + a + " ") + last, 6u) << a;
  }
}

TEST(EvalGenerators, NeedleGridPlacesTheNeedleAtTheDepth) {
  const TokenCounter count = token_counter(tok());
  std::string key_line;
  for (int pct : {0, 50, 100}) {
    const int d = depth_index_from_percent(pct);
    const TaskSample s = make_needle_sample(kEvalSeedBase, 600, d, count);
    ASSERT_EQ(s.answers.size(), 1u);
    EXPECT_EQ(s.depths, std::vector<int>{d});
    EXPECT_EQ(count_occurrences(s.context, s.answers[0]), 1u);
    EXPECT_LE(1 + count(s.prompt()) + s.max_new_tokens, 600);
    const size_t at = s.context.find("One of the secret numbers");
    ASSERT_NE(at, std::string::npos);
    const double frac = static_cast<double>(at) / s.context.size();
    if (pct == 0) {
      EXPECT_LT(frac, 0.1);
    } else if (pct == 50) {
      EXPECT_NEAR(frac, 0.5, 0.1);
    } else {
      EXPECT_GT(frac, 0.9);
    }
    if (key_line.empty()) key_line = s.question;
    EXPECT_EQ(s.question, key_line);  // same key at every depth of a (seed, length) cell
  }
  EXPECT_EQ(depth_index_from_percent(0), 0);
  EXPECT_EQ(depth_index_from_percent(100), 39);
  EXPECT_THROW(make_needle_sample(kEvalSeedBase, 600, 40, count), Error);
  EXPECT_THROW(make_sample("nope", 1, 600, count), Error);
}

TEST(EvalGenerators, TooShortLengthReturnsTheSmallestHaystack) {
  const TaskSample s = make_sample("passkey", kEvalSeedBase, 20, token_counter(tok()));
  EXPECT_EQ(s.n_units, 1);
  EXPECT_EQ(depth_pos(39, 10), 10);
  EXPECT_EQ(depth_pos(20, 10), 5);
  EXPECT_EQ(join_keys({"a", "b", "c"}), "a, b, and c");
  EXPECT_EQ(join_keys({"a"}), "a");
}

}  // namespace
}  // namespace sparkv

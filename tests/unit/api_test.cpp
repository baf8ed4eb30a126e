// The public API (include/sparkv/) against the engine it wraps: the same greedy tokens as the
// internal prefill -> compress -> decode path, forks equal to fresh sessions, stop strings that
// never leak into the text or the stream, errors for every misuse, and the README's example.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>

#include <gtest/gtest.h>

#include "model/model.h"
#include "press/press_spec.h"
#include "runtime/generate.h"
#include "runtime/prefill.h"
#include "sample/sampler.h"
#include "sparkv/sparkv.h"
#include "test_util.h"

namespace sparkv {
namespace {

const std::string kModel = std::string(SPARKV_SOURCE_DIR) + "/models/sparkv-tiny-f16.gguf";

std::string passkey_prompt(int filler) {
  std::string p = "The pass key is 31808. Remember it. ";
  for (int i = 0; i < filler; ++i) p += "The grass is green. The sky is blue. ";
  return p + "What is the pass key? The pass key is";
}

// The engine's own path, wired by hand from internal headers (what the CLI did before the API).
std::vector<int32_t> internal_greedy(const std::vector<int32_t>& ids, const std::string& spec,
                                     int n) {
  const auto model = Model::load(kModel);
  const PressPipeline pipe = parse_press_spec(spec);
  Session s(*model, SessionOptions{});
  Prefill prefill(s, ids, pipe.needs());
  prefill.apply(pipe, 0);
  Sampler sampler(SamplerParams{});
  GenerateOptions go;
  go.n_predict = n;
  go.stop_ids = model->config().eos_ids;
  GenerateResult r;
  decode(s, sampler, go, &r);
  return r.ids;
}

TEST(PublicApi, ModelInfoAndTokenizer) {
  const api::Model m = api::Model::load(kModel);
  const api::ModelInfo i = m.info();
  EXPECT_EQ(i.format, "gguf");
  EXPECT_GT(i.n_layer, 0);
  EXPECT_EQ(i.n_head % i.n_head_kv, 0);
  EXPECT_FALSE(i.tensors.empty());
  EXPECT_EQ(m.weight_bytes(), i.weight_bytes);
  const api::Tokenizer tok = m.tokenizer();
  const auto ids = tok.encode("The pass key is 31808.", false, false);
  EXPECT_EQ(tok.decode(ids), "The pass key is 31808.");
  // A tokenizer handle keeps what it needs alive after the model handle is gone.
  std::optional<api::Tokenizer> kept;
  {
    const api::Model other = api::Model::load(kModel);
    kept.emplace(other.tokenizer());
  }
  EXPECT_EQ(kept->encode("The pass key is 31808.", false, false), ids);
  // The tokenizer alone (no weights) gives the same ids.
  EXPECT_EQ(api::Tokenizer::load(kModel).encode("The pass key is 31808.", false, false), ids);
}

TEST(PublicApi, GreedyTokensEqualTheInternalPath) {
  const api::Model m = api::Model::load(kModel);
  const auto ids = m.tokenizer().encode(passkey_prompt(40));
  for (const std::string spec : {"full", "spark:ratio=0.8", "snapkv:budget=128+spark:ratio=0.5",
                                 "think:ratio=0.5", "h2o:budget=100", "expected:budget=128"}) {
    const api::Recipe r = api::Recipe::parse(spec);
    api::Session s(m);
    s.prefill(ids, r);
    s.compress(r);
    api::GenerateOptions go;
    go.max_tokens = 10;
    const api::GenerateResult out = s.generate(go);
    EXPECT_EQ(out.ids, internal_greedy(ids, spec, 10)) << spec;
    if (!r.is_full()) {
      const api::KvReport kv = s.kv();
      EXPECT_GT(kv.bytes_before_compress, kv.bytes_after_compress) << spec;
      EXPECT_GT(s.timings().compress_seconds, 0.0) << spec;
    }
  }
}

TEST(PublicApi, ForksEqualFreshSessions) {
  const api::Model m = api::Model::load(kModel);
  const auto ids = m.tokenizer().encode(passkey_prompt(30));
  const std::vector<api::Recipe> recipes = {api::Recipe::parse("spark:ratio=0.8"),
                                            api::Recipe::parse("h2o:budget=120"), api::Recipe()};
  api::Session base(m);
  base.prefill(ids, recipes);  // one prefill records what every recipe needs
  api::GenerateOptions go;
  go.max_tokens = 8;
  for (const api::Recipe& r : recipes) {
    api::Session f = base.fork(r);
    api::Session fresh(m);
    fresh.prefill(ids, r);
    fresh.compress(r);
    EXPECT_EQ(f.generate(go).ids, fresh.generate(go).ids) << r.spec();
    EXPECT_EQ(f.kv().bytes, fresh.kv().bytes) << r.spec();
  }
  // The base is untouched by its forks and still decodes the full cache.
  EXPECT_EQ(base.kv().layers_by_storage.count("f16"), 1u);
}

TEST(PublicApi, StopStringsCutTextAndStream) {
  const api::Model m = api::Model::load(kModel);
  const auto ids = m.tokenizer().encode(passkey_prompt(30));
  auto run = [&](std::vector<std::string> stop, std::string* streamed) {
    api::Session s(m);
    s.prefill(ids);
    api::GenerateOptions go;
    go.max_tokens = 12;
    go.stop = std::move(stop);
    go.on_token = [streamed](int32_t, std::string_view piece) {
      *streamed += piece;
      return true;
    };
    return s.generate(go);
  };
  std::string plain_stream;
  const api::GenerateResult plain = run({}, &plain_stream);
  ASSERT_GE(plain.text.size(), 4u) << plain.text;
  EXPECT_EQ(plain_stream, plain.text);
  // A stop string spanning the middle of the answer (two characters, likely across tokens).
  const std::string stop = plain.text.substr(2, 2);
  std::string streamed;
  const api::GenerateResult cut = run({stop, "never-there"}, &streamed);
  EXPECT_EQ(cut.stop_reason, "stop_string");
  EXPECT_EQ(cut.text, plain.text.substr(0, plain.text.find(stop)));
  EXPECT_EQ(streamed, cut.text);  // nothing of the stop string reached the callback
  EXPECT_LE(cut.ids.size(), plain.ids.size());
}

TEST(PublicApi, CallbackStops) {
  const api::Model m = api::Model::load(kModel);
  api::Session s(m);
  s.prefill(m.tokenizer().encode(passkey_prompt(5)));
  api::GenerateOptions go;
  go.max_tokens = 10;
  int n = 0;
  go.on_token = [&](int32_t id, std::string_view) { return id < 0 || ++n < 3; };
  const api::GenerateResult r = s.generate(go);
  EXPECT_EQ(r.stop_reason, "callback");
  EXPECT_EQ(r.ids.size(), 3u);
}

TEST(PublicApi, MisuseIsAnError) {
  const api::Model m = api::Model::load(kModel);
  const auto ids = m.tokenizer().encode(passkey_prompt(5));
  const api::Recipe spark = api::Recipe::parse("spark:ratio=0.5");
  auto msg = [](auto f) { return test::error_message(f); };
  {
    api::Session s(m);
    EXPECT_NE(msg([&] { s.compress(spark); }).find("prefill the session first"), std::string::npos);
    EXPECT_NE(msg([&] { s.generate({}); }).find("holds no tokens"), std::string::npos);
    EXPECT_NE(msg([&] { s.prefill({}); }).find("empty"), std::string::npos);
  }
  {
    api::Session s(m);
    s.prefill(ids);  // recorded nothing for SparK
    EXPECT_NE(msg([&] { s.compress(spark); }).find("name the recipe when prefilling"),
              std::string::npos);
    EXPECT_NE(msg([&] { s.prefill(ids); }).find("already prefilled"), std::string::npos);
  }
  {
    api::Session s(m);
    s.prefill(ids, spark);
    s.compress(spark);
    EXPECT_NE(msg([&] { s.fork(spark); }).find("fork before compress"), std::string::npos);
    EXPECT_NE(msg([&] { s.compress(spark); }).find("already compressed"), std::string::npos);
    api::GenerateOptions go;
    go.stop = {""};
    EXPECT_NE(msg([&] { s.generate(go); }).find("empty stop string"), std::string::npos);
    go.stop = {};
    go.sampling.top_p = 2;
    EXPECT_NE(msg([&] { go.sampling.validate(); }).find("top"), std::string::npos);
  }
  api::SessionOptions bad;
  bad.cache_type_k = "q9_9";
  EXPECT_NE(msg([&] { api::Session s(m, bad); }).find("q9_9"), std::string::npos);
  api::SessionOptions tight;
  tight.kv_mem_limit = 1024;
  api::Session over(m, tight);  // the prefill checks the recipe's memory plan
  EXPECT_NE(msg([&] {
              over.prefill_and_compress({1, 2, 3}, api::Recipe::parse("full"));
            }).find("over the --kv-mem-limit"),
            std::string::npos);
  EXPECT_EQ(over.n_past(), 0);
  EXPECT_NE(msg([&] { api::Model::load("/nonexistent.gguf"); }).find("/nonexistent.gguf"),
            std::string::npos);
  EXPECT_NE(msg([&] { api::Recipe::parse("spark:ratio=2"); }).find("ratio"), std::string::npos);
}

TEST(PublicApi, RecipeMethodsComeFromTheRegistry) {
  const auto methods = api::Recipe::methods();
  ASSERT_FALSE(methods.empty());
  const std::string help = api::Recipe::methods_help();
  for (const auto& m : methods) {
    EXPECT_FALSE(m.help.empty()) << m.name;
    EXPECT_NE(help.find(m.name), std::string::npos) << m.name;
    for (const auto& k : m.keys) EXPECT_FALSE(k.help.empty()) << m.name << "." << k.name;
  }
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The README's C++ example is examples/hello_spark.cpp verbatim, and it runs: built against
// include/sparkv/ alone (CMakeLists.txt), it prints the pass key under spark:ratio=0.8.
TEST(PublicApi, ReadmeExampleIsTheBuiltProgramAndAnswers) {
  const std::string src = slurp(std::string(SPARKV_SOURCE_DIR) + "/examples/hello_spark.cpp");
  const std::string readme = slurp(std::string(SPARKV_SOURCE_DIR) + "/README.md");
  ASSERT_FALSE(src.empty());
  EXPECT_NE(readme.find(src), std::string::npos)
      << "README.md's C++ example differs from examples/hello_spark.cpp";
  test::TempDir dir;
  const std::string out = dir.file("out.txt");
  const std::string cmd = std::string(SPARKV_EXAMPLE_PATH) + " " + kModel + " >" + out + " 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::string text = slurp(out);
  ASSERT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << text;
  EXPECT_NE(text.find("31808"), std::string::npos) << text;
  EXPECT_NE(text.find("spark:ratio=0.8"), std::string::npos) << text;
}

}  // namespace
}  // namespace sparkv

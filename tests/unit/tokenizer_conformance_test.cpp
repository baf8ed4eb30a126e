// Conformance on real vocabularies: ids from the reference HF tokenizers (Rust) produced by
// scripts/tokenizer/make_fixtures.mjs and committed under tests/fixtures/tokenizer/.
#include <gtest/gtest.h>

#include <memory>

#include "tokenizer/tokenizer.h"
#include "tokenizer_test_util.h"

namespace sparkv {
namespace {

struct VocabCase {
  const char* fixture;   // ids_<name>.json
  const char* source;    // "qwen:<dir>" or "npm:<package>"
};

std::filesystem::path locate(const std::string& source) {
  if (source.rfind("qwen:", 0) == 0) return test::qwen_vocab_dir(source.substr(5));
  return test::npm_vocab_dir(source.substr(4));
}

class TokenizerConformance : public ::testing::TestWithParam<VocabCase> {};

TEST_P(TokenizerConformance, EncodeMatchesReferenceAndDecodeRoundTrips) {
  const VocabCase& vc = GetParam();
  const std::filesystem::path dir = locate(vc.source);
  if (dir.empty())
    GTEST_SKIP() << vc.fixture << ": vocabulary not present (Meta licence: not committed). Run "
                 << "scripts/tokenizer/fetch_vocabs.sh to install it from npm.";
  const auto tok = Tokenizer::from_hf(dir.string());
  const nlohmann::json fx = test::read_fixture_json(vc.fixture);
  const auto& cases = fx.at("cases");
  ASSERT_GE(cases.size(), 1000u);
  int encode_mismatch = 0, decode_mismatch = 0;
  for (const auto& c : cases) {
    const std::string text = c.at("text");
    const std::vector<int32_t> want = c.at("ids");
    const std::vector<int32_t> got = tok->encode(text, /*add_bos=*/false, /*parse_special=*/true);
    if (got != want && ++encode_mismatch <= 5) {
      ADD_FAILURE() << vc.fixture << ": encode mismatch for " << nlohmann::json(text).dump()
                    << "\n  want " << nlohmann::json(want).dump() << "\n  got  "
                    << nlohmann::json(got).dump();
    }
    const std::string decoded = tok->decode(want);
    const std::string want_decoded = c.at("decoded");
    if (decoded != want_decoded && ++decode_mismatch <= 5) {
      ADD_FAILURE() << vc.fixture << ": decode mismatch for " << nlohmann::json(text).dump()
                    << "\n  want " << nlohmann::json(want_decoded).dump() << "\n  got  "
                    << nlohmann::json(decoded).dump();
    }
  }
  EXPECT_EQ(encode_mismatch, 0) << "of " << cases.size();
  EXPECT_EQ(decode_mismatch, 0) << "of " << cases.size();
  for (const auto& c : fx.at("with_special_tokens")) {
    const std::vector<int32_t> want = c.at("ids");
    EXPECT_EQ(tok->encode(c.at("text").get<std::string>(), true, true), want)
        << vc.fixture << ": with BOS " << c.at("text");
  }
}

INSTANTIATE_TEST_SUITE_P(
    RealVocabs, TokenizerConformance,
    ::testing::Values(VocabCase{"ids_qwen2_5.json", "qwen:qwen2_5"},
                      VocabCase{"ids_qwen3.json", "qwen:qwen3"},
                      VocabCase{"ids_llama3.json", "npm:tokenizer-llama3"},
                      VocabCase{"ids_llama2.json", "npm:tokenizer-llama2"}),
    [](const auto& info) {
      std::string n = info.param.fixture;
      n = n.substr(4, n.size() - 9);
      return n;
    });

}  // namespace
}  // namespace sparkv

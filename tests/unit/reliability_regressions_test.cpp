// Inputs that crashed sparkv before a fix (found by the fuzzers in tests/fuzz or while writing
// them). Each must now end in one sparkv::Error naming the file.
#include <gtest/gtest.h>

#include <string>

#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "io/json_depth.h"
#include "model/model.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace sparkv {
namespace {

using test::error_message;
using test::TempDir;

std::string repeat(const std::string& s, int n) {
  std::string out;
  out.reserve(s.size() * n);
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

const char* const kModel =
    R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";

std::string load_error(const std::string& tokenizer_json) {
  TempDir dir;
  test::write_text(dir.file("tokenizer.json"), tokenizer_json);
  return error_message([&] { Tokenizer::from_hf(dir.path().string()); });
}

// Stack overflow (ASan: stack-overflow) in the recursive normalizer reader, the recursive
// pre-tokenizer reader, and nlohmann::json::dump() of a sub-tree in two error messages, on
// tokenizer.json files nested ~300,000 levels deep (a few MB).
TEST(ReliabilityRegressions, DeeplyNestedTokenizerJsonIsRejected) {
  constexpr int kDeep = 300000;
  const std::string want = "JSON nested deeper than 256 levels";
  const std::string normalizer = repeat(R"({"type": "Sequence", "normalizers": [)", kDeep) +
                                 R"({"type": "NFC"})" + repeat("]}", kDeep);
  EXPECT_NE(load_error("{\"normalizer\": " + normalizer + ", " + kModel + "}").find(want),
            std::string::npos);
  const std::string pre = repeat(R"({"type": "Sequence", "pretokenizers": [)", kDeep) +
                          R"({"type": "ByteLevel"})" + repeat("]}", kDeep);
  EXPECT_NE(load_error("{\"pre_tokenizer\": " + pre + ", " + kModel + "}").find(want),
            std::string::npos);
  const std::string arrays = repeat("[", kDeep) + repeat("]", kDeep);
  EXPECT_NE(load_error(R"({"normalizer": {"type": "Bogus", "x": )" + arrays + "}, " + kModel + "}")
                .find(want),
            std::string::npos);
  EXPECT_NE(
      load_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [)" + arrays + "]}}")
          .find(want),
      std::string::npos);
}

TEST(ReliabilityRegressions, JsonDepthGuardAcceptsRealisticNesting) {
  // Brackets inside strings (and escaped quotes) do not count.
  EXPECT_NO_THROW(check_json_depth(R"({"a": "[[[[[[\"[[[[", "b": [[1], {"c": [2]}]})", "x"));
  EXPECT_NO_THROW(check_json_depth(repeat("[", 256) + repeat("]", 256), "x"));
  EXPECT_EQ(error_message([&] { check_json_depth(repeat("[", 257), "f.json"); }),
            "f.json: JSON nested deeper than 256 levels (at byte 256)");
  // A 40-level normalizer Sequence (80 JSON levels) gets past the guard to the next check.
  const std::string normalizer = repeat(R"({"type": "Sequence", "normalizers": [)", 40) +
                                 R"({"type": "NFC"})" + repeat("]}", 40);
  const std::string msg =
      load_error("{\"normalizer\": " + normalizer +
                 R"(, "pre_tokenizer": {"type": "ByteLevel"}, )" + kModel + "}");
  EXPECT_EQ(msg.find("nested deeper"), std::string::npos) << msg;
  EXPECT_NE(msg.find("lacks the byte-level token"), std::string::npos) << msg;
}

// fuzz_tokenizer_json slow unit (27 s under load, 3 s idle): a 3.6 KB tokenizer.json whose one
// token id 186256 made the loader build 186k "<unused_N>" placeholders; an id near 2^24 would have
// cost gigabytes. Sparse id spaces are now refused.
TEST(ReliabilityRegressions, SparseTokenIdSpaceIsRejected) {
  const std::string msg = load_error(
      R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 186256}, "merges": ["a b"]}})");
  EXPECT_NE(msg.find("token id 186256 leaves 186254 of 186257 ids undefined"), std::string::npos)
      << msg;
}

// UBSan: "1e+300 is outside the range of representable values of type 'int'" in load_hf.cpp,
// casting rope_scaling.original_max_position_embeddings to int unchecked.
TEST(ReliabilityRegressions, HugeRopeOriginalContextIsRejected) {
  TempDir dir;
  test::write_text(dir.file("config.json"), R"({"architectures": ["LlamaForCausalLM"],
      "num_hidden_layers": 1, "hidden_size": 8, "intermediate_size": 16, "num_attention_heads": 2,
      "vocab_size": 16, "rope_scaling": {"rope_type": "llama3", "factor": 8.0,
      "original_max_position_embeddings": 1e300}})");
  EXPECT_NE(error_message([&] {
              Model::load(dir.path().string());
            }).find("rope_scaling original_max_position_embeddings 1e+300 is out of range"),
            std::string::npos);
}

// libFuzzer out-of-memory (fuzz_gguf, CI run): a GGUF vocabulary whose control token "<s> h\xC3"
// ends inside a UTF-8 sequence split "<s> héllo" mid-character; the SentencePiece merger then
// looped forever on a zero-length character, growing a vector to 1.6 GB. The byte-level BPE path
// handed the same broken segment to PCRE2 with PCRE2_NO_UTF_CHECK (undefined behaviour there).
// Added tokens that are not well-formed UTF-8 are now never matched in prompts.
std::unique_ptr<Tokenizer> vocab_with_broken_control_token(const TempDir& dir, bool spm) {
  std::vector<std::string> tokens;
  std::vector<int64_t> types;
  GgufWriter w;
  if (spm) {
    tokens = {"<unk>", "<s>", "</s>"};
    types = {2, 3, 3};
    for (int b = 0; b < 256; ++b) {
      tokens.push_back(fmt::format("<0x{:02X}>", b));
      types.push_back(6);
    }
    for (const char* t : {"\xE2\x96\x81", "h", "l", "o", "\xC3\xA9"}) {
      tokens.push_back(t);
      types.push_back(1);
    }
    w.add_string("tokenizer.ggml.model", "llama");
  } else {
    // Byte-level BPE: the 256 byte symbols in GPT-2's printable spelling.
    int shifted = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const uint32_t cp = printable ? b : 256 + shifted++;
      std::string u;
      if (cp < 0x80)
        u += static_cast<char>(cp);
      else
        u += {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
      tokens.push_back(u);
      types.push_back(1);
    }
    w.add_string("tokenizer.ggml.model", "gpt2");
    w.add_string("tokenizer.ggml.pre", "llama-bpe");  // no NFC: the text reaches PCRE2 as is
    w.add_string_array("tokenizer.ggml.merges", {"h e"});
    tokens.push_back("he");
    types.push_back(1);
  }
  tokens.push_back("<s> h\xC3");  // ill-formed: a lead byte with no continuation
  types.push_back(3);
  w.add_string_array("tokenizer.ggml.tokens", tokens);
  w.add_int_array("tokenizer.ggml.token_type", types);
  if (spm) w.add_float_array("tokenizer.ggml.scores", std::vector<double>(tokens.size(), 0.0));
  const std::string path = dir.file(spm ? "spm.gguf" : "bpe.gguf");
  w.write(path);
  return Tokenizer::from_gguf(GgufFile(path));
}

TEST(ReliabilityRegressions, AddedTokenEndingMidCharacterIsNeverMatched) {
  TempDir dir;
  for (bool spm : {true, false}) {
    const auto tok = vocab_with_broken_control_token(dir, spm);
    const std::vector<int32_t> ids = tok->encode("<s> h\xC3\xA9llo", false, true);
    ASSERT_FALSE(ids.empty()) << (spm ? "spm" : "bpe");
    const int32_t broken = tok->n_vocab() - 1;
    for (int32_t id : ids) EXPECT_NE(id, broken) << (spm ? "spm" : "bpe");
    // The character survives whole (how "<s>" and the space render differs by family).
    EXPECT_NE(tok->decode(ids).find("h\xC3\xA9llo"), std::string::npos) << (spm ? "spm" : "bpe");
  }
}

}  // namespace
}  // namespace sparkv

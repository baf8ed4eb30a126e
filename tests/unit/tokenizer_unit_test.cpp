// Tokenizer building blocks and failure modes: UTF-8 handling, the byte map, the split regex,
// streaming decode, a seeded random-unicode round trip, GGUF-vs-tokenizer.json equivalence and
// clear errors on bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <utf8proc.h>

#include "core/error.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/split_regex.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer_test_util.h"

namespace sparkv {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const Tokenizer& qwen3() {
  static const std::unique_ptr<Tokenizer> tok = [] {
    const fs::path dir = test::qwen_vocab_dir("qwen3");
    if (dir.empty()) throw Error("could not unpack qwen_vocab.tar.xz");
    return Tokenizer::from_hf(dir.string());
  }();
  return *tok;
}

std::string nfc(const std::string& s) {
  auto* p = utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(s.c_str()));
  std::string r(reinterpret_cast<char*>(p));
  std::free(p);
  return r;
}

// Random valid UTF-8 from all planes, biased toward whitespace, digits and punctuation so the
// split regex's alternatives all get exercised.
std::string random_text(std::mt19937& rng, size_t n_cp) {
  std::string s;
  std::uniform_int_distribution<int> kind(0, 9);
  for (size_t i = 0; i < n_cp; ++i) {
    uint32_t cp;
    switch (kind(rng)) {
      case 0: cp = " \t\n\r"[rng() % 4]; break;
      case 1: cp = '0' + rng() % 10; break;
      case 2: cp = "'!?.,;:-_()[]{}<>|\"/\\"[rng() % 21]; break;
      case 3: case 4: cp = 0x20 + rng() % 0x5F; break;
      case 5: cp = 0x80 + rng() % 0x780; break;
      case 6: cp = 0x4E00 + rng() % 0x5000; break;
      case 7: cp = 0x1F300 + rng() % 0x300; break;
      default: cp = rng() % 0x110000; break;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
    utf8_append(s, cp);
  }
  return s;
}

TEST(Utf8, ValidationFindsTheFirstBadByte) {
  EXPECT_EQ(utf8_find_invalid("abc\xC3\xA9"), std::string::npos);
  EXPECT_EQ(utf8_find_invalid("ab\xC3"), 2u);              // truncated
  EXPECT_EQ(utf8_find_invalid("a\xC0\x80"), 1u);           // overlong
  EXPECT_EQ(utf8_find_invalid("\xED\xA0\x80"), 0u);        // surrogate
  EXPECT_EQ(utf8_find_invalid("\xF4\x90\x80\x80"), 0u);    // > U+10FFFF
  EXPECT_EQ(utf8_find_invalid("ok\x80"), 2u);              // stray continuation
  EXPECT_EQ(utf8_sanitize("a\xE2\x82z"), "a\xEF\xBF\xBDz");
  EXPECT_EQ(utf8_complete_prefix("ab\xF0\x9F"), 2u);
  EXPECT_EQ(utf8_complete_prefix("ab\xF0\x9F\x99\x82"), 6u);
  EXPECT_EQ(utf8_complete_prefix("ab\xFF"), 3u);  // never valid: nothing to wait for
}

TEST(ByteLevelMap, MatchesTheGpt2Table) {
  const ByteLevelMap& m = ByteLevelMap::get();
  EXPECT_EQ(m.encode_byte(' '), "\xC4\xA0");   // U+0120 'Ġ'
  EXPECT_EQ(m.encode_byte('\n'), "\xC4\x8A");  // U+010A 'Ċ'
  EXPECT_EQ(m.encode_byte('a'), "a");
  EXPECT_EQ(m.encode_byte(0xAD), "\xC5\x83");  // the 68th remapped byte: U+0143
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  std::string back;
  ASSERT_TRUE(m.decode(m.encode(all), back));
  EXPECT_EQ(back, all);
}

TEST(SplitRegex, Llama3AndQwenDifferOnDigits) {
  std::vector<std::pair<size_t, size_t>> p;
  const std::string text = "I'M 12345 okay!!\n\n  x";
  auto pieces = [&](const char* pat) {
    SplitRegex re(pat);
    p.clear();
    re.split(text, p);
    std::vector<std::string> out;
    for (auto [b, e] : p) out.push_back(text.substr(b, e - b));
    return out;
  };
  EXPECT_EQ(pieces(kLlama3SplitPattern),
            (std::vector<std::string>{"I", "'M", " ", "123", "45", " okay", "!!\n\n", " ", " x"}));
  EXPECT_EQ(pieces(kQwen2SplitPattern),
            (std::vector<std::string>{"I", "'M", " ", "1", "2", "3", "4", "5", " okay", "!!\n\n", " ", " x"}));
  // U+180E is not White_Space for the reference (HF word ids: "!\u180E" is one pre-token), but
  // PCRE2's \s matches it; the rewrite keeps the reference meaning. U+3000 is White_Space.
  SplitRegex qwen(kQwen2SplitPattern);
  p.clear();
  qwen.split("!\xE1\xA0\x8E", p);
  EXPECT_EQ(p.size(), 1u);
  p.clear();
  qwen.split("!\xE3\x80\x80", p);
  EXPECT_EQ(p.size(), 2u);
  EXPECT_THROW(SplitRegex("(unclosed"), Error);
  EXPECT_THROW(split_pattern_for_pre("deepseek-llm"), Error);
  EXPECT_STREQ(split_pattern_for_pre("llama-bpe"), kLlama3SplitPattern);
  EXPECT_STREQ(split_pattern_for_pre("qwen2"), kQwen2SplitPattern);
}

TEST(BpeTokenizer, SpecialTokensAndMetadata) {
  const Tokenizer& t = qwen3();
  EXPECT_EQ(t.kind(), "gpt2");
  EXPECT_EQ(t.pre(), "qwen2");
  EXPECT_EQ(t.n_vocab(), 151669);
  EXPECT_EQ(t.bos_id(), -1);
  EXPECT_FALSE(t.add_bos());
  EXPECT_EQ(t.eos_id(), 151645);
  const auto& stops = t.stop_ids();
  EXPECT_NE(std::find(stops.begin(), stops.end(), 151645), stops.end());  // <|im_end|>
  EXPECT_NE(std::find(stops.begin(), stops.end(), 151643), stops.end());  // <|endoftext|>
  EXPECT_EQ(t.encode("<|im_start|>user", false, true), (std::vector<int32_t>{151644, 872}));
  // parse_special = false: control tokens are plain text; user-defined ones (<think>) still match.
  const auto plain = t.encode("<|im_start|>", false, false);
  EXPECT_GT(plain.size(), 1u);
  EXPECT_EQ(t.decode(plain), "<|im_start|>");
  EXPECT_EQ(t.encode("<think>", false, false), (std::vector<int32_t>{151667}));
  EXPECT_TRUE(t.is_special(151644));
  EXPECT_FALSE(t.is_special(872));
  EXPECT_EQ(t.token_text(220), "\xC4\xA0");
  EXPECT_EQ(t.token_bytes(220), " ");
  EXPECT_EQ(t.decode({151644, 872}, /*skip_special=*/true), "user");
  EXPECT_FALSE(t.chat_template().empty());
}

TEST(BpeTokenizer, RandomUnicodeRoundTrips) {
  const Tokenizer& t = qwen3();
  std::mt19937 rng(20240531);
  for (int i = 0; i < 400; ++i) {
    const std::string s = random_text(rng, 1 + rng() % 64);
    const std::vector<int32_t> ids = t.encode(s, false, false);
    // Qwen normalises to NFC, so the round trip reproduces the NFC form.
    ASSERT_EQ(t.decode(ids), nfc(s)) << json(s).dump();
  }
}

TEST(BpeTokenizer, RandomUnicodeRoundTripsLlama3) {
  const fs::path dir = test::npm_vocab_dir("tokenizer-llama3");
  if (dir.empty()) GTEST_SKIP() << "Llama-3 vocabulary not installed (scripts/tokenizer/fetch_vocabs.sh)";
  const auto t = Tokenizer::from_hf(dir.string());
  std::mt19937 rng(7);
  for (int i = 0; i < 400; ++i) {
    const std::string s = random_text(rng, 1 + rng() % 64);
    ASSERT_EQ(t->decode(t->encode(s, false, false)), s) << json(s).dump();
  }
}

TEST(StreamDecoder, BuffersSplitCharacters) {
  const Tokenizer& t = qwen3();
  const std::string s = "emoji 👨‍👩‍👧 and 日本語 and \xF0\x9F\x99\x82!";
  const std::vector<int32_t> ids = t.encode(s, false, true);
  StreamDecoder dec(t);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string piece = dec.push(id);
    EXPECT_EQ(utf8_find_invalid(piece), std::string::npos);
    streamed += piece;
  }
  streamed += dec.flush();
  EXPECT_EQ(streamed, s);
  // A dangling partial character becomes U+FFFD at flush.
  StreamDecoder dec2(t);
  // A private-use code point from plane 16 has no token of its own: four byte tokens.
  const std::vector<int32_t> emoji = t.encode("\xF4\x8F\xBF\xBD", false, false);
  ASSERT_GT(emoji.size(), 1u);
  EXPECT_EQ(dec2.push(emoji[0]), "");
  EXPECT_EQ(dec2.flush(), "\xEF\xBF\xBD");
}

TEST(TokenizerErrors, InvalidUtf8AndIdsOutOfRange) {
  const Tokenizer& t = qwen3();
  try {
    t.encode("ok \xC3\x28 bad", false, true);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("invalid UTF-8 at byte offset 3"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(t.decode({1, t.n_vocab()}), Error);
  EXPECT_THROW(t.token_text(-1), Error);
  EXPECT_THROW(t.token_bytes(1 << 30), Error);
  EXPECT_THROW(t.is_special(t.n_vocab()), Error);
}

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("sparkv_tok_" + std::to_string(::getpid()) + "_" +
                                                 std::to_string(counter_++))) {
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
    return path_ / name;
  }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

json tiny_bpe_json() {
  json vocab = json::object();
  const ByteLevelMap& m = ByteLevelMap::get();
  for (int b = 0; b < 256; ++b) vocab[m.encode_byte(static_cast<uint8_t>(b))] = b;
  vocab["ab"] = 256;
  return json{{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array({"a b"})}}},
              {"normalizer", nullptr},
              {"pre_tokenizer",
               {{"type", "Split"},
                {"pattern", {{"Regex", kQwen2SplitPattern}}},
                {"behavior", "Isolated"},
                {"invert", false}}},
              {"added_tokens", json::array()}};
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TokenizerErrors, MalformedTokenizerJson) {
  TempDir d;
  const json good = tiny_bpe_json();
  const auto ok = Tokenizer::from_hf(d.write("tokenizer.json", good.dump()).string());
  EXPECT_EQ(ok->encode("abc", false), (std::vector<int32_t>{256, 'c'}));

  EXPECT_NE(error_of([&] { Tokenizer::from_hf(d.write("a.json", "{\"model\": [").string()); })
                .find("malformed JSON"),
            std::string::npos);
  json no_merges = good;
  no_merges["model"].erase("merges");
  EXPECT_NE(error_of([&] { Tokenizer::from_hf(d.write("b.json", no_merges.dump()).string()); })
                .find("model.merges is missing"),
            std::string::npos);
  json bad_merge = good;
  bad_merge["model"]["merges"] = json::array({"a zz"});
  EXPECT_NE(error_of([&] { Tokenizer::from_hf(d.write("c.json", bad_merge.dump()).string()); })
                .find("not in the vocabulary"),
            std::string::npos);
  json wordpiece = good;
  wordpiece["model"]["type"] = "WordPiece";
  EXPECT_NE(error_of([&] { Tokenizer::from_hf(d.write("d.json", wordpiece.dump()).string()); })
                .find("WordPiece"),
            std::string::npos);
  json missing_byte = good;
  missing_byte["model"]["vocab"].erase("a");
  EXPECT_NE(error_of([&] { Tokenizer::from_hf(d.write("e.json", missing_byte.dump()).string()); })
                .find("byte 0x61"),
            std::string::npos);
  EXPECT_NE(error_of([&] { Tokenizer::from_hf((d.path() / "absent.json").string()); }).find("cannot open"),
            std::string::npos);
}

// Writes a vocab-only GGUF of a tokenizer.json so both loaders can be compared.
void write_bpe_gguf(const fs::path& tokenizer_json, const std::string& pre, const fs::path& out,
                    bool with_merges = true) {
  std::ifstream in(tokenizer_json, std::ios::binary);
  const json tj = json::parse(in);
  std::map<int64_t, std::pair<std::string, int64_t>> by_id;
  for (const auto& [tok, id] : tj["model"]["vocab"].items()) by_id[id] = {tok, 1};
  int64_t eos = -1;
  for (const auto& a : tj["added_tokens"]) {
    by_id[a["id"]] = {a["content"], a["special"].get<bool>() ? 3 : 4};
    if (a["content"] == "<|im_end|>") eos = a["id"];
  }
  std::vector<std::string> tokens;
  std::vector<int64_t> types;
  for (const auto& [id, tt] : by_id) {
    EXPECT_EQ(static_cast<size_t>(id), tokens.size());
    tokens.push_back(tt.first);
    types.push_back(tt.second);
  }
  std::vector<std::string> merges;
  for (const auto& m : tj["model"]["merges"])
    merges.push_back(m.is_string() ? m.get<std::string>()
                                   : m[0].get<std::string>() + " " + m[1].get<std::string>());
  GgufWriter w;
  w.add_string("general.architecture", "qwen3");
  w.add_string("tokenizer.ggml.model", "gpt2");
  w.add_string("tokenizer.ggml.pre", pre);
  w.add_string_array("tokenizer.ggml.tokens", tokens);
  w.add_int_array("tokenizer.ggml.token_type", types);
  if (with_merges) w.add_string_array("tokenizer.ggml.merges", merges);
  w.add_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(eos));
  w.add_bool("tokenizer.ggml.add_bos_token", false);
  w.write(out.string());
}

TEST(TokenizerGguf, VocabOnlyGgufMatchesTokenizerJson) {
  TempDir d;
  const fs::path dir = test::qwen_vocab_dir("qwen3");
  write_bpe_gguf(dir / "tokenizer.json", "qwen2", d.path() / "qwen3.gguf");
  const GgufFile g((d.path() / "qwen3.gguf").string());
  const auto from_gguf = Tokenizer::from_gguf(g);
  const Tokenizer& from_json = qwen3();
  EXPECT_EQ(from_gguf->n_vocab(), from_json.n_vocab());
  EXPECT_EQ(from_gguf->eos_id(), from_json.eos_id());
  EXPECT_EQ(from_gguf->pre(), "qwen2");
  const json fx = test::read_fixture_json("ids_qwen3.json");
  int mismatches = 0;
  for (const auto& c : fx["cases"]) {
    const std::string text = c["text"];
    const std::vector<int32_t> want = c["ids"];
    if (from_gguf->encode(text, false, true) != want) ++mismatches;
  }
  EXPECT_EQ(mismatches, 0) << "of " << fx["cases"].size();
}

TEST(TokenizerGguf, BadMetadataIsAClearError) {
  TempDir d;
  const fs::path dir = test::qwen_vocab_dir("qwen3");
  write_bpe_gguf(dir / "tokenizer.json", "qwen2", d.path() / "nomerges.gguf", false);
  EXPECT_NE(error_of([&] { Tokenizer::from_gguf(GgufFile((d.path() / "nomerges.gguf").string())); })
                .find("tokenizer.ggml.merges is missing"),
            std::string::npos);
  write_bpe_gguf(dir / "tokenizer.json", "mystery-pre", d.path() / "pre.gguf");
  EXPECT_NE(error_of([&] { Tokenizer::from_gguf(GgufFile((d.path() / "pre.gguf").string())); })
                .find("tokenizer.ggml.pre = 'mystery-pre'"),
            std::string::npos);

  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_string("tokenizer.ggml.model", "llama");
  w.add_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>"});
  w.add_float_array("tokenizer.ggml.scores", {0, 0, 0});
  w.add_u32("tokenizer.ggml.bos_token_id", 7);
  w.write((d.path() / "bos.gguf").string());
  EXPECT_NE(error_of([&] { Tokenizer::from_gguf(GgufFile((d.path() / "bos.gguf").string())); })
                .find("bos_token_id = 7 is out of range"),
            std::string::npos);

  GgufWriter w2;
  w2.add_string("general.architecture", "llama");
  w2.add_string("tokenizer.ggml.model", "bert");
  w2.add_string_array("tokenizer.ggml.tokens", {"a"});
  w2.write((d.path() / "bert.gguf").string());
  EXPECT_NE(error_of([&] { Tokenizer::from_gguf(GgufFile((d.path() / "bert.gguf").string())); })
                .find("'bert' is not supported"),
            std::string::npos);
}

// A tiny SentencePiece vocab: merges by score, ▁ for spaces, the dummy prefix and byte fallback.
TEST(SpmTokenizer, ScoresSpacesAndByteFallback) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<double> scores = {0, 0, 0};
  std::vector<int64_t> types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    tokens.push_back(fmt::format("<0x{:02X}>", b));
    scores.push_back(0);
    types.push_back(6);
  }
  const int32_t base = static_cast<int32_t>(tokens.size());
  for (const char* t : {"\xE2\x96\x81", "a", "b", "\xE2\x96\x81" "a", "ab", "\xE2\x96\x81" "ab"}) {
    tokens.push_back(t);
    types.push_back(1);
  }
  // "ab" outscores "▁a", so "▁ab" cannot form from "▁a"+"b"; it forms from "▁"+"ab".
  scores.insert(scores.end(), {-1, -1, -1, -5, -2, -3});
  TempDir d;
  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_string("tokenizer.ggml.model", "llama");
  w.add_string_array("tokenizer.ggml.tokens", tokens);
  w.add_float_array("tokenizer.ggml.scores", scores);
  w.add_int_array("tokenizer.ggml.token_type", types);
  w.add_u32("tokenizer.ggml.bos_token_id", 1);
  w.add_u32("tokenizer.ggml.eos_token_id", 2);
  w.write((d.path() / "spm.gguf").string());
  const auto t = Tokenizer::from_gguf(GgufFile((d.path() / "spm.gguf").string()));
  EXPECT_EQ(t->kind(), "llama");
  EXPECT_TRUE(t->add_bos());
  const int32_t sp = base, b = base + 2, sp_ab = base + 5;
  EXPECT_EQ(t->encode("ab", true), (std::vector<int32_t>{1, sp_ab}));
  EXPECT_EQ(t->encode("ab a", false), (std::vector<int32_t>{sp_ab, base + 3}));
  // 'é' is not in the vocab: two byte tokens.
  EXPECT_EQ(t->encode("b\xC3\xA9", false), (std::vector<int32_t>{sp, b, 3 + 0xC3, 3 + 0xA9}));
  // As HF's Strip decoder: the dummy-prefix space goes only when the text starts with it.
  EXPECT_EQ(t->decode(t->encode("b\xC3\xA9 ab", true)), "<s> b\xC3\xA9 ab");
  EXPECT_EQ(t->decode(t->encode("b\xC3\xA9 ab", true), true), "b\xC3\xA9 ab");
  EXPECT_EQ(t->encode("a</s>", false), (std::vector<int32_t>{base + 3, 2}));
  EXPECT_EQ(t->stop_ids(), (std::vector<int32_t>{2}));
}

}  // namespace
}  // namespace sparkv

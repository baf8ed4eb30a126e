// Tokenizer::encode on arbitrary bytes, with the committed Qwen2.5 vocabulary (byte-level BPE,
// NFC, the Qwen split regex) and a small SentencePiece-style vocabulary (byte fallback).
// Input: one flags byte (bit 0: vocabulary, bit 1: add_bos, bit 2: parse_special), then the text.
// Checks: ids in range; valid UTF-8 text decodes without error; streaming decode yields valid
// UTF-8; for the SPM vocabulary (no normalisation beyond spaces) decode(encode(x)) == x unless x
// holds U+2581.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "fuzz_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

using namespace sparkv;

namespace {

// A byte-fallback BPE vocabulary in the shape of a converted SentencePiece model (Llama-2 style).
std::string spm_tokenizer_json() {
  std::string vocab = R"("<unk>": 0, "<s>": 1, "</s>": 2)";
  int id = 3;
  for (int b = 0; b < 256; ++b) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "<0x%02X>", b);
    vocab += ", \"" + std::string(hex) + "\": " + std::to_string(id++);
  }
  for (const char* piece : {"\xE2\x96\x81", "a", "b", "c",
                            "\xE2\x96\x81"
                            "a",
                            "ab",
                            "\xE2\x96\x81"
                            "ab",
                            "bc", "\xC3\xA9"})
    vocab += ", \"" + std::string(piece) + "\": " + std::to_string(id++);
  return R"({"added_tokens": [{"id": 0, "content": "<unk>", "special": true},
      {"id": 1, "content": "<s>", "special": true}, {"id": 2, "content": "</s>", "special": true}],
    "normalizer": {"type": "Sequence", "normalizers": [
      {"type": "Prepend", "prepend": "\u2581"},
      {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
    "model": {"type": "BPE", "byte_fallback": true, "vocab": {)" +
         vocab + R"(}, "merges": ["\u2581 a", "a b", "\u2581 ab", "b c"]}})";
}

struct Vocabs {
  std::unique_ptr<Tokenizer> qwen;
  std::unique_ptr<Tokenizer> spm;
  fuzz::ScratchDir dir;
  Vocabs() {
    qwen = Tokenizer::from_hf(fuzz::qwen_vocab_dir().string());
    dir.write("tokenizer.json", spm_tokenizer_json());
    dir.write("tokenizer_config.json",
              R"({"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": true})");
    spm = Tokenizer::from_hf(dir.path().string());
  }
};

const Vocabs& vocabs() {
  static const Vocabs v;
  return v;
}

}  // namespace

// Loading the 7 MB vocabulary takes seconds under ASan (more on a loaded machine): done here, where
// libFuzzer's per-input -timeout does not apply.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)vocabs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Vocabs& v = vocabs();
  if (size < 1 || size > 1 << 16) return 0;
  const uint8_t flags = data[0];
  const bool use_spm = flags & 1, add_bos = flags & 2, parse_special = flags & 4;
  const Tokenizer& tok = use_spm ? *v.spm : *v.qwen;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool valid = utf8_find_invalid(text) == std::string_view::npos;
  std::vector<int32_t> ids;
  try {
    ids = tok.encode(text, add_bos, parse_special);
  } catch (const Error&) {
    if (valid) __builtin_trap();  // only ill-formed UTF-8 may be refused
    return 0;
  }
  if (!valid) __builtin_trap();  // ill-formed UTF-8 must be refused, not guessed at
  for (int32_t id : ids)
    if (id < 0 || id >= tok.n_vocab()) __builtin_trap();
  const std::string decoded = tok.decode(ids, /*skip_special=*/false);
  StreamDecoder stream(tok);
  std::string streamed;
  for (int32_t id : ids) streamed += stream.push(id);
  streamed += stream.flush();
  if (utf8_find_invalid(streamed) != std::string::npos) __builtin_trap();
  if (use_spm && !add_bos && !parse_special &&
      text.find("\xE2\x96\x81") == std::string_view::npos) {
    // SentencePiece decode drops the one prefix space it added; everything else round-trips,
    // except a literal U+2581 (the space marker), which decodes as a space as in HF.
    if (decoded != text) __builtin_trap();
  }
  return 0;
}

// Byte-level BPE (GPT-2 style) as used by Llama-3 and Qwen2/2.5/3: added tokens are matched
// first, the rest is (optionally NFC-normalised,) split by the model's regex, byte-mapped and
// merged by rank. Built from a BpeVocab that the GGUF and tokenizer.json loaders fill.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/split_regex.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_tokenizer.h"
#include "tokenizer/vocab_common.h"

namespace sparkv {

struct BpeVocab {
  std::string source;                    // file name, for error messages
  std::vector<std::string> tokens;       // vocab spelling by id (byte-mapped, e.g. "Ġthe")
  std::vector<int32_t> token_types;      // GGUF token types by id (kTokenNormal, ...)
  std::vector<std::pair<std::string, std::string>> merges;  // rank order
  std::string split_pattern;             // the pre-tokenizer regex
  bool nfc = false;                      // normalizer: NFC
  bool ignore_merges = false;            // emit a pre-token that is already in the vocab whole
  SpecialIds special;
  // Added tokens with their HF flags; when empty they are derived from the token types.
  std::vector<AddedToken> added;
};

class BpeTokenizer final : public VocabTokenizer {
 public:
  explicit BpeTokenizer(BpeVocab vocab);

  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const override;

 private:
  struct MergeInfo {
    int32_t rank;
    int32_t result;
  };
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  void encode_text(std::string_view text, std::vector<int32_t>& out) const override;
  void encode_piece(std::string_view bytes, std::vector<int32_t>& out) const;

  std::unordered_map<uint64_t, MergeInfo> merges_;
  SplitRegex split_;
  bool nfc_;
  bool ignore_merges_;
};

}  // namespace sparkv

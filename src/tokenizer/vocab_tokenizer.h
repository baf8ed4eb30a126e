// The part every vocabulary-based tokenizer shares: token spellings and bytes by id, token types,
// added/special tokens matched before any splitting, BOS handling, id checks and byte decoding.
// BpeTokenizer and SpmTokenizer only supply how a plain text segment becomes ids.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_common.h"

namespace sparkv {

class VocabTokenizer : public Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text, bool add_bos = true,
                              bool parse_special = true) const override;
  std::string token_bytes(int32_t id) const override;
  const std::string& token_text(int32_t id) const override;
  int32_t n_vocab() const override { return static_cast<int32_t>(tokens_.size()); }
  bool is_special(int32_t id) const override;

 protected:
  VocabTokenizer(std::vector<std::string> tokens, std::vector<int32_t> types)
      : tokens_(std::move(tokens)), types_(std::move(types)) {}
  // Appends the ids of a text segment that holds no added token.
  virtual void encode_text(std::string_view text, std::vector<int32_t>& out) const = 0;
  void check_id(int32_t id) const;
  // The bytes of ids, concatenated (special tokens skipped on request); not yet UTF-8 checked.
  std::string concat_bytes(const std::vector<int32_t>& ids, bool skip_special) const;
  // Fills the Tokenizer fields (bos/eos/stop ids/chat template/kind/pre) from the metadata.
  void set_special(const SpecialIds& sp, const char* kind);

  std::vector<std::string> tokens_;
  std::vector<std::string> bytes_;  // decoded bytes by id
  std::vector<int32_t> types_;
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> token_to_id_;
  int32_t byte_token_[256];
  AddedTokenMatcher added_;
};

}  // namespace sparkv

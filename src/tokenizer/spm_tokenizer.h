// SentencePiece-style BPE vocabularies (GGUF tokenizer.ggml.model = "llama": Llama-2, Mistral-7B):
// spaces become U+2581 "▁", a dummy "▁" prefix is added to each text segment, adjacent pieces are
// merged greedily by vocab score, and characters not in the vocab fall back to <0xNN> byte tokens.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_tokenizer.h"
#include "tokenizer/vocab_common.h"

namespace sparkv {

struct SpmVocab {
  std::string source;
  std::vector<std::string> tokens;  // "▁the", "<0x0A>", "<s>", ...
  std::vector<float> scores;        // higher merges first
  std::vector<int32_t> token_types;
  bool add_space_prefix = true;
  SpecialIds special;
  // Added tokens with their HF flags; when empty they are derived from the token types.
  std::vector<AddedToken> added;
};

class SpmTokenizer final : public VocabTokenizer {
 public:
  explicit SpmTokenizer(SpmVocab vocab);

  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const override;

 private:
  void encode_text(std::string_view text, std::vector<int32_t>& out) const override;
  void emit_piece(std::string_view piece, std::vector<int32_t>& out) const;

  std::vector<float> scores_;
  int32_t unk_id_ = -1;
  bool add_space_prefix_;
};

}  // namespace sparkv

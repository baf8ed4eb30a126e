// Pieces shared by the BPE and SentencePiece tokenizers and their loaders: GGUF token types,
// the special ids read from metadata, and a transparent string hash for string_view lookups.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/added_tokens.h"

namespace sparkv {

// GGUF tokenizer.ggml.token_type values.
inline constexpr int32_t kTokenNormal = 1;
inline constexpr int32_t kTokenUnknown = 2;
inline constexpr int32_t kTokenControl = 3;
inline constexpr int32_t kTokenUserDefined = 4;
inline constexpr int32_t kTokenUnused = 5;
inline constexpr int32_t kTokenByte = 6;

struct SpecialIds {
  int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, pad = -1;
  bool add_bos = false;
  std::string chat_template;
  std::string kind;  // "gpt2" | "llama"
  std::string pre;
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// The ids that end generation: eos/eot/eom plus the end-of-turn tokens of the families we know,
// found by text, so a vocabulary whose metadata names only one of them still stops correctly.
std::vector<int32_t> collect_stop_ids(const SpecialIds& sp, const std::vector<std::string>& tokens);

// Added tokens from the vocab: control (special) and user-defined tokens.
std::vector<AddedToken> added_tokens_from_types(const std::vector<std::string>& tokens,
                                                const std::vector<int32_t>& types);

// Checks an id from metadata against the vocab size; -1 stays "none".
int32_t checked_special_id(int64_t id, size_t n_vocab, const std::string& source,
                           const std::string& key);

}  // namespace sparkv

// Nesting-depth guard for JSON from untrusted files. nlohmann's parser and destructor are
// iterative, but anything that walks a document recursively (dump(), a recursive normalizer or
// pre-tokenizer reader) overflows the stack on "[[[[...]]]]" nested a few hundred thousand deep.
// Real tokenizer / config / dataset files nest fewer than 10 levels.
#pragma once

#include <string_view>

namespace sparkv {

inline constexpr int kMaxJsonDepth = 256;

// Throws sparkv::Error("<what>: JSON nested deeper than 256 levels") if `text` opens more than
// kMaxJsonDepth arrays / objects at once. A linear scan that skips string contents; it does not
// validate the JSON (the parser does).
void check_json_depth(std::string_view text, std::string_view what);

}  // namespace sparkv

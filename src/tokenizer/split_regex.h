// Pre-tokenization: splits text into pieces with the model's own split regex, run by PCRE2 in
// UTF + UCP mode (JIT-compiled when available). Gaps between matches are kept as pieces too
// (HF's Split behaviour "Isolated"), so the pieces always concatenate back to the input.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sparkv {

// The split patterns exactly as the model authors published them (tokenizer.json Split.Regex).
inline constexpr const char* kLlama3SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
inline constexpr const char* kQwen2SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
inline constexpr const char* kGpt2SplitPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Maps a GGUF tokenizer.ggml.pre name to its pattern; throws naming the value if unknown.
const char* split_pattern_for_pre(const std::string& pre);

class SplitRegex {
 public:
  // Throws sparkv::Error with PCRE2's message and offset if the pattern does not compile.
  explicit SplitRegex(const std::string& pattern);
  ~SplitRegex();
  SplitRegex(const SplitRegex&) = delete;
  SplitRegex& operator=(const SplitRegex&) = delete;

  // Appends [begin, end) byte ranges of the pieces of `text` (which must be valid UTF-8).
  void split(std::string_view text, std::vector<std::pair<size_t, size_t>>& pieces) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Impl;
  std::string pattern_;
  std::unique_ptr<Impl> impl_;
};

// PCRE2's \s under UCP also matches U+180E, which Unicode no longer counts as White_Space (and the
// reference regex engines do not match); this rewrites \s / \S to the exact White_Space set.
std::string rewrite_whitespace_classes(const std::string& pattern);

}  // namespace sparkv

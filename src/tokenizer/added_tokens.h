// Added / special tokens (<|im_start|>, <|eot_id|>, <think>, ...) are found in the raw text
// before normalisation and splitting, leftmost first and longest match at a position, as the HF
// tokenizers library does. The text between them goes through the normal encode path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sparkv {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;  // control token: only matched when parse_special is on
  bool lstrip = false;   // swallow whitespace on the left
  bool rstrip = false;   // swallow whitespace on the right
};

struct TextSegment {
  std::string_view text;  // when id < 0
  int32_t id = -1;        // an added token
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(std::vector<AddedToken> tokens);

  // Splits `text`; with parse_special false, special tokens are left in the text.
  void split(std::string_view text, bool parse_special, std::vector<TextSegment>& out) const;
  bool empty() const { return tokens_.empty(); }

 private:
  std::vector<AddedToken> tokens_;            // sorted by length, longest first
  std::vector<std::vector<uint32_t>> by_first_byte_ = std::vector<std::vector<uint32_t>>(256);
};

}  // namespace sparkv

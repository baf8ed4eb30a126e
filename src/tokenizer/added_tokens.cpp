#include "tokenizer/added_tokens.h"

#include <algorithm>

#include "tokenizer/utf8.h"

namespace sparkv {

namespace {

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
  // A text that is not well-formed UTF-8 (possible in a GGUF vocabulary) could match inside a
  // character and leave a segment that starts or ends mid-sequence, which the split regex
  // (PCRE2_NO_UTF_CHECK) and the SentencePiece merger must never see. Valid UTF-8 text only ever
  // matches on character boundaries, so such tokens are simply never matched in prompts.
  tokens_.erase(std::remove_if(tokens_.begin(), tokens_.end(),
                               [](const AddedToken& t) {
                                 return t.content.empty() ||
                                        utf8_find_invalid(t.content) != std::string::npos;
                               }),
                tokens_.end());
  std::stable_sort(tokens_.begin(), tokens_.end(), [](const AddedToken& a, const AddedToken& b) {
    return a.content.size() > b.content.size();
  });
  for (uint32_t i = 0; i < tokens_.size(); ++i)
    by_first_byte_[static_cast<uint8_t>(tokens_[i].content[0])].push_back(i);
}

void AddedTokenMatcher::split(std::string_view text, bool parse_special,
                              std::vector<TextSegment>& out) const {
  size_t seg_start = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const AddedToken* hit = nullptr;
    for (uint32_t i : by_first_byte_[static_cast<uint8_t>(text[pos])]) {
      const AddedToken& t = tokens_[i];
      if (t.special && !parse_special) continue;
      if (text.compare(pos, t.content.size(), t.content) == 0) {
        hit = &t;  // candidates are longest first, so the first hit is the longest
        break;
      }
    }
    if (!hit) {
      ++pos;
      continue;
    }
    size_t left_end = pos;
    if (hit->lstrip)
      while (left_end > seg_start && is_ascii_space(text[left_end - 1])) --left_end;
    if (left_end > seg_start) out.push_back({text.substr(seg_start, left_end - seg_start), -1});
    out.push_back({{}, hit->id});
    pos += hit->content.size();
    if (hit->rstrip)
      while (pos < text.size() && is_ascii_space(text[pos])) ++pos;
    seg_start = pos;
  }
  if (seg_start < text.size()) out.push_back({text.substr(seg_start), -1});
}

}  // namespace sparkv

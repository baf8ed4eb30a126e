#include "tokenizer/spm_tokenizer.h"

#include <algorithm>
#include <queue>

#include <fmt/format.h>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace sparkv {

namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK

// "<0x0A>" -> 0x0A; -1 if the text is not a byte token.
int parse_byte_token(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const int hi = hex(t[3]), lo = hex(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

}  // namespace

SpmTokenizer::SpmTokenizer(SpmVocab v)
    : VocabTokenizer(std::move(v.tokens), std::move(v.token_types)),
      scores_(std::move(v.scores)),
      add_space_prefix_(v.add_space_prefix) {
  const std::string& src = v.source;
  SPARKV_CHECK(!tokens_.empty(), "{}: the vocabulary is empty", src);
  if (types_.empty()) types_.assign(tokens_.size(), kTokenNormal);
  SPARKV_CHECK(types_.size() == tokens_.size(), "{}: {} token types for {} tokens", src,
               types_.size(), tokens_.size());
  SPARKV_CHECK(scores_.size() == tokens_.size(), "{}: {} scores for {} tokens", src, scores_.size(),
               tokens_.size());
  for (int& b : byte_token_) b = -1;
  token_to_id_.reserve(tokens_.size());
  bytes_.resize(tokens_.size());
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const std::string& t = tokens_[i];
    token_to_id_.emplace(t, static_cast<int32_t>(i));
    const int byte = types_[i] == kTokenByte || types_[i] == kTokenNormal ? parse_byte_token(t) : -1;
    if (byte >= 0 && (types_[i] == kTokenByte || byte_token_[byte] < 0)) {
      byte_token_[byte] = static_cast<int32_t>(i);
      bytes_[i] = std::string(1, static_cast<char>(byte));
      continue;
    }
    // Decode: "▁" stands for a space.
    std::string& b = bytes_[i];
    for (size_t p = 0; p < t.size();) {
      if (t.compare(p, kSpace.size(), kSpace) == 0) {
        b += ' ';
        p += kSpace.size();
      } else {
        b += t[p++];
      }
    }
  }
  added_ = AddedTokenMatcher(v.added.empty() ? added_tokens_from_types(tokens_, types_)
                                             : std::move(v.added));

  unk_id_ = v.special.unk;
  set_special(v.special, "llama");
}

std::string SpmTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string out = concat_bytes(ids, skip_special);
  // The dummy prefix is not part of the text: drop one leading space (HF's Strip decoder).
  if (add_space_prefix_ && !out.empty() && out[0] == ' ') out.erase(0, 1);
  if (utf8_find_invalid(out) != std::string::npos) return utf8_sanitize(out);
  return out;
}

void SpmTokenizer::encode_text(std::string_view text, std::vector<int32_t>& out) const {
  // Every text segment gets the dummy prefix (HF's Prepend normalizer runs per segment between
  // added tokens; llama.cpp prefixes after each special token too).
  std::string s;
  s.reserve(text.size() + 8);
  if (add_space_prefix_) s += kSpace;
  for (char c : text) {
    if (c == ' ') s += kSpace;
    else s += c;
  }

  struct Sym {
    size_t start, len;
    int32_t prev, next;
  };
  struct Cand {
    float score;
    int32_t left, right;
    size_t len;  // combined length when pushed, to detect stale entries
    bool operator<(const Cand& o) const {
      // Max-heap on score; on ties the leftmost pair merges first.
      return score != o.score ? score < o.score : left > o.left;
    }
  };
  std::vector<Sym> sym;
  for (size_t p = 0; p < s.size();) {
    // encode() checked the whole text, but an added token whose text ends inside a UTF-8
    // sequence (a hostile vocabulary) leaves a segment starting mid-sequence: take such a byte on
    // its own (it goes to byte fallback) rather than loop forever on a zero length.
    const size_t n = std::max<size_t>(utf8_sequence_length(s, p), 1);
    sym.push_back({p, n, static_cast<int32_t>(sym.size()) - 1, static_cast<int32_t>(sym.size()) + 1});
    p += n;
  }
  if (sym.empty()) return;
  sym.back().next = -1;

  std::priority_queue<Cand> heap;
  auto push = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    const std::string_view piece(s.data() + sym[l].start, sym[l].len + sym[r].len);
    auto it = token_to_id_.find(piece);
    // Only ordinary pieces take part in merging: control and byte tokens are never formed.
    if (it == token_to_id_.end() || types_[it->second] != kTokenNormal) return;
    heap.push({scores_[it->second], l, r, piece.size()});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(sym.size()); ++i) push(i, i + 1);
  while (!heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    Sym& l = sym[c.left];
    if (l.len == 0 || l.next != c.right) continue;
    Sym& r = sym[c.right];
    if (r.len == 0 || l.len + r.len != c.len) continue;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = c.left;
    push(l.prev, c.left);
    push(c.left, l.next);
  }
  for (int32_t i = 0; i >= 0; i = sym[i].next)
    emit_piece(std::string_view(s).substr(sym[i].start, sym[i].len), out);
}

void SpmTokenizer::emit_piece(std::string_view piece, std::vector<int32_t>& out) const {
  auto it = token_to_id_.find(piece);
  if (it != token_to_id_.end()) {
    out.push_back(it->second);
    return;
  }
  // Byte fallback: one <0xNN> token per byte; a vocab without them maps the piece to <unk>.
  for (char c : piece) {
    const int32_t id = byte_token_[static_cast<uint8_t>(c)];
    if (id >= 0) {
      out.push_back(id);
    } else {
      SPARKV_CHECK(unk_id_ >= 0, "SentencePiece vocab has neither a byte token for 0x{:02X} nor <unk>",
                   static_cast<uint8_t>(c));
      out.push_back(unk_id_);
      break;
    }
  }
}

}  // namespace sparkv

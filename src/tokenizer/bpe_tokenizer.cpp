#include "tokenizer/bpe_tokenizer.h"

#include <queue>

#include <utf8proc.h>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace sparkv {

namespace {

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<uint8_t>(c) >= 0x80) return false;
  return true;
}

std::string nfc(std::string_view s) {
  // ASCII is already NFC; skipping it keeps utf8proc off the hot path for most prompts.
  if (is_ascii(s)) return std::string(s);
  utf8proc_uint8_t* out = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                   static_cast<utf8proc_ssize_t>(s.size()), &out,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) fail("NFC normalisation failed: {}", utf8proc_errmsg(n));
  std::string r(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  std::free(out);
  return r;
}

}  // namespace

BpeTokenizer::BpeTokenizer(BpeVocab v)
    : VocabTokenizer(std::move(v.tokens), std::move(v.token_types)),
      split_(v.split_pattern),
      nfc_(v.nfc),
      ignore_merges_(v.ignore_merges) {
  const std::string& src = v.source;
  SPARKV_CHECK(!tokens_.empty(), "{}: the vocabulary is empty", src);
  if (types_.empty()) types_.assign(tokens_.size(), kTokenNormal);
  SPARKV_CHECK(types_.size() == tokens_.size(), "{}: {} token types for {} tokens", src,
               types_.size(), tokens_.size());

  token_to_id_.reserve(tokens_.size());
  for (size_t i = 0; i < tokens_.size(); ++i) {
    // On duplicate spellings the lower id wins, as in HF (later entries are added tokens).
    token_to_id_.emplace(tokens_[i], static_cast<int32_t>(i));
  }

  const ByteLevelMap& bmap = ByteLevelMap::get();
  for (int b = 0; b < 256; ++b) {
    auto it = token_to_id_.find(bmap.encode_byte(static_cast<uint8_t>(b)));
    SPARKV_CHECK(it != token_to_id_.end(),
                 "{}: the vocabulary lacks the byte-level token for byte 0x{:02X} ('{}')", src, b,
                 bmap.encode_byte(static_cast<uint8_t>(b)));
    byte_token_[b] = it->second;
  }

  SPARKV_CHECK(!v.merges.empty(), "{}: the BPE vocabulary has no merges", src);
  merges_.reserve(v.merges.size() * 2);
  std::string joined;
  for (size_t r = 0; r < v.merges.size(); ++r) {
    const auto& [a, b] = v.merges[r];
    auto ia = token_to_id_.find(a);
    auto ib = token_to_id_.find(b);
    joined = a + b;
    auto ij = token_to_id_.find(joined);
    SPARKV_CHECK(ia != token_to_id_.end() && ib != token_to_id_.end() && ij != token_to_id_.end(),
                 "{}: merge {} '{} {}' uses a token that is not in the vocabulary", src, r, a, b);
    // The first (lowest-rank) occurrence of a pair wins, as in HF.
    merges_.emplace(pair_key(ia->second, ib->second),
                    MergeInfo{static_cast<int32_t>(r), ij->second});
  }

  bytes_.resize(tokens_.size());
  for (size_t i = 0; i < tokens_.size(); ++i) {
    // Tokens whose spelling is not in the byte map (added tokens with plain spaces, ...) decode
    // to their text as-is, as HF's ByteLevel decoder does.
    if (!bmap.decode(tokens_[i], bytes_[i])) bytes_[i] = tokens_[i];
  }

  added_ = AddedTokenMatcher(v.added.empty() ? added_tokens_from_types(tokens_, types_)
                                             : std::move(v.added));

  set_special(v.special, "gpt2");
}

std::string BpeTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string out = concat_bytes(ids, skip_special);
  // Ids can end mid-character or form invalid sequences; the text we hand out is always UTF-8.
  if (utf8_find_invalid(out) != std::string::npos) return utf8_sanitize(out);
  return out;
}

void BpeTokenizer::encode_text(std::string_view text, std::vector<int32_t>& out) const {
  std::string normalized;
  if (nfc_) {
    normalized = nfc(text);
    text = normalized;
  }
  std::vector<std::pair<size_t, size_t>> pieces;
  split_.split(text, pieces);
  for (const auto& [b, e] : pieces) encode_piece(text.substr(b, e - b), out);
}

void BpeTokenizer::encode_piece(std::string_view bytes, std::vector<int32_t>& out) const {
  if (bytes.size() == 1) {
    out.push_back(byte_token_[static_cast<uint8_t>(bytes[0])]);
    return;
  }
  if (ignore_merges_) {
    const std::string mapped = ByteLevelMap::get().encode(bytes);
    auto it = token_to_id_.find(mapped);
    if (it != token_to_id_.end()) {
      out.push_back(it->second);
      return;
    }
  }

  // Symbols form a doubly linked list over the piece's bytes; a min-heap holds candidate merges
  // ordered by (rank, position). Stale heap entries are detected when popped, so every merge
  // costs O(log n) and a piece costs O(n log n).
  struct Sym {
    int32_t id;
    int32_t prev, next;
    bool alive;
  };
  struct Cand {
    int32_t rank;
    int32_t left, right;
    int32_t left_id, right_id, result;
    bool operator>(const Cand& o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  const int32_t n = static_cast<int32_t>(bytes.size());
  std::vector<Sym> sym(n);
  for (int32_t i = 0; i < n; ++i)
    sym[i] = {byte_token_[static_cast<uint8_t>(bytes[i])], i - 1, i + 1 < n ? i + 1 : -1, true};

  std::vector<Cand> heap_store;
  heap_store.reserve(n);
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap(std::greater<Cand>{},
                                                                       std::move(heap_store));
  auto push = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    auto it = merges_.find(pair_key(sym[l].id, sym[r].id));
    if (it == merges_.end()) return;
    heap.push({it->second.rank, l, r, sym[l].id, sym[r].id, it->second.result});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i, i + 1);

  while (!heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    Sym& l = sym[c.left];
    if (!l.alive || l.next != c.right || l.id != c.left_id) continue;
    Sym& r = sym[c.right];
    if (!r.alive || r.id != c.right_id) continue;
    l.id = c.result;
    r.alive = false;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = c.left;
    push(l.prev, c.left);
    push(c.left, l.next);
  }
  for (int32_t i = 0; i >= 0; i = sym[i].next) out.push_back(sym[i].id);
}

}  // namespace sparkv

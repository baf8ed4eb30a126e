#include "eval/prose.h"

#include <algorithm>

namespace sparkv {

namespace {

const std::vector<std::string> kDets = {"the",  "the", "the", "a",  "every", "that",
                                        "this", "her", "his", "our", "my",   "their"};
const std::vector<std::string> kPreps = {"near",   "behind",  "under", "over",   "beside", "across",
                                         "into",   "through", "around", "toward", "with",  "past"};
const std::vector<std::string> kConj = {"because", "while", "after", "before", "although"};

// Slots: D det, A adjective, N noun, T transitive past, I intransitive past, R adverb,
// P preposition, C conjunction; a trailing ',' is kept after the word; anything else is literal.
// The index order is part of the contract (choice() picks by index).
const std::vector<std::vector<std::string>> kPatterns = {
    {"D", "A", "N", "T", "D", "N"},
    {"D", "N", "I", "R"},
    {"D", "N", "I", "P", "D", "A", "N"},
    {"R,", "D", "N", "T", "D", "A", "N"},
    {"D", "A", "N", "and", "D", "N", "I", "P", "D", "N"},
    {"D", "N", "was", "A", "and", "A"},
    {"D", "N", "T", "D", "N", "C", "D", "N", "was", "A"},
    {"when", "D", "N", "I,", "D", "A", "N", "T", "D", "N"},
    {"D", "N", "of", "D", "N", "I", "R"},
    {"D", "N", "T", "D", "N", "R"},
    {"D", "A", "N", "I", "P", "D", "N", "C", "D", "N", "I"},
    {"nobody", "T", "D", "A", "N", "P", "D", "N"},
};

}  // namespace

std::string prose_sentence(GenRng& rng, const WordLists& w) {
  const std::vector<std::string>& pat = rng.choice(kPatterns);
  std::vector<std::string> out;
  out.reserve(pat.size());
  for (std::string slot : pat) {
    std::string tail;
    if (!slot.empty() && slot.back() == ',') {
      slot.pop_back();
      tail = ",";
    }
    std::string x;
    if (slot == "D") x = rng.choice(kDets);
    else if (slot == "A") x = rng.choice(w.adjectives);
    else if (slot == "N") x = rng.choice(w.nouns);
    else if (slot == "T") x = rng.choice(w.vt_past);
    else if (slot == "I") x = rng.choice(w.vi_past);
    else if (slot == "R") x = rng.choice(w.adverbs);
    else if (slot == "P") x = rng.choice(kPreps);
    else if (slot == "C") x = rng.choice(kConj);
    else x = slot;
    out.push_back(x + tail);
  }
  for (size_t i = 0; i + 1 < out.size(); ++i) {
    const char c = out[i + 1].empty() ? '\0' : out[i + 1][0];
    if (out[i] == "a" && (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u')) out[i] = "an";
  }
  std::string s;
  for (size_t i = 0; i < out.size(); ++i) {
    if (i) s += ' ';
    s += out[i];
  }
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  s += '.';
  return s;
}

std::vector<std::string> prose_sentences(GenRng& rng, const WordLists& w, int64_t n) {
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) out.push_back(prose_sentence(rng, w));
  return out;
}

std::string prose_paragraphs(GenRng& rng, const WordLists& w, int64_t n_sentences) {
  std::string out;
  for (int64_t i = 0; i < n_sentences; ++i) {
    out += prose_sentence(rng, w);
    if (i + 1 < n_sentences) out += rng.below(5) == 0 ? "\n" : " ";
  }
  return out;
}

}  // namespace sparkv

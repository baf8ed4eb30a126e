// English-like prose from a small grammar over the curated word lists (docs/generators.md §3):
// the in-house substitute for RULER's essay haystacks. It never contains digits, ':' or the word
// "is", so it can never look like a needle's cue.
#pragma once

#include <string>
#include <vector>

#include "eval/gen_rng.h"
#include "eval/word_lists.h"

namespace sparkv {

std::string prose_sentence(GenRng& rng, const WordLists& w);
std::vector<std::string> prose_sentences(GenRng& rng, const WordLists& w, int64_t n);
// Sentences joined by " ", with a paragraph break "\n" after a sentence when below(5) == 0.
std::string prose_paragraphs(GenRng& rng, const WordLists& w, int64_t n_sentences);

}  // namespace sparkv

// The generators' vocabularies (docs/generators.md §2), read from data/words/.
#pragma once

#include <string>
#include <vector>

namespace sparkv {

struct WordLists {
  std::vector<std::string> nouns, adjectives, adverbs;
  std::vector<std::string> vt_past, vi_past;  // column 2 of verbs_{transitive,intransitive}.txt
  std::vector<std::string> extra;
  // Sorted union of the curated lists, then the extra words not already in it (file order).
  std::vector<std::string> cwe_pool;

  // Reads <data_dir>/words/*.txt; throws naming the file on a missing or malformed list.
  static WordLists load(const std::string& data_dir);
};

// $SPARKV_DATA_DIR if set, else the source tree's data/ folder.
std::string default_data_dir();

// Process-wide lists from default_data_dir(), loaded once (thread-safe).
const WordLists& default_word_lists();

}  // namespace sparkv

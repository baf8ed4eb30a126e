#include "eval/word_lists.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_set>

#include "core/error.h"

namespace sparkv {

namespace {

bool is_blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  });
}

// One entry a line; blank lines skipped, "\r\n" read as "\n" (Python text mode does the same).
std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SPARKV_CHECK(in.good(), "{}: cannot open word list", path);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!is_blank(line)) out.push_back(line);
  }
  SPARKV_CHECK(!out.empty(), "{}: empty word list", path);
  return out;
}

std::vector<std::string> past_column(const std::string& path) {
  std::vector<std::string> out;
  for (const std::string& ln : read_lines(path)) {
    const size_t tab = ln.find('\t');
    SPARKV_CHECK(tab != std::string::npos, "{}: line '{}' is not 'base<TAB>past'", path, ln);
    const size_t end = ln.find('\t', tab + 1);
    out.push_back(ln.substr(tab + 1, end == std::string::npos ? std::string::npos : end - tab - 1));
  }
  return out;
}

}  // namespace

WordLists WordLists::load(const std::string& data_dir) {
  const std::string d = data_dir + "/words/";
  WordLists w;
  w.nouns = read_lines(d + "nouns.txt");
  w.adjectives = read_lines(d + "adjectives.txt");
  w.adverbs = read_lines(d + "adverbs.txt");
  w.vt_past = past_column(d + "verbs_transitive.txt");
  w.vi_past = past_column(d + "verbs_intransitive.txt");
  w.extra = read_lines(d + "extra_words.txt");
  // std::set<std::string> orders by unsigned bytes, which for UTF-8 is Python's code-point order.
  std::set<std::string> cur;
  for (const auto* list : {&w.nouns, &w.adjectives, &w.adverbs, &w.vt_past, &w.vi_past})
    cur.insert(list->begin(), list->end());
  w.cwe_pool.assign(cur.begin(), cur.end());
  std::unordered_set<std::string> seen(cur.begin(), cur.end());
  for (const std::string& x : w.extra)
    if (!seen.count(x)) w.cwe_pool.push_back(x);  // Python keeps duplicates within extra, as here
  return w;
}

std::string default_data_dir() {
  if (const char* env = std::getenv("SPARKV_DATA_DIR"); env && *env) return env;
  return std::string(SPARKV_SOURCE_DIR) + "/data";
}

const WordLists& default_word_lists() {
  static const WordLists lists = WordLists::load(default_data_dir());
  return lists;
}

}  // namespace sparkv

#include "eval/generators.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <unordered_set>

#include "core/error.h"
#include "eval/gen_rng.h"
#include "eval/prose.h"
#include "tokenizer/tokenizer.h"

namespace sparkv {

namespace {

const char* kFiller =
    "The grass grows tall. The sky stays wide. The wind blows on. Here we go again. Back and "
    "forth we walk.";

enum class Hay { kNoise, kProse, kNeedle };
enum class Kind { kWords, kNumbers, kUuids };

struct NiahConfig {
  Hay hay;
  Kind key, value;
  int k, v, q;
};

const std::map<std::string, NiahConfig>& niah_table() {
  static const std::map<std::string, NiahConfig> t = {
      {"niah_single_1", {Hay::kNoise, Kind::kWords, Kind::kNumbers, 1, 1, 1}},
      {"niah_single_2", {Hay::kProse, Kind::kWords, Kind::kNumbers, 1, 1, 1}},
      {"niah_single_3", {Hay::kProse, Kind::kWords, Kind::kUuids, 1, 1, 1}},
      {"niah_multikey_1", {Hay::kProse, Kind::kWords, Kind::kNumbers, 4, 1, 1}},
      {"niah_multikey_2", {Hay::kNeedle, Kind::kWords, Kind::kNumbers, 1, 1, 1}},
      {"niah_multikey_3", {Hay::kNeedle, Kind::kUuids, Kind::kUuids, 1, 1, 1}},
      {"niah_multivalue", {Hay::kProse, Kind::kWords, Kind::kNumbers, 1, 4, 1}},
      {"niah_multiquery", {Hay::kProse, Kind::kWords, Kind::kNumbers, 4, 1, 4}},
      // The needle grid: niah_single_2 with a caller-chosen depth.
      {"needle", {Hay::kProse, Kind::kWords, Kind::kNumbers, 1, 1, 1}},
  };
  return t;
}

const std::map<std::string, int>& max_new_table() {
  static const std::map<std::string, int> t = {
      {"passkey", 16},         {"niah_single_1", 16},   {"niah_single_2", 16},
      {"niah_single_3", 48},   {"niah_multikey_1", 16}, {"niah_multikey_2", 16},
      {"niah_multikey_3", 48}, {"niah_multivalue", 48}, {"niah_multiquery", 48},
      {"vt", 32},              {"cwe", 64},             {"fwe", 32},
      {"needle", 16},
  };
  return t;
}

// Haystack units per token, the search's upper bound: hi = max(lo, length div UNIT_DIV).
int unit_div(const std::string& task) {
  if (task == "passkey" || task == "vt") return 16;
  if (task == "cwe") return 3;
  if (task == "fwe") return 1;
  switch (niah_table().at(task).hay) {
    case Hay::kNoise: return 16;
    case Hay::kProse: return 4;
    case Hay::kNeedle: return 12;
  }
  return 1;
}

int64_t search_lo(const std::string& task) {
  if (task == "cwe") return 0;
  if (task == "fwe") return 40;
  if (task == "passkey" || task == "vt") return 1;
  return niah_table().at(task).hay == Hay::kNeedle ? 0 : 1;
}

std::string hex16(uint64_t x) {
  static const char* kHex = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, x >>= 4) s[i] = kHex[x & 0xF];
  return s;
}

std::string draw_value(GenRng& rng, Kind kind, const WordLists& w) {
  switch (kind) {
    case Kind::kWords: {
      std::string a = rng.choice(w.adjectives);
      return a + "-" + rng.choice(w.nouns);
    }
    case Kind::kNumbers: return std::to_string(rng.between(1000000, 9999999));
    case Kind::kUuids: {
      uint64_t hi = rng.next_u64();
      uint64_t lo = rng.next_u64();
      hi = (hi & ~(uint64_t{0xF} << 12)) | (uint64_t{0x4} << 12);
      lo = (lo & ~(uint64_t{0x3} << 62)) | (uint64_t{0x2} << 62);
      const std::string h = hex16(hi) + hex16(lo);
      return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
             "-" + h.substr(20, 12);
    }
  }
  return {};
}

// k values, each redrawn while already in `taken` (shared by every key and value of a sample).
std::vector<std::string> draw_distinct(GenRng& rng, Kind kind, int64_t k,
                                       std::unordered_set<std::string>& taken, const WordLists& w) {
  std::vector<std::string> out;
  while (static_cast<int64_t>(out.size()) < k) {
    std::string x = draw_value(rng, kind, w);
    if (taken.insert(x).second) out.push_back(std::move(x));
  }
  return out;
}

// For i = 0..n: every insert at position i (in draw order), then units[i].
std::vector<std::string> insert_units(const std::vector<std::string>& units,
                                      const std::vector<std::pair<int64_t, std::string>>& inserts) {
  const int64_t n = static_cast<int64_t>(units.size());
  std::vector<std::vector<const std::string*>> at(static_cast<size_t>(n + 1));
  for (const auto& [p, t] : inserts) {
    SPARKV_CHECK(p >= 0 && p <= n, "generator: insert position {} outside [0, {}]", p, n);
    at[static_cast<size_t>(p)].push_back(&t);
  }
  std::vector<std::string> out;
  out.reserve(units.size() + inserts.size());
  for (int64_t i = 0; i <= n; ++i) {
    for (const std::string* t : at[static_cast<size_t>(i)]) out.push_back(*t);
    if (i < n) out.push_back(units[static_cast<size_t>(i)]);
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  size_t total = 0;
  for (const auto& p : parts) total += p.size() + sep.size();
  out.reserve(total);
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

struct Built {
  std::string context, question, prefix;
  std::vector<std::string> answers;
  std::vector<int> depths;
};

Built build_niah(const std::string& task, uint64_t seed, int64_t length, int64_t n,
                 const WordLists& w, int forced_depth) {
  const NiahConfig& c = niah_table().at(task);
  const bool numbers = c.value == Kind::kNumbers;
  const std::string tsg = numbers ? "number" : "uuid";
  const std::string tpl = numbers ? "numbers" : "uuids";
  GenRng main = gen_stream(task, seed, length, "main");
  std::unordered_set<std::string> taken;
  const std::vector<std::string> keys = draw_distinct(main, c.key, std::max(c.k, c.q), taken, w);
  std::vector<std::vector<std::string>> vals;
  for (size_t i = 0; i < keys.size(); ++i) vals.push_back(draw_distinct(main, c.value, c.v, taken, w));
  GenRng hay = gen_stream(task, seed, length, "hay");
  GenRng pos = gen_stream(task, seed, length, "pos");
  auto needle = [&](const std::string& key, const std::string& val) {
    return "One of the secret " + tpl + " for " + key + " is: " + val + ".";
  };

  Built b;
  std::string haystack;
  std::vector<std::string> order;  // needle values in order of appearance
  if (c.hay == Hay::kNeedle) {
    std::vector<std::string> units;
    if (n > 0) {
      const std::vector<std::string> dkeys = draw_distinct(hay, c.key, n, taken, w);
      for (const std::string& dk : dkeys)
        units.push_back(needle(dk, draw_distinct(hay, c.value, 1, taken, w)[0]));
    }
    const int d = static_cast<int>(pos.below(40));
    b.depths = {d};
    haystack = join(insert_units(units, {{depth_pos(d, n), needle(keys[0], vals[0][0])}}), "\n");
    order = {vals[0][0]};
  } else {
    std::vector<std::string> units;
    if (c.hay == Hay::kNoise) units.assign(static_cast<size_t>(n), kFiller);
    else units = prose_sentences(hay, w, n);
    std::vector<std::pair<std::string, std::string>> needles;
    for (size_t i = 0; i < keys.size(); ++i)
      for (const std::string& v : vals[i]) needles.emplace_back(keys[i], v);
    if (forced_depth >= 0) {
      SPARKV_CHECK(needles.size() == 1, "generator: a fixed depth needs a single needle");
      b.depths = {forced_depth};
    } else {
      for (uint64_t d : pos.distinct(40, needles.size())) b.depths.push_back(static_cast<int>(d));
    }
    std::vector<std::pair<int64_t, std::string>> ins;
    for (size_t i = 0; i < needles.size(); ++i)
      ins.emplace_back(depth_pos(b.depths[i], n), needle(needles[i].first, needles[i].second));
    haystack = join(insert_units(units, ins), c.hay == Hay::kNoise ? "\n" : " ");
    std::vector<size_t> rank(ins.size());
    std::iota(rank.begin(), rank.end(), 0);
    std::stable_sort(rank.begin(), rank.end(),
                     [&](size_t a, size_t z) { return ins[a].first < ins[z].first; });
    for (size_t i : rank) order.push_back(needles[i].second);
  }
  const std::vector<std::string> qkeys(keys.begin(), keys.begin() + c.q);
  const std::string qk = join_keys(qkeys);
  for (size_t i = 0; i < qkeys.size(); ++i)
    b.answers.insert(b.answers.end(), vals[i].begin(), vals[i].end());
  if (c.v > 1) {  // multi-value: the values in order of appearance in the context
    std::vector<std::string> ordered;
    for (const std::string& v : order)
      if (std::find(b.answers.begin(), b.answers.end(), v) != b.answers.end()) ordered.push_back(v);
    b.answers = ordered;
  }
  std::string intro;
  if (b.answers.size() == 1) {
    intro = "A secret " + tsg +
            " is hidden in the long text below. Memorize it; a question about it follows the text.";
    b.question = "What is the secret " + tsg + " for " + qk + " in the text above?";
    b.prefix = " The secret " + tsg + " for " + qk + " in the text above is:";
  } else {
    intro = "Some secret " + tpl +
            " are hidden in the long text below. Memorize them; a question about them follows the "
            "text.";
    b.question = "What are all the secret " + tpl + " for " + qk + " in the text above?";
    b.prefix = " The secret " + tpl + " for " + qk + " in the text above are:";
  }
  b.context = intro + "\n" + haystack + "\n";
  return b;
}

Built build_passkey(const std::string& task, uint64_t seed, int64_t length, int64_t n) {
  GenRng main = gen_stream(task, seed, length, "main");
  const std::string key = std::to_string(main.between(1, 50000));
  GenRng pos = gen_stream(task, seed, length, "pos");
  const int d = static_cast<int>(pos.below(40));
  const std::string line = "The pass key is " + key + ". Remember it. " + key + " is the pass key.";
  const std::vector<std::string> units(static_cast<size_t>(n), kFiller);
  Built b;
  b.context =
      "There is an important info hidden inside a lot of irrelevant text. Find it and memorize "
      "it. I will quiz you about the important information there.\n" +
      join(insert_units(units, {{depth_pos(d, n), line}}), "\n") + "\n";
  b.question = "What is the pass key?";
  b.prefix = " The pass key is";
  b.answers = {key};
  b.depths = {d};
  return b;
}

Built build_vt(const std::string& task, uint64_t seed, int64_t length, int64_t n) {
  GenRng main = gen_stream(task, seed, length, "main");
  const std::string value = std::to_string(main.between(10000, 99999));
  std::vector<std::string> names;
  std::unordered_set<std::string> taken;
  while (names.size() < 5) {
    std::string nm;
    for (int i = 0; i < 5; ++i) nm += static_cast<char>('A' + main.below(26));
    if (taken.insert(nm).second) names.push_back(nm);
  }
  GenRng pos = gen_stream(task, seed, length, "pos");
  Built b;
  for (uint64_t d : pos.distinct(40, 5)) b.depths.push_back(static_cast<int>(d));
  std::sort(b.depths.begin(), b.depths.end());
  std::vector<std::pair<int64_t, std::string>> ins;
  for (int i = 0; i < 5; ++i)
    ins.emplace_back(depth_pos(b.depths[i], n),
                     i == 0 ? "VAR " + names[0] + " = " + value
                            : "VAR " + names[i] + " = VAR " + names[i - 1]);
  const std::vector<std::string> units(static_cast<size_t>(n), kFiller);
  b.context =
      "Memorize every variable assignment in the text below and follow the chains of "
      "assignments.\n" +
      join(insert_units(units, ins), "\n") + "\n";
  b.question = "Question: Which variables hold the value " + value + " in the text above?";
  b.prefix = " Answer: Following the chain of assignments, the 5 variables that hold the value " +
             value + " are:";
  b.answers = names;
  return b;
}

Built build_cwe(const std::string& task, uint64_t seed, int64_t length, int64_t n,
                const WordLists& w) {
  const std::vector<std::string>& pool = w.cwe_pool;
  GenRng main = gen_stream(task, seed, length, "main");
  const std::vector<uint64_t> idx = main.distinct(pool.size(), 10 + static_cast<uint64_t>(n));
  std::vector<std::string> common, rare;
  for (size_t i = 0; i < idx.size(); ++i) (i < 10 ? common : rare).push_back(pool[idx[i]]);
  const int fc = length < 4096 ? 6 : 30;
  const int fu = length < 4096 ? 1 : 3;
  std::vector<std::string> list;
  for (const auto& x : common) list.insert(list.end(), fc, x);
  for (const auto& x : rare) list.insert(list.end(), fu, x);
  GenRng order = gen_stream(task, seed, length, "order");
  order.shuffle(list);
  Built b;
  for (const std::string& x : list)
    if (std::find(common.begin(), common.end(), x) != common.end() &&
        std::find(b.answers.begin(), b.answers.end(), x) == b.answers.end())
      b.answers.push_back(x);
  std::string body;
  for (size_t i = 0; i < list.size(); ++i) {
    if (i) body += ' ';
    body += std::to_string(i + 1) + ". " + list[i];
  }
  b.context =
      "Below is a numbered list of words. Some of them appear many times. Memorize the words that "
      "appear most often.\n" +
      body + "\n";
  b.question = "Question: What are the 10 most common words in the list above?";
  b.prefix = " Answer: The 10 most common words in the list above are:";
  return b;
}

Built build_fwe(const std::string& task, uint64_t seed, int64_t length, int64_t n) {
  GenRng main = gen_stream(task, seed, length, "main");
  // Python floor division; length >= 1, so only the max() guards small lengths.
  const int64_t num = length - max_new_table().at("fwe");
  const int64_t vsize = std::max<int64_t>(5, num >= 0 ? num / 50 : -((-num + 49) / 50));
  std::vector<std::string> vocab;
  std::unordered_set<std::string> taken;
  while (static_cast<int64_t>(vocab.size()) < vsize) {
    std::string x;
    for (int i = 0; i < 6; ++i) x += static_cast<char>('a' + main.below(26));
    if (taken.insert(x).second) vocab.push_back(x);
  }
  std::vector<std::string> list;
  for (int64_t k = 1; k <= vsize; ++k) {
    const int64_t cnt = (n * 1000000) / (k * k * 1644934);  // n * k^-2 / zeta(2), in integers
    list.insert(list.end(), static_cast<size_t>(std::max<int64_t>(cnt, 0)),
                k == 1 ? std::string("...") : vocab[static_cast<size_t>(k - 1)]);
  }
  GenRng order = gen_stream(task, seed, length, "order");
  order.shuffle(list);
  Built b;
  b.context =
      "Read the coded text below and count how often each coded word appears. Ignore the dots.\n" +
      join(list, " ") + "\n";
  b.question = "Question: Which three coded words appear most often in the coded text above?";
  b.prefix = " Answer: The three most frequent coded words in the text above are:";
  b.answers = {vocab[1], vocab[2], vocab[3]};
  return b;
}

Built build(const std::string& task, uint64_t seed, int64_t length, int64_t n, const WordLists& w,
            int forced_depth) {
  if (task == "passkey") return build_passkey(task, seed, length, n);
  if (task == "vt") return build_vt(task, seed, length, n);
  if (task == "cwe") return build_cwe(task, seed, length, n, w);
  if (task == "fwe") return build_fwe(task, seed, length, n);
  return build_niah(task, seed, length, n, w, forced_depth);
}

std::string target_text(const std::string& task, const std::vector<std::string>& answers) {
  return " " + join(answers, task == "vt" ? " " : ", ") + ".";
}

TaskSample search(const std::string& task, uint64_t seed, int64_t length, const TokenCounter& count,
                  const WordLists& w, int forced_depth) {
  SPARKV_CHECK(length > 0, "generator: length {} must be positive", length);
  const int gen = max_new_table().at(task);
  int64_t lo = search_lo(task);
  int64_t hi = std::max<int64_t>(lo, length / unit_div(task));
  if (task == "cwe") hi = std::min<int64_t>(hi, static_cast<int64_t>(w.cwe_pool.size()) - 10);
  auto fits = [&](int64_t n, Built* out) {
    *out = build(task, seed, length, n, w, forced_depth);
    return 1 + count(out->context + out->question + out->prefix) + gen <= length;
  };
  // The exact probe sequence of docs/generators.md §5, so that the same n comes out even where
  // fits() is not monotone.
  Built best;
  int64_t n_best = lo;
  if (fits(lo, &best)) {
    while (lo < hi) {
      const int64_t mid = (lo + hi + 1) / 2;
      Built b;
      if (fits(mid, &b)) {
        lo = mid;
        best = std::move(b);
        n_best = mid;
      } else {
        hi = mid - 1;
      }
    }
  }
  TaskSample s;
  s.task = task;
  s.seed = seed;
  s.length = length;
  s.context = std::move(best.context);
  s.question = std::move(best.question);
  s.answer_prefix = std::move(best.prefix);
  s.answers = std::move(best.answers);
  s.target = target_text(task, s.answers);
  s.max_new_tokens = gen;
  s.n_units = n_best;
  s.depths = std::move(best.depths);
  return s;
}

}  // namespace

int64_t depth_pos(int64_t d, int64_t n) { return (d * n) / 39; }

std::string join_keys(const std::vector<std::string>& keys) {
  if (keys.size() == 1) return keys[0];
  std::vector<std::string> head(keys.begin(), keys.end() - 1);
  return join(head, ", ") + ", and " + keys.back();
}

TokenCounter token_counter(const Tokenizer& tok) {
  return [&tok](const std::string& text) {
    return static_cast<int64_t>(tok.encode(text, /*add_bos=*/false, /*parse_special=*/false).size());
  };
}

const std::vector<std::string>& generator_tasks() {
  static const std::vector<std::string> t = {
      "passkey",         "niah_single_1",   "niah_single_2",   "niah_single_3",
      "niah_multikey_1", "niah_multikey_2", "niah_multikey_3", "niah_multivalue",
      "niah_multiquery", "vt",              "cwe",             "fwe"};
  return t;
}

const std::vector<std::string>& ruler_tasks() {
  static const std::vector<std::string> t(generator_tasks().begin() + 1, generator_tasks().end());
  return t;
}

bool is_generator_task(const std::string& task) {
  const auto& t = generator_tasks();
  return std::find(t.begin(), t.end(), task) != t.end();
}

int task_max_new_tokens(const std::string& task) {
  const auto it = max_new_table().find(task);
  SPARKV_CHECK(it != max_new_table().end(), "unknown task '{}'", task);
  return it->second;
}

TaskSample make_sample(const std::string& task, uint64_t seed, int64_t length,
                       const TokenCounter& count, const WordLists& words) {
  SPARKV_CHECK(is_generator_task(task), "unknown generator task '{}' (valid: passkey, {})", task,
               join(ruler_tasks(), ", "));
  return search(task, seed, length, count, words, -1);
}

TaskSample make_needle_sample(uint64_t seed, int64_t length, int depth_index,
                              const TokenCounter& count, const WordLists& words) {
  SPARKV_CHECK(depth_index >= 0 && depth_index < 40, "needle: depth index {} outside [0, 39]",
               depth_index);
  return search("needle", seed, length, count, words, depth_index);
}

int depth_index_from_percent(int percent) {
  SPARKV_CHECK(percent >= 0 && percent <= 100, "needle: depth {}% outside [0, 100]", percent);
  return (percent * 39 + 50) / 100;
}

}  // namespace sparkv

// Long-context task generators, ported byte for byte from the Python reference
// (tools/train/sparkv_gen/tasks.py; normative text: docs/generators.md). A sample is a pure
// function of (task, seed, length) and the tokenizer: the haystack size is the largest one the
// documented binary search finds with 1 (BOS) + tokens(prompt) + max_new_tokens <= length.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "eval/word_lists.h"

namespace sparkv {

class Tokenizer;

// Evaluation seeds are 2^40 + i; training seeds are below 2^40, so the two never overlap.
constexpr uint64_t kEvalSeedBase = uint64_t{1} << 40;

struct TaskSample {
  std::string task;
  uint64_t seed = 0;
  int64_t length = 0;
  std::string context;        // intro + "\n" + haystack + "\n"
  std::string question;
  std::string answer_prefix;  // starts with a space; fed after compression, before decoding
  std::vector<std::string> answers;
  std::string target;         // what training teaches the model to generate after the prefix
  int max_new_tokens = 0;
  int64_t n_units = 0;        // haystack size chosen by the search
  std::vector<int> depths;    // depth indices (0..39) drawn, for the tasks that have them

  std::string prompt() const { return context + question + answer_prefix; }
};

// Counts the tokens of a text (no BOS, special-token strings not parsed).
using TokenCounter = std::function<int64_t(const std::string&)>;
TokenCounter token_counter(const Tokenizer& tok);

// passkey, niah_single_1/2/3, niah_multikey_1/2/3, niah_multivalue, niah_multiquery, vt, cwe, fwe.
const std::vector<std::string>& generator_tasks();
// The RULER-style subset (everything but passkey).
const std::vector<std::string>& ruler_tasks();
bool is_generator_task(const std::string& task);
int task_max_new_tokens(const std::string& task);

// Throws naming the task when it is unknown.
TaskSample make_sample(const std::string& task, uint64_t seed, int64_t length,
                       const TokenCounter& count, const WordLists& words = default_word_lists());

// The needle grid (lengths x depths): niah_single_2's format (prose haystack, word key, 7-digit
// number) with the depth index fixed by the caller instead of drawn. Task name "needle"; its
// streams are those of ("needle", seed, length), so every depth of a (seed, length) cell hides
// the same key and value in the same haystack.
TaskSample make_needle_sample(uint64_t seed, int64_t length, int depth_index,
                              const TokenCounter& count, const WordLists& words = default_word_lists());
// Depth in percent (0..100) -> depth index (0..39), rounded to nearest.
int depth_index_from_percent(int percent);

// Pieces shared with the tests (docs/generators.md §4).
int64_t depth_pos(int64_t d, int64_t n);  // (d * n) div 39
std::string join_keys(const std::vector<std::string>& keys);

}  // namespace sparkv

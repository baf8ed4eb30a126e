// What to evaluate: a suite (ruler | passkey | needle | longbench:PATH[,key=value...]) expanded
// into work items, each prepared into the token ids the runner feeds (prefill, then the answer
// prefix) plus everything its scorer needs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eval/longbench.h"
#include "eval/scorers.h"

namespace sparkv {

class Tokenizer;

struct SuiteSpec {
  std::string kind;              // "ruler" | "passkey" | "needle" | "longbench"
  std::string path;              // longbench: jsonl file or folder
  std::string template_path;     // longbench: template=FILE
  std::optional<Metric> metric;  // longbench: metric=NAME (overrides the task table)
  int max_new_tokens = 0;        // longbench: max_new=N (overrides the task table)
  int chat = -1;                 // longbench: chat=0|1 (overrides the task table)
  std::string label() const;     // "ruler", "longbench:<path>"
};
// "ruler", "passkey", "needle", "longbench:PATH[,template=FILE][,metric=M][,max_new=N][,chat=0|1]".
SuiteSpec parse_suite(const std::string& text);

struct SuiteOptions {
  SuiteSpec suite;
  std::vector<int64_t> lengths;  // target lengths (tokens, prompt + answer)
  int samples = 10;  // per (task, length[, depth]); longbench: first N rows per task (0 = all)
  std::vector<std::string> tasks;  // empty = the suite's default
  std::vector<int> depths = {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100};  // needle, percent
  bool chat = false;  // generated suites: wrap context + question in the chat template
  // Generated suites: sample i of every cell uses generator seed 2^40 + seed·2^32 + i, so
  // --seed S draws samples nobody tuned on (0: the default set every result so far used).
  uint64_t seed = 0;
};

// One unit of work, before tokenization.
struct ItemRef {
  std::string task;
  int64_t length = 0;
  uint64_t seed = 0;  // generator seed (2^40 + sample); longbench: the row's index
  int sample = 0;     // index within its (task, length[, depth]) cell
  int depth = -1;     // needle grid: percent
  std::string id;     // longbench _id
  // "task|length|seed|depth": with the recipe, what identifies a result row (resume).
  std::string key() const;
};

struct EvalItem {
  ItemRef ref;
  std::vector<int32_t> prefill_ids;  // compressed: BOS / chat header + context + question
  std::vector<int32_t> answer_ids;   // fed after compression, uncompressed (kvpress answer_prefix)
  int max_new_tokens = 0;
  Metric metric = Metric::kStringMatchAll;
  std::vector<std::string> answers, all_classes;
  bool first_line_only = false;
  bool stop_at_newline = false;
};

// Expands a suite into items (ordered length-major, then task, then sample) and prepares them.
class Suite {
 public:
  Suite(const SuiteOptions& opts, const Tokenizer& tok);
  ~Suite();
  const std::vector<ItemRef>& items() const { return items_; }
  EvalItem prepare(const ItemRef& ref) const;
  const SuiteOptions& options() const { return opts_; }

 private:
  EvalItem prepare_generated(const ItemRef& ref) const;
  EvalItem prepare_longbench(const ItemRef& ref) const;
  std::vector<int32_t> wrap_chat(const std::string& user_text) const;

  SuiteOptions opts_;
  const Tokenizer& tok_;
  std::vector<ItemRef> items_;
  std::vector<LongBenchRow> lb_rows_;
  std::unique_ptr<PromptTemplates> templates_;
  std::string chat_template_text_;
};

}  // namespace sparkv

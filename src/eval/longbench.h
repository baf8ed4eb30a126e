// LongBench v1 in its published jsonl format, read from the user's own files: sparkv ships no
// third-party data and no prompt templates. The per-task constants (metric, generation length,
// chat template or not, first-line scoring) are LongBench's config facts (spec §5.2).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "eval/scorers.h"

namespace sparkv {

struct LongBenchTask {
  std::string name;
  Metric metric = Metric::kQaF1;
  int max_new_tokens = 32;     // LongBench dataset2maxlen
  bool chat = true;            // false: plain BOS + prompt (trec, triviaqa, samsum, lsht, lcc, repobench-p)
  bool first_line_only = false;  // trec, triviaqa, samsum, lsht score only the first line
  bool stop_at_newline = false;  // samsum also stops at "\n"
};

// The built-in table of the English tasks (a trailing "_e", LongBench-E, maps to the base task).
// nullopt for an unknown task; the Chinese tasks whose metrics need jieba are rejected with an
// error that says so.
std::optional<LongBenchTask> longbench_task(const std::string& name);

struct LongBenchRow {
  std::string task;     // the row's "dataset", else the file name without .jsonl
  std::string id;       // "_id", else "<file>:<line>"
  std::string input, context;
  std::vector<std::string> answers;
  std::vector<std::string> all_classes;
  int64_t line = 0;     // 1-based line in its file
};

// A .jsonl file, or a folder whose *.jsonl files are read in name order. Throws naming the file
// and line of a malformed row (missing "context"/"input"/"answers", wrong types).
std::vector<LongBenchRow> load_longbench(const std::string& path);

// Prompt templates: a JSON object {task: template} (LongBench's dataset2prompt.json layout) or a
// plain text file used for every task. Templates use Python str.format fields {context} and
// {input}; "{{" and "}}" are literal braces.
class PromptTemplates {
 public:
  static PromptTemplates load(const std::string& path);
  static PromptTemplates from_text(const std::string& text);
  // Throws naming the task when the JSON form has no template for it.
  const std::string& for_task(const std::string& task) const;

 private:
  std::map<std::string, std::string> per_task_;
  std::string all_;
  bool single_ = false;
  std::string path_;
};

// str.format(context=..., input=...) for the two LongBench fields; any other field, or an
// unbalanced brace, throws naming it.
std::string format_longbench_prompt(const std::string& tmpl, const LongBenchRow& row);

// LongBench's middle truncation: when ids holds more than max_len tokens, keep the first
// int(max_len/2) and the last int(max_len/2).
std::vector<int32_t> truncate_middle(const std::vector<int32_t>& ids, int64_t max_len);

}  // namespace sparkv

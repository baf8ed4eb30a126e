// sparkv public API: long-context accuracy of recipes against the full cache — a suite x lengths
// x samples x recipes grid, one prefill per sample, every recipe decoded from it. Results go to
// out_dir/results.jsonl (resumable: rows already there are not recomputed), then a report
// (results.json, report.md, plots).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sparkv/error.h"
#include "sparkv/model.h"

namespace sparkv::api {

struct EvalOptions {
  std::string suite = "ruler";       // ruler | passkey | needle | longbench:PATH[,...]
  std::vector<int64_t> lengths;      // prompt lengths in tokens (required)
  int samples = 10;                  // per task and length
  uint64_t seed = 0;                 // 0: the default sample set; S draws another
  std::vector<std::string> tasks;    // empty: the suite's tasks
  std::vector<int> depths;           // needle depths in percent (needle suite)
  bool chat = false;                 // wrap prompts in the chat template
  std::vector<std::string> recipes;  // the full cache is always added first
  std::string out_dir;               // required
  int fidelity_tokens = 32;          // decode steps compared with the full cache
  bool parallel = true;              // recipes decoded on parallel threads
  std::string cache_type_k = "f16", cache_type_v = "f16";
  bool progress = true;  // a progress bar on stderr
  bool plots = true;
  std::string model_label;  // for the report header (default: the model's path)
};

struct EvalSummary {
  int samples_total = 0, samples_run = 0, samples_skipped = 0;
  size_t rows_written = 0, rows_total = 0;
  double wall_seconds = 0;
  std::vector<std::string> written;  // report files
  std::string plot_note;             // why plots were skipped, if they were
};

// Uses the model's tokenizer (or the one given at load). Throws on bad options.
EvalSummary run_eval(const Model& model, const EvalOptions& opts);
// Rebuilds dir's report from dir/results.jsonl.
EvalSummary rebuild_eval_report(const std::string& dir, bool plots = true);

}  // namespace sparkv::api

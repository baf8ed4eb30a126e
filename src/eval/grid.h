// `sparkv eval`: a suite x lengths x samples x recipes grid, one prefill per sample, results
// appended to DIR/results.jsonl (resumable: rows already present are not recomputed), then the
// report (see report.h).
#pragma once

#include <string>
#include <vector>

#include "eval/report.h"
#include "eval/runner.h"
#include "eval/suite.h"

namespace sparkv {

class Model;
class Tokenizer;

struct EvalConfig {
  SuiteOptions suite;
  std::vector<std::string> presses;  // --press specs (full is always added)
  std::string out_dir;
  RunnerOptions runner;
  bool progress = true;
  bool plots = true;
  std::string model_label;           // for the report header
};

struct EvalSummary {
  int samples_total = 0, samples_run = 0, samples_skipped = 0;
  size_t rows_written = 0, rows_total = 0;
  double wall_seconds = 0;
  ReportFiles report;
};

EvalSummary run_eval(const Model& model, const Tokenizer& tok, const EvalConfig& cfg);

// Rebuilds the report of DIR from DIR/results.jsonl.
ReportFiles rebuild_report(const std::string& dir, const ReportOptions& opts);

}  // namespace sparkv

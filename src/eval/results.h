// Result rows: one per (sample, recipe), appended to DIR/results.jsonl as soon as a sample is
// done, so an interrupted run resumes where it stopped and reports can be rebuilt at any time.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sparkv {

struct ResultRow {
  std::string suite, task, recipe, label, metric;
  int64_t length = 0;
  uint64_t seed = 0;
  int sample = 0;
  int depth = -1;          // needle grid (percent), else -1
  std::string id;          // longbench _id
  std::string cache = "f16";  // dense KV cache element types (kv_types_label)
  double score = 0;        // [0, 1]
  std::string pred;
  std::vector<std::string> answers;
  int64_t n_prompt = 0;
  int n_generated = 0;
  std::string stop_reason;
  size_t kv_bytes = 0, kv_bytes_full = 0;
  int fid_steps = 0;
  double fid_kl = 0, fid_top1 = 0;
  std::vector<double> attn_err;
  double t_prefill = 0, t_compress = 0, t_decode = 0;

  // "task|length|seed|depth|recipe[|cache]" (the resume key; the cache only when not f16).
  std::string key() const;
  // The method a report row stands for: the recipe, plus " @<cache>" when the cache is not f16.
  std::string method() const;
  std::string method_label() const;
  double attn_err_mean() const;
  nlohmann::json to_json() const;
  static ResultRow from_json(const nlohmann::json& j);  // throws naming the missing field
};

// Reads every row of a results.jsonl (a missing file is empty). A truncated last line -- an
// interrupted write -- is skipped; any other malformed line throws naming the file and line.
std::vector<ResultRow> load_results(const std::string& path);
// Drops a partial last line (a write an interruption cut short) so appends start on a fresh line.
void repair_results(const std::string& path);
// Appends rows and flushes (one write per sample).
void append_results(const std::string& path, const std::vector<ResultRow>& rows);

}  // namespace sparkv

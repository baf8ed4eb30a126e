// The LongBench jsonl loader, then what the evaluation does with each row: task lookup, prompt
// template formatting, middle truncation and scoring the row's input as if it were a prediction
// (the scorers tokenize, normalise and compare arbitrary model output).
// Input: data.jsonl [kFileSeparator prompt template (JSON {task: template} or plain text)].
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "eval/longbench.h"
#include "eval/scorers.h"
#include "fuzz_util.h"

using namespace sparkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::ScratchDir dir;
  dir.clear();
  const auto parts = fuzz::split_files(data, size, 2);
  dir.write("data.jsonl", parts[0]);
  std::vector<LongBenchRow> rows;
  try {
    rows = load_longbench((dir.path() / "data.jsonl").string());
  } catch (const Error& e) {
    fuzz::note(e);
    return 0;
  }
  PromptTemplates templates = PromptTemplates::from_text("{context}\n\nQuestion: {input}\nAnswer:");
  if (parts.size() > 1) {
    dir.write("prompts.json", parts[1]);
    try {
      templates = PromptTemplates::load((dir.path() / "prompts.json").string());
    } catch (const Error& e) {
      fuzz::note(e);
    }
  }
  for (const LongBenchRow& row : rows) {
    Metric metric = Metric::kQaF1;
    bool first_line = false;
    try {
      if (const auto task = longbench_task(row.task)) {
        metric = task->metric;
        first_line = task->first_line_only;
      }
    } catch (const Error& e) {
      fuzz::note(e);
    }
    try {
      const std::string prompt = format_longbench_prompt(templates.for_task(row.task), row);
      std::vector<int32_t> ids(prompt.begin(), prompt.end());
      const std::vector<int32_t> cut = truncate_middle(ids, 1 + static_cast<int64_t>(size % 64));
      if (cut.size() > ids.size()) __builtin_trap();
    } catch (const Error& e) {
      fuzz::note(e);
    }
    // Bounded: the scorers are quadratic in the text length (LCS, edit distance) by design.
    if (row.input.size() > 512) continue;
    bool too_long = false;
    for (const std::string& a : row.answers) too_long = too_long || a.size() > 512;
    if (too_long) continue;
    for (Metric m :
         {metric, Metric::kStringMatchAll, Metric::kStringMatchPart, Metric::kQaF1, Metric::kRougeL,
          Metric::kClassification, Metric::kCount, Metric::kRetrieval, Metric::kCodeSim}) {
      try {
        const double s = score_sample(m, row.input, row.answers, row.all_classes, first_line);
        if (!(s >= 0.0 && s <= 1.0 + 1e-9)) __builtin_trap();  // scores are fractions
      } catch (const Error& e) {
        fuzz::note(e);
      }
    }
  }
  return 0;
}

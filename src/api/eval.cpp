// The public evaluation entry points (include/sparkv/eval.h) over eval/grid.
#include "sparkv/eval.h"

#include "eval/grid.h"
#include "quant/kv_types.h"

namespace sparkv::api {

EvalSummary run_eval(const Model& model, const EvalOptions& o) {
  EvalConfig cfg;
  cfg.suite.suite = parse_suite(o.suite);
  cfg.suite.lengths = o.lengths;
  cfg.suite.samples = o.samples;
  cfg.suite.seed = o.seed;
  cfg.suite.tasks = o.tasks;
  if (!o.depths.empty()) cfg.suite.depths = o.depths;
  cfg.suite.chat = o.chat;
  cfg.presses = o.recipes;
  cfg.out_dir = o.out_dir;
  cfg.runner.fidelity_tokens = o.fidelity_tokens;
  cfg.runner.parallel = o.parallel;
  cfg.runner.kv_types.k = kv_dtype_from_name(o.cache_type_k);
  cfg.runner.kv_types.v = kv_dtype_from_name(o.cache_type_v);
  cfg.progress = o.progress;
  cfg.plots = o.plots;
  cfg.model_label = o.model_label.empty() ? model.path() : o.model_label;
  const sparkv::EvalSummary s = sparkv::run_eval(model.impl(), model.tokenizer().impl(), cfg);
  EvalSummary out;
  out.samples_total = s.samples_total;
  out.samples_run = s.samples_run;
  out.samples_skipped = s.samples_skipped;
  out.rows_written = s.rows_written;
  out.rows_total = s.rows_total;
  out.wall_seconds = s.wall_seconds;
  out.written = s.report.written;
  out.plot_note = s.report.plot_note;
  return out;
}

EvalSummary rebuild_eval_report(const std::string& dir, bool plots) {
  ReportOptions ro;
  ro.plots = plots;
  const ReportFiles f = rebuild_report(dir, ro);
  EvalSummary out;
  out.written = f.written;
  out.plot_note = f.plot_note;
  return out;
}

}  // namespace sparkv::api

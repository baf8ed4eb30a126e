#include "eval/grid.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "eval/progress.h"
#include "eval/results.h"
#include "model/model.h"

namespace sparkv {

namespace {

std::vector<ResultRow> to_rows(const EvalConfig& cfg, const EvalItem& item, const SampleOutcome& so,
                               const std::vector<Recipe>& recipes) {
  std::vector<ResultRow> rows;
  for (const RecipeOutcome& o : so.recipes) {
    ResultRow r;
    r.suite = cfg.suite.suite.label();
    r.task = item.ref.task;
    r.length = item.ref.length;
    r.seed = item.ref.seed;
    r.sample = item.ref.sample;
    r.depth = item.ref.depth;
    r.id = item.ref.id;
    r.recipe = o.recipe;
    r.cache = kv_types_label(cfg.runner.kv_types);
    for (const Recipe& rc : recipes)
      if (rc.key == o.recipe) r.label = rc.label;
    r.metric = metric_name(item.metric);
    r.score = o.score;
    r.pred = o.text;
    r.answers = item.answers;
    r.n_prompt = so.n_prompt;
    r.n_generated = static_cast<int>(o.ids.size());
    r.stop_reason = o.stop_reason;
    r.kv_bytes = o.kv_bytes;
    r.kv_bytes_full = so.kv_bytes_full;
    r.fid_steps = o.fidelity.steps;
    r.fid_kl = o.fidelity.kl;
    r.fid_top1 = o.fidelity.top1;
    r.attn_err = o.fidelity.attn_err;
    r.t_prefill = so.prefill_seconds;
    r.t_compress = o.compress_seconds;
    r.t_decode = o.decode_seconds;
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace

EvalSummary run_eval(const Model& model, const Tokenizer& tok, const EvalConfig& cfg) {
  const auto t0 = std::chrono::steady_clock::now();
  SPARKV_CHECK(!cfg.out_dir.empty(), "eval: --out DIR is required");
  std::filesystem::create_directories(cfg.out_dir);
  const std::string jsonl = cfg.out_dir + "/results.jsonl";
  const std::vector<Recipe> recipes = parse_recipes(cfg.presses);
  const Suite suite(cfg.suite, tok);
  const SampleRunner runner(model, tok, cfg.runner);

  repair_results(jsonl);
  std::set<std::string> done;
  for (const ResultRow& r : load_results(jsonl)) done.insert(r.key());

  EvalSummary sum;
  const auto& items = suite.items();
  const std::string cache = kv_types_label(cfg.runner.kv_types);
  const std::string cache_suffix = cache == "f16" ? "" : "|" + cache;  // as ResultRow::key()
  sum.samples_total = static_cast<int>(items.size());
  // Which recipes each sample still needs; samples with none are skipped without a prefill.
  std::vector<std::vector<bool>> masks(items.size(), std::vector<bool>(recipes.size()));
  double total_work = 0;
  int n_todo = 0;
  for (size_t k = 0; k < items.size(); ++k) {
    bool any = false;
    for (size_t i = 0; i < recipes.size(); ++i) {
      masks[k][i] = !done.count(fmt::format("{}|{}{}", items[k].key(), recipes[i].key, cache_suffix));
      any = any || masks[k][i];
    }
    if (any) {
      total_work += static_cast<double>(items[k].length);  // prefill dominates; it grows with L
      ++n_todo;
    } else {
      ++sum.samples_skipped;
    }
  }
  ProgressBar bar(total_work, n_todo, cfg.progress && n_todo > 0);
  double work = 0;
  int n_done = 0;
  for (size_t k = 0; k < items.size(); ++k) {
    const ItemRef& ref = items[k];
    if (std::find(masks[k].begin(), masks[k].end(), true) == masks[k].end()) continue;
    bar.update(work, n_done, fmt::format("{} L={} #{}{}", ref.task, ref.length, ref.sample,
                                         ref.depth >= 0 ? fmt::format(" depth {}%", ref.depth) : ""));
    const EvalItem item = suite.prepare(ref);
    const SampleOutcome so = runner.run(item, recipes, masks[k]);
    const std::vector<ResultRow> rows = to_rows(cfg, item, so, recipes);
    append_results(jsonl, rows);
    sum.rows_written += rows.size();
    ++sum.samples_run;
    work += static_cast<double>(ref.length);
    ++n_done;
  }
  bar.finish();
  sum.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ReportOptions ro;
  ro.model = cfg.model_label;
  ro.plots = cfg.plots;
  ro.wall_seconds = sum.wall_seconds;
  ro.title = "sparkv eval: " + cfg.suite.suite.label();
  const std::vector<ResultRow> all = load_results(jsonl);
  sum.rows_total = all.size();
  sum.report = write_report(cfg.out_dir, all, ro);
  return sum;
}

ReportFiles rebuild_report(const std::string& dir, const ReportOptions& opts) {
  const std::string jsonl = dir + "/results.jsonl";
  SPARKV_CHECK(std::filesystem::exists(jsonl), "{}: no results.jsonl to report on", dir);
  const std::vector<ResultRow> rows = load_results(jsonl);
  SPARKV_CHECK(!rows.empty(), "{}: results.jsonl holds no rows", jsonl);
  ReportOptions o = opts;
  if (o.title == ReportOptions().title) o.title = "sparkv eval: " + (rows[0].suite.empty() ? "results" : rows[0].suite);
  return write_report(dir, rows, o);
}

}  // namespace sparkv

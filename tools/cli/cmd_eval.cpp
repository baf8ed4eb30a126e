// sparkv eval: accuracy and fidelity of KV-compression recipes on long-context suites, one
// prefill per sample (see src/eval/grid.h), with a resumable results.jsonl and a report.
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "sparkv/sparkv.h"

namespace sparkv::cli {

namespace {

struct EvalArgs {
  std::string model;
  std::string tokenizer;
  std::string suite = "ruler";
  std::vector<int64_t> lengths;
  int samples = 10;
  uint64_t seed = 0;
  std::vector<std::string> presses;
  std::string out;
  std::vector<std::string> tasks;
  std::vector<int> depths;
  int threads = 0;
  int fidelity_tokens = 32;
  bool chat = false;
  bool serial = false;
  bool json = false;
  bool no_progress = false;
  bool no_plots = false;
  std::string report;
  std::string cache_type_k = "f16";
  std::string cache_type_v = "f16";
};

void print_json(const nlohmann::json& extra, const std::string& dir) {
  nlohmann::json j = extra;
  j["report"] = nlohmann::json::parse(read_file(dir + "/results.json"));
  std::printf("%s\n", j.dump().c_str());
}

void run(const EvalArgs& a) {
  if (!a.report.empty()) {
    const api::EvalSummary f = api::rebuild_eval_report(a.report, !a.no_plots);
    if (a.json) {
      print_json({{"written", f.written}, {"plot_note", f.plot_note}}, a.report);
    } else {
      std::fprintf(stderr, "[sparkv eval] report rebuilt: %s/report.md (%zu files)%s%s\n",
                   a.report.c_str(), f.written.size(), f.plot_note.empty() ? "" : "; ",
                   f.plot_note.c_str());
    }
    return;
  }
  api::set_threads(a.threads);
  CLI_CHECK(!a.out.empty(), "eval: --out DIR is required (or --report DIR)");
  CLI_CHECK(!a.lengths.empty(), "eval: --length L[,L...] is required");
  const std::string model_path = resolve_model(a.model);
  const api::Model model = api::Model::load(model_path, {.tokenizer = a.tokenizer});
  model.tokenizer();  // throws naming the model when it carries none
  for (int64_t L : a.lengths)
    if (L > model.n_ctx_train())
      std::fprintf(
          stderr,
          "[sparkv eval] warning: --length %lld exceeds the model's trained context (%lld)\n",
          static_cast<long long>(L), static_cast<long long>(model.n_ctx_train()));

  api::EvalOptions o;
  o.suite = a.suite;
  o.lengths = a.lengths;
  o.samples = a.samples;
  o.seed = a.seed;
  o.tasks = a.tasks;
  o.depths = a.depths;
  o.chat = a.chat;
  o.recipes = a.presses;
  o.out_dir = a.out;
  o.fidelity_tokens = a.fidelity_tokens;
  o.parallel = !a.serial;
  o.cache_type_k = a.cache_type_k;
  o.cache_type_v = a.cache_type_v;
  o.progress = !a.no_progress;
  o.plots = !a.no_plots;
  o.model_label = model_path;
  const api::EvalSummary s = api::run_eval(model, o);
  if (a.json) {
    print_json({{"samples", s.samples_total},
                {"samples_run", s.samples_run},
                {"samples_skipped", s.samples_skipped},
                {"rows_written", s.rows_written},
                {"rows_total", s.rows_total},
                {"wall_seconds", s.wall_seconds},
                {"out", a.out},
                {"plot_note", s.plot_note}},
               a.out);
  } else {
    std::fprintf(stderr,
                 "[sparkv eval] %d samples (%d run, %d already done), %zu rows written, %.1f s; "
                 "report: %s/report.md%s%s\n",
                 s.samples_total, s.samples_run, s.samples_skipped, s.rows_written, s.wall_seconds,
                 a.out.c_str(), s.plot_note.empty() ? "" : "; ", s.plot_note.c_str());
  }
}

}  // namespace

void register_eval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* c = app.add_subcommand(
      "eval", "Score KV-compression recipes on long-context suites (one prefill per sample)");
  c->add_option("-m,--model", a->model,
                "GGUF file, Hugging Face folder or shipped model name (default: embedded model)");
  c->add_option("--tokenizer", a->tokenizer,
                "tokenizer.json (or its folder) to use instead of the model's");
  c->add_option("--suite", a->suite,
                "ruler | passkey | needle | "
                "longbench:PATH[,template=FILE][,metric=M][,max_new=N][,chat=0|1]")
      ->capture_default_str();
  c->add_option("--length", a->lengths,
                "Target lengths in tokens (prompt + answer), e.g. 1024,2048")
      ->delimiter(',');
  c->add_option(
       "--samples", a->samples,
       "Samples per task and length (needle: per depth; longbench: first N rows per task, 0 = all)")
      ->capture_default_str();
  c->add_option("--seed", a->seed,
                "Sample set of the generated suites: 0 = the default set, S > 0 another one "
                "(generator seeds 2^40 + S*2^32 + i)")
      ->capture_default_str();
  c->add_option("--press", a->presses,
                "Recipe to evaluate, repeatable (the full cache is always included): " +
                    api::Recipe::methods_help());
  c->add_option("--out", a->out,
                "Output folder: results.jsonl (resumable), report.md, results.json/.csv, plots/");
  c->add_option("--tasks", a->tasks, "Only these tasks (comma-separated)")->delimiter(',');
  c->add_option("--depths", a->depths, "Needle depths in percent (default 0,10,...,100)")
      ->delimiter(',');
  c->add_option("-t,--threads", a->threads, "Threads (0 = all cores)")->capture_default_str();
  c->add_option("--fidelity-tokens", a->fidelity_tokens,
                "Decode steps compared against the full cache (KL, top-1, attention error)")
      ->capture_default_str();
  c->add_option("--cache-type-k", a->cache_type_k,
                "Dense K cache type (" + api::cache_type_names() +
                    "); rows are tagged with it, so one DIR can hold several")
      ->capture_default_str();
  c->add_option("--cache-type-v", a->cache_type_v, "Dense V cache type")->capture_default_str();
  c->add_flag("--chat", a->chat,
              "Wrap generated prompts in the model's chat template (default: plain BOS + prompt, "
              "the training format)");
  c->add_flag("--serial", a->serial, "Decode recipes one after another instead of in parallel");
  c->add_flag("--no-progress", a->no_progress, "No progress line on stderr");
  c->add_flag("--no-plots", a->no_plots, "Skip the gnuplot PNGs");
  c->add_option("--report", a->report, "Only rebuild the report of DIR from DIR/results.jsonl");
  c->add_flag("--json", a->json, "Print a JSON summary (with the aggregated results) on stdout");
  c->callback([a] { run(*a); });
}

}  // namespace sparkv::cli

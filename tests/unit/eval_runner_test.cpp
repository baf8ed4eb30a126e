// The grid runner on a golden tiny model (random weights: accuracy is meaningless here, but
// decoding, scoring, determinism, fidelity and the prefill-once path are all testable):
//  - prefill once + compress per recipe + parallel decode == a fresh Session per recipe;
//  - fidelity is exactly zero where the cache is not changed, positive where it is;
//  - results.jsonl resumes (rows present are skipped, a cut-off last line is dropped);
//  - the report's aggregates.
#include <filesystem>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>
#include <omp.h>
#include <nlohmann/json.hpp>

#include "eval/generators.h"
#include "eval/grid.h"
#include "eval/runner.h"
#include "eval/suite.h"
#include "model/model.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace sparkv {
namespace {

std::string slurp(const std::string& path) {
  const std::vector<uint8_t> b = test::read_bytes(path);
  return std::string(b.begin(), b.end());
}

// Sets the OpenMP thread count for a scope. The golden model is so small that per-op
// parallelism is pure synchronisation cost (and on a loaded 2-core CI box each barrier can cost a
// scheduler slice), so the serial parts of these tests run single-threaded.
class ThreadScope {
 public:
  explicit ThreadScope(int n) : prev_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~ThreadScope() { omp_set_num_threads(prev_); }

 private:
  int prev_;
};

#ifdef SPARKV_GOLDEN_DIR
const Model& golden_model() {
  static const std::unique_ptr<Model> m =
      Model::load(std::string(SPARKV_GOLDEN_DIR) + "/qwen3-f32.gguf");
  return *m;
}

// Recipes that between them need every kind of prefill capture: window queries (SnapKV, SparK,
// ThinK), attention column sums (H2O) and hidden-state statistics (Expected Attention).
const std::vector<std::string> kPresses = {
    "snapkv:budget=96,window=16",
    "snapkv:budget=96,window=16+spark:ratio=0.5",
    "h2o:budget=64",
    "expected:ratio=0.5",
    "think:ratio=0.5,window=8",
    "streamingllm:budget=64",
};

std::vector<EvalItem> items(const std::vector<std::string>& tasks, int64_t length, int n) {
  SuiteOptions so;
  so.suite = parse_suite("ruler");
  so.tasks = tasks;
  so.lengths = {length};
  so.samples = n;
  const Suite suite(so, *golden_model().tokenizer());
  std::vector<EvalItem> out;
  for (const ItemRef& r : suite.items()) out.push_back(suite.prepare(r));
  return out;
}

TEST(EvalRunner, PrefillOnceMatchesFromScratch) {
  const Model& m = golden_model();
  const std::vector<Recipe> recipes = parse_recipes(kPresses);
  ASSERT_EQ(recipes.size(), kPresses.size() + 1);
  EXPECT_EQ(recipes[0].key, "full");
  RunnerOptions ro;
  ro.fidelity_tokens = 8;
  const SampleRunner runner(m, *m.tokenizer(), ro);
  for (const EvalItem& item : items({"passkey", "niah_multikey_2"}, 320, 1)) {
    SCOPED_TRACE(item.ref.key());
    ASSERT_GT(item.prefill_ids.size(), 200u);
    // The prefill-once path with its recipes decoded on 2 threads, the oracle on 1.
    SampleOutcome once;
    {
      ThreadScope two(2);
      once = runner.run(item, recipes, std::vector<bool>(recipes.size(), true));
    }
    ThreadScope one(1);
    const std::vector<RecipeOutcome> scratch = runner.run_from_scratch(item, recipes);
    ASSERT_EQ(once.recipes.size(), scratch.size());
    for (size_t i = 0; i < scratch.size(); ++i) {
      SCOPED_TRACE(recipes[i].label);
      EXPECT_EQ(once.recipes[i].recipe, scratch[i].recipe);
      EXPECT_EQ(once.recipes[i].ids, scratch[i].ids);
      EXPECT_EQ(once.recipes[i].text, scratch[i].text);
      EXPECT_EQ(once.recipes[i].score, scratch[i].score);
      EXPECT_EQ(once.recipes[i].kv_bytes, scratch[i].kv_bytes);
      EXPECT_EQ(once.recipes[i].stop_reason, scratch[i].stop_reason);
      EXPECT_FALSE(once.recipes[i].ids.empty());
    }
    // Eviction to 96 of ~300 tokens: about a third of the full cache's bytes.
    EXPECT_LT(once.recipes[1].kv_bytes, once.kv_bytes_full / 2);
    EXPECT_EQ(once.recipes[0].kv_bytes, once.kv_bytes_full);
  }
}

TEST(EvalRunner, FidelityZeroWhenUnchangedPositiveWhenCompressed) {
  const Model& m = golden_model();
  // budget >= prompt: SnapKV keeps every token, so the cache is the full one, bit for bit.
  const std::vector<Recipe> recipes =
      parse_recipes({"snapkv:budget=4000,window=16", "streamingllm:budget=32"});
  RunnerOptions ro;
  ro.fidelity_tokens = 12;
  const SampleRunner runner(m, *m.tokenizer(), ro);
  const EvalItem item = items({"passkey"}, 320, 1)[0];
  ThreadScope one(1);
  const SampleOutcome o = runner.run(item, recipes, {true, true, true});
  ASSERT_EQ(o.recipes.size(), 3u);
  const Fidelity& full = o.recipes[0].fidelity;
  EXPECT_GT(full.steps, 0);
  EXPECT_EQ(full.kl, 0.0);
  EXPECT_EQ(full.top1, 1.0);
  const Fidelity& same = o.recipes[1].fidelity;
  EXPECT_EQ(same.steps, full.steps);
  EXPECT_EQ(same.kl, 0.0);
  EXPECT_EQ(same.top1, 1.0);
  ASSERT_EQ(same.attn_err.size(), static_cast<size_t>(m.config().n_layer));
  for (double e : same.attn_err) EXPECT_EQ(e, 0.0);
  EXPECT_EQ(o.recipes[1].ids, o.recipes[0].ids);
  const Fidelity& lossy = o.recipes[2].fidelity;
  EXPECT_EQ(lossy.steps, full.steps);  // teacher-forced to the end even if greedy diverged
  EXPECT_GT(lossy.kl, 0.0);
  EXPECT_GT(lossy.attn_err_mean(), 0.0);
  EXPECT_GE(lossy.top1, 0.0);
  EXPECT_LE(lossy.top1, 1.0);
}

TEST(EvalRunner, GridResumesAndReports) {
  const Model& m = golden_model();
  ThreadScope one(1);
  test::TempDir tmp;
  EvalConfig cfg;
  cfg.suite.suite = parse_suite("needle");
  cfg.suite.lengths = {256, 320};
  cfg.suite.samples = 1;
  cfg.suite.depths = {0, 100};
  cfg.presses = {"snapkv:budget=64,window=16"};
  cfg.out_dir = tmp.file("out");
  cfg.runner.fidelity_tokens = 4;
  cfg.progress = false;
  const EvalSummary a = run_eval(m, *m.tokenizer(), cfg);
  EXPECT_EQ(a.samples_total, 4);
  EXPECT_EQ(a.samples_run, 4);
  EXPECT_EQ(a.rows_written, 8u);
  for (const char* f : {"results.jsonl", "results.json", "results.csv", "report.md"})
    EXPECT_TRUE(std::filesystem::exists(cfg.out_dir + "/" + f)) << f;
  const std::vector<ResultRow> rows = load_results(cfg.out_dir + "/results.jsonl");
  ASSERT_EQ(rows.size(), 8u);
  EXPECT_EQ(rows[0].recipe, "full");
  EXPECT_EQ(rows[1].label, "snapkv:budget=64,window=16");
  EXPECT_EQ(rows[0].depth, 0);
  EXPECT_EQ(rows[0].metric, "string_match_all");
  EXPECT_EQ(rows[0].answers.size(), 1u);
  EXPECT_GT(rows[0].kv_bytes_full, rows[1].kv_bytes);

  // Nothing left to do: every sample is skipped, no prefill.
  const EvalSummary b = run_eval(m, *m.tokenizer(), cfg);
  EXPECT_EQ(b.samples_skipped, 4);
  EXPECT_EQ(b.rows_written, 0u);

  // Interrupted mid-write: drop the last row and leave half of it behind. The cut-off line is
  // discarded and only the missing recipe of the last sample is recomputed, identically.
  std::string all = slurp(cfg.out_dir + "/results.jsonl");
  const size_t last = all.rfind('\n', all.size() - 2);
  const std::string last_line = all.substr(last + 1);
  test::write_text(cfg.out_dir + "/results.jsonl",
                   all.substr(0, last + 1) + last_line.substr(0, 20));
  const EvalSummary c = run_eval(m, *m.tokenizer(), cfg);
  EXPECT_EQ(c.samples_run, 1);
  EXPECT_EQ(c.rows_written, 1u);
  const std::vector<ResultRow> again = load_results(cfg.out_dir + "/results.jsonl");
  ASSERT_EQ(again.size(), 8u);
  EXPECT_EQ(again[7].key(), rows[7].key());
  EXPECT_EQ(again[7].pred, rows[7].pred);
  EXPECT_EQ(again[7].fid_kl, rows[7].fid_kl);

  // Another dense cache type is another prefill; its rows are tagged and reported apart, with
  // "% full" still relative to the f16 full cache.
  cfg.runner.kv_types = {KvDtype::kQ8_0, KvDtype::kQ8_0};
  const EvalSummary d = run_eval(m, *m.tokenizer(), cfg);
  EXPECT_EQ(d.samples_run, 4);
  EXPECT_EQ(d.rows_written, 8u);
  const std::vector<ResultRow> both = load_results(cfg.out_dir + "/results.jsonl");
  ASSERT_EQ(both.size(), 16u);
  EXPECT_EQ(both[8].cache, "q8_0");
  EXPECT_EQ(both[8].method(), "full @q8_0");
  EXPECT_EQ(both[8].kv_bytes_full, both[0].kv_bytes_full);
  EXPECT_NEAR(static_cast<double>(both[8].kv_bytes) / both[8].kv_bytes_full, 34.0 / 64.0, 1e-9);

  // The report is rebuilt from the jsonl alone.
  std::filesystem::remove(cfg.out_dir + "/report.md");
  rebuild_report(cfg.out_dir, ReportOptions());
  const std::string md = slurp(cfg.out_dir + "/report.md");
  EXPECT_NE(md.find("## Needle grid"), std::string::npos);
  EXPECT_NE(md.find("`snapkv:budget=64,window=16`"), std::string::npos);
  EXPECT_NE(md.find("`snapkv:budget=64,window=16 @q8_0`"), std::string::npos);
}
#endif  // SPARKV_GOLDEN_DIR

ResultRow row(const std::string& task, const std::string& recipe, double score, size_t kv,
              size_t full) {
  ResultRow r;
  r.task = task;
  r.recipe = recipe;
  r.label = recipe;
  r.length = 1024;
  r.score = score;
  r.n_prompt = 100;
  r.kv_bytes = kv;
  r.kv_bytes_full = full;
  r.fid_steps = 4;
  r.fid_kl = recipe == "full" ? 0.0 : 0.5;
  r.fid_top1 = recipe == "full" ? 1.0 : 0.75;
  r.attn_err = {0.1, 0.3};
  return r;
}

TEST(EvalReport, AggregatesTasksAndBytes) {
  test::TempDir tmp;
  std::vector<ResultRow> rows = {
      row("a", "full", 1.0, 1000, 1000),           row("a", "full", 0.5, 1000, 1000),
      row("b", "full", 1.0, 1000, 1000),           row("a", "snapkv:budget=8", 0.0, 250, 1000),
      row("a", "snapkv:budget=8", 0.5, 250, 1000), row("b", "snapkv:budget=8", 1.0, 250, 1000),
  };
  rows[1].seed = 1;
  rows[4].seed = 1;
  ReportOptions o;
  o.plots = false;
  write_report(tmp.path().string(), rows, o);
  const nlohmann::json j = nlohmann::json::parse(slurp(tmp.file("results.json")));
  ASSERT_EQ(j["methods"].size(), 2u);
  const auto& full = j["methods"][0];
  EXPECT_EQ(full["recipe"], "full");
  EXPECT_DOUBLE_EQ(full["avg"].get<double>(), (75.0 + 100.0) / 2);  // task a = 75, b = 100
  EXPECT_DOUBLE_EQ(full["kv_bytes_per_token"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(full["pct_of_full"].get<double>(), 100.0);
  const auto& snap = j["methods"][1];
  EXPECT_DOUBLE_EQ(snap["avg"].get<double>(), (25.0 + 100.0) / 2);
  EXPECT_DOUBLE_EQ(snap["pct_of_full"].get<double>(), 25.0);
  EXPECT_DOUBLE_EQ(snap["kl"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(snap["top1"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(snap["attn_err"].get<double>(), 0.2);
  const std::string csv = slurp(tmp.file("results.csv"));
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "length,task,recipe,label,n,score,kv_bytes_per_token,pct_of_full,kl,top1,attn_err");
  EXPECT_NE(csv.find("1024,a,snapkv:budget=8,snapkv:budget=8,2,25.0000,2.50,25.000"),
            std::string::npos);
  const std::string md = slurp(tmp.file("report.md"));
  EXPECT_NE(md.find("| `snapkv:budget=8` | 25.00 | 100.00 | **62.50** | 2 | 25.0 |"),
            std::string::npos)
      << md;
}

TEST(EvalReport, RecipeFamily) {
  EXPECT_EQ(recipe_family("snapkv:budget=128+spark:ratio=0.8"), "snapkv+spark:ratio=0.8");
  EXPECT_EQ(recipe_family("snapkv:budget=128,window=16+think:ratio=0.5"),
            "snapkv:window=16+think:ratio=0.5");
  EXPECT_EQ(recipe_family("spark:ratio=0.5"), "spark");
  EXPECT_EQ(recipe_family("full"), "full");
}

// --seed S draws another sample set of the generated suites (the default set is seed 0), and a
// longbench file, whose rows are fixed, refuses it.
TEST(EvalSuite, SeedDrawsAnotherSampleSet) {
  auto make = [](uint64_t seed) {
    SuiteOptions so;
    so.suite = parse_suite("ruler");
    so.tasks = {"passkey"};
    so.lengths = {256};
    so.samples = 3;
    so.seed = seed;
    const Suite suite(so, *golden_model().tokenizer());
    std::vector<std::vector<int32_t>> ids;
    for (const ItemRef& r : suite.items()) ids.push_back(suite.prepare(r).prefill_ids);
    return std::make_pair(suite.items(), ids);
  };
  const auto [a, ida] = make(0);
  const auto [b, idb] = make(1);
  const auto [a2, ida2] = make(0);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].seed, kEvalSeedBase);  // the default set is unchanged
  EXPECT_EQ(ida, ida2);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_NE(a[i].seed, b[i].seed);
    EXPECT_NE(a[i].key(), b[i].key());  // resumable results keep the sets apart
    EXPECT_NE(ida[i], idb[i]);
  }
  SuiteOptions lb;
  lb.lengths = {256};
  lb.seed = 1;
  try {
    lb.suite = parse_suite("longbench:/nonexistent.jsonl,template=/nonexistent.json");
    const Suite s(lb, *golden_model().tokenizer());
    FAIL() << "longbench accepted --seed";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("--seed"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sparkv

// sparkv bench: llama-bench-style prompt-processing and token-generation rates at context depths,
// per press recipe, each with the bytes a decode step reads (weights + KV), the GB/s that implies,
// and the fraction of this machine's bandwidth measured by the same binary (STREAM-like triad).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "sparkv/sparkv.h"

namespace sparkv::cli {

namespace {

struct BenchArgs {
  std::string model;
  int n_prompt = 512;
  int n_gen = 32;
  std::string depths = "0";
  std::vector<std::string> presses;
  int threads = 0;
  bool json = false;
  uint64_t seed = 1;
  std::string kv_mem_limit;
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Peak resident memory since the last reset_peak_rss(): VmHWM of /proc/self/status, which Linux
// lets a process reset (clear_refs "5"), so each row reports its own peak — not the triad's 512 MiB
// buffers or an earlier depth's cache. getrusage's lifetime maximum where /proc is unavailable.
void reset_peak_rss() {
  if (FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", f);
    std::fclose(f);
  }
}

double peak_rss_mib() {
  if (FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    long kib = -1;
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
    std::fclose(f);
    if (kib >= 0) return kib / 1024.0;
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

std::vector<int64_t> parse_list(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      const long long v = std::stoll(item, &used);
      CLI_CHECK(used == item.size() && v >= 0, "--depth: '{}' is not a non-negative integer", item);
      out.push_back(v);
    } catch (const std::logic_error&) {
      fail("--depth: '{}' is not a non-negative integer", item);
    }
  }
  CLI_CHECK(!out.empty(), "--depth needs at least one value");
  return out;
}

struct Row {
  std::string press;
  int64_t depth = 0;
  double fill_s = 0, compress_s = 0, ttft_s = 0, pp_tps = 0, tg_tps = 0, tg_ms_median = 0;
  size_t kv_bytes = 0, kv_dense_f16 = 0, bytes_per_token = 0, plan_bytes = 0;
  double gbs = 0, bw = 0, frac_bw = 0, rss_mib = 0;
};

void bench(const BenchArgs& a) {
  api::set_threads(a.threads);
  CLI_CHECK(a.n_prompt > 0 && a.n_gen > 0, "-p and -n must be positive");
  const std::string path = resolve_model(a.model);
  const api::Model model = api::Model::load(path);
  const std::vector<int64_t> depths = parse_list(a.depths);
  const uint64_t kv_mem_limit =
      a.kv_mem_limit.empty() ? 0 : api::parse_byte_size(a.kv_mem_limit, "--kv-mem-limit");
  std::vector<std::string> presses =
      a.presses.empty() ? std::vector<std::string>{"full"} : a.presses;
  std::vector<api::Recipe> recipes;
  for (const auto& p : presses) recipes.push_back(api::Recipe::parse(p));
  // Every row is checked against the budget before the first one runs: the recipe's memory plan
  // (compressed cache + one dense layer, or the dense cache for full).
  for (int64_t depth : depths)
    for (const api::Recipe& r : recipes) {
      api::SessionOptions probe;
      probe.n_ctx = depth + a.n_prompt + a.n_gen + 1;
      probe.kv_mem_limit = kv_mem_limit;
      api::plan_kv_memory(model, probe, r, std::max<int64_t>(depth, 1));
    }

  std::fprintf(stderr, "[bench] measuring memory bandwidth (triad)...\n");
  const double bw = api::measure_bandwidth_gbs();
  // The compute side of the roofline (f32 FMA rate in registers): decode at small sizes and
  // attention with little KV per FLOP are bounded by it rather than by bytes.
  const double fma_gflops = api::measure_fma_gflops();
  std::vector<Row> rows;
  for (int64_t depth : depths) {
    for (size_t pi = 0; pi < presses.size(); ++pi) {
      const api::Recipe& recipe = recipes[pi];
      if (depth == 0 && !recipe.is_full()) {
        std::fprintf(stderr, "[bench] depth 0: nothing to compress, skipping %s\n",
                     recipe.spec().c_str());
        continue;
      }
      // The bandwidth this row is compared with is measured just before it: on a shared machine
      // the triad can move between levels over minutes (this project's VM: ~48 or ~75 GB/s), and
      // a fraction of a figure from minutes earlier would mix them.
      const double row_bw = rows.empty() ? bw : api::measure_bandwidth_gbs();
      reset_peak_rss();
      Row r;
      r.bw = row_bw;
      r.press = recipe.spec();
      r.depth = depth;
      api::SessionOptions so;
      so.n_ctx = depth + a.n_prompt + a.n_gen + 1;
      so.kv_mem_limit = kv_mem_limit;
      api::Session s(model, so);
      const int64_t n_fill = std::max<int64_t>(depth, 1);
      const auto ids =
          api::random_token_ids(n_fill + a.n_prompt + a.n_gen, model.n_vocab(), a.seed);
      // The context of `depth` tokens is the prompt the press compresses.
      std::vector<int32_t> fill(ids.begin(), ids.begin() + n_fill);
      const double t_fill = now_s();
      s.prefill_and_compress(fill, recipe, a.seed);  // layer-major: one dense layer at a time
      // Time to first token: the context's prefill and compression, up to its last logits.
      r.ttft_s = now_s() - t_fill;
      r.plan_bytes = api::plan_kv_memory(model, so, recipe, n_fill);
      r.fill_s = s.timings().prefill_seconds;
      r.compress_s = s.timings().compress_seconds;
      // pp: a prompt of n_prompt tokens on top of the (compressed) context.
      std::vector<int32_t> pp(ids.begin() + n_fill, ids.begin() + n_fill + a.n_prompt);
      double t0 = now_s();
      s.append(pp);
      r.pp_tps = a.n_prompt / (now_s() - t0);
      // tg: single-token decode steps; the median step time is the figure.
      std::vector<double> steps;
      for (int i = 0; i < a.n_gen; ++i) {
        const int32_t id = ids[n_fill + a.n_prompt + i];
        t0 = now_s();
        s.append({id});
        steps.push_back(now_s() - t0);
      }
      std::sort(steps.begin(), steps.end());
      r.tg_ms_median = steps[steps.size() / 2] * 1e3;
      r.tg_tps = 1.0 / steps[steps.size() / 2];
      const api::KvReport kv = s.kv();
      r.kv_bytes = kv.bytes;
      r.kv_dense_f16 = kv.dense_f16_bytes;
      // A decode step streams every weight once and the whole KV cache once.
      r.bytes_per_token = model.weight_bytes() + r.kv_bytes;
      r.gbs = r.bytes_per_token * r.tg_tps / 1e9;
      r.frac_bw = r.gbs / r.bw;
      r.rss_mib = peak_rss_mib();
      std::fprintf(stderr, "[bench] depth %lld  %-40s  pp %.1f t/s  tg %.2f t/s  %.2f GB/s\n",
                   static_cast<long long>(depth), r.press.c_str(), r.pp_tps, r.tg_tps, r.gbs);
      rows.push_back(r);
    }
  }

  if (a.json) {
    nlohmann::json j;
    j["model"] = path;
    j["threads"] = api::max_threads();
    j["bandwidth_gbs"] = bw;
    j["fma_peak_gflops"] = fma_gflops;
    j["blas_core"] = api::blas_core();
    j["weight_bytes"] = model.weight_bytes();
    j["n_prompt"] = a.n_prompt;
    j["n_gen"] = a.n_gen;
    for (const Row& r : rows)
      j["rows"].push_back(
          {{"press", r.press},
           {"depth", r.depth},
           {"fill_s", r.fill_s},
           {"compress_s", r.compress_s},
           {"compress_pct_of_fill", r.fill_s > 0 ? 100.0 * r.compress_s / r.fill_s : 0.0},
           {"ttft_s", r.ttft_s},
           {"kv_plan_bytes", r.plan_bytes},
           {"pp_tokens_per_s", r.pp_tps},
           {"tg_tokens_per_s", r.tg_tps},
           {"tg_ms_median", r.tg_ms_median},
           {"kv_bytes", r.kv_bytes},
           {"kv_bytes_dense_f16", r.kv_dense_f16},
           {"bytes_per_token", r.bytes_per_token},
           {"gbs", r.gbs},
           {"bandwidth_gbs", r.bw},
           {"fraction_of_bandwidth", r.frac_bw},
           {"peak_rss_mib", r.rss_mib}});
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf(
      "model: %s | threads %d | weights %.1f MiB | measured bandwidth (triad) %.1f GB/s at start, "
      "again before every row | FMA peak %.0f GFLOP/s | OpenBLAS kernels %s\n\n",
      path.c_str(), api::max_threads(), model.weight_bytes() / 1048576.0, bw, fma_gflops,
      api::blas_core().c_str());
  std::printf(
      "| depth | press | fill s | compress ms (%% of fill) | TTFT s | pp%d t/s | tg%d t/s | KV MiB "
      "| bytes/token MiB | GB/s | triad GB/s | %% of triad | plan MiB | peak RSS MiB |\n",
      a.n_prompt, a.n_gen);
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const Row& r : rows)
    std::printf(
        "| %lld | %s | %.2f | %.1f (%.2f%%) | %.2f | %.1f | %.2f | %.2f | %.2f | %.2f | %.1f | "
        "%.1f | %.0f | %.0f |\n",
        static_cast<long long>(r.depth), r.press.c_str(), r.fill_s, r.compress_s * 1e3,
        r.fill_s > 0 ? 100.0 * r.compress_s / r.fill_s : 0.0, r.ttft_s, r.pp_tps, r.tg_tps,
        r.kv_bytes / 1048576.0, r.bytes_per_token / 1048576.0, r.gbs, r.bw, 100.0 * r.frac_bw,
        r.plan_bytes / 1048576.0, r.rss_mib);
}

}  // namespace

void register_bench(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* c = app.add_subcommand(
      "bench", "Prompt/generation speed at context depths, per press, with GB/s");
  c->add_option("-m,--model", a->model,
                "GGUF file, Hugging Face folder or shipped model name (default: embedded model)");
  c->add_option("-p,--n-prompt", a->n_prompt, "Prompt tokens processed on top of the context (pp)")
      ->capture_default_str();
  c->add_option("-n,--n-gen", a->n_gen, "Tokens generated (tg); the median step is reported")
      ->capture_default_str();
  c->add_option("-d,--depth", a->depths,
                "Comma-separated context depths (tokens), e.g. 0,4096,16384")
      ->capture_default_str();
  c->add_option("--press", a->presses, "Press recipe (repeatable); default full");
  c->add_option("-t,--threads", a->threads, "Threads (0 = all cores)")->capture_default_str();
  c->add_option("-s,--seed", a->seed, "Seed of the random token ids")->capture_default_str();
  c->add_option("--kv-mem-limit", a->kv_mem_limit,
                "Fail before running if a row's KV memory would exceed this: the dense cache for "
                "full, the compressed cache + one dense layer for a compressing recipe (bytes, or "
                "512MiB, 2GiB, ...)");
  c->add_flag("--json", a->json, "JSON output");
  c->callback([a] { bench(*a); });
}

}  // namespace sparkv::cli

// sparkv: one binary, subcommands run | eval | bench | inspect | tokenize | serve.
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <sstream>
#include <string_view>

#include "cli_common.h"
#include "sparkv/sparkv.h"

namespace sparkv::cli {

namespace {
constexpr const char* kDefaultModelName = "sparkv-tiny-f16.gguf";
}

namespace {
// models/ next to the binary's parent folder or next to the binary, else the source tree's.
std::filesystem::path shipped_models_dir() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const fs::path& dir : {exe.parent_path().parent_path() / "models", exe.parent_path() / "models"})
      if (fs::exists(dir / kDefaultModelName, ec)) return dir;
  }
  return fs::path(SPARKV_SOURCE_DIR) / "models";
}
}  // namespace

std::string default_model_path() {
  if (const char* env = std::getenv("SPARKV_MODEL"); env && *env) return env;
  return (shipped_models_dir() / kDefaultModelName).string();
}

std::string resolve_model(const std::string& arg) {
  if (arg.empty()) return default_model_path();
  return api::resolve_model_name(arg, shipped_models_dir().string());
}

bool machine_is_idle() {
  cpu_set_t set;
  CPU_ZERO(&set);
  const int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  // The 1-minute load average lags: right after another CPU-bound process ends (a benchmark's
  // previous row) it still reads ~2 on 2 cores, which made back-to-back runs sleep between
  // parallel regions (decode at depth 0 on the Qwen3-0.6B shape: 29 instead of 55 tok/s). So also
  // read the runnable count now (the 4th field, which counts this process), the least of a few
  // samples a millisecond apart, and take the lower of the two.
  double load = 1e9, now = 1e9;
  for (int i = 0; i < 5; ++i) {
    if (FILE* f = std::fopen("/proc/loadavg", "r")) {
      double avg1 = 0, avg5 = 0, avg15 = 0;
      int running = 0, total = 0;
      if (std::fscanf(f, "%lf %lf %lf %d/%d", &avg1, &avg5, &avg15, &running, &total) == 5) {
        load = avg1;
        now = std::min(now, static_cast<double>(running - 1));
      }
      std::fclose(f);
    }
    if (i + 1 < 5) usleep(1000);
  }
  return std::min(load, now) < cpus - 0.5;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CLI_CHECK(in.good(), "{}: cannot open", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace sparkv::cli

int main(int argc, char** argv) {
  // GNU OpenMP reads its wait policy before main(), so unless the user chose one, re-run ourselves
  // with the policy that suits the machine right now. A decode step opens ~40 parallel regions;
  // measured on the 2-core VM at 2k context (tg t/s): idle machine — passive 352, spinning
  // (GOMP_SPINCOUNT=100000) 4,327; machine busy with another CPU-bound job — passive 1,821,
  // spinning 2.5-4,209 (a spinning thread can hold the core its preempted partner needs for a
  // scheduler tick per region). So: spin briefly when the load leaves a core per thread free,
  // sleep at once otherwise.
  if (std::getenv("OMP_WAIT_POLICY") == nullptr && std::getenv("GOMP_SPINCOUNT") == nullptr) {
    if (sparkv::cli::machine_is_idle())
      ::setenv("GOMP_SPINCOUNT", "100000", 1);
    else
      ::setenv("OMP_WAIT_POLICY", "passive", 1);
    ::execv("/proc/self/exe", argv);  // on failure, carry on with the default policy
  }
  CLI::App app{"sparkv: long-context LLM inference with a SparK-compressed KV cache"};
  app.require_subcommand(1);
  app.fallthrough(false);
  sparkv::cli::register_run(app);
  sparkv::cli::register_inspect(app);
  sparkv::cli::register_tokenize(app);
  sparkv::cli::register_bench(app);
  sparkv::cli::register_eval(app);
  sparkv::cli::register_serve(app);
  // llama.cpp's multi-letter short flags, which CLI11 cannot declare ("-ctk" would read as
  // "-c tk"): spelled out before parsing.
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "-ctk") argv[i] = const_cast<char*>("--cache-type-k");
    if (std::string_view(argv[i]) == "-ctv") argv[i] = const_cast<char*>("--cache-type-v");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const sparkv::Error& e) {
    std::fprintf(stderr, "sparkv: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "sparkv: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sparkv: error: %s\n", e.what());
    return 1;
  }
  return 0;
}

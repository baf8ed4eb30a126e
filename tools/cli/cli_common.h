// Shared pieces of the `sparkv` subcommands.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace sparkv::cli {

// The embedded default model, used when -m is omitted: $SPARKV_MODEL, else models/<name> next to
// the binary's parent folder, else the source tree's models/.
std::string default_model_path();
void set_threads(int n);  // 0 = leave OpenMP / OpenBLAS defaults
std::string read_file(const std::string& path);

void register_run(CLI::App& app);
void register_inspect(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_bench(CLI::App& app);
void register_eval(CLI::App& app);

}  // namespace sparkv::cli

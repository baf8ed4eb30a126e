// Shared pieces of the `sparkv` subcommands.
#pragma once

#include <string>
#include <utility>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "sparkv/error.h"

namespace sparkv::cli {

// The CLI reports bad input as the library does: a sparkv::Error with a one-line message.
template <typename... Args>
[[noreturn]] inline void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}
#define CLI_CHECK(cond, ...)                       \
  do {                                             \
    if (!(cond)) ::sparkv::cli::fail(__VA_ARGS__); \
  } while (0)

// The embedded default model, used when -m is omitted: $SPARKV_MODEL, else models/<name> next to
// the binary's parent folder, else the source tree's models/.
std::string default_model_path();
std::string read_file(const std::string& path);

void register_run(CLI::App& app);
void register_inspect(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_bench(CLI::App& app);
void register_eval(CLI::App& app);
void register_serve(CLI::App& app);

}  // namespace sparkv::cli

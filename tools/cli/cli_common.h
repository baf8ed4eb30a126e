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
// What -m names: empty -> default_model_path(); an existing path -> itself; otherwise the name of
// a model shipped in the models/ folder ("sparkv-tiny-learned", "sparkv-tiny-learned-q8_0",
// "sparkv-tiny-learned-hf": NAME.gguf, NAME-f16.gguf or the folder NAME, first found); otherwise
// the argument unchanged, so the loader's error names it.
std::string resolve_model(const std::string& arg);
std::string read_file(const std::string& path);

void register_run(CLI::App& app);
void register_inspect(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_bench(CLI::App& app);
void register_eval(CLI::App& app);
void register_serve(CLI::App& app);

}  // namespace sparkv::cli

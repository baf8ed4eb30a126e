// Errors: the library throws sparkv::Error with a one-line message that names the file, field or
// value at fault. The CLI turns it into one line on stderr and a non-zero exit; the library never
// calls exit().
#pragma once

#include <string>
#include <utility>

#include <fmt/format.h>

#include "sparkv/error.h"  // the Error type itself is public API

namespace sparkv {

template <typename... Args>
[[noreturn]] inline void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace sparkv

// Checks that stay on in release builds: they guard against bad input, not programmer errors.
#define SPARKV_CHECK(cond, ...)               \
  do {                                        \
    if (!(cond)) ::sparkv::fail(__VA_ARGS__); \
  } while (0)

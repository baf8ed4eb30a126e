// sparkv's one exception type. Every function of the library reports bad input (a corrupt file,
// an unknown recipe key, a prompt that does not fit, ...) by throwing sparkv::Error with a
// one-line message naming the file, field or value at fault; the library never calls exit().
#pragma once

#include <stdexcept>
#include <string>

namespace sparkv {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

}  // namespace sparkv

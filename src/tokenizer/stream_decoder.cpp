#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace sparkv {

std::string StreamDecoder::push(int32_t id) {
  pending_ += tok_.token_bytes(id);
  // Hold back only a trailing sequence that the next token could still complete.
  const size_t done = utf8_complete_prefix(pending_);
  std::string out = utf8_sanitize(std::string_view(pending_).substr(0, done));
  pending_.erase(0, done);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out = utf8_sanitize(pending_);
  pending_.clear();
  return out;
}

}  // namespace sparkv

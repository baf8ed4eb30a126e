#include "tokenizer/split_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/error.h"

namespace sparkv {

const char* split_pattern_for_pre(const std::string& pre) {
  // Names as llama.cpp's converter writes them to tokenizer.ggml.pre.
  if (pre == "llama-bpe" || pre == "llama3" || pre == "smaug-bpe") return kLlama3SplitPattern;
  if (pre == "qwen2") return kQwen2SplitPattern;
  if (pre == "gpt-2" || pre == "gpt2" || pre == "default") return kGpt2SplitPattern;
  fail("tokenizer.ggml.pre = '{}' is not supported (known: llama-bpe, llama3, smaug-bpe, qwen2, gpt-2)",
       pre);
}

namespace {

// Unicode White_Space (the set Rust's regex and Oniguruma use for \s), as a class body.
constexpr const char* kWhiteSpaceBody =
    R"(\x{09}-\x{0D}\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

}  // namespace

std::string rewrite_whitespace_classes(const std::string& pattern) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char n = pattern[i + 1];
      if (n == 's' || n == 'S') {
        if (in_class) {
          // A negated \S inside a class has no simple expansion; keep PCRE2's meaning there.
          if (n == 's') out += kWhiteSpaceBody;
          else out += "\\S";
        } else {
          out += n == 's' ? "[" : "[^";
          out += kWhiteSpaceBody;
          out += "]";
        }
      } else {
        out += c;
        out += n;
      }
      ++i;
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal, not the end of the class.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

struct SplitRegex::Impl {
  pcre2_code* code = nullptr;
  bool jit = false;
};

SplitRegex::SplitRegex(const std::string& pattern) : pattern_(pattern), impl_(new Impl) {
  const std::string compiled = rewrite_whitespace_classes(pattern);
  int err = 0;
  PCRE2_SIZE err_off = 0;
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(compiled.data()), compiled.size(),
                              PCRE2_UTF | PCRE2_UCP, &err, &err_off, nullptr);
  if (!impl_->code) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof(buf));
    fail("split regex '{}': {} at offset {}", pattern, reinterpret_cast<const char*>(buf), err_off);
  }
  // JIT is an optimisation only: fall back to the interpreter where it is unavailable.
  impl_->jit = pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE) == 0;
}

SplitRegex::~SplitRegex() {
  if (impl_ && impl_->code) pcre2_code_free(impl_->code);
}

void SplitRegex::split(std::string_view text, std::vector<std::pair<size_t, size_t>>& pieces) const {
  if (text.empty()) return;
  // Match data is per call so that one tokenizer can be shared between threads.
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
  SPARKV_CHECK(md != nullptr, "split regex: out of memory for match data");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  size_t gap_start = 0;
  while (pos < text.size()) {
    const int rc = impl_->jit
                       ? pcre2_jit_match(impl_->code, subject, text.size(), pos, 0, md, nullptr)
                       : pcre2_match(impl_->code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK,
                                     md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      pcre2_match_data_free(md);
      fail("split regex: PCRE2 match error {} at byte {}", rc, pos);
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const size_t b = ov[0], e = ov[1];
    if (e > b) {
      if (b > gap_start) pieces.emplace_back(gap_start, b);  // unmatched text is a piece too
      pieces.emplace_back(b, e);
      pos = gap_start = e;
    } else {
      // Empty match: step over one code point so the scan always advances; the skipped text
      // stays in the pending gap.
      pos = b + 1;
      while (pos < text.size() && (static_cast<uint8_t>(text[pos]) & 0xC0) == 0x80) ++pos;
    }
  }
  if (gap_start < text.size()) pieces.emplace_back(gap_start, text.size());
  pcre2_match_data_free(md);
}

}  // namespace sparkv

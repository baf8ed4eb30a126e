// Python str semantics the scorers depend on, over UTF-8: str.isspace / strip / split / lower,
// and the \w and \d character classes of Python's `re`. The reference scorers (RULER, LongBench,
// pltrdy rouge, fuzzywuzzy) are Python, so matching them score for score means matching these.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sparkv {

// Code points of a UTF-8 string; an invalid byte decodes to U+FFFD (as errors="replace" does).
std::u32string utf8_to_u32(std::string_view s);
std::string u32_to_utf8(std::u32string_view s);

bool py_isspace(char32_t c);  // str.isspace()
bool py_isword(char32_t c);   // re \w: letters, digits (Unicode categories L*, N*) and '_'
bool py_isdigit(char32_t c);  // re \d: Unicode decimal digits (category Nd)

std::string py_strip(std::string_view s);                // str.strip()
std::vector<std::string> py_split(std::string_view s);   // str.split() (runs of whitespace)
std::vector<std::string> split_on(std::string_view s, std::string_view sep);  // str.split(sep)
std::string py_lower(std::string_view s);                // str.lower() (simple case mapping)
std::string join_strings(const std::vector<std::string>& parts, std::string_view sep);
// re.findall(r"\d+", s)
std::vector<std::string> find_digit_runs(std::string_view s);

}  // namespace sparkv

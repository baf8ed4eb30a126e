// Small UTF-8 helpers shared by the tokenizers: validation with the offending offset, code point
// iteration and encoding. Kept separate so encode paths can validate once and then trust the text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sparkv {

// Length of the well-formed UTF-8 sequence starting at s[pos], or 0 if it is ill-formed
// (overlong forms, surrogates, > U+10FFFF and truncated sequences are all ill-formed).
size_t utf8_sequence_length(std::string_view s, size_t pos);

// Offset of the first ill-formed byte, or npos if `s` is valid UTF-8.
size_t utf8_find_invalid(std::string_view s);

// Throws sparkv::Error naming `what` and the byte offset if `s` is not valid UTF-8.
void utf8_check(std::string_view s, std::string_view what);

// Decodes the code point at s[pos] (which must be valid) and advances pos.
uint32_t utf8_next(std::string_view s, size_t& pos);

void utf8_append(std::string& out, uint32_t cp);

// Length of the longest prefix of `s` that ends on a complete UTF-8 sequence boundary, treating
// an incomplete (but so far valid) trailing sequence as "not yet complete".
size_t utf8_complete_prefix(std::string_view s);

// Replaces every ill-formed sequence with U+FFFD (one per maximal ill-formed subpart).
std::string utf8_sanitize(std::string_view s);

}  // namespace sparkv

#include "tokenizer/utf8.h"

#include "core/error.h"

namespace sparkv {

namespace {

// Expected sequence length for a lead byte and the allowed range of the second byte (the
// Unicode well-formed table: excludes overlongs, surrogates and code points > U+10FFFF).
// Returns 0 for bytes that can never start a sequence.
size_t lead_info(uint8_t b0, uint8_t& lo, uint8_t& hi) {
  lo = 0x80;
  hi = 0xBF;
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return 2;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
    return 4;
  }
  return 0;
}

// Number of bytes from s[pos] that are consistent with a well-formed sequence (the "maximal
// subpart"), and the full length that sequence needs (0 if the lead byte is invalid).
size_t valid_prefix(std::string_view s, size_t pos, size_t& need) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + pos;
  const size_t left = s.size() - pos;
  uint8_t lo, hi;
  need = lead_info(p[0], lo, hi);
  if (need <= 1) return need == 0 ? 0 : 1;
  size_t k = 1;
  if (k < left && k < need && p[1] >= lo && p[1] <= hi) {
    ++k;
    while (k < left && k < need && (p[k] & 0xC0) == 0x80) ++k;
  }
  return k;
}

}  // namespace

size_t utf8_sequence_length(std::string_view s, size_t pos) {
  size_t need;
  const size_t k = valid_prefix(s, pos, need);
  return (need != 0 && k == need) ? need : 0;
}

size_t utf8_find_invalid(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    // Fast path over ASCII runs: prompts are mostly ASCII.
    if (static_cast<uint8_t>(s[pos]) < 0x80) {
      ++pos;
      continue;
    }
    const size_t n = utf8_sequence_length(s, pos);
    if (n == 0) return pos;
    pos += n;
  }
  return std::string_view::npos;
}

void utf8_check(std::string_view s, std::string_view what) {
  const size_t bad = utf8_find_invalid(s);
  if (bad != std::string_view::npos)
    fail("{}: invalid UTF-8 at byte offset {} (byte 0x{:02X})", what, bad,
         static_cast<uint8_t>(s[bad]));
}

uint32_t utf8_next(std::string_view s, size_t& pos) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + pos;
  if (p[0] < 0x80) {
    ++pos;
    return p[0];
  }
  if (p[0] < 0xE0) {
    pos += 2;
    return ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
  }
  if (p[0] < 0xF0) {
    pos += 3;
    return ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
  }
  pos += 4;
  return ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
}

void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

size_t utf8_complete_prefix(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t need;
    const size_t k = valid_prefix(s, pos, need);
    if (need != 0 && k == need) {
      pos += need;
    } else if (need != 0 && pos + k == s.size()) {
      return pos;  // a sequence that may still be completed by the next token's bytes
    } else {
      pos += k == 0 ? 1 : k;  // ill-formed: complete as far as buffering goes (becomes U+FFFD)
    }
  }
  return pos;
}

std::string utf8_sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) {
    size_t need;
    const size_t k = valid_prefix(s, pos, need);
    if (need != 0 && k == need) {
      out.append(s.substr(pos, k));
      pos += k;
    } else {
      out += "\xEF\xBF\xBD";  // one replacement per maximal ill-formed subpart
      pos += k == 0 ? 1 : k;
    }
  }
  return out;
}

}  // namespace sparkv

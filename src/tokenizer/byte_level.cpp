#include "tokenizer/byte_level.h"

#include "tokenizer/utf8.h"

namespace sparkv {

ByteLevelMap::ByteLevelMap() {
  cp_to_byte_.fill(-1);
  uint32_t next_extra = 0x100;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    const uint32_t cp = printable ? static_cast<uint32_t>(b) : next_extra++;
    utf8_append(byte_to_text_[b], cp);
    cp_to_byte_[cp] = static_cast<int16_t>(b);
  }
}

const ByteLevelMap& ByteLevelMap::get() {
  static const ByteLevelMap map;
  return map;
}

std::string ByteLevelMap::encode(std::string_view bytes) const {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += byte_to_text_[static_cast<uint8_t>(c)];
  return out;
}

bool ByteLevelMap::decode(std::string_view text, std::string& out) const {
  const size_t start = out.size();
  size_t pos = 0;
  while (pos < text.size()) {
    if (utf8_sequence_length(text, pos) == 0) {
      out.resize(start);
      return false;
    }
    const uint32_t cp = utf8_next(text, pos);
    if (cp >= cp_to_byte_.size() || cp_to_byte_[cp] < 0) {
      out.resize(start);
      return false;
    }
    out += static_cast<char>(cp_to_byte_[cp]);
  }
  return true;
}

}  // namespace sparkv

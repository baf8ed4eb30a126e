// The GPT-2 byte <-> unicode map used by byte-level BPE vocabularies (Llama-3, Qwen): every byte
// gets a printable code point so that vocab files can store arbitrary bytes as text. Bytes
// 0x21-0x7E, 0xA1-0xAC and 0xAE-0xFF map to themselves; the other 68 map to U+0100.. in order.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace sparkv {

class ByteLevelMap {
 public:
  static const ByteLevelMap& get();

  // UTF-8 text of the code point that stands for byte b (e.g. ' ' -> "Ġ").
  const std::string& encode_byte(uint8_t b) const { return byte_to_text_[b]; }
  // Maps raw bytes to their vocab spelling.
  std::string encode(std::string_view bytes) const;
  // Inverse map: the vocab spelling back to raw bytes. Returns false (out untouched beyond what
  // was appended) if a code point is not in the map; callers then use the text as-is.
  bool decode(std::string_view text, std::string& out) const;

 private:
  ByteLevelMap();
  std::array<std::string, 256> byte_to_text_;
  std::array<int16_t, 0x144> cp_to_byte_;  // every mapped code point is < U+0144
};

}  // namespace sparkv

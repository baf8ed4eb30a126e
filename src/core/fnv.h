// FNV-1a, 64-bit: the one byte hash the project uses (generator stream seeds, prompt-cache model
// fingerprints). Chain calls by passing the previous result as `h`.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sparkv {

inline constexpr uint64_t kFnv64Offset = 0xCBF29CE484222325ull;

inline uint64_t fnv1a64(const void* p, size_t n, uint64_t h = kFnv64Offset) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) {
    h ^= b[i];
    h *= 0x100000001B3ull;
  }
  return h;
}

}  // namespace sparkv

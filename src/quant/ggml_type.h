// ggml tensor element types as stored in GGUF files (ids are the on-disk values) and their block
// geometry. A row of n elements of a block type occupies n / block_size * block_bytes bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sparkv {

enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ4_K = 12,
  kQ6_K = 14,
  kBF16 = 30,
};

struct GgmlTypeInfo {
  std::string_view name;  // "f32", "q8_0", ... as llama.cpp spells them
  int block_size;         // elements per block
  int block_bytes;        // bytes per block
};

// Returns nullptr for ids sparkv does not support (the caller reports the id and the tensor).
const GgmlTypeInfo* ggml_type_info(uint32_t id);
const GgmlTypeInfo& ggml_type_info(GgmlType t);
// Bytes of a row of n elements; n must be a multiple of the block size (checked by callers).
size_t ggml_row_bytes(GgmlType t, int64_t n);
// Parses a llama.cpp type name ("f16", "q8_0", ...); returns false if unknown.
bool ggml_type_from_name(std::string_view name, GgmlType* out);

}  // namespace sparkv

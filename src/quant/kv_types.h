// Element types of the dense KV cache: llama.cpp's -ctk / -ctv set (f32, f16, bf16, q8_0, q4_0,
// q4_1, q5_0, q5_1, iq4_nl), with its block layouts and reference rounding. K and V choose their
// types independently. Block types quantize each token's row of one KV head in 32-channel blocks
// (llama.cpp's K row spans all heads, but 32 | head_dim makes the blocks identical), so a row of D
// channels is D/32 blocks and a cached token never shares a block with another token or head.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sparkv {

enum class KvDtype { kF32, kF16, kBF16, kQ8_0, kQ4_0, kQ4_1, kQ5_0, kQ5_1, kIQ4_NL };

// A K type and a V type, as -ctk / -ctv choose them.
struct KvTypes {
  KvDtype k = KvDtype::kF16;
  KvDtype v = KvDtype::kF16;
};

// llama.cpp's spelling ("q8_0", "iq4_nl", ...).
const char* kv_dtype_name(KvDtype t);
// Parses a llama.cpp cache type name; throws naming the value and the accepted list otherwise.
KvDtype kv_dtype_from_name(std::string_view name);
// "f32, f16, bf16, q8_0, ..." for help texts and errors.
std::string kv_dtype_names();

// Elements per block: 1 for f32/f16/bf16, 32 for the block types.
int kv_block_elems(KvDtype t);
// Bytes per block (4, 2, 2, 34, 18, 20, 22, 24, 18).
int kv_block_bytes(KvDtype t);
inline bool kv_is_block(KvDtype t) {
  return kv_block_elems(t) > 1;
}
// Bytes of one cached row of D channels (D a multiple of the block size).
size_t kv_row_bytes(KvDtype t, int D);
// Throws unless a row of D channels can be stored as `t` (block types need D % 32 == 0);
// `what` names the cache in the message ("K cache", ...).
void kv_check_head_dim(KvDtype t, int D, const char* what);

// Stores a row of D floats as `t` with llama.cpp's reference quantizers (the ones the CPU backend
// uses when it writes the cache): q8_0 rounds ties away from zero, q4_0/q5_0 scale by the signed
// value of largest magnitude so that it maps to code 0, d and m are rounded to fp16 last.
void kv_quantize_row(KvDtype t, const float* src, void* dst, int D);
// Scalar dequantization of one row (the reference the attention kernels are tested against).
void kv_dequantize_row(KvDtype t, const void* src, float* dst, int D);

// iq4_nl's non-linear code book (T[q] · d is the value of code q).
extern const int8_t kIq4nlValues[16];

}  // namespace sparkv

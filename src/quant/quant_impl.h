// Internal to src/quant: the SIMD twins of the reference kernels and shared argument checks.
// Callers outside src/quant use quant.h, which dispatches.
#pragma once

#include <cstdint>
#include <string>

#include "quant/ggml_type.h"

namespace sparkv::quant_detail {

// "q4_K", or "id 99" for ids sparkv does not know; used in every error message.
std::string type_label(GgmlType type);

// Throws unless `type` is known and n is a non-negative multiple of its block size; `op` names the
// calling kernel in the message. Returns the number of blocks in the row.
int64_t check_row(GgmlType type, int64_t n, const char* op);

// True for the types the AVX2 unit implements itself; others fall back to the reference.
bool avx2_supports(GgmlType type);

// Compiled with -mavx2 -mfma -mf16c; call only when cpu_features().has_avx2_set().
void dequantize_row_avx2(GgmlType type, const void* src, float* dst, int64_t n);
float dot_row_avx2(GgmlType type, const void* w, const float* x, int64_t n);

// The 16-lane dot products (f32, f16, bf16, q8_0, q4_0; others run the AVX2 kernel). Compiled with
// AVX-512 F/BW/VL/DQ; call only when simd_level() >= SimdLevel::kAvx512.
bool avx512_supports(GgmlType type);
float dot_row_avx512(GgmlType type, const void* w, const float* x, int64_t n);

}  // namespace sparkv::quant_detail

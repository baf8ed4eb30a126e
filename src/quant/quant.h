// Row kernels over ggml block types: dequantize a row and dot a row with f32 activations.
// Each has a scalar reference (*_ref, the test oracle) and SIMD variants; the entry points below
// call the set quant_kernels() picked for the CPU (quant/quant_kernels.h).
#pragma once

#include <cstdint>

#include "quant/ggml_type.h"

namespace sparkv {

// dst[0..n) = dequantized src row. n must be a multiple of the type's block size.
void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n);
void dequantize_row_ref(GgmlType type, const void* src, float* dst, int64_t n);

// Returns sum_i w[i] * x[i] for one weight row w of `type` and f32 activations x[0..n).
float dot_row(GgmlType type, const void* w, const float* x, int64_t n);
float dot_row_ref(GgmlType type, const void* w, const float* x, int64_t n);

// y[r] = dot(W row r, x) for r in [0, rows): W is [rows, n] row-major in `type`. Parallel over
// rows with OpenMP. This is the decode GEMV.
void gemv(GgmlType type, const void* w, int64_t rows, int64_t n, const float* x, float* y);

// The decode GEMV of B tokens at once: y[b, r] = dot(W row r, x[b]) for x: [B, n], y: [B, rows].
// Each row of W is read from memory once for all B tokens (it stays in L1 between their dots), and
// every y[b, r] is the very dot_row gemv() computes, so a token's result does not depend on what
// else shares its batch (continuous batching's reproducibility promise).
void gemv_batch(GgmlType type, const void* w, int64_t rows, int64_t n, const float* x, int B,
                float* y);

// Quantize a row of f32 (n multiple of block size) with llama.cpp's reference rounding rules.
// Supported for f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1 (K-quants are load-only).
void quantize_row_ref(GgmlType type, const float* src, void* dst, int64_t n);

}  // namespace sparkv

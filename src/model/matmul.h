// y = x · Wᵀ for a weight of any supported type. One token goes through the decode GEMV (bandwidth
// bound, quant/ kernels); several tokens go through OpenBLAS SGEMM on row tiles of W dequantized to
// f32 (compute bound; F32 weights skip the dequantization).
#pragma once

#include "model/weights.h"

namespace sparkv {

// x: [T, w.cols], y: [T, w.rows].
void matmul(const Weight& w, const float* x, int T, float* y);

// The same product for T tokens of T different sequences at one decode step: every row equals
// matmul(w, x_t, 1, y_t) bit for bit (the GEMV's dot per row), with each weight row read once.
void matmul_decode_batch(const Weight& w, const float* x, int T, float* y);

}  // namespace sparkv

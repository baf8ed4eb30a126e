// y = x · Wᵀ for a weight of any supported type. Up to a few tokens go through the decode GEMV
// (bandwidth bound, quant/ kernels; batched, each weight row read once); more tokens go through
// OpenBLAS SGEMM on row tiles of W dequantized to f32 (compute bound; F32 weights skip the
// dequantization).
#pragma once

#include <string>

#include "model/weights.h"

namespace sparkv {

// x: [T, w.cols], y: [T, w.rows]. Below kGemmMinTokens tokens, every row equals the one-token
// GEMV's bit for bit (matmul_decode_batch); from there on, SGEMM's rounding.
constexpr int kGemmMinTokens = 16;
void matmul(const Weight& w, const float* x, int T, float* y);
// matmul's SGEMM path whatever T (benchmarks compare it with the GEMV's at small T).
void matmul_gemm(const Weight& w, const float* x, int T, float* y);

// The same product for T tokens of T different sequences at one decode step: every row equals
// matmul(w, x_t, 1, y_t) bit for bit (the GEMV's dot per row), with each weight row read once.
void matmul_decode_batch(const Weight& w, const float* x, int T, float* y);

// The OpenBLAS kernel set in use ("Haswell", "Cooperlake", ...: openblas_get_corename()). OpenBLAS
// picks it from CPUID when it loads unless OPENBLAS_CORETYPE names one; it decides how fast the
// prefill GEMMs run (bench/prefill_bench.cpp, Qwen3-0.6B's projections over a 512-token chunk on
// this project's Zen 5 VM: Haswell's AVX2 kernels 210-225 GFLOP/s, the AVX-512 ones 350-420, of
// a 510 GFLOP/s FMA peak), so `sparkv bench` reports it.
std::string blas_core_name();

}  // namespace sparkv

// sparkv public API: the machine — threads, measured bandwidth and compute, sizes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sparkv/error.h"

namespace sparkv::api {

// Threads for the library's parallel loops (0 = leave the OpenMP default, all cores).
void set_threads(int n);
int max_threads();

// STREAM-like triad over `bytes` of buffers, in GB/s (what a memory-bound decode can reach).
double measure_bandwidth_gbs(size_t bytes = size_t{512} << 20, int threads = 0);
// f32 FMA rate in registers, GFLOP/s (the compute side of the roofline).
double measure_fma_gflops(int threads = 0);

// The OpenBLAS kernel set the prefill GEMMs run ("Haswell", "Cooperlake", ...): OpenBLAS's own
// pick for the CPU unless OPENBLAS_CORETYPE names one (read when the library loads).
std::string blas_core();

// "512MiB", "2GiB", "1000000" -> bytes; throws naming `what` on anything else.
uint64_t parse_byte_size(std::string_view text, std::string_view what);
std::string format_bytes(uint64_t n);

// The dense cache element types a SessionOptions::cache_type_k / _v accepts ("f32, f16, ...").
std::string cache_type_names();

// n token ids drawn uniformly from [0, n_vocab) by splitmix64 (the generators' and the sampler's
// RNG), so a seed names one stream (`sparkv bench`'s inputs).
std::vector<int32_t> random_token_ids(int64_t n, int n_vocab, uint64_t seed);

// The library version ("0.1.0").
std::string version();

}  // namespace sparkv::api

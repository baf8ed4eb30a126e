// The public machine helpers (include/sparkv/system.h).
#include "sparkv/system.h"

#include <omp.h>

#include "core/bandwidth.h"
#include "core/byte_size.h"
#include "core/compute_peak.h"
#include "core/error.h"
#include "model/matmul.h"
#include "quant/kv_types.h"
#include "sample/sampler.h"

#ifndef SPARKV_VERSION
#define SPARKV_VERSION "0.1.0"
#endif

namespace sparkv::api {

void set_threads(int n) {
  SPARKV_CHECK(n >= 0 && n <= 1024, "--threads {} out of range", n);
  if (n == 0) return;
  // OpenBLAS stays single-threaded inside the OpenMP loops (model/matmul.cpp).
  omp_set_num_threads(n);
}

int max_threads() {
  return omp_get_max_threads();
}

double measure_bandwidth_gbs(size_t bytes, int threads) {
  return sparkv::measure_bandwidth_gbs(bytes, threads);
}
double measure_fma_gflops(int threads) {
  return sparkv::measure_fma_gflops(threads);
}

std::string blas_core() {
  return sparkv::blas_core_name();
}

uint64_t parse_byte_size(std::string_view text, std::string_view what) {
  return sparkv::parse_byte_size(text, what);
}
std::string format_bytes(uint64_t n) {
  return sparkv::format_bytes(n);
}

std::string cache_type_names() {
  return kv_dtype_names();
}

std::vector<int32_t> random_token_ids(int64_t n, int n_vocab, uint64_t seed) {
  SPARKV_CHECK(n >= 0 && n_vocab > 0, "random_token_ids: n {} and n_vocab {} out of range", n,
               n_vocab);
  SplitMix64 rng(seed);
  std::vector<int32_t> ids(n);
  for (auto& id : ids) id = static_cast<int32_t>(rng.next() % static_cast<uint64_t>(n_vocab));
  return ids;
}

std::string version() {
  return SPARKV_VERSION;
}

}  // namespace sparkv::api

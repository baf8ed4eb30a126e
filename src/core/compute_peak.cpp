#include "core/compute_peak.h"

#include <omp.h>

#include <algorithm>
#include <chrono>

#include "core/cpu_features.h"

namespace sparkv {

double measure_fma_gflops(int threads) {
  const int n = threads > 0 ? threads : omp_get_max_threads();
  const SimdLevel level = simd_level();
  // ~20 ms per pass at a few hundred GFLOP/s per core: long enough to reach full clocks.
  constexpr long kIters = 2'000'000;
  constexpr int kReps = 5;
  double best = 0.0;
  for (int rep = 0; rep < kReps; ++rep) {
    double flop = 0.0;
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(n) reduction(+ : flop)
    {
      if (level >= SimdLevel::kAvx512)
        flop += fma_probe_avx512(kIters);
      else if (level >= SimdLevel::kAvx2)
        flop += fma_probe_avx2(kIters);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, flop / s / 1e9);
  }
  return best;
}

}  // namespace sparkv

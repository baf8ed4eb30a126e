#include <immintrin.h>

#include "core/compute_peak.h"

namespace sparkv {

// 12 independent 8-lane FMA chains: enough to cover 2 pipes × 4-5 cycles of latency. The
// multiplier is just below 1 and the addend tiny, so the values neither overflow nor denormalise.
double fma_probe_avx2(long iters) {
  constexpr int kChains = 12;
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(1.0f + 0.01f * i);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  __m256 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm256_add_ps(s, acc[i]);
  volatile float sink = _mm256_cvtss_f32(s);
  (void)sink;
  return 2.0 * 8 * kChains * static_cast<double>(iters);
}

}  // namespace sparkv

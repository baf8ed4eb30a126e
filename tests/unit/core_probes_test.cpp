// The roofline probes `sparkv bench` and the micro-benchmarks report next to every figure: they
// must compute what they claim (no timing is asserted — machines are shared and noisy).
#include <gtest/gtest.h>

#include <vector>

#include "core/bandwidth.h"
#include "core/compute_peak.h"
#include "core/cpu_features.h"

namespace sparkv {
namespace {

TEST(RooflineProbes, TriadComputesTheStreamKernel) {
  const size_t n = 10007;  // not a multiple of the thread split
  std::vector<double> a(n, -1.0), b(n), c(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<double>(i), c[i] = 0.5 * static_cast<double>(i);
  stream_triad(a.data(), b.data(), c.data(), 3.0, n, 2);
  for (size_t i = 0; i < n; ++i) ASSERT_DOUBLE_EQ(a[i], 2.5 * static_cast<double>(i)) << i;
  EXPECT_GT(measure_bandwidth_gbs(size_t{24} << 20, 1), 0.0);
}

TEST(RooflineProbes, FmaProbesCountTwoFlopPerLane) {
  if (!cpu_features().has_avx2_set()) GTEST_SKIP() << "no AVX2";
  EXPECT_DOUBLE_EQ(fma_probe_avx2(1000), 2.0 * 8 * 12 * 1000);
  if (cpu_features().has_avx512_set())
    EXPECT_DOUBLE_EQ(fma_probe_avx512(1000), 2.0 * 16 * 12 * 1000);
  EXPECT_GT(measure_fma_gflops(1), 0.0);
}

}  // namespace
}  // namespace sparkv

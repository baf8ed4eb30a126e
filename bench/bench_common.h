// Shared by the benchmark units.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace sparkv::bench {

constexpr size_t kTriadBytes = size_t{512} << 20;  // three arrays together

// measure_bandwidth_gbs(kTriadBytes) at all OpenMP threads, measured once — first thing in main()
// — and reused: the reference every "% of triad" in a run is taken against.
double triad_reference_gbs();

// n standard-normal floats from a fixed seed (the benchmarks' synthetic K, V and queries).
inline std::vector<float> randn(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

}  // namespace sparkv::bench

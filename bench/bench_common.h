// Shared by the benchmark units.
#pragma once

#include <cstddef>

namespace sparkv::bench {

constexpr size_t kTriadBytes = size_t{512} << 20;  // three arrays together

// measure_bandwidth_gbs(kTriadBytes) at all OpenMP threads, measured once — first thing in main()
// — and reused: the reference every "% of triad" in a run is taken against.
double triad_reference_gbs();

}  // namespace sparkv::bench

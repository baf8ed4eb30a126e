// A STREAM-like memory bandwidth probe. Decode is memory-bound, so kernels report achieved GB/s
// against this figure measured by the same binary on the same machine (benchmarks, `sparkv bench`).
#pragma once

#include <cstddef>

namespace sparkv {

// a[i] = b[i] + s * c[i] for i in [0, n), split statically over `threads` OpenMP threads
// (0 = the OpenMP default). The same static split is used for first-touch initialisation in
// measure_bandwidth_gbs, so each thread streams memory it touched first.
void stream_triad(double* a, const double* b, const double* c, double s, size_t n, int threads);

// Best-of-several triad rate in GB/s (1e9 bytes), counting bytes as STREAM does: 3 arrays x n x 8
// bytes per pass (the write-allocate read of `a` is not counted). `bytes` is the total size of
// the three arrays; keep it far above the last-level cache. Throws sparkv::Error if the arrays
// cannot be allocated.
double measure_bandwidth_gbs(size_t bytes = size_t{512} << 20, int threads = 0);

}  // namespace sparkv

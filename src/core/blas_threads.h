// One thread pool: OpenMP splits the work across threads and each thread calls single-threaded
// OpenBLAS on its part (model/matmul.cpp's projections, attn/prefill_tile.cpp's attention
// tiles). Letting OpenBLAS run its own pthread pool next to OpenMP's makes the two pools spin
// against each other on small machines (measured: 5-10x slower prefill on 2 busy cores; 5-30x
// slower prefill attention tiles).
#pragma once

namespace sparkv {

// Sets OpenBLAS to one thread, once per process; cheap to call before every BLAS call.
void ensure_single_threaded_blas();

}  // namespace sparkv

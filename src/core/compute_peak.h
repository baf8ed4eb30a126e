// A compute-peak probe, the counterpart of bandwidth.h: the f32 FMA rate this machine sustains with
// every operand in registers. Decode attention does 2 FMAs per cached K/V element per query head
// of the group whatever the cache type, so a kernel's time is bounded below by both its bytes over
// the triad bandwidth and its FMAs over this rate; benchmarks report the two side by side.
#pragma once

namespace sparkv {

// Best-of-several rate in GFLOP/s (an FMA counts 2 FLOP per lane), `threads` OpenMP threads
// (0 = the OpenMP default), widest vector set the CPU and simd_level() allow; 0 without AVX2.
double measure_fma_gflops(int threads = 0);

// The per-ISA probes (one thread; the caller runs them in parallel): the FLOP they did.
double fma_probe_avx2(long iters);
double fma_probe_avx512(long iters);

}  // namespace sparkv

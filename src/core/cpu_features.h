// Runtime ISA detection for kernel dispatch. The default build targets baseline x86-64; kernels in
// *_avx2.cpp units are only called when these report support.
#pragma once

namespace sparkv {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool bmi2 = false;
  bool avx512f = false;
  // AVX2 + FMA + F16C: the "haswell" level our SIMD units are compiled for.
  bool has_avx2_set() const { return avx2 && fma && f16c; }
};

// Detected once. Setting SPARKV_FORCE_SCALAR=1 in the environment reports no SIMD support, which
// lets tests and benchmarks exercise the scalar reference paths end to end.
const CpuFeatures& cpu_features();

}  // namespace sparkv

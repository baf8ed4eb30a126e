// Runtime ISA detection for kernel dispatch. The default build targets baseline x86-64; kernels in
// *_avx2.cpp and *_avx512.cpp units are only called when these report support.
#pragma once

namespace sparkv {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool bmi2 = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512vbmi2 = false;  // detected for information; no kernel needs it
  bool os_ymm = false;       // XCR0 bits 1, 2: the OS saves SSE and AVX state
  bool os_zmm = false;       // XCR0 bits 5, 6, 7 as well: opmask and all 32 ZMM registers
  // AVX2 + FMA + F16C: the "haswell" level our *_avx2.cpp units are compiled for.
  bool has_avx2_set() const { return avx2 && fma && f16c && os_ymm; }
  // Everything the *_avx512.cpp units are compiled for (-mavx512{f,bw,vl,dq} on top of the AVX2
  // set, BMI2 included): Skylake-SP / Zen 4 and later, with the OS saving the ZMM and opmask state.
  bool has_avx512_set() const {
    return has_avx2_set() && bmi2 && avx512f && avx512bw && avx512vl && avx512dq && os_zmm;
  }
};

// Detected once. Setting SPARKV_FORCE_SCALAR=1 in the environment reports no SIMD support, which
// lets tests and benchmarks exercise the scalar reference paths end to end; SPARKV_NO_AVX512=1
// reports no AVX-512 (the AVX2 kernels run), for side-by-side comparisons.
const CpuFeatures& cpu_features();

// The widest kernel set the kernel tables (attn/attn_kernels.h, quant/quant_kernels.h) use.
enum class SimdLevel { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

// What cpu_features() supports, lowered by limit_simd_level().
SimdLevel simd_level();
// Caps simd_level() at `max` for the rest of the process (or until called again; raising the cap
// never exceeds what the CPU supports). For benchmarks and tests that run the kernel sets side by
// side in one process; not meant to be changed while kernels run on other threads.
void limit_simd_level(SimdLevel max);

}  // namespace sparkv

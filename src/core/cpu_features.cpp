#include "core/cpu_features.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace sparkv {

namespace {

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && v[0] != '\0' && std::strcmp(v, "0") != 0;
}

CpuFeatures detect() {
  CpuFeatures f;
  if (env_flag("SPARKV_FORCE_SCALAR")) return f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  // GCC 12 has no "f16c" name for __builtin_cpu_supports, so every bit is read from CPUID.
  const bool osxsave = (ecx >> 27) & 1;
  f.fma = (ecx >> 12) & 1;
  f.f16c = (ecx >> 29) & 1;
  if (osxsave) {
    // XGETBV(0): which register states the OS saves on context switch. A CPU flag without the
    // matching XCR0 bits means the instructions fault (#UD), e.g. AVX-512 under an OS or
    // hypervisor that does not enable the ZMM state.
    uint32_t xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    f.os_ymm = (xlo & 0x6) == 0x6;
    f.os_zmm = (xlo & 0xE6) == 0xE6;
  }
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
    f.avx2 = (ebx >> 5) & 1;
    f.bmi2 = (ebx >> 8) & 1;
    f.avx512f = (ebx >> 16) & 1;
    f.avx512dq = (ebx >> 17) & 1;
    f.avx512bw = (ebx >> 30) & 1;
    f.avx512vl = (ebx >> 31) & 1;
    f.avx512vbmi2 = (ecx >> 6) & 1;
  }
  if (env_flag("SPARKV_NO_AVX512"))
    f.avx512f = f.avx512bw = f.avx512vl = f.avx512dq = f.avx512vbmi2 = false;
#endif
  return f;
}

SimdLevel detected_level() {
  const CpuFeatures& f = cpu_features();
  if (f.has_avx512_set()) return SimdLevel::kAvx512;
  if (f.has_avx2_set()) return SimdLevel::kAvx2;
  return SimdLevel::kScalar;
}

std::atomic<int> g_simd_cap{static_cast<int>(SimdLevel::kAvx512)};

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

SimdLevel simd_level() {
  static const int detected = static_cast<int>(detected_level());
  const int cap = g_simd_cap.load(std::memory_order_relaxed);
  return static_cast<SimdLevel>(cap < detected ? cap : detected);
}

void limit_simd_level(SimdLevel max) {
  g_simd_cap.store(static_cast<int>(max), std::memory_order_relaxed);
}

}  // namespace sparkv

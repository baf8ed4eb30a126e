#include "core/cpu_features.h"

#include <cstdlib>
#include <cstring>

namespace sparkv {

namespace {

CpuFeatures detect() {
  CpuFeatures f;
  const char* force = std::getenv("SPARKV_FORCE_SCALAR");
  if (force && std::strcmp(force, "0") != 0 && force[0] != '\0') return f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.bmi2 = __builtin_cpu_supports("bmi2");
  f.avx512f = __builtin_cpu_supports("avx512f");
  // GCC 12 has no "f16c" name for __builtin_cpu_supports; read CPUID.1:ECX bit 29.
  unsigned eax, ebx, ecx, edx;
  __asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(1), "c"(0));
  f.f16c = (ecx >> 29) & 1;
#endif
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace sparkv

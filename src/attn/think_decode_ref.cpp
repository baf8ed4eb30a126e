// Scalar reference of attention over ThinK packed storage (the oracle of the AVX2 twin), and the
// runtime dispatch.
#include <cmath>

#include "attn/attn_state.h"
#include "attn/think_decode.h"
#include "core/cpu_features.h"
#include "core/fp16.h"

namespace sparkv {

namespace {

inline float load(const void* p, KvDtype dtype, int64_t i) {
  return dtype == KvDtype::kF32 ? static_cast<const float*>(p)[i]
                                : fp16_to_f32(static_cast<const uint16_t*>(p)[i]);
}

}  // namespace

void attn_think_update_ref(const float* q, int g, const void* k, int dk, const void* v, int D,
                           KvDtype dtype, int64_t n, float* m, float* l, float* o) {
  for (int64_t t = 0; t < n; ++t) {
    for (int h = 0; h < g; ++h) {
      double s = 0.0;
      for (int c = 0; c < dk; ++c) s += static_cast<double>(q[h * dk + c]) * load(k, dtype, t * dk + c);
      const float sf = static_cast<float>(s);
      const float mn = sf > m[h] ? sf : m[h];
      const float a = m[h] == kNegInf ? 0.0f : std::exp(m[h] - mn);
      const float p = std::exp(sf - mn);
      l[h] = l[h] * a + p;
      for (int d = 0; d < D; ++d) o[h * D + d] = o[h * D + d] * a + p * load(v, dtype, t * D + d);
      m[h] = mn;
    }
  }
}

void attn_think_update(const float* q, int g, const void* k, int dk, const void* v, int D,
                       KvDtype dtype, int64_t n, float* m, float* l, float* o) {
  if (cpu_features().has_avx2_set() && D % 8 == 0)
    attn_think_update_avx2(q, g, k, dk, v, D, dtype, n, m, l, o);
  else
    attn_think_update_ref(q, g, k, dk, v, D, dtype, n, m, l, o);
}

}  // namespace sparkv

#include <cmath>
#include <vector>

#include "attn/attn_state.h"
#include "attn/dense_decode.h"
#include "core/cpu_features.h"
#include "core/fp16.h"

namespace sparkv {

namespace {

inline float load(const void* p, KvDtype dtype, int64_t i) {
  return dtype == KvDtype::kF32 ? static_cast<const float*>(p)[i]
                                : fp16_to_f32(static_cast<const uint16_t*>(p)[i]);
}

}  // namespace

void attn_dense_update_ref(const float* q, int g, const void* k, const void* v, KvDtype dtype,
                           int64_t n, int D, float* m, float* l, float* o) {
  for (int64_t t = 0; t < n; ++t) {
    for (int h = 0; h < g; ++h) {
      double s = 0.0;
      for (int d = 0; d < D; ++d) s += static_cast<double>(q[h * D + d]) * load(k, dtype, t * D + d);
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

void attn_dense_update(const float* q, int g, const void* k, const void* v, KvDtype dtype,
                       int64_t n, int D, float* m, float* l, float* o) {
  if (cpu_features().has_avx2_set() && D % 8 == 0)
    attn_dense_update_avx2(q, g, k, v, dtype, n, D, m, l, o);
  else
    attn_dense_update_ref(q, g, k, v, dtype, n, D, m, l, o);
}

}  // namespace sparkv

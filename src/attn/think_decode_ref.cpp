// Scalar reference of attention over ThinK packed storage (the oracle of the AVX2 twin), and the
// runtime dispatch.
#include <cmath>
#include <vector>

#include "attn/attn_state.h"
#include "attn/think_decode.h"
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
  std::vector<float> vrow(D);
  for (int64_t t = 0; t < n; ++t) {
    for (int d = 0; d < D; ++d) vrow[d] = load(v, dtype, t * D + d);
    for (int h = 0; h < g; ++h) {
      double s = 0.0;
      for (int c = 0; c < dk; ++c)
        s += static_cast<double>(q[h * dk + c]) * load(k, dtype, t * dk + c);
      attn_state_push(static_cast<float>(s), vrow.data(), D, m + h, l + h, o + h * D);
    }
  }
}

}  // namespace sparkv

#include <cmath>
#include <vector>

#include "attn/attn_state.h"
#include "attn/dense_decode.h"

namespace sparkv {

// The oracle: dequantize each K and V row with the scalar row kernels, then plain online softmax
// with double dot products.
void attn_dense_update_ref(const float* q, int g, const void* k, const void* v, KvDtype kt,
                           KvDtype vt, int64_t n, int D, float* m, float* l, float* o) {
  const size_t krow = kv_row_bytes(kt, D), vrow = kv_row_bytes(vt, D);
  const auto* kb = static_cast<const uint8_t*>(k);
  const auto* vb = static_cast<const uint8_t*>(v);
  std::vector<float> kf(D), vf(D);
  for (int64_t t = 0; t < n; ++t) {
    kv_dequantize_row(kt, kb + t * krow, kf.data(), D);
    kv_dequantize_row(vt, vb + t * vrow, vf.data(), D);
    for (int h = 0; h < g; ++h) {
      double s = 0.0;
      for (int d = 0; d < D; ++d) s += static_cast<double>(q[h * D + d]) * kf[d];
      attn_state_push(static_cast<float>(s), vf.data(), D, m + h, l + h, o + h * D);
    }
  }
}

}  // namespace sparkv

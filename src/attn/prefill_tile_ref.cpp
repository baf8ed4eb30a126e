#include <cmath>

#include "attn/attn_state.h"
#include "attn/prefill_tile.h"

namespace sparkv {

void attn_tile_softmax_ref(float* s, int nq, int g, int nk, const int* lim, int D, float* m,
                           float* l, float* o) {
  for (int r = 0; r < nq * g; ++r) {
    float* sr = s + static_cast<size_t>(r) * nk;
    const int n = lim[r / g];
    if (n <= 0) {
      for (int c = 0; c < nk; ++c) sr[c] = 0.0f;
      continue;
    }
    float mt = sr[0];
    for (int c = 1; c < n; ++c) mt = sr[c] > mt ? sr[c] : mt;
    const float mn = mt > m[r] ? mt : m[r];
    const float a = m[r] == kNegInf ? 0.0f : std::exp(m[r] - mn);
    float sum = 0.0f;
    for (int c = 0; c < n; ++c) {
      sr[c] = std::exp(sr[c] - mn);
      sum += sr[c];
    }
    for (int c = n; c < nk; ++c) sr[c] = 0.0f;
    l[r] = l[r] * a + sum;
    m[r] = mn;
    float* orow = o + static_cast<size_t>(r) * D;
    for (int d = 0; d < D; ++d) orow[d] *= a;
  }
}

}  // namespace sparkv

// The tile softmax step (attn/prefill_tile.h) on 8 lanes; the last partial vector of a row runs
// through the scalar exp.
#include <immintrin.h>

#include <cmath>

#include "attn/attn_block_avx2_inl.h"
#include "attn/prefill_tile.h"

namespace sparkv {

void attn_tile_softmax_avx2(float* s, int nq, int g, int nk, const int* lim, int D, float* m,
                            float* l, float* o) {
  using attn_avx2::exp256;
  using attn_avx2::hmax;
  using attn_avx2::hsum;
  for (int r = 0; r < nq * g; ++r) {
    float* sr = s + static_cast<size_t>(r) * nk;
    const int n = lim[r / g];
    if (n <= 0) {
      for (int c = 0; c < nk; ++c) sr[c] = 0.0f;
      continue;
    }
    const int nv = n / 8 * 8;
    __m256 vmax = _mm256_set1_ps(kNegInf);
    for (int c = 0; c < nv; c += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(sr + c));
    float mt = hmax(vmax);
    for (int c = nv; c < n; ++c) mt = sr[c] > mt ? sr[c] : mt;
    const float mn = mt > m[r] ? mt : m[r];
    const float a = m[r] == kNegInf ? 0.0f : std::exp(m[r] - mn);
    const __m256 vmn = _mm256_set1_ps(mn);
    __m256 vsum = _mm256_setzero_ps();
    for (int c = 0; c < nv; c += 8) {
      const __m256 p = exp256(_mm256_sub_ps(_mm256_loadu_ps(sr + c), vmn));
      _mm256_storeu_ps(sr + c, p);
      vsum = _mm256_add_ps(vsum, p);
    }
    float sum = hsum(vsum);
    for (int c = nv; c < n; ++c) {
      sr[c] = std::exp(sr[c] - mn);
      sum += sr[c];
    }
    for (int c = n; c < nk; ++c) sr[c] = 0.0f;
    l[r] = l[r] * a + sum;
    m[r] = mn;
    if (a != 1.0f) {
      float* orow = o + static_cast<size_t>(r) * D;
      const __m256 va = _mm256_set1_ps(a);
      const int dv = D / 8 * 8;
      for (int d = 0; d < dv; d += 8)
        _mm256_storeu_ps(orow + d, _mm256_mul_ps(va, _mm256_loadu_ps(orow + d)));
      for (int d = dv; d < D; ++d) orow[d] *= a;
    }
  }
}

}  // namespace sparkv

// The tile softmax step (attn/prefill_tile.h) on 16 lanes: the max, exp and sum of a row run on
// whole vectors with the tail (and the causal cut at lim) masked.
#include <immintrin.h>

#include <cmath>

#include "attn/attn_block_avx512_inl.h"
#include "attn/prefill_tile.h"

namespace sparkv {

void attn_tile_softmax_avx512(float* s, int nq, int g, int nk, const int* lim, int D, float* m,
                              float* l, float* o) {
  using attn_avx512::exp512;
  const auto lanes = [](int n) { return static_cast<__mmask16>(n >= 16 ? 0xFFFF : (1u << n) - 1); };
  for (int r = 0; r < nq * g; ++r) {
    float* sr = s + static_cast<size_t>(r) * nk;
    const int n = lim[r / g];
    if (n <= 0) {
      for (int c = 0; c < nk; c += 16)
        _mm512_mask_storeu_ps(sr + c, lanes(nk - c), _mm512_setzero_ps());
      continue;
    }
    __m512 vmax = _mm512_set1_ps(kNegInf);
    for (int c = 0; c < n; c += 16)
      vmax =
          _mm512_max_ps(vmax, _mm512_mask_loadu_ps(_mm512_set1_ps(kNegInf), lanes(n - c), sr + c));
    const float mt = _mm512_reduce_max_ps(vmax);
    const float mn = mt > m[r] ? mt : m[r];
    const float a = m[r] == kNegInf ? 0.0f : std::exp(m[r] - mn);
    const __m512 vmn = _mm512_set1_ps(mn);
    __m512 sum = _mm512_setzero_ps();
    for (int c = 0; c < nk; c += 16) {
      const __mmask16 in = lanes(nk - c), vis = c < n ? lanes(n - c) : 0;
      // exp of the visible lanes, 0 on the masked ones (past lim and past nk)
      const __m512 p =
          _mm512_maskz_mov_ps(vis, exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(vis, sr + c), vmn)));
      _mm512_mask_storeu_ps(sr + c, in, p);
      sum = _mm512_add_ps(sum, p);
    }
    l[r] = l[r] * a + _mm512_reduce_add_ps(sum);
    m[r] = mn;
    if (a != 1.0f) {
      float* orow = o + static_cast<size_t>(r) * D;
      const __m512 va = _mm512_set1_ps(a);
      for (int d = 0; d < D; d += 16) {
        const __mmask16 k = lanes(D - d);
        _mm512_mask_storeu_ps(orow + d, k, _mm512_mul_ps(va, _mm512_maskz_loadu_ps(k, orow + d)));
      }
    }
  }
}

}  // namespace sparkv

// Implementation of attend_tiled (kv/dense_cache.h): prefill attention as GEMM tiles
// (attn/prefill_tile.h) over a storage that can read its rows as f32.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "attn/attn_state.h"
#include "attn/prefill_tile.h"

namespace sparkv {

template <typename ReadF32>
void attend_tiled(const float* q, int n_q, int n_kv, int group, int D, int64_t n_tokens, float* out,
                  ReadF32&& read) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const int g = group;
  const int qb = std::max(1, kTileRows / g);  // queries per block
  const int n_blocks = (n_q + qb - 1) / qb;
  const int64_t n_items = static_cast<int64_t>(n_blocks) * n_kv;
  // Query i sees tokens [0, n_tokens - (n_q - 1 - i)).
  const auto visible = [&](int i) { return n_tokens - (n_q - 1 - i); };

#pragma omp parallel
  {
    const size_t rows_max = static_cast<size_t>(qb) * g;
    std::vector<float> qs(rows_max * D), kf(static_cast<size_t>(kTileTokens) * D),
        vf(static_cast<size_t>(kTileTokens) * D), s(rows_max * kTileTokens),
        state(rows_max * (2 + D));
    std::vector<int> lim(qb);
    // Blocks of one KV head run on one thread in turn while its K and V rows are still cached.
#pragma omp for schedule(dynamic, 1)
    for (int64_t item = 0; item < n_items; ++item) {
      const int h = static_cast<int>(item / n_blocks);
      const int b = static_cast<int>(item % n_blocks);
      const int i0 = b * qb, nq = std::min(qb, n_q - i0), rows = nq * g;
      float* m = state.data();
      float* l = m + rows;
      float* o = l + rows;
      attn_state_init(rows, D, m, l, o);
      for (int j = 0; j < nq; ++j) {
        const float* qi =
            q + (static_cast<size_t>(i0 + j) * n_kv * g + static_cast<size_t>(h) * g) * D;
        float* dst = qs.data() + static_cast<size_t>(j) * g * D;
        for (int k = 0; k < g * D; ++k) dst[k] = qi[k] * scale;
      }
      const int64_t last = visible(i0 + nq - 1);
      for (int64_t t0 = 0; t0 < last; t0 += kTileTokens) {
        const int nk = static_cast<int>(std::min<int64_t>(kTileTokens, last - t0));
        read(h, t0, nk, kf.data(), vf.data());
        for (int j = 0; j < nq; ++j)
          lim[j] = static_cast<int>(std::clamp<int64_t>(visible(i0 + j) - t0, 0, nk));
        attn_prefill_tile(qs.data(), nq, g, kf.data(), vf.data(), nk, D, lim.data(), s.data(), m, l,
                          o);
      }
      for (int j = 0; j < nq; ++j)
        attn_state_finish(
            g, D, l + j * g, o + static_cast<size_t>(j) * g * D,
            out + (static_cast<size_t>(i0 + j) * n_kv * g + static_cast<size_t>(h) * g) * D);
    }
  }
}

}  // namespace sparkv

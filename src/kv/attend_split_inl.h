// Implementation of attend_split (kv/dense_cache.h): the parallel schedule and the merge.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "attn/attn_state.h"

namespace sparkv {

template <typename Visit>
void attend_split(const float* q, int n_q, int n_kv, int group, int D, int64_t n_tokens, float* out,
                  Visit&& visit) {
  const int threads = omp_get_max_threads();
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const int g = group;
  // Prefill: consecutive queries are stacked as extra heads of one kernel call (up to 8 rows, one
  // register pass of the kernels), so each K/V row is loaded and converted once for all of them.
  // Query i sees tokens [0, n_tokens - (n_q - 1 - i)); the block's rows share the first query's
  // range, and each later query folds in its few extra tokens alone.
  const int qb = std::max(1, kStackedRows / g);
  const int n_blocks = (n_q + qb - 1) / qb;
  // Split the token axis only when blocks x heads cannot keep the threads busy (decode).
  int64_t chunk = n_tokens;
  const int64_t units = static_cast<int64_t>(n_blocks) * n_kv;
  if (units < 2 * threads && n_tokens > 1024) {
    const int64_t want = (2 * threads + units - 1) / units;
    chunk = std::max<int64_t>(512, (n_tokens + want - 1) / want);
  }
  const int64_t n_chunks = std::max<int64_t>(1, (n_tokens + chunk - 1) / chunk);
  const int64_t n_items = units * n_chunks;
  const int rows = qb * g;  // stacked heads per item (fewer in the last block)
  const size_t state = static_cast<size_t>(rows) * (2 + D);
  std::vector<float> partial(static_cast<size_t>(n_items) * state);
  const auto visible = [&](int i) { return n_tokens - (n_q - 1 - i); };

#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t item = 0; item < n_items; ++item) {
    const int64_t c = item % n_chunks;
    const int64_t u = item / n_chunks;
    const int b = static_cast<int>(u / n_kv);
    const int h = static_cast<int>(u % n_kv);
    const int i0 = b * qb, nq = std::min(qb, n_q - i0);
    float* m = partial.data() + item * state;
    float* l = m + rows;
    float* o = l + rows;
    attn_state_init(nq * g, D, m, l, o);
    const int64_t t0 = c * chunk, t_end = std::min(n_tokens, t0 + chunk);
    if (t0 >= std::min(t_end, visible(i0 + nq - 1))) continue;
    float qs[8 * 1024];
    std::vector<float> qbig;
    float* qp = qs;
    if (static_cast<size_t>(nq) * g * D > sizeof(qs) / sizeof(float)) {
      qbig.resize(static_cast<size_t>(nq) * g * D);
      qp = qbig.data();
    }
    // Rows j·g .. j·g + g - 1 are query i0 + j's heads of this KV head's group.
    for (int j = 0; j < nq; ++j) {
      const float* qi =
          q + (static_cast<size_t>(i0 + j) * n_kv * g + static_cast<size_t>(h) * g) * D;
      for (int k = 0; k < g * D; ++k) qp[static_cast<size_t>(j) * g * D + k] = qi[k] * scale;
    }
    const int64_t shared_end = std::min(t_end, visible(i0));
    if (t0 < shared_end) visit(nq * g, h, t0, shared_end, qp, m, l, o);
    for (int j = 1; j < nq; ++j) {
      const int64_t a = std::max(t0, shared_end), e = std::min(t_end, visible(i0 + j));
      if (a < e)
        visit(g, h, a, e, qp + static_cast<size_t>(j) * g * D, m + j * g, l + j * g,
              o + static_cast<size_t>(j) * g * D);
    }
  }

  for (int64_t u = 0; u < units; ++u) {
    const int b = static_cast<int>(u / n_kv);
    const int h = static_cast<int>(u % n_kv);
    const int i0 = b * qb, nq = std::min(qb, n_q - i0);
    float* m = partial.data() + u * n_chunks * state;
    float* l = m + rows;
    float* o = l + rows;
    for (int64_t c = 1; c < n_chunks; ++c) {
      const float* m2 = m + c * state;
      attn_state_merge(nq * g, D, m, l, o, m2, m2 + rows, m2 + 2 * rows);
    }
    for (int j = 0; j < nq; ++j)
      attn_state_finish(
          g, D, l + j * g, o + static_cast<size_t>(j) * g * D,
          out + (static_cast<size_t>(i0 + j) * n_kv * g + static_cast<size_t>(h) * g) * D);
  }
}

}  // namespace sparkv

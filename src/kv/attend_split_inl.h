// Implementation of attend_split (kv/dense_cache.h): the parallel schedule and the merge.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "attn/attn_state.h"

namespace sparkv {

template <typename Visit>
void attend_split(const float* q, int n_q, int n_kv, int group, int D, int64_t n_tokens,
                  float* out, Visit&& visit) {
  const int threads = omp_get_max_threads();
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  // Split the token axis only when queries x heads cannot keep the threads busy (decode).
  int64_t chunk = n_tokens;
  const int64_t units = static_cast<int64_t>(n_q) * n_kv;
  if (units < 2 * threads && n_tokens > 1024) {
    const int64_t want = (2 * threads + units - 1) / units;
    chunk = std::max<int64_t>(512, (n_tokens + want - 1) / want);
  }
  const int64_t n_chunks = std::max<int64_t>(1, (n_tokens + chunk - 1) / chunk);
  const int64_t n_items = units * n_chunks;
  const int g = group;
  const size_t state = static_cast<size_t>(g) * (2 + D);
  std::vector<float> partial(static_cast<size_t>(n_items) * state);

#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t item = 0; item < n_items; ++item) {
    const int64_t c = item % n_chunks;
    const int64_t u = item / n_chunks;
    const int i = static_cast<int>(u / n_kv);
    const int h = static_cast<int>(u % n_kv);
    const int64_t visible = n_tokens - (n_q - 1 - i);
    float* m = partial.data() + item * state;
    float* l = m + g;
    float* o = l + g;
    attn_state_init(g, D, m, l, o);
    const int64_t t0 = c * chunk;
    const int64_t t1 = std::min(visible, t0 + chunk);
    if (t0 >= t1) continue;
    float qs[8 * 1024];  // g*D <= 8192 checked by the caller's config limits (group x D)
    std::vector<float> qbig;
    float* qp = qs;
    if (static_cast<size_t>(g) * D > sizeof(qs) / sizeof(float)) {
      qbig.resize(static_cast<size_t>(g) * D);
      qp = qbig.data();
    }
    const float* qi = q + (static_cast<size_t>(i) * n_kv * g + static_cast<size_t>(h) * g) * D;
    for (int j = 0; j < g * D; ++j) qp[j] = qi[j] * scale;
    visit(i, h, t0, t1, qp, m, l, o);
  }

  for (int64_t u = 0; u < units; ++u) {
    float* m = partial.data() + u * n_chunks * state;
    float* l = m + g;
    float* o = l + g;
    for (int64_t c = 1; c < n_chunks; ++c) {
      const float* m2 = m + c * state;
      attn_state_merge(g, D, m, l, o, m2, m2 + g, m2 + 2 * g);
    }
    const int i = static_cast<int>(u / n_kv);
    const int h = static_cast<int>(u % n_kv);
    attn_state_finish(g, D, l, o,
                      out + (static_cast<size_t>(i) * n_kv * g + static_cast<size_t>(h) * g) * D);
  }
}

}  // namespace sparkv

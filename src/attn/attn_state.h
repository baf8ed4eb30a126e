// Online-softmax state for one query head: running max m, running sum l, and the unnormalised
// output o (relative to m). States of disjoint token ranges merge associatively, which is what
// lets pages, cache segments and threads each produce a partial that is combined at the end
// (flash-decoding's {m, l, o} contract; the same on every backend).
#pragma once

#include <cmath>
#include <limits>

namespace sparkv {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Initialise g states: m = -inf, l = 0, o = 0. o is [g, D].
inline void attn_state_init(int g, int D, float* m, float* l, float* o) {
  for (int h = 0; h < g; ++h) {
    m[h] = kNegInf;
    l[h] = 0.0f;
  }
  for (int i = 0; i < g * D; ++i) o[i] = 0.0f;
}

// Folds one token into one head's state: score s (already scaled) and value row v [D]. The scalar
// reference kernels are this, token by token.
inline void attn_state_push(float s, const float* v, int D, float* m, float* l, float* o) {
  const float mn = s > *m ? s : *m;
  const float a = *m == kNegInf ? 0.0f : std::exp(*m - mn);
  const float p = std::exp(s - mn);
  *l = *l * a + p;
  for (int d = 0; d < D; ++d) o[d] = o[d] * a + p * v[d];
  *m = mn;
}

// Folds state (m2, l2, o2) into (m, l, o) for g heads of dimension D.
inline void attn_state_merge(int g, int D, float* m, float* l, float* o, const float* m2,
                             const float* l2, const float* o2) {
  for (int h = 0; h < g; ++h) {
    if (m2[h] == kNegInf) continue;
    const float mn = m[h] > m2[h] ? m[h] : m2[h];
    const float a = m[h] == kNegInf ? 0.0f : std::exp(m[h] - mn);
    const float b = std::exp(m2[h] - mn);
    l[h] = l[h] * a + l2[h] * b;
    float* oh = o + h * D;
    const float* o2h = o2 + h * D;
    for (int d = 0; d < D; ++d) oh[d] = oh[d] * a + o2h[d] * b;
    m[h] = mn;
  }
}

// out[h] = o[h] / l[h]. A head that saw no tokens yields zeros.
inline void attn_state_finish(int g, int D, const float* l, const float* o, float* out) {
  for (int h = 0; h < g; ++h) {
    const float inv = l[h] > 0.0f ? 1.0f / l[h] : 0.0f;
    for (int d = 0; d < D; ++d) out[h * D + d] = o[h * D + d] * inv;
  }
}

}  // namespace sparkv

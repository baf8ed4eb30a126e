// Attention of a GQA group of g query heads over n contiguous dense cached tokens. All g heads are
// served from each K/V row load (the group shares one KV head), so K and V stream once per step.
#pragma once

#include <cstdint>

namespace sparkv {

enum class KvDtype { kF32, kF16 };

// q: [g, D], already multiplied by the softmax scale. k, v: [n, D] in `dtype`.
// m, l: [g]; o: [g, D] — an online-softmax state (attn_state.h) updated in place.
void attn_dense_update(const float* q, int g, const void* k, const void* v, KvDtype dtype,
                       int64_t n, int D, float* m, float* l, float* o);
void attn_dense_update_ref(const float* q, int g, const void* k, const void* v, KvDtype dtype,
                           int64_t n, int D, float* m, float* l, float* o);
void attn_dense_update_avx2(const float* q, int g, const void* k, const void* v, KvDtype dtype,
                            int64_t n, int D, float* m, float* l, float* o);

}  // namespace sparkv

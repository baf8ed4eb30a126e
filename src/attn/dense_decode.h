// Attention of a GQA group of g query heads over n contiguous dense cached tokens. All g heads are
// served from each K/V row load (the group shares one KV head), so K and V stream once per step.
//
// K and V may have different element types (kv/kv_types.h). Rows of block types are read in
// place: the kernels dequantize each 32-channel block into registers and never build a dense
// copy. The query stays f32 throughout. (llama.cpp's CPU flash attention converts q to K's
// vec_dot type first — q8_0 for q4_0/q5_0/q8_0/iq4_nl, q8_1 for q4_1/q5_1 — so its logits carry
// an extra 8-bit query rounding that ours do not; and it accumulates an f16 V in an fp16
// accumulator, where we accumulate every V type in f32.)
#pragma once

#include <cstdint>

#include "quant/kv_types.h"

namespace sparkv {

// q: [g, D], already multiplied by the softmax scale. k: [n, kv_row_bytes(kt, D)],
// v: [n, kv_row_bytes(vt, D)]. m, l: [g]; o: [g, D] — an online-softmax state (attn_state.h)
// updated in place. Block types need D % 32 == 0. Runs the kernel of the set attn_kernels() picked
// (attn/attn_kernels.h); the _ref / _avx2 / _avx512 functions below are the set members.
void attn_dense_update(const float* q, int g, const void* k, const void* v, KvDtype kt, KvDtype vt,
                       int64_t n, int D, float* m, float* l, float* o);
void attn_dense_update_ref(const float* q, int g, const void* k, const void* v, KvDtype kt,
                           KvDtype vt, int64_t n, int D, float* m, float* l, float* o);
// Requires D % 8 == 0 (f32/f16 K and V) or D % 32 == 0 (any other type).
void attn_dense_update_avx2(const float* q, int g, const void* k, const void* v, KvDtype kt,
                            KvDtype vt, int64_t n, int D, float* m, float* l, float* o);
// 16 lanes; requires cpu_features().has_avx512_set(); every K / V type (D % 16 == 0, block types
// D % 32 == 0; other D run the AVX2 kernel).
void attn_dense_update_avx512(const float* q, int g, const void* k, const void* v, KvDtype kt,
                              KvDtype vt, int64_t n, int D, float* m, float* l, float* o);

// K and V of the same type (the form the f32 / f16 callers use).
inline void attn_dense_update(const float* q, int g, const void* k, const void* v, KvDtype dtype,
                              int64_t n, int D, float* m, float* l, float* o) {
  attn_dense_update(q, g, k, v, dtype, dtype, n, D, m, l, o);
}
inline void attn_dense_update_ref(const float* q, int g, const void* k, const void* v,
                                  KvDtype dtype, int64_t n, int D, float* m, float* l, float* o) {
  attn_dense_update_ref(q, g, k, v, dtype, dtype, n, D, m, l, o);
}
inline void attn_dense_update_avx2(const float* q, int g, const void* k, const void* v,
                                   KvDtype dtype, int64_t n, int D, float* m, float* l, float* o) {
  attn_dense_update_avx2(q, g, k, v, dtype, dtype, n, D, m, l, o);
}
inline void attn_dense_update_avx512(const float* q, int g, const void* k, const void* v,
                                     KvDtype dtype, int64_t n, int D, float* m, float* l,
                                     float* o) {
  attn_dense_update_avx512(q, g, k, v, dtype, dtype, n, D, m, l, o);
}

}  // namespace sparkv

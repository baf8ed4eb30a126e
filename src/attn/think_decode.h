// Attention of a GQA group over ThinK's packed storage: key rows hold only the dk channels that
// survived structured pruning (the same channel set for every token of a KV head), value rows are
// full width. The caller gathers the query by the kept channel ids once per step, so the score is
// a dense dot over dk channels and no zero-filled key is ever formed.
#pragma once

#include <cstdint>

#include "attn/dense_decode.h"

namespace sparkv {

// q: [g, dk] (gathered by channel id, already multiplied by the softmax scale 1/sqrt(D) of the
// full head dimension). k: [n, dk], v: [n, D] in `dtype`. m, l: [g]; o: [g, D] — an
// online-softmax state (attn_state.h) updated in place.
void attn_think_update(const float* q, int g, const void* k, int dk, const void* v, int D,
                       KvDtype dtype, int64_t n, float* m, float* l, float* o);
void attn_think_update_ref(const float* q, int g, const void* k, int dk, const void* v, int D,
                           KvDtype dtype, int64_t n, float* m, float* l, float* o);
// Needs D % 8 == 0 (dk may be anything: a scalar tail covers dk % 8).
void attn_think_update_avx2(const float* q, int g, const void* k, int dk, const void* v, int D,
                            KvDtype dtype, int64_t n, float* m, float* l, float* o);

}  // namespace sparkv

// Attention over SparK-compressed keys, computed directly on the packed form (spec §4.1):
//   logit = q·k_kept + r_t · Σ_{j pruned} σ_{t,j} · q_j · w_j
// where w_j is the head's per-channel recovery weight (c_j = n_j^{-1/2} for mean recovery, 1 for
// the constant one) and σ the stored sign of the pruned key. No dense copy of the keys is ever
// made.
#pragma once

#include <cstdint>

#include "quant/kv_types.h"

namespace sparkv {

// How the kept key values are stored (press key kq=): f16 (the paper's form), or symmetric
// integers with one fp16 scale per token and KV head over that token's kept values —
//   q8: d = amax/127, code = round(x/d) (ties away from zero), value = code·d;
//   q4: d = max/−8 with max the signed value of largest |x| (q4_0's rule, so it maps to code 0),
//       code = min(15, trunc(x/d + 8.5)), value = (code − 8)·d; two codes per byte, element e of
//       the stream in byte e/2, low nibble first; each token's run starts on a byte boundary.
enum class SparkKeyQuant { kF16, kQ8, kQ4 };
const char* spark_key_quant_name(SparkKeyQuant kq);

// One KV head's compressed segment (read-only view; kv/spark_cache.h owns the bytes).
struct SparkView {
  int D = 0;
  int64_t n = 0;
  const uint8_t* kmask = nullptr;  // [n, D/8] bit j%8 of byte j/8: channel j kept
  const uint8_t* kpos = nullptr;   // [n, D/8] pruned channels whose key was > 0 (σ = +1)
  const uint16_t* r = nullptr;     // [n] fp16 recovery scale r_t (0 = no recovery)
  // Kept key values, token-major, ascending channel (+16 bytes pad): f16, int8 or packed int4.
  const void* kvals = nullptr;
  SparkKeyQuant kq = SparkKeyQuant::kF16;
  const uint16_t* kscale = nullptr;  // [n] fp16 scale d of each token's kept values (q8 / q4)
  const uint32_t* koffs = nullptr;   // [n+1] start of each token's kept values; null when fixed
  int k_fixed = 0;                   // kept per token when koffs is null
  int k_stride = 0;                  // stream elements per token when koffs is null (q4: even)
  const float* w = nullptr;          // [D] per-channel recovery weight
  // Values: dense rows [n, kv_row_bytes(v_type, D)] unless pruned.
  const void* v = nullptr;
  KvDtype v_type = KvDtype::kF16;
  const uint8_t* vmask = nullptr;   // [n, D/8] kept value channels (pruned values mode)
  const uint16_t* vvals = nullptr;  // kept values, f16, packed like kvals (+16 pad)
  int v_fixed = 0;                  // kept value channels per token
  const uint16_t* vfill = nullptr;  // [n] fp16 fill for pruned value channels
  // Sampled recoveries (normal / exponential) regenerate their per-channel magnitudes from a
  // counter-based hash; they run on the scalar path only.
  int sampled = 0;  // 0 none, 1 normal, 2 exponential
  uint64_t sample_key = 0;
  const uint16_t* tau = nullptr;  // [n] fp16 clip for sampled scores (τ_t)

  // Stream element (not byte) where token t's kept key values start.
  int64_t kval_offset(int64_t t) const { return koffs ? koffs[t] : t * k_stride; }
  // Kept key value i of the stream, dequantized (token t's scale for q8 / q4).
  float kval(int64_t t, int64_t i) const;
};

// Folds tokens [t0, t1) of the segment into the online-softmax states of g query heads.
// q: [g, D] already multiplied by the softmax scale; m, l: [g]; o: [g, D].
void attn_spark_update(const float* q, int g, const SparkView& s, int64_t t0, int64_t t1, float* m,
                       float* l, float* o);
void attn_spark_update_ref(const float* q, int g, const SparkView& s, int64_t t0, int64_t t1,
                           float* m, float* l, float* o);
// Non-sampled recoveries only; g <= 8.
void attn_spark_update_avx2(const float* q, int g, const SparkView& s, int64_t t0, int64_t t1,
                            float* m, float* l, float* o);
// Non-sampled recoveries only; D % 16 == 0 and cpu_features().has_avx512_set().
void attn_spark_update_avx512(const float* q, int g, const SparkView& s, int64_t t0, int64_t t1,
                              float* m, float* l, float* o);

// The recovered (reconstructed) key k̂ of token t, [D], exactly as the kernels see it — for tests
// and for the sampled-recovery scalar path.
void spark_reconstruct_key(const SparkView& s, int64_t t, float* out);
void spark_reconstruct_value(const SparkView& s, int64_t t, float* out);

// Counter-based sample for the sampled recoveries: uniform in (0, 1) from (key, token, channel).
double spark_uniform(uint64_t key, int64_t t, int j);

}  // namespace sparkv

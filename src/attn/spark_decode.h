// Attention over SparK-compressed keys, computed directly on the packed form (spec §4.1):
//   logit = q·k_kept + r_t · Σ_{j pruned} σ_{t,j} · q_j · w_j
// where w_j is the head's per-channel recovery weight (c_j = n_j^{-1/2} for mean recovery, 1 for the
// constant one) and σ the stored sign of the pruned key. No dense copy of the keys is ever made.
#pragma once

#include <cstdint>

namespace sparkv {

// One KV head's compressed segment (read-only view; kv/spark_cache.h owns the bytes).
struct SparkView {
  int D = 0;
  int64_t n = 0;
  const uint8_t* kmask = nullptr;   // [n, D/8] bit j%8 of byte j/8: channel j kept
  const uint8_t* kpos = nullptr;    // [n, D/8] pruned channels whose key was > 0 (σ = +1)
  const uint16_t* r = nullptr;      // [n] fp16 recovery scale r_t (0 = no recovery)
  const uint16_t* kvals = nullptr;  // kept key values, f16, token-major, ascending channel (+16 pad)
  const uint32_t* koffs = nullptr;  // [n+1] start of each token's kept values; null when fixed
  int k_fixed = 0;                  // kept per token when koffs is null
  const float* w = nullptr;         // [D] per-channel recovery weight
  // Values: dense [n, D] f16 unless pruned.
  const uint16_t* v = nullptr;
  const uint8_t* vmask = nullptr;   // [n, D/8] kept value channels (pruned values mode)
  const uint16_t* vvals = nullptr;  // kept values, f16, packed like kvals (+16 pad)
  int v_fixed = 0;                  // kept value channels per token
  const uint16_t* vfill = nullptr;  // [n] fp16 fill for pruned value channels
  // Sampled recoveries (normal / exponential) regenerate their per-channel magnitudes from a
  // counter-based hash; they run on the scalar path only.
  int sampled = 0;                  // 0 none, 1 normal, 2 exponential
  uint64_t sample_key = 0;
  const uint16_t* tau = nullptr;    // [n] fp16 clip for sampled scores (τ_t)

  int64_t kval_offset(int64_t t) const { return koffs ? koffs[t] : t * k_fixed; }
};

// Folds tokens [t0, t1) of the segment into the online-softmax states of g query heads.
// q: [g, D] already multiplied by the softmax scale; m, l: [g]; o: [g, D].
void attn_spark_update(const float* q, int g, const SparkView& s, int64_t t0, int64_t t1, float* m,
                       float* l, float* o);
void attn_spark_update_ref(const float* q, int g, const SparkView& s, int64_t t0, int64_t t1,
                           float* m, float* l, float* o);
void attn_spark_update_avx2(const float* q, int g, const SparkView& s, int64_t t0, int64_t t1,
                            float* m, float* l, float* o);

// The recovered (reconstructed) key k̂ of token t, [D], exactly as the kernels see it — for tests
// and for the sampled-recovery scalar path.
void spark_reconstruct_key(const SparkView& s, int64_t t, float* out);
void spark_reconstruct_value(const SparkView& s, int64_t t, float* out);

// Counter-based sample for the sampled recoveries: uniform in (0, 1) from (key, token, channel).
double spark_uniform(uint64_t key, int64_t t, int j);

}  // namespace sparkv

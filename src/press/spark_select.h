// SparK channel selection (spec spark-method §3.2–§3.5, with the §5 fixes): per KV head, score
// every cached key channel against the window queries, keep the top channels of each token, and
// compute the statistic that recovers the pruned ones at attention time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sparkv {

enum class SparkVariant { kFixed, kGroup, kTopP };  // fixed λ | SparK-g buckets | SparK-p coverage
enum class SparkRecovery { kMean, kZero, kConstant, kNormal, kExponential };

struct SparkOptions {
  double ratio = 0.5;  // λ: fraction of key channels pruned per token (fixed variant)
  int window = 32;     // w: last prompt positions whose queries score the channels
  SparkVariant variant = SparkVariant::kFixed;
  double p = 0.99;  // SparK-p coverage
  SparkRecovery recovery = SparkRecovery::kMean;
  float constant = 0.01f;    // magnitude for the constant recovery
  double value_ratio = 0.0;  // λ_v: value channels pruned per token (0 = values dense)
  uint64_t seed = 0;         // sampled recoveries
  // Beyond the paper (off by default): once the dense tail of decode-phase tokens reaches this
  // many tokens, compress them with the prefill's channel norms. 0 keeps decode tokens dense.
  int decode_block = 0;
  // Beyond the reference code (off by default): the last `recent` kept prompt tokens are stored
  // dense, as the ThinK paper keeps its most recent tokens. Models whose retrieval runs through
  // previous-token / induction heads read those tokens' exact keys when decoding starts (the
  // embedded model answers a passkey correctly with think:ratio=0.5,recent=64 and not without).
  int recent = 0;
};

// The ε guard on channel norms (the reference divides by zero on an all-zero query channel).
constexpr float kSparkNormEps = 1e-6f;

const char* spark_variant_name(SparkVariant v);
const char* spark_recovery_name(SparkRecovery r);

// n_j = ‖mean over the g heads of a KV group of the window queries‖₂ over the window, ε-guarded.
// window_q: [w, n_head, D]; the group of kv_head is query heads [kv_head*g, kv_head*g + g).
void spark_channel_norms(const float* window_q, int w, int n_head, int D, int kv_head, int g,
                         float* n /*[D]*/);

// Kept channel count for the fixed variant: T = D - floor(λ·D).
int spark_fixed_keep(int D, double ratio);

// Selection of one token. k: [D] key, n: [D] channel norms. Writes the kept-channel bitmask
// (D/8 bytes, bit j%8 of byte j/8), returns the kept count, and sets *mu to the mean score of the
// pruned channels (0 when none are pruned). Ties: the lower channel index ranks higher.
int spark_select_token(const float* k, const float* n, int D, const SparkOptions& opt,
                       uint8_t* keep_mask, float* mu);

// Value-channel pruning of one head (spec §3.5): v: [T, D]. Writes keep masks [T, D/8], returns
// per-token fill values (signed mean of the pruned values) in fill [T].
void spark_select_values(const float* v, int64_t T, int D, double ratio, uint8_t* keep_masks,
                         float* fill);

}  // namespace sparkv

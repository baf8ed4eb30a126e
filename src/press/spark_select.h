// SparK channel selection (spec spark-method §3.2–§3.5, with the §5 fixes): per KV head, score
// every cached key channel against the window queries, keep the top channels of each token, and
// compute the statistic that recovers the pruned ones at attention time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sparkv {

enum class SparkVariant { kFixed, kGroup, kTopP };  // fixed λ | SparK-g buckets | SparK-p coverage
// How a pruned key entry comes back at attention time: k̂_{t,j} = σ_{t,j} · r_t · w_j (r_t per
// token, w_j per KV head and channel). kMean is the paper's (r_t = sqrt(μ_t), w_j = n_j^-1/2);
// kZero, kConstant and the sampled kNormal / kExponential are its ablations. The rest are beyond
// the paper (docs/spark-storage.md "Recoveries"): kBounded is the paper's mean made bounded; the
// key-statistic recoveries rebuild a pruned entry from the magnitudes of the head's own keys and
// never divide by a query norm.
enum class SparkRecovery {
  kMean,
  kZero,
  kConstant,
  kNormal,
  kExponential,
  kBounded,        // mean, n_j floored at floor·max n, r_t capped at the token's smallest kept |k|
  kAbsMean,        // w_j = mean |k_j| over the head's compressed tokens; no r_t
  kAbsMeanPruned,  // w_j = mean |k_j| over the entries of channel j that were pruned; no r_t
  kAbsMedian,      // w_j = median |k_j| over the head's compressed tokens; no r_t
  kToken,          // r_t = mean |k_t| over the token's pruned entries; w_j = 1
  kScaled,         // absmean_pruned · r_t, r_t matching the token's pruned Σ|k| (capped)
  kChannelMean,    // w_j = signed mean k_j over the head's tokens; no sign bits, no r_t
};

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
  // Relative floor of n_j for the bounded mean recovery (n_j >= floor · max_j n_j).
  double floor = 0.01;
};

// What `spark:ratio=λ` means with no other keys, chosen by measurement (docs/results/recovery.md,
// issue 23): the key-statistic recovery `scaled` (the paper's `mean` loses the answer on our
// models) and the last 32 kept prompt tokens — SparK's observation window — stored dense. The
// struct's own defaults above stay the paper's (recovery=mean, recent=0), which the kernel and
// storage tests are written against; recipes name `recovery=mean,recent=0` for the paper.
constexpr SparkRecovery kSparkDefaultRecovery = SparkRecovery::kScaled;
constexpr int kSparkDefaultRecent = 32;

// The ε guard on channel norms (the reference divides by zero on an all-zero query channel).
constexpr float kSparkNormEps = 1e-6f;

const char* spark_variant_name(SparkVariant v);
const char* spark_recovery_name(SparkRecovery r);
// Parses a recovery name (as spark_recovery_name writes it); false when unknown.
bool spark_recovery_parse(const std::string& name, SparkRecovery* out);
// The recovery names, in enum order, for help text and errors.
const std::vector<std::string>& spark_recovery_names();
// Whether the recovery stores a per-token scale r_t (2 bytes per token); the others use r_t = 1.
bool spark_recovery_has_scale(SparkRecovery r);
// Whether the recovery stores the pruned entries' signs (D/8 bytes per token); kChannelMean
// carries the sign in w_j and stores none (every pruned entry reads as +w_j).
bool spark_recovery_has_signs(SparkRecovery r);
// Whether w_j is a statistic of the head's keys (computed once from the compressed tokens).
bool spark_recovery_uses_key_stats(SparkRecovery r);

// Per-head channel recovery weights w [D] of recovery r from the head's n compressed keys
// k [n, D], their kept masks [n, D/8] and the window channel norms n [D].
void spark_recovery_weights(SparkRecovery r, const SparkOptions& opt, const float* k,
                            const uint8_t* masks, int64_t n, int D, const float* norms, float* w);

// Per-token recovery scale r_t of one token (key k [D], kept mask, μ_t, the head's w and norms).
// Every recovery but kMean keeps r_t·w_j at most the token's largest |k|, so no recovered entry
// exceeds the largest |k| of the head's cache (and all are finite).
float spark_recovery_scale(SparkRecovery r, const SparkOptions& opt, const float* k,
                           const uint8_t* mask, int D, float mu, const float* w);

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

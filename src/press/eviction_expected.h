// Expected Attention (kvpress ExpectedAttentionPress, spec §2.6): scores keys by the attention
// that the *future* queries are expected to pay them, from Gaussian statistics of the queries:
// mu = W_q h_mean (+ b_q), Sigma = W_q Sigma_h W_q^T per head, both rotated by the RoPE rotation
// averaged over the next n_future positions. Exposed in two steps so the tests can feed random
// projections without a model.
//
// Deviations from kvpress, documented: a q_proj bias (Qwen2) is added to mu (kvpress drops it);
// Qwen3's q-norm is not applied (it is nonlinear; kvpress does not apply it either); the hidden
// statistics come from the prefill capture, which drops the first 4 hidden states and uses the
// unbiased covariance.
#pragma once

#include <cstdint>
#include <vector>

#include "kv/dense_cache.h"

namespace sparkv {

struct ExpectedQueryStats {
  int n_head = 0, head_dim = 0;
  std::vector<double> mean;  // [n_head, D]
  std::vector<double> cov;   // [n_head, D, D]; empty when the covariance is not used
};

// wq: [n_head*D, E] f32 rows; bq: [n_head*D] or null; h_mean: [E]; h_cov: [E, E] (may be null
// when !use_cov); inv_freq: [D/2] (rotate-half pairing, channel i with i + D/2).
ExpectedQueryStats expected_query_stats(const float* wq, const float* bq, int n_head, int D, int E,
                                        const float* h_mean, const float* h_cov,
                                        const float* inv_freq, int64_t pos0, int n_future,
                                        bool use_cov);

// Scores of tokens idx (ascending) of KV head h: softmax over the non-sink survivors of
// mu.k/sqrt(D) + k^T Sigma k / (2D), mean over the GQA group, times ||v|| when use_vnorm; the
// first `sinks` survivors get +inf (always kept).
std::vector<double> expected_attention_scores(const ExpectedQueryStats& stats,
                                              const DenseLayerCache& cache, int h,
                                              const std::vector<int32_t>& idx, int sinks,
                                              bool use_vnorm);

}  // namespace sparkv

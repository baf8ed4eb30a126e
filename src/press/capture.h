// Records, during prefill, the per-layer state that presses score with: the last-w post-RoPE
// queries (SnapKV, SparK, ThinK, TOVA), and on request the attention column sums over all prompt
// queries (H2O) and the hidden-state mean/covariance (Expected Attention).
#pragma once

#include <cstdint>
#include <vector>

#include "model/forward.h"
#include "press/press.h"

namespace sparkv {

class PrefillCapture : public ForwardObserver {
 public:
  // The prefill covers positions [pos_begin, pos_begin + n_prompt).
  PrefillCapture(const ModelConfig& cfg, const PressNeeds& needs, int64_t pos_begin,
                 int64_t n_prompt);

  void on_queries(int layer, const float* q, int n, int64_t pos0) override;
  void on_layer_input(int layer, const float* x, int n, int64_t pos0) override;
  void on_attended(int layer, const float* q, const float* att, int n, int64_t pos0,
                   const LayerCache& cache) override;

  // Fills the capture fields of ctx for `layer` (window, colsum, hidden stats).
  void fill(int layer, PressContext* ctx) const;
  int window() const { return window_; }
  // Frees what was recorded for `layer` once its press has run (a prefill that compresses as it
  // goes); fill() must not be called for it again.
  void release(int layer);

 private:
  const ModelConfig& cfg_;
  PressNeeds needs_;
  int64_t pos_begin_, n_prompt_;
  int window_;                                // min(needs.window, n_prompt)
  std::vector<std::vector<float>> window_q_;  // [layer][window, n_head, D]
  std::vector<std::vector<float>> colsum_;    // [layer][n_head, n_prompt]
  std::vector<std::vector<double>> h_sum_;    // [layer][n_embd]
  std::vector<std::vector<double>> h_outer_;  // [layer][n_embd, n_embd]
  std::vector<int64_t> h_count_;
  mutable std::vector<std::vector<float>> h_mean_, h_cov_;
};

// H2O (kvpress "observed attention"): adds, for the n queries of a prefill chunk, their softmax
// attention probabilities to colsum [n_head, n_total_prompt] — causal, over the tokens `cache`
// holds (the chunk's own keys are the last n). Computed tile by tile without the full attention
// matrix.
void accumulate_attention_colsum(const LayerCache& cache, const float* q, int n, int n_head,
                                 float* colsum, int64_t colsum_stride);

}  // namespace sparkv

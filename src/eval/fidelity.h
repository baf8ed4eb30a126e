// Fidelity of a compressed cache against the full cache on the same prefill (spec §6.3 item 4):
// the full-cache greedy tokens are teacher-forced into both sessions, and over the first N
// decode steps we measure the next-token KL divergence KL(p_full || p_compressed), top-1
// agreement, and per layer the relative error of the attention outputs
// ||att_c - att_f|| / ||att_f|| (Frobenius over every token fed after compression: the answer
// prefix and the forced tokens). Prefill outputs never differ (kvpress compresses after each
// layer's prefill attention), so these numbers isolate what the compressed cache changes.
#pragma once

#include <cstdint>
#include <vector>

#include "model/forward.h"

namespace sparkv {

// Records (reference mode) or compares against a reference (compare mode) the attention outputs
// of every token fed while it observes.
class AttentionRecorder : public ForwardObserver {
 public:
  AttentionRecorder(int n_layer, int n_head, int head_dim);
  // Compare mode: `ref` holds, per layer, the reference outputs of the same fed tokens in order,
  // [n_fed, n_head, D] flattened.
  void compare_with(const std::vector<std::vector<float>>* ref) { ref_ = ref; }

  void on_attended(int layer, const float* q, const float* att, int n, int64_t pos0,
                   const LayerCache& cache) override;

  // Reference mode: the recorded outputs, per layer.
  std::vector<std::vector<float>>& recorded() { return rec_; }
  // Compare mode: per layer sqrt(sum diff^2 / sum ref^2) over the tokens compared so far.
  std::vector<double> relative_errors() const;
  int64_t tokens_compared() const { return compared_.empty() ? 0 : compared_[0]; }

 private:
  int n_layer_, width_;  // width = n_head * D
  const std::vector<std::vector<float>>* ref_ = nullptr;
  std::vector<std::vector<float>> rec_;
  std::vector<int64_t> compared_;
  std::vector<double> diff2_, ref2_;
};

// log_softmax of logits [n] in double precision.
std::vector<double> log_softmax(const float* logits, int n);
// KL(p || q) with p given as log-probabilities and q as raw logits.
double kl_divergence(const std::vector<double>& logp, const float* logits_q, int n);

struct Fidelity {
  int steps = 0;                    // decode steps compared (<= N; fewer if the full cache stops)
  double kl = 0;                    // mean over steps
  double top1 = 0;                  // fraction of steps whose argmax equals the full cache's token
  std::vector<double> attn_err;     // per layer
  double attn_err_mean() const;
};

}  // namespace sparkv

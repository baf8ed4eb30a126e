#include "eval/fidelity.h"

#include <algorithm>
#include <cmath>

namespace sparkv {

AttentionRecorder::AttentionRecorder(int n_layer, int n_head, int head_dim)
    : n_layer_(n_layer),
      width_(n_head * head_dim),
      rec_(n_layer),
      compared_(n_layer, 0),
      diff2_(n_layer, 0.0),
      ref2_(n_layer, 0.0) {}

void AttentionRecorder::on_attended(int layer, const float* q, const float* att, int n, int64_t pos0,
                                    const LayerCache& cache) {
  if (layer < 0 || layer >= n_layer_) return;
  const size_t w = static_cast<size_t>(width_);
  if (!ref_) {
    rec_[layer].insert(rec_[layer].end(), att, att + static_cast<size_t>(n) * w);
    return;
  }
  const std::vector<float>& ref = (*ref_)[layer];
  for (int i = 0; i < n; ++i) {
    const size_t at = static_cast<size_t>(compared_[layer]) * w;
    if (at + w > ref.size()) return;  // beyond what the reference recorded
    double d2 = 0, r2 = 0;
    for (size_t j = 0; j < w; ++j) {
      const double r = ref[at + j];
      const double d = static_cast<double>(att[static_cast<size_t>(i) * w + j]) - r;
      d2 += d * d;
      r2 += r * r;
    }
    diff2_[layer] += d2;
    ref2_[layer] += r2;
    ++compared_[layer];
  }
}

std::vector<double> AttentionRecorder::relative_errors() const {
  std::vector<double> out(n_layer_, 0.0);
  for (int l = 0; l < n_layer_; ++l)
    out[l] = ref2_[l] > 0 ? std::sqrt(diff2_[l] / ref2_[l]) : 0.0;
  return out;
}

std::vector<double> log_softmax(const float* logits, int n) {
  double mx = -INFINITY;
  for (int i = 0; i < n; ++i) mx = std::max(mx, static_cast<double>(logits[i]));
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - mx);
  const double lse = mx + std::log(sum);
  std::vector<double> out(n);
  for (int i = 0; i < n; ++i) out[i] = static_cast<double>(logits[i]) - lse;
  return out;
}

double kl_divergence(const std::vector<double>& logp, const float* logits_q, int n) {
  const std::vector<double> logq = log_softmax(logits_q, n);
  double kl = 0;
  for (int i = 0; i < n; ++i) {
    const double p = std::exp(logp[i]);
    if (p > 0) kl += p * (logp[i] - logq[i]);
  }
  return std::max(kl, 0.0);  // rounding can leave a tiny negative for identical distributions
}

double Fidelity::attn_err_mean() const {
  if (attn_err.empty()) return 0.0;
  double s = 0;
  for (double e : attn_err) s += e;
  return s / static_cast<double>(attn_err.size());
}

}  // namespace sparkv

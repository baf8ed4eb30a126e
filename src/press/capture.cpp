#include "press/capture.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "core/error.h"

namespace sparkv {

namespace {
// Expected Attention drops the first few hidden states (attention sinks) from its statistics.
constexpr int64_t kHiddenSinks = 4;
}  // namespace

PrefillCapture::PrefillCapture(const ModelConfig& cfg, const PressNeeds& needs, int64_t pos_begin,
                               int64_t n_prompt)
    : cfg_(cfg), needs_(needs), pos_begin_(pos_begin), n_prompt_(n_prompt) {
  window_ = static_cast<int>(std::min<int64_t>(needs.window, n_prompt));
  const size_t L = cfg.n_layer;
  window_q_.resize(L);
  for (auto& w : window_q_) w.assign(static_cast<size_t>(window_) * cfg.q_dim(), 0.0f);
  if (needs.attn_colsum) {
    colsum_.resize(L);
    for (auto& c : colsum_) c.assign(static_cast<size_t>(cfg.n_head) * n_prompt, 0.0f);
  }
  if (needs.hidden_stats) {
    h_sum_.assign(L, std::vector<double>(cfg.n_embd, 0.0));
    h_outer_.assign(L, std::vector<double>(static_cast<size_t>(cfg.n_embd) * cfg.n_embd, 0.0));
    h_count_.assign(L, 0);
    h_mean_.resize(L);
    h_cov_.resize(L);
  }
}

void PrefillCapture::on_queries(int layer, const float* q, int n, int64_t pos0) {
  const int64_t win_begin = pos_begin_ + n_prompt_ - window_;
  const size_t row = cfg_.q_dim();
  for (int t = 0; t < n; ++t) {
    const int64_t pos = pos0 + t;
    if (pos < win_begin || pos >= pos_begin_ + n_prompt_) continue;
    std::memcpy(window_q_[layer].data() + static_cast<size_t>(pos - win_begin) * row, q + t * row,
                row * sizeof(float));
  }
}

void PrefillCapture::on_layer_input(int layer, const float* x, int n, int64_t pos0) {
  if (!needs_.hidden_stats) return;
  const int E = cfg_.n_embd;
  auto& sum = h_sum_[layer];
  auto& outer = h_outer_[layer];
  for (int t = 0; t < n; ++t) {
    if (pos0 + t - pos_begin_ < kHiddenSinks) continue;
    const float* xt = x + static_cast<size_t>(t) * E;
    for (int i = 0; i < E; ++i) sum[i] += xt[i];
#pragma omp parallel for schedule(static)
    for (int i = 0; i < E; ++i)
      for (int j = 0; j < E; ++j)
        outer[static_cast<size_t>(i) * E + j] += static_cast<double>(xt[i]) * xt[j];
    ++h_count_[layer];
  }
}

void PrefillCapture::on_attended(int layer, const float* q, const float* att, int n, int64_t pos0,
                                 const LayerCache& cache) {
  if (!needs_.attn_colsum) return;
  accumulate_attention_colsum(cache, q, n, cfg_.n_head, colsum_[layer].data(), n_prompt_);
}

void PrefillCapture::release(int layer) {
  auto free = [](auto& v) {
    std::vector<typename std::decay_t<decltype(v)>::value_type>().swap(v);
  };
  free(window_q_.at(layer));
  if (!colsum_.empty()) free(colsum_[layer]);
  if (!h_sum_.empty()) {
    free(h_sum_[layer]);
    free(h_outer_[layer]);
    free(h_mean_[layer]);
    free(h_cov_[layer]);
  }
}

void PrefillCapture::fill(int layer, PressContext* ctx) const {
  ctx->window = window_;
  ctx->window_q = window_q_[layer].data();
  if (needs_.attn_colsum) ctx->attn_colsum = colsum_[layer].data();
  if (needs_.hidden_stats && h_count_[layer] > 0) {
    const int E = cfg_.n_embd;
    const double cnt = static_cast<double>(h_count_[layer]);
    auto& mean = h_mean_[layer];
    auto& cov = h_cov_[layer];
    mean.resize(E);
    cov.resize(static_cast<size_t>(E) * E);
    for (int i = 0; i < E; ++i) mean[i] = static_cast<float>(h_sum_[layer][i] / cnt);
    // Unbiased covariance, as torch.cov computes it.
    const double denom = cnt > 1 ? cnt - 1 : 1;
    for (int i = 0; i < E; ++i)
      for (int j = 0; j < E; ++j)
        cov[static_cast<size_t>(i) * E + j] = static_cast<float>(
            (h_outer_[layer][static_cast<size_t>(i) * E + j] - cnt * mean[i] * mean[j]) / denom);
    ctx->hidden_mean = mean.data();
    ctx->hidden_cov = cov.data();
    ctx->n_hidden = h_count_[layer];
  }
}

}  // namespace sparkv

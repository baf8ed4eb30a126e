#include "press/eviction_common.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace sparkv {

int64_t uniform_count(const TokenSelection& sel, const std::string& method) {
  SPARKV_CHECK(!sel.kept.empty(), "{}: the selection has no KV heads", method);
  const size_t n = sel.kept[0].size();
  for (size_t h = 1; h < sel.kept.size(); ++h)
    SPARKV_CHECK(sel.kept[h].size() == n,
                 "{}: KV head {} holds {} tokens but head 0 holds {} (scorers need equal counts)",
                 method, h, sel.kept[h].size(), n);
  return static_cast<int64_t>(n);
}

void ScorerPress::select_tokens(const PressContext& ctx, TokenSelection& sel) const {
  const int64_t n = uniform_count(sel, name());
  const int64_t keep = n_kept(ctx, n);
  if (keep >= n) return;  // nothing to evict (budget >= prompt): skip the scoring
  const std::vector<std::vector<double>> scores = score(ctx, sel);
  for (size_t h = 0; h < sel.kept.size(); ++h) {
    const int64_t n_protected = std::count(scores[h].begin(), scores[h].end(), kProtected);
    SPARKV_CHECK(n_protected <= keep,
                 "{}: layer {} keeps {} of {} tokens per KV head, fewer than the {} it must always "
                 "keep (its window/sinks); raise the budget or lower the window",
                 spec(), ctx.layer, keep, n, n_protected);
    sel.kept[h] = top_k_tokens(sel.kept[h], scores[h], keep);
  }
}

int64_t ScorerPress::kept_bound(const ModelConfig& cfg, int layer, int64_t n) const {
  PressContext ctx;  // n_kept reads the shape and the layer only
  ctx.config = &cfg;
  ctx.layer = layer;
  ctx.n_prompt = n;
  return std::clamp<int64_t>(n_kept(ctx, n), 0, n);
}

std::vector<int32_t> top_k_tokens(const std::vector<int32_t>& idx, const std::vector<double>& score,
                                  int64_t n_kept) {
  SPARKV_CHECK(idx.size() == score.size(), "top-k: {} tokens but {} scores", idx.size(),
               score.size());
  if (n_kept >= static_cast<int64_t>(idx.size())) return idx;
  if (n_kept <= 0) return {};
  std::vector<int32_t> order(idx.size());
  std::iota(order.begin(), order.end(), 0);
  // Strict weak order: higher score first, then lower token index (idx is ascending, so the
  // position in idx orders like the token index).
  auto better = [&](int32_t a, int32_t b) {
    if (score[a] != score[b]) return score[a] > score[b];
    return a < b;
  };
  std::nth_element(order.begin(), order.begin() + n_kept, order.end(), better);
  order.resize(n_kept);
  std::sort(order.begin(), order.end());
  std::vector<int32_t> out(n_kept);
  for (int64_t i = 0; i < n_kept; ++i) out[i] = idx[order[i]];
  return out;
}

void read_rows(const DenseLayerCache& cache, int h, const std::vector<int32_t>& idx,
               std::vector<double>* k, std::vector<double>* v) {
  const int D = cache.head_dim();
  if (k) k->resize(idx.size() * D);
  if (v) v->resize(idx.size() * D);
  std::vector<float> kt(D), vt(D);
  for (size_t j = 0; j < idx.size(); ++j) {
    cache.read(h, idx[j], 1, k ? kt.data() : nullptr, v ? vt.data() : nullptr);
    for (int d = 0; d < D; ++d) {
      if (k) (*k)[j * D + d] = kt[d];
      if (v) (*v)[j * D + d] = vt[d];
    }
  }
}

int effective_window(const PressContext& ctx, int want, const std::string& method) {
  const int64_t T = ctx.cache->n_tokens(0);
  const int w = static_cast<int>(std::min<int64_t>(want, T));
  SPARKV_CHECK(ctx.window_q != nullptr && ctx.window >= w,
               "{}: needs the last {} prompt queries but the prefill capture recorded {}", method,
               w, ctx.window_q ? ctx.window : 0);
  return w;
}

std::vector<double> window_attention_mean(const PressContext& ctx, int qh, int w,
                                          const std::vector<int32_t>& idx,
                                          const std::vector<double>& k) {
  const int D = ctx.cache->head_dim();
  const int n_head = ctx.cache->n_kv() * ctx.cache->group();
  const int64_t T = ctx.cache->n_tokens(0);
  const size_t n = idx.size();
  std::vector<double> mean(n, 0.0);
  if (n == 0) return mean;
  // Window query rows of head qh (the capture may hold a longer window than this press's): [w, D].
  std::vector<double> q(static_cast<size_t>(w) * D);
  for (int r = 0; r < w; ++r) {
    const float* src = ctx.window_q + (static_cast<size_t>(ctx.window - w + r) * n_head + qh) * D;
    for (int d = 0; d < D; ++d) q[static_cast<size_t>(r) * D + d] = src[d];
  }
  // Logits [w, n] in one DGEMM (double keeps the top-k boundary independent of summation order).
  std::vector<double> logit(static_cast<size_t>(w) * n);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, w, static_cast<int>(n), D,
              1.0 / std::sqrt(static_cast<double>(D)), q.data(), D, k.data(), D, 0.0, logit.data(),
              static_cast<int>(n));
  for (int r = 0; r < w; ++r) {
    double* lr = logit.data() + static_cast<size_t>(r) * n;
    // Causal by original position: survivors ascend, so the visible ones are a prefix of idx.
    const int64_t pos = T - w + r;
    const size_t visible = std::upper_bound(idx.begin(), idx.end(), pos) - idx.begin();
    if (visible == 0) continue;
    const double mx = *std::max_element(lr, lr + visible);
    double sum = 0.0;
    for (size_t j = 0; j < visible; ++j) {
      lr[j] = std::exp(lr[j] - mx);
      sum += lr[j];
    }
    for (size_t j = 0; j < visible; ++j) mean[j] += lr[j] / sum;
  }
  for (double& m : mean) m /= w;
  return mean;
}

std::vector<double> row_norms(const DenseLayerCache& cache, int h, const std::vector<int32_t>& idx,
                              bool values) {
  const int D = cache.head_dim();
  std::vector<double> rows;  // [idx.size(), D]
  read_rows(cache, h, idx, values ? nullptr : &rows, values ? &rows : nullptr);
  std::vector<double> norm(idx.size());
  for (size_t j = 0; j < idx.size(); ++j) {
    double ss = 0.0;
    for (int d = 0; d < D; ++d) ss += rows[j * D + d] * rows[j * D + d];
    norm[j] = std::sqrt(ss);
  }
  return norm;
}

std::vector<double> avg_pool_include_pad(const std::vector<double>& x, int kernel) {
  const int64_t n = static_cast<int64_t>(x.size());
  const int64_t pad = kernel / 2;
  std::vector<double> out(n, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    double s = 0.0;
    for (int64_t j = i - pad; j <= i + pad; ++j)
      if (j >= 0 && j < n) s += x[j];
    out[i] = s / kernel;
  }
  return out;
}

}  // namespace sparkv

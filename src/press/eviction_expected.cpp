#include "press/eviction_expected.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "model/model.h"
#include "press/eviction_common.h"
#include "press/press_registry.h"
#include "quant/quant.h"

namespace sparkv {

ExpectedQueryStats expected_query_stats(const float* wq, const float* bq, int n_head, int D, int E,
                                        const float* h_mean, const float* h_cov,
                                        const float* inv_freq, int64_t pos0, int n_future,
                                        bool use_cov) {
  SPARKV_CHECK(D % 2 == 0 && n_future >= 1, "expected: head_dim {} / future {} invalid", D,
               n_future);
  const int rows = n_head * D, half = D / 2;
  ExpectedQueryStats st;
  st.n_head = n_head;
  st.head_dim = D;
  // mu = W_q h_mean (+ b_q): [n_head * D].
  std::vector<double> mu(rows);
  for (int r = 0; r < rows; ++r) {
    double s = bq ? bq[r] : 0.0;
    for (int e = 0; e < E; ++e)
      s += static_cast<double>(wq[static_cast<size_t>(r) * E + e]) * h_mean[e];
    mu[r] = s;
  }
  // Per-head Sigma = W_h Sigma_h W_h^T: A = W Sigma_h ([rows, E], one DGEMM), then per head
  // A_h W_h^T ([D, D]).
  std::vector<double> cov;
  if (use_cov) {
    SPARKV_CHECK(h_cov != nullptr, "expected: cov=1 needs the hidden-state covariance");
    std::vector<double> w(wq, wq + static_cast<size_t>(rows) * E);
    std::vector<double> sig(h_cov, h_cov + static_cast<size_t>(E) * E);
    std::vector<double> a(static_cast<size_t>(rows) * E);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, E, E, 1.0, w.data(), E, sig.data(),
                E, 0.0, a.data(), E);
    cov.resize(static_cast<size_t>(n_head) * D * D);
    for (int h = 0; h < n_head; ++h)
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, D, D, E, 1.0,
                  a.data() + static_cast<size_t>(h) * D * E, E,
                  w.data() + static_cast<size_t>(h) * D * E, E, 0.0,
                  cov.data() + static_cast<size_t>(h) * D * D, D);
  }
  // Averaged rotation R = mean_p [[cos, -sin], [sin, cos]] per channel pair (i, i + D/2).
  std::vector<double> c(half, 0.0), s(half, 0.0);
  for (int i = 0; i < half; ++i) {
    for (int p = 0; p < n_future; ++p) {
      const double angle = static_cast<double>(pos0 + p) * inv_freq[i];
      c[i] += std::cos(angle);
      s[i] += std::sin(angle);
    }
    c[i] /= n_future;
    s[i] /= n_future;
  }
  // y = R x for one vector of length D (stride `stride` between its elements).
  auto rotate = [&](const double* x, int64_t stride, double* y) {
    for (int i = 0; i < half; ++i) {
      const double a = x[i * stride], b = x[(i + half) * stride];
      y[i] = c[i] * a - s[i] * b;
      y[i + half] = s[i] * a + c[i] * b;
    }
  };
  st.mean.resize(rows);
  for (int h = 0; h < n_head; ++h) rotate(mu.data() + h * D, 1, st.mean.data() + h * D);
  if (use_cov) {
    st.cov.resize(cov.size());
    std::vector<double> m(static_cast<size_t>(D) * D), col(D);
    for (int h = 0; h < n_head; ++h) {
      const double* sg = cov.data() + static_cast<size_t>(h) * D * D;
      double* out = st.cov.data() + static_cast<size_t>(h) * D * D;
      // M = R Sigma (rotate every column), then out = M R^T (rotate every row of M).
      for (int j = 0; j < D; ++j) {
        rotate(sg + j, D, col.data());
        for (int i = 0; i < D; ++i) m[static_cast<size_t>(i) * D + j] = col[i];
      }
      for (int i = 0; i < D; ++i)
        rotate(m.data() + static_cast<size_t>(i) * D, 1, out + static_cast<size_t>(i) * D);
    }
  }
  return st;
}

std::vector<double> expected_attention_scores(const ExpectedQueryStats& st,
                                              const DenseLayerCache& cache, int h,
                                              const std::vector<int32_t>& idx, int sinks,
                                              bool use_vnorm) {
  const int D = cache.head_dim(), g = cache.group();
  SPARKV_CHECK(st.head_dim == D && st.n_head == cache.n_kv() * g,
               "expected: query statistics for {} heads x {} but the cache has {} x {}", st.n_head,
               st.head_dim, cache.n_kv() * g, D);
  const size_t n = idx.size();
  const size_t n_sink = std::min<size_t>(sinks, n);
  std::vector<double> k, v;
  read_rows(cache, h, idx, &k, use_vnorm ? &v : nullptr);
  std::vector<double> out(n, 0.0), logit(n), ks(st.cov.empty() ? 0 : n * D);
  const double inv_sqrt = 1.0 / std::sqrt(static_cast<double>(D));
  for (int gi = 0; gi < g; ++gi) {
    const int qh = h * g + gi;
    const double* mu = st.mean.data() + static_cast<size_t>(qh) * D;
    const double* sg = st.cov.empty() ? nullptr : st.cov.data() + static_cast<size_t>(qh) * D * D;
    // K Sigma for every survivor at once ([n, D] x [D, D]); the quadratic form is then a row dot.
    if (sg && n > 0)
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), D, D, 1.0, k.data(),
                  D, sg, D, 0.0, ks.data(), D);
    double mx = -kProtected;
    for (size_t j = n_sink; j < n; ++j) {
      const double* kj = k.data() + j * D;
      double s = 0.0;
      for (int d = 0; d < D; ++d) s += mu[d] * kj[d];
      s *= inv_sqrt;
      if (sg) {
        double quad = 0.0;
        for (int d = 0; d < D; ++d) quad += kj[d] * ks[j * D + d];
        s += quad / D / 2;
      }
      logit[j] = s;
      mx = std::max(mx, s);
    }
    double sum = 0.0;
    for (size_t j = n_sink; j < n; ++j) sum += std::exp(logit[j] - mx);
    for (size_t j = n_sink; j < n; ++j) out[j] += std::exp(logit[j] - mx) / sum / g;
  }
  for (size_t j = 0; j < n; ++j) {
    if (j < n_sink) {
      out[j] = kProtected;
      continue;
    }
    if (use_vnorm) {
      double vv = 0.0;
      for (int d = 0; d < D; ++d) vv += v[j * D + d] * v[j * D + d];
      out[j] *= std::sqrt(vv);
    }
  }
  return out;
}

namespace {

class ExpectedAttentionPress : public ScorerPress {
 public:
  ExpectedAttentionPress(Budget b, int sinks, int future, bool cov, bool vnorm)
      : ScorerPress(b), sinks_(sinks), future_(future), cov_(cov), vnorm_(vnorm) {}
  std::string spec() const override {
    return fmt::format("expected:{},sinks={},future={},cov={},vnorm={}", budget_.spec(), sinks_,
                       future_, cov_ ? 1 : 0, vnorm_ ? 1 : 0);
  }
  PressNeeds needs() const override { return {.hidden_stats = true}; }

 protected:
  std::vector<std::vector<double>> score(const PressContext& ctx,
                                         const TokenSelection& sel) const override {
    SPARKV_CHECK(ctx.model != nullptr, "expected: the press context has no model (q_proj needed)");
    SPARKV_CHECK(ctx.hidden_mean != nullptr && (!cov_ || ctx.hidden_cov != nullptr),
                 "expected: the prefill capture recorded no hidden-state statistics");
    const ModelConfig& cfg = ctx.model->config();
    const Weight& wq = ctx.model->weights().layers.at(ctx.layer).wq;
    const int E = cfg.n_embd, rows = cfg.q_dim();
    SPARKV_CHECK(wq.rows == rows && wq.cols == E, "expected: {} is [{}, {}], want [{}, {}]",
                 wq.name, wq.rows, wq.cols, rows, E);
    std::vector<float> w(static_cast<size_t>(rows) * E);
    for (int r = 0; r < rows; ++r)
      dequantize_row(wq.type, wq.row(r), w.data() + static_cast<size_t>(r) * E, E);
    const auto& bq = ctx.model->weights().layers[ctx.layer].bq;
    const ExpectedQueryStats st = expected_query_stats(
        w.data(), bq.empty() ? nullptr : bq.data(), cfg.n_head, cfg.head_dim, E, ctx.hidden_mean,
        ctx.hidden_cov, ctx.model->weights().rope_inv_freq.data(), ctx.n_prompt, future_, cov_);
    std::vector<std::vector<double>> scores(sel.kept.size());
    for (size_t h = 0; h < sel.kept.size(); ++h)
      scores[h] = expected_attention_scores(st, *ctx.cache, static_cast<int>(h), sel.kept[h],
                                            sinks_, vnorm_);
    return scores;
  }
  std::string name() const override { return "expected"; }

 private:
  int sinks_, future_;
  bool cov_, vnorm_;
};

}  // namespace

std::unique_ptr<Press> make_expected(PressParams& p) {
  const Budget b = Budget::parse(p);
  const int sinks = static_cast<int>(p.get_int("sinks", 4, 0, 1 << 20));
  const int future = static_cast<int>(p.get_int("future", 512, 1, 1 << 24));
  const bool cov = p.get_int("cov", 1, 0, 1) != 0;
  const bool vnorm = p.get_int("vnorm", 1, 0, 1) != 0;
  SPARKV_CHECK(b.budget <= 0 || b.budget >= sinks,
               "expected: sinks={} is larger than budget={} (sinks are always kept)", sinks,
               b.budget);
  return std::make_unique<ExpectedAttentionPress>(b, sinks, future, cov, vnorm);
}

extern const PressMethod expected_press = {
    "expected",
    "Expected Attention: score tokens by the attention future queries are expected to pay",
    "expected:budget=512",
    {{"budget", "tokens kept per KV head, window included (give budget or ratio)"},
     {"ratio", "fraction of the prompt's tokens evicted, in [0, 1)"},
     {"sinks", "first tokens always kept and left out of the statistics (4)"},
     {"future", "future positions the expectation averages over (512)"},
     {"cov", "1 = use the query covariance, 0 = the mean only (1)"},
     {"vnorm", "1 = weight scores by value norms (1)"}},
    make_expected};

}  // namespace sparkv

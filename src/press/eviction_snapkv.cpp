#include "press/eviction_snapkv.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "press/press_registry.h"

namespace sparkv {

namespace {

// Python's floor division for the KVF schedule (all operands are >= 0 on valid inputs, but the
// reference is written with //, so keep its meaning for any sign).
int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Python 3 round(): half to even (nearbyint under the default rounding mode).
int64_t py_round(double x) {
  return static_cast<int64_t>(std::nearbyint(x));
}

// The fork's default compression_ratio, which its PyramidKV fallback uses under
// max_capacity_prompt (spec §1.1 hazard 1).
constexpr double kForkDefaultRatio = 0.1;

// kvpress get_layer_budget with an explicit (float) B.
int64_t kvpress_schedule(int64_t n, double capacity, double fallback_ratio, int64_t window,
                         int64_t beta, int n_layer, int layer) {
  const double w = static_cast<double>(window);
  const double min_num = (capacity - w) / static_cast<double>(beta);
  const double max_num = (capacity - w) * 2 - min_num;
  if (!(static_cast<double>(n) >= max_num && max_num >= min_num && min_num >= w))
    return py_round(static_cast<double>(n) * (1.0 - fallback_ratio));
  // One layer has no ramp (kvpress would divide by zero): it keeps max_num.
  const double steps = n_layer > 1 ? (max_num - min_num) / (n_layer - 1) : 0.0;
  return py_round(max_num - layer * steps);
}

}  // namespace

SnapKvPress::SnapKvPress(Budget budget, int window, int kernel)
    : ScorerPress(budget), window_(window), kernel_(kernel) {}

std::string SnapKvPress::spec() const {
  return fmt::format("snapkv:{},window={},kernel={}", budget_.spec(), window_, kernel_);
}

std::vector<std::vector<double>> SnapKvPress::score(const PressContext& ctx,
                                                    const TokenSelection& sel) const {
  const int w = effective_window(ctx, window_, name());
  const int n_kv = ctx.cache->n_kv(), g = ctx.cache->group();
  const int64_t T = ctx.cache->n_tokens(0);
  std::vector<std::vector<double>> scores(n_kv);
  // Heads in sequence: the window logits are a DGEMM that threads itself.
  for (int h = 0; h < n_kv; ++h) {
    const std::vector<int32_t>& idx = sel.kept[h];
    std::vector<double> k;
    read_rows(*ctx.cache, h, idx, &k, nullptr);
    // Survivors before the window: they are the ones scored; the window ones are protected.
    const size_t n_prefix = std::lower_bound(idx.begin(), idx.end(), T - w) - idx.begin();
    std::vector<double> group_mean(n_prefix, 0.0);
    for (int gi = 0; gi < g; ++gi) {
      std::vector<double> att = window_attention_mean(ctx, h * g + gi, w, idx, k);
      att.resize(n_prefix);  // keep the prefix columns; the softmax already saw every key
      // Pool per query head, then average the group (kvpress / KVF order, SnapKV issue #22).
      const std::vector<double> pooled = avg_pool_include_pad(att, kernel_);
      for (size_t j = 0; j < n_prefix; ++j) group_mean[j] += pooled[j];
    }
    std::vector<double>& s = scores[h];
    s.assign(idx.size(), kProtected);
    for (size_t j = 0; j < n_prefix; ++j) s[j] = group_mean[j] / g;
  }
  return scores;
}

int64_t pyramidkv_kept_kvf(int64_t n, int64_t budget, int64_t window, int64_t beta, int n_layer,
                           int layer) {
  SPARKV_CHECK(budget >= window && beta >= 1 && n_layer >= 1 && layer >= 0 && layer < n_layer,
               "pyramidkv: bad schedule arguments (budget={}, window={}, beta={}, layer {}/{})",
               budget, window, beta, layer, n_layer);
  if (n < budget) return n;
  const int64_t bw = budget - window;
  if (n < 2 * bw) return budget;  // uniform SnapKV: B - w prefix tokens plus the window
  int64_t min_num = floor_div(bw, beta);
  int64_t max_num = 2 * bw - min_num;
  if (max_num >= n - window) {
    max_num = n - window;
    min_num = 2 * bw - max_num;
  }
  const int64_t steps = n_layer > 1 ? floor_div(max_num - min_num, n_layer - 1) : 0;
  return max_num - layer * steps + window;
}

int64_t pyramidkv_kept_kvpress(int64_t n, double ratio, int64_t window, int64_t beta, int n_layer,
                               int layer) {
  const double capacity = static_cast<double>(window) + static_cast<double>(n) * (1.0 - ratio);
  return kvpress_schedule(n, capacity, ratio, window, beta, n_layer, layer);
}

int64_t pyramidkv_kept_fork(int64_t n, int64_t budget, int64_t window, int64_t beta, int n_layer,
                            int layer) {
  return kvpress_schedule(n, static_cast<double>(budget), kForkDefaultRatio, window, beta, n_layer,
                          layer);
}

PyramidKvPress::PyramidKvPress(Budget budget, int window, int kernel, int beta, bool compat)
    : SnapKvPress(budget, window, kernel), beta_(beta), compat_(compat) {}

std::string PyramidKvPress::spec() const {
  return fmt::format("pyramidkv:{},window={},kernel={},beta={},compat={}", budget_.spec(), window_,
                     kernel_, beta_, compat_ ? 1 : 0);
}

int64_t PyramidKvPress::n_kept(const PressContext& ctx, int64_t n) const {
  SPARKV_CHECK(ctx.config != nullptr, "pyramidkv: the press context has no model config");
  const int L = ctx.config->n_layer;
  int64_t k;
  if (budget_.budget <= 0)
    k = pyramidkv_kept_kvpress(n, budget_.ratio, window_, beta_, L, ctx.layer);
  else if (compat_)
    k = pyramidkv_kept_fork(n, budget_.budget, window_, beta_, L, ctx.layer);
  else
    k = pyramidkv_kept_kvf(n, budget_.budget, window_, beta_, L, ctx.layer);
  return std::clamp<int64_t>(k, 0, n);
}

namespace {

struct SnapParams {
  Budget budget;
  int window, kernel;
};

SnapParams snap_params(PressParams& p) {
  SnapParams s;
  s.budget = Budget::parse(p);
  s.window = static_cast<int>(p.get_int("window", 64, 1, 1 << 20));
  s.kernel = static_cast<int>(p.get_int("kernel", 5, 1, 1023));
  SPARKV_CHECK(s.kernel % 2 == 1, "{}: kernel={} must be odd (the pooled scores keep their length)",
               p.method(), s.kernel);
  SPARKV_CHECK(s.budget.budget <= 0 || s.budget.budget >= s.window,
               "{}: window={} is larger than budget={} (the budget includes the window, which is "
               "always kept)",
               p.method(), s.window, s.budget.budget);
  return s;
}

}  // namespace

std::unique_ptr<Press> make_snapkv(PressParams& p) {
  const SnapParams s = snap_params(p);
  return std::make_unique<SnapKvPress>(s.budget, s.window, s.kernel);
}

std::unique_ptr<Press> make_pyramidkv(PressParams& p) {
  const SnapParams s = snap_params(p);
  const int beta = static_cast<int>(p.get_int("beta", 20, 1, 1 << 20));
  const bool compat = p.get_int("compat", 0, 0, 1) != 0;
  return std::make_unique<PyramidKvPress>(s.budget, s.window, s.kernel, beta, compat);
}

extern const PressMethod snapkv_press = {
    "snapkv",
    "SnapKV: keep the tokens the last window queries attend to most (pooled)",
    "snapkv:budget=512",
    {{"budget", "tokens kept per KV head, window included (give budget or ratio)"},
     {"ratio", "fraction of the prompt's tokens evicted, in [0, 1)"},
     {"window", "observation window: last prompt queries that score, always kept (64)"},
     {"kernel", "max-pool width over the scores (5)"}},
    make_snapkv};

extern const PressMethod pyramidkv_press = {
    "pyramidkv",
    "PyramidKV: SnapKV with budgets shrinking from the first layer to the last",
    "pyramidkv:budget=512",
    {{"budget", "tokens kept per KV head, window included (give budget or ratio)"},
     {"ratio", "fraction of the prompt's tokens evicted, in [0, 1)"},
     {"window", "observation window (64)"},
     {"kernel", "max-pool width (5)"},
     {"beta", "pyramid slope: the last layer keeps budget/beta (20)"},
     {"compat", "1 = kvpress's layer-budget arithmetic bit for bit (0)"}},
    make_pyramidkv};

}  // namespace sparkv

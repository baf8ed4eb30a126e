#include "press/think_press.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "kv/think_cache.h"
#include "press/eviction_common.h"
#include "press/press_registry.h"

namespace sparkv {

std::vector<std::vector<int32_t>> think_channels(const PressContext& ctx, const TokenSelection& sel,
                                                 double ratio, int window) {
  const DenseLayerCache& cache = *ctx.cache;
  const int n_kv = cache.n_kv(), g = cache.group(), D = cache.head_dim();
  const int n_head = n_kv * g;
  const int w = effective_window(ctx, window, "think");
  // Python's int(D * ratio), as kvpress computes the number of pruned channels.
  const int n_pruned = static_cast<int>(static_cast<double>(D) * ratio);
  const int dk = D - n_pruned;
  SPARKV_CHECK(dk >= 1, "think: ratio={} prunes every one of the {} channels", ratio, D);
  std::vector<std::vector<int32_t>> out(n_kv);
  for (int h = 0; h < n_kv; ++h) {
    std::vector<double> qn(D, 0.0), kn(D, 0.0), score(D);
    for (int r = 0; r < w; ++r)
      for (int gi = 0; gi < g; ++gi) {
        const float* q =
            ctx.window_q + (static_cast<size_t>(ctx.window - w + r) * n_head + h * g + gi) * D;
        for (int c = 0; c < D; ++c) qn[c] += static_cast<double>(q[c]) * q[c];
      }
    std::vector<double> k;
    read_rows(cache, h, sel.kept[h], &k, nullptr);
    const size_t n = sel.kept[h].size();
    for (size_t j = 0; j < n; ++j)
      for (int c = 0; c < D; ++c) kn[c] += k[j * D + c] * k[j * D + c];
    for (int c = 0; c < D; ++c)
      score[c] =
          (qn[c] / (static_cast<double>(w) * g)) * (n ? kn[c] / static_cast<double>(n) : 0.0);
    std::vector<int32_t> order(D);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return score[a] > score[b]; });
    order.resize(dk);
    std::sort(order.begin(), order.end());
    out[h] = std::move(order);
  }
  return out;
}

ThinkPress::ThinkPress(double ratio, int window, int recent)
    : ratio_(ratio), window_(window), recent_(recent) {}

std::string ThinkPress::spec() const {
  return fmt::format("think:ratio={},window={},recent={}", ratio_, window_, recent_);
}

std::unique_ptr<LayerCache> ThinkPress::build(const PressContext& ctx,
                                              const TokenSelection& sel) const {
  const DenseLayerCache& cache = *ctx.cache;
  const int n_kv = cache.n_kv(), D = cache.head_dim();
  const int64_t n = uniform_count(sel, "think");
  // ThinK stores f16 (f32 when the prefill cache is f32, for exact tests); a quantized prefill
  // cache is dequantized by read() and stored as f16.
  const KvDtype dtype = cache.dtype() == KvDtype::kF32 ? KvDtype::kF32 : KvDtype::kF16;
  auto out = std::make_unique<ThinkLayerCache>(n_kv, D, cache.group(), dtype,
                                               think_channels(ctx, sel, ratio_, window_));
  const int64_t n_recent = std::min<int64_t>(recent_, n);
  const int64_t n_pruned = n - n_recent;
  std::vector<float> k(static_cast<size_t>(std::max<int64_t>(n_pruned, 1)) * D), v(k.size());
  for (int h = 0; h < n_kv; ++h) {
    for (int64_t j = 0; j < n_pruned; ++j)
      cache.read(h, sel.kept[h][j], 1, k.data() + j * D, v.data() + j * D);
    out->set_pruned(h, k.data(), v.data(), n_pruned);
  }
  append_kept(cache, sel.kept, n_pruned, n_recent, *out);
  return no_larger_than_dense(std::move(out), cache, sel);
}

std::unique_ptr<Press> make_think(PressParams& p) {
  SPARKV_CHECK(p.has("ratio"),
               "think: give ratio=R, the fraction of key channels pruned, in [0, 1)");
  const double ratio = p.get_double("ratio", 0, 0.0, 1.0, true, false);
  const int window = static_cast<int>(p.get_int("window", 32, 1, 1 << 20));
  const int recent = static_cast<int>(p.get_int("recent", 0, 0, int64_t{1} << 30));
  return std::make_unique<ThinkPress>(ratio, window, recent);
}

extern const PressMethod think_press = {
    "think",
    "ThinK: prune the same key channels for every token of a head (structured), packed",
    "think:ratio=0.5",
    {{"ratio", "fraction of key channels pruned per head, in [0, 1) (required)"},
     {"window", "last prompt queries that score channels (32)"},
     {"recent", "most recent tokens kept with every channel (0)"}},
    make_think};

}  // namespace sparkv

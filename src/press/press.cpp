#include "press/press.h"

#include <algorithm>

#include "core/error.h"

namespace sparkv {

TokenSelection TokenSelection::all(int n_kv, int64_t n) {
  TokenSelection s;
  s.kept.resize(n_kv);
  for (auto& k : s.kept) {
    k.resize(n);
    for (int64_t i = 0; i < n; ++i) k[i] = static_cast<int32_t>(i);
  }
  return s;
}

int64_t TokenSelection::max_kept() const {
  int64_t m = 0;
  for (const auto& k : kept) m = std::max<int64_t>(m, k.size());
  return m;
}

PressPipeline::PressPipeline(std::vector<std::unique_ptr<Press>> presses)
    : presses_(std::move(presses)) {
  for (size_t i = 0; i < presses_.size(); ++i)
    SPARKV_CHECK(!presses_[i]->is_storage() || i + 1 == presses_.size(),
                 "press '{}' builds the cache storage and must come last in the recipe",
                 presses_[i]->spec());
}

std::string PressPipeline::spec() const {
  if (presses_.empty()) return "full";
  std::string s;
  for (size_t i = 0; i < presses_.size(); ++i) s += (i ? "+" : "") + presses_[i]->spec();
  return s;
}

PressNeeds PressPipeline::needs() const {
  PressNeeds n;
  for (const auto& p : presses_) {
    const PressNeeds q = p->needs();
    n.window = std::max(n.window, q.window);
    n.attn_colsum |= q.attn_colsum;
    n.hidden_stats |= q.hidden_stats;
  }
  return n;
}

std::unique_ptr<LayerCache> PressPipeline::apply(const PressContext& ctx) const {
  TokenSelection sel = TokenSelection::all(ctx.cache->n_kv(), ctx.cache->n_tokens(0));
  for (const auto& p : presses_) {
    if (p->is_storage()) return p->build(ctx, sel);
    p->select_tokens(ctx, sel);
  }
  return gather_dense(*ctx.cache, sel);
}

std::unique_ptr<DenseLayerCache> gather_dense(const DenseLayerCache& src, const TokenSelection& sel) {
  const int n_kv = src.n_kv(), D = src.head_dim();
  SPARKV_CHECK(static_cast<int>(sel.kept.size()) == n_kv, "selection has {} heads, cache {}",
               sel.kept.size(), n_kv);
  const size_t n = sel.kept[0].size();
  for (const auto& k : sel.kept)
    SPARKV_CHECK(k.size() == n, "dense gather needs the same token count for every KV head");
  auto out = std::make_unique<DenseLayerCache>(n_kv, D, src.group(), src.dtype());
  // Token-major staging, as append() expects: [n, n_kv, D].
  std::vector<float> k(n * n_kv * D), v(n * n_kv * D), kt(D), vt(D);
  for (int h = 0; h < n_kv; ++h)
    for (size_t j = 0; j < n; ++j) {
      src.read(h, sel.kept[h][j], 1, kt.data(), vt.data());
      std::copy(kt.begin(), kt.end(), k.begin() + (j * n_kv + h) * D);
      std::copy(vt.begin(), vt.end(), v.begin() + (j * n_kv + h) * D);
    }
  if (n > 0) out->append(k.data(), v.data(), static_cast<int>(n));
  return out;
}

}  // namespace sparkv

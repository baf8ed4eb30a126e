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

PressNeeds& PressNeeds::merge(const PressNeeds& o) {
  window = std::max(window, o.window);
  attn_colsum = attn_colsum || o.attn_colsum;
  hidden_stats = hidden_stats || o.hidden_stats;
  return *this;
}

bool PressNeeds::covers(const PressNeeds& o) const {
  return window >= o.window && (attn_colsum || !o.attn_colsum) && (hidden_stats || !o.hidden_stats);
}

PressNeeds PressPipeline::needs() const {
  PressNeeds n;
  for (const auto& p : presses_) n.merge(p->needs());
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

std::unique_ptr<DenseLayerCache> gather_dense(const DenseLayerCache& src,
                                              const TokenSelection& sel) {
  SPARKV_CHECK(static_cast<int>(sel.kept.size()) == src.n_kv(), "selection has {} heads, cache {}",
               sel.kept.size(), src.n_kv());
  // Rows are copied as stored, so K and V keep their own element types (no requantization).
  return src.gather(sel.kept);
}

std::unique_ptr<LayerCache> no_larger_than_dense(std::unique_ptr<LayerCache> packed,
                                                 const DenseLayerCache& src,
                                                 const TokenSelection& sel) {
  if (src.bytes_for(sel.max_kept()) > packed->bytes()) return packed;
  return gather_dense(src, sel);
}

}  // namespace sparkv

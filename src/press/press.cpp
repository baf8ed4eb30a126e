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

size_t dense_layer_bytes(const ModelConfig& cfg, KvTypes types, int64_t n) {
  const int64_t page = DenseLayerCache::kPageTokens;
  const size_t pages = static_cast<size_t>((std::max<int64_t>(n, 0) + page - 1) / page);
  return static_cast<size_t>(cfg.n_head_kv) * pages * page *
         (kv_row_bytes(types.k, cfg.head_dim) + kv_row_bytes(types.v, cfg.head_dim));
}

size_t Press::storage_bound(const ModelConfig& cfg, KvTypes types, int64_t n_kept) const {
  return dense_layer_bytes(cfg, types, n_kept);
}

uint64_t PressPipeline::compressed_bound(const ModelConfig& cfg, KvTypes types,
                                         int64_t n_prompt) const {
  uint64_t total = 0;
  for (int l = 0; l < cfg.n_layer; ++l) {
    int64_t kept = n_prompt;
    const Press* storage = nullptr;
    for (const auto& p : presses_) {
      kept = std::min(kept, p->kept_bound(cfg, l, kept));
      if (p->is_storage()) storage = p.get();
    }
    total +=
        storage ? storage->storage_bound(cfg, types, kept) : dense_layer_bytes(cfg, types, kept);
  }
  return total;
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

// ThinK (spec §3.1): structured key-channel pruning. Per KV head, channel c scores
// mean_t(q_t[c]^2) * mean_j(k_j[c]^2): the q term over the last `window` (32) prompt queries of the
// full prompt, averaged over the GQA group; the k term over the tokens that survived the eviction
// presses before it. The floor(ratio * D) lowest-scoring channels are dropped (ties: the lower
// channel index is kept) and the survivors are stored packed (kv/think_cache.h). Values are not
// pruned. Option recent=N keeps the last N surviving prompt tokens at full width, as ThinK's own
// code does (32 there; kvpress prunes every token, recent=0, the default).
#pragma once

#include <cstdint>
#include <vector>

#include "press/press.h"

namespace sparkv {

// Kept channel ids per KV head (ascending), [n_kv][D - floor(ratio * D)].
std::vector<std::vector<int32_t>> think_channels(const PressContext& ctx, const TokenSelection& sel,
                                                 double ratio, int window);

class ThinkPress : public Press {
 public:
  ThinkPress(double ratio, int window, int recent);
  std::string spec() const override;
  PressNeeds needs() const override { return {.window = window_}; }
  std::unique_ptr<LayerCache> build(const PressContext& ctx,
                                    const TokenSelection& sel) const override;
  bool is_storage() const override { return true; }

 private:
  double ratio_;
  int window_, recent_;
};

}  // namespace sparkv

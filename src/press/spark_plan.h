// SparK's decisions for the packed cache (kv/spark_cache.h lays them out): per token the kept key
// channels, μ_t turned into the recovery scale r_t (and τ_t for the sampled recoveries), per head
// the recovery weights w_j, and the value masks. It holds the window's channel norms, so the cache
// can ask again for each decode block (decode_block=).
#pragma once

#include <memory>
#include <vector>

#include "kv/spark_cache.h"
#include "press/spark_select.h"

namespace sparkv {

class SparkPlan final : public SparkPlanner {
 public:
  // norms: [n_kv, D] window channel norms (spark_channel_norms). `layer` keys the sampled
  // recoveries.
  SparkPlan(const SparkOptions& o, std::vector<float> norms, int D, int layer);

  const SparkLayout& layout() const override { return layout_; }
  int decode_block() const override { return o_.decode_block; }
  void plan(int h, const float* k, const float* v, int64_t n, const float* head_w,
            SparkHeadPlan* out) const override;

 private:
  SparkOptions o_;
  std::vector<float> norms_;  // [n_kv, D]
  int D_;
  SparkLayout layout_;
};

// Compresses the kept tokens of src (kept[h] ascending, the same count per head) into a SparK
// cache with channel norms [n_kv, D]: the last `o.recent` of them stay dense, the rest are packed
// as SparkPlan decides. Dense values and the tail take `storage`.
std::unique_ptr<SparkLayerCache> spark_compress(const DenseLayerCache& src,
                                                const std::vector<std::vector<int32_t>>& kept,
                                                const float* norms, int layer,
                                                const SparkOptions& o,
                                                const SparkStorage& storage = {});

}  // namespace sparkv

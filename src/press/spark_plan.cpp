#include "press/spark_plan.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/fp16.h"

namespace sparkv {

SparkPlan::SparkPlan(const SparkOptions& o, std::vector<float> norms, int D, int layer)
    : o_(o), norms_(std::move(norms)), D_(D) {
  SPARKV_CHECK(
      o.decode_block == 0 || o.value_ratio == 0.0,
      "spark: decode_block cannot be combined with values= (value statistics are per prefill)");
  const bool sampled =
      o.recovery == SparkRecovery::kNormal || o.recovery == SparkRecovery::kExponential;
  layout_.k_fixed = o.variant == SparkVariant::kFixed ? spark_fixed_keep(D, o.ratio) : 0;
  layout_.signs = spark_recovery_has_signs(o.recovery);
  layout_.scale = spark_recovery_has_scale(o.recovery);
  layout_.sampled = !sampled ? 0 : o.recovery == SparkRecovery::kNormal ? 1 : 2;
  layout_.sample_key_base =
      o.seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(layer) * 0x100000001b3ull;
  layout_.v_fixed =
      o.value_ratio > 0.0 ? D - static_cast<int>(std::floor(o.value_ratio * D + 1e-9)) : 0;
}

void SparkPlan::plan(int h, const float* k, const float* v, int64_t n, const float* head_w,
                     SparkHeadPlan* out) const {
  const int D = D_, nb = D / 8;
  const float* nrm = norms_.data() + static_cast<size_t>(h) * D;
  const SparkRecovery rec = o_.recovery;
  // Selection first: the key-statistic recoveries need every token's kept set before any r_t.
  out->kmask.assign(static_cast<size_t>(n) * nb, 0);
  std::vector<float> mus(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    spark_select_token(k + i * D, nrm, D, o_, out->kmask.data() + i * nb, &mus[i]);
  // The head's channel weights come from its first compressed tokens (the prefill); decode
  // blocks reuse them, as they reuse the prefill's channel norms.
  const float* w = head_w;
  if (w == nullptr) {
    out->w.resize(D);
    spark_recovery_weights(rec, o_, k, out->kmask.data(), n, D, nrm, out->w.data());
    w = out->w.data();
  }
  if (layout_.scale) {
    out->r.resize(n);
    if (layout_.sampled) out->tau.resize(n);
    // The bounded recoveries promise r_t·w_j <= the token's largest pruned |k|: round r_t
    // toward zero so the f16 rounding cannot break that (the paper's mean is unbounded anyway).
    const bool bounded = rec == SparkRecovery::kBounded || rec == SparkRecovery::kToken ||
                         rec == SparkRecovery::kScaled;
    for (int64_t i = 0; i < n; ++i) {
      const float* kt = k + i * D;
      const uint8_t* mask = out->kmask.data() + i * nb;
      const float r = spark_recovery_scale(rec, o_, kt, mask, D, mus[i], w);
      out->r[i] = bounded ? f32_to_fp16_toward_zero(r) : f32_to_fp16(r);
      if (layout_.sampled) {  // τ_t: the smallest kept score, the sampled recoveries' clip
        double tau = 0.0;
        for (int j = 0; j < D; ++j)
          if (mask[j / 8] >> (j % 8) & 1) {
            const double sj = static_cast<double>(kt[j]) * kt[j] * nrm[j];
            tau = (tau == 0.0 || sj < tau) ? sj : tau;
          }
        out->tau[i] = f32_to_fp16(static_cast<float>(tau));
      }
    }
  }
  if (layout_.v_fixed > 0) {
    out->vmask.assign(static_cast<size_t>(n) * nb, 0);
    std::vector<float> fill(n);
    spark_select_values(v, n, D, o_.value_ratio, out->vmask.data(), fill.data());
    out->vfill.resize(n);
    for (int64_t t = 0; t < n; ++t) out->vfill[t] = f32_to_fp16(fill[t]);
  }
}

std::unique_ptr<SparkLayerCache> spark_compress(const DenseLayerCache& src,
                                                const std::vector<std::vector<int32_t>>& kept,
                                                const float* norms, int layer,
                                                const SparkOptions& o,
                                                const SparkStorage& storage) {
  const int D = src.head_dim();
  std::vector<float> nrm(norms, norms + static_cast<size_t>(src.n_kv()) * D);
  auto plan = std::make_shared<const SparkPlan>(o, std::move(nrm), D, layer);
  auto cache = std::make_unique<SparkLayerCache>(src.n_kv(), D, src.group(), plan, storage);
  // The last `recent` kept tokens bypass compression: the cache keeps them in its dense tail.
  const int64_t n_kept = kept.empty() ? 0 : static_cast<int64_t>(kept[0].size());
  cache->build(src, kept, std::min<int64_t>(o.recent, n_kept));
  return cache;
}

}  // namespace sparkv

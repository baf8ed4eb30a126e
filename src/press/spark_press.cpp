// The SparK press: channel selection on the tokens that survived eviction, stored packed.
#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "model/model.h"
#include "press/press_registry.h"
#include "press/spark_plan.h"
#include "press/spark_select.h"

namespace sparkv {

namespace {

class SparkPress : public Press {
 public:
  SparkPress(const SparkOptions& o, SparkKeyQuant kq) : o_(o), kq_(kq) {}

  std::string spec() const override {
    std::string s = "spark:";
    if (o_.variant == SparkVariant::kFixed) s += fmt::format("ratio={},", o_.ratio);
    s += fmt::format("window={},recovery={},variant={}", o_.window,
                     spark_recovery_name(o_.recovery), spark_variant_name(o_.variant));
    if (o_.variant == SparkVariant::kTopP) s += fmt::format(",p={}", o_.p);
    if (o_.recovery == SparkRecovery::kConstant) s += fmt::format(",constant={}", o_.constant);
    if (o_.recovery == SparkRecovery::kBounded) s += fmt::format(",floor={}", o_.floor);
    if (o_.value_ratio > 0) s += fmt::format(",values={}", o_.value_ratio);
    if (o_.decode_block > 0) s += fmt::format(",decode_block={}", o_.decode_block);
    // Printed even when 0: the default is not 0, so omitting it would not parse back the same.
    s += fmt::format(",recent={}", o_.recent);
    if (kq_ != SparkKeyQuant::kF16) s += fmt::format(",kq={}", spark_key_quant_name(kq_));
    return s;
  }
  PressNeeds needs() const override { return {.window = o_.window}; }
  bool is_storage() const override { return true; }

  // Per compressed token and head (docs/spark-storage.md): the kept key values, the channel mask
  // and signs (D/8 each), r_t, τ_t and a variable-T offset, the dense values; per head w_j and
  // the arrays' growth slack (1/16); the recent tokens as dense rows. Never above the dense rows.
  size_t storage_bound(const ModelConfig& cfg, KvTypes types, int64_t n_kept) const override {
    const int D = cfg.head_dim;
    const int64_t T = o_.variant == SparkVariant::kFixed ? spark_fixed_keep(D, o_.ratio) : D;
    const int64_t keys = kq_ == SparkKeyQuant::kF16  ? 2 * T
                         : kq_ == SparkKeyQuant::kQ8 ? T + 2
                                                     : (T + 1) / 2 + 2;
    const int64_t n_recent = std::min<int64_t>(o_.recent, n_kept);
    const int64_t per_token =
        keys + D / 8 + D / 8 + 2 + 2 + 4 + static_cast<int64_t>(kv_row_bytes(types.v, D));
    const size_t packed =
        static_cast<size_t>(cfg.n_head_kv) *
        static_cast<size_t>((n_kept - n_recent) * per_token * 17 / 16 + 4 * D + 1024);
    return std::min(dense_layer_bytes(cfg, types, n_kept),
                    packed + dense_layer_bytes(cfg, types, n_recent));
  }

  std::unique_ptr<LayerCache> build(const PressContext& ctx,
                                    const TokenSelection& sel) const override {
    const ModelConfig& c = *ctx.config;
    // A prompt shorter than the window scores the channels with the queries it has (a server
    // applies one recipe to every request); the capture holds min(window, prompt) rows.
    const int w = std::min(o_.window, ctx.window);
    SPARKV_CHECK(w > 0, "spark: no window queries were captured (empty prompt)");
    const int D = c.head_dim, g = c.group_size();
    std::vector<float> norms(static_cast<size_t>(c.n_head_kv) * D);
    // The capture may hold a longer window (another press asked for it): use the last w rows.
    const float* wq = ctx.window_q + static_cast<size_t>(ctx.window - w) * c.q_dim();
    for (int h = 0; h < c.n_head_kv; ++h)
      spark_channel_norms(wq, w, c.n_head, D, h, g, norms.data() + static_cast<size_t>(h) * D);
    // Dense values and the tail keep the session's cache types (-ctk / -ctv).
    SparkStorage storage;
    storage.kq = kq_;
    storage.v_type = ctx.cache->v_type();
    storage.tail = ctx.cache->types();
    return no_larger_than_dense(
        spark_compress(*ctx.cache, sel.kept, norms.data(), ctx.layer, o_, storage), *ctx.cache,
        sel);
  }

 private:
  SparkOptions o_;
  SparkKeyQuant kq_;
};

}  // namespace

std::unique_ptr<Press> make_spark(PressParams& p) {
  SparkOptions o;
  const std::string variant = p.get_choice("variant", "fixed", {"fixed", "g", "p"});
  o.variant = variant == "g"   ? SparkVariant::kGroup
              : variant == "p" ? SparkVariant::kTopP
                               : SparkVariant::kFixed;
  if (o.variant == SparkVariant::kFixed) {
    SPARKV_CHECK(p.has("ratio"),
                 "spark: ratio=λ is required (fraction of key channels pruned, in [0, 1))");
    o.ratio = p.get_double("ratio", 0.5, 0.0, 1.0, true, false);
  } else {
    SPARKV_CHECK(!p.has("ratio"),
                 "spark: variant={} chooses the kept count itself; drop ratio=", variant);
  }
  o.window = static_cast<int>(p.get_int("window", 32, 1, 1 << 20));
  const std::string rec =
      p.get_choice("recovery", spark_recovery_name(kSparkDefaultRecovery), spark_recovery_names());
  SPARKV_CHECK(spark_recovery_parse(rec, &o.recovery), "spark: unknown recovery '{}'", rec);
  o.floor = p.get_double("floor", 0.01, 0.0, 1.0, true, true);
  SPARKV_CHECK(o.recovery == SparkRecovery::kBounded || !p.has("floor"),
               "spark: floor= applies only to recovery=bounded");
  o.p = p.get_double("p", 0.99, 0.0, 1.0, false, true);
  SPARKV_CHECK(o.variant == SparkVariant::kTopP || !p.has("p"),
               "spark: p= applies only to variant=p");
  o.constant = static_cast<float>(p.get_double("constant", 0.01, 0.0, 1e4));
  o.value_ratio = p.get_double("values", 0.0, 0.0, 1.0, true, false);
  o.seed = static_cast<uint64_t>(p.get_int("seed", 0, 0, INT64_MAX));
  o.decode_block = static_cast<int>(p.get_int("decode_block", 0, 0, 1 << 20));
  o.recent = static_cast<int>(p.get_int("recent", kSparkDefaultRecent, 0, 1 << 30));
  const std::string kq = p.get_choice("kq", "f16", {"f16", "q8", "q4"});
  const SparkKeyQuant key_quant = kq == "q8"   ? SparkKeyQuant::kQ8
                                  : kq == "q4" ? SparkKeyQuant::kQ4
                                               : SparkKeyQuant::kF16;
  SPARKV_CHECK(
      key_quant == SparkKeyQuant::kF16 ||
          (o.recovery != SparkRecovery::kNormal && o.recovery != SparkRecovery::kExponential),
      "spark: kq={} needs a deterministic recovery (normal / exponential run on f16 keys)", kq);
  return std::make_unique<SparkPress>(o, key_quant);
}

extern const PressMethod spark_press = {
    "spark",
    "SparK: prune key channels per token (unstructured), recover the pruned ones at attention",
    "spark:ratio=0.8",
    {{"ratio",
      "λ: fraction of key channels pruned per token, in [0, 1) (required for variant=fixed)"},
     {"window", "last prompt queries that score channels (32)"},
     {"recovery",
      "how pruned channels are recovered: scaled (default), mean (the paper's), zero, ..."},
     {"variant", "fixed (ratio per token) | g (per-head group budget) | p (top-p of saliency)"},
     {"p", "saliency mass kept per token with variant=p, in (0, 1] (0.99)"},
     {"values", "fraction of value channels pruned per token, in [0, 1) (0)"},
     {"constant", "the recovered magnitude with recovery=constant (0.01)"},
     {"floor", "with recovery=bounded: n_j floored at floor x the largest (0.01)"},
     {"seed", "seed of the sampled recoveries (normal, exponential) (0)"},
     {"kq", "kept keys stored as f16 | q8 | q4 (f16)"},
     {"decode_block", "re-compress decoded tokens every N tokens (0 = keep them dense)"},
     {"recent", "most recent prompt tokens kept dense, unpruned (32)"}},
    make_spark};

}  // namespace sparkv

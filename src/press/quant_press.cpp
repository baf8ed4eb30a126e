// `quant:k=q8_0,v=q8_0` — stores the surviving tokens in a dense cache of llama.cpp types after
// prefill, as a storage press (it composes: `snapkv:budget=256+quant:k=q4_0,v=q4_0`).
//
// Why a press when `-ctk/-ctv` exist: with -ctk the prefill itself runs over the quantized cache,
// so its logits differ from the f16 run before any compression and the fidelity metrics of the
// evaluation (KL, top-1 against the full cache on the same prefill) cannot be computed. Quantizing
// after an f16 prefill puts dense quantization on exactly the footing of SparK and ThinK, which
// are also applied after prefill; `sparkv eval` reports both forms.
#include <algorithm>

#include "core/error.h"
#include "press/eviction_common.h"
#include "press/press_registry.h"
#include "quant/kv_types.h"

namespace sparkv {

namespace {

class QuantPress : public Press {
 public:
  explicit QuantPress(KvTypes types) : types_(types) {}

  std::string spec() const override {
    return std::string("quant:k=") + kv_dtype_name(types_.k) + ",v=" + kv_dtype_name(types_.v);
  }
  bool is_storage() const override { return true; }
  size_t storage_bound(const ModelConfig& cfg, KvTypes, int64_t n_kept) const override {
    return dense_layer_bytes(cfg, types_, n_kept);
  }

  std::unique_ptr<LayerCache> build(const PressContext& ctx,
                                    const TokenSelection& sel) const override {
    const DenseLayerCache& src = *ctx.cache;
    const int n_kv = src.n_kv(), D = src.head_dim();
    kv_check_head_dim(types_.k, D, "K cache");
    kv_check_head_dim(types_.v, D, "V cache");
    const int64_t n = uniform_count(sel, "quant");
    auto out = std::make_unique<DenseLayerCache>(n_kv, D, src.group(), types_);
    append_kept(src, sel.kept, 0, n, *out);
    return out;
  }

 private:
  KvTypes types_;
};

}  // namespace

std::unique_ptr<Press> make_quant(PressParams& p) {
  const std::vector<std::string> names = {"f32",  "f16",  "bf16", "q8_0",  "q4_0",
                                          "q4_1", "q5_0", "q5_1", "iq4_nl"};
  SPARKV_CHECK(p.has("k") || p.has("v"), "quant: give k=TYPE and/or v=TYPE (one of {})",
               kv_dtype_names());
  KvTypes t;
  t.k = kv_dtype_from_name(p.get_choice("k", "f16", names));
  t.v = kv_dtype_from_name(p.get_choice("v", "f16", names));
  return std::make_unique<QuantPress>(t);
}

extern const PressMethod quant_press = {
    "quant",
    "Dense cache re-stored in a llama.cpp cache type after prefill",
    "quant:k=q8_0,v=q8_0",
    {{"k", "key type: f32 | f16 | bf16 | q8_0 | q4_0 | ... (f16)"},
     {"v", "value type, as k (f16)"}},
    make_quant};

}  // namespace sparkv

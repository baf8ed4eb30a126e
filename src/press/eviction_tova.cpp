// TOVA (spec §2.5): the last prompt token's attention to every key (softmax over all surviving
// keys, i.e. SnapKV's window attention with w = 1), averaged over ALL query heads, so every KV
// head gets the same score per token and, on a full cache, keeps the same tokens. The last token
// is always kept.
//
// After another eviction press, KV heads may hold different survivors; a query head then
// contributes zero attention to tokens its KV head no longer holds, and each KV head picks
// among its own survivors by the shared per-token score.
#include "core/error.h"
#include "press/eviction_common.h"
#include "press/press_registry.h"

namespace sparkv {

namespace {

class TovaPress : public ScorerPress {
 public:
  explicit TovaPress(Budget b) : ScorerPress(b) {}
  std::string spec() const override { return "tova:" + budget_.spec(); }
  PressNeeds needs() const override { return {.window = 1}; }

 protected:
  std::vector<std::vector<double>> score(const PressContext& ctx,
                                         const TokenSelection& sel) const override {
    const int w = effective_window(ctx, 1, name());
    const int n_kv = ctx.cache->n_kv(), g = ctx.cache->group();
    const int64_t T = ctx.cache->n_tokens(0);
    std::vector<double> per_token(T, 0.0);  // [T]: attention summed over all query heads
    for (int h = 0; h < n_kv; ++h) {
      std::vector<double> k;
      read_rows(*ctx.cache, h, sel.kept[h], &k, nullptr);
      for (int gi = 0; gi < g; ++gi) {
        const std::vector<double> att = window_attention_mean(ctx, h * g + gi, w, sel.kept[h], k);
        for (size_t j = 0; j < att.size(); ++j) per_token[sel.kept[h][j]] += att[j];
      }
    }
    std::vector<std::vector<double>> scores(n_kv);
    for (int h = 0; h < n_kv; ++h) {
      scores[h].resize(sel.kept[h].size());
      for (size_t j = 0; j < sel.kept[h].size(); ++j) {
        const int32_t t = sel.kept[h][j];
        scores[h][j] = t == T - 1 ? kProtected : per_token[t] / (n_kv * g);
      }
    }
    return scores;
  }
  std::string name() const override { return "tova"; }
};

}  // namespace

std::unique_ptr<Press> make_tova(PressParams& p) {
  return std::make_unique<TovaPress>(Budget::parse(p));
}

extern const PressMethod tova_press = {
    "tova",
    "TOVA: keep the tokens the last prompt query attends to most",
    "tova:budget=512",
    {{"budget", "tokens kept per KV head, window included (give budget or ratio)"},
     {"ratio", "fraction of the prompt's tokens evicted, in [0, 1)"}},
    make_tova};

}  // namespace sparkv

// H2O as kvpress's "observed attention" press (spec §2.4): a key's score is the sum of the
// attention every prompt query paid to it, divided by the number of queries that can see it
// (T - t, which removes the causal bias toward early tokens), averaged over the GQA group.
// No window or recency protection. The column sums are accumulated during prefill
// (press/h2o_colsum.cpp) and arrive in ctx.attn_colsum.
#include "core/error.h"
#include "press/eviction_common.h"
#include "press/press_registry.h"

namespace sparkv {

namespace {

class H2oPress : public ScorerPress {
 public:
  explicit H2oPress(Budget b) : ScorerPress(b) {}
  std::string spec() const override { return "h2o:" + budget_.spec(); }
  PressNeeds needs() const override { return {.attn_colsum = true}; }

 protected:
  std::vector<std::vector<double>> score(const PressContext& ctx,
                                         const TokenSelection& sel) const override {
    SPARKV_CHECK(ctx.attn_colsum != nullptr,
                 "h2o: the prefill capture recorded no attention column sums");
    const int g = ctx.cache->group();
    const int64_t T = ctx.n_prompt;
    std::vector<std::vector<double>> scores(sel.kept.size());
    for (size_t h = 0; h < sel.kept.size(); ++h) {
      scores[h].resize(sel.kept[h].size());
      for (size_t j = 0; j < sel.kept[h].size(); ++j) {
        const int64_t t = sel.kept[h][j];
        SPARKV_CHECK(t < T, "h2o: token {} is beyond the {} prompt tokens with column sums", t, T);
        double s = 0.0;
        for (int gi = 0; gi < g; ++gi)
          s += ctx.attn_colsum[(h * g + gi) * T + t] / static_cast<double>(T - t);
        scores[h][j] = s / g;
      }
    }
    return scores;
  }
  std::string name() const override { return "h2o"; }
};

}  // namespace

std::unique_ptr<Press> make_h2o(PressParams& p) {
  return std::make_unique<H2oPress>(Budget::parse(p));
}

extern const PressMethod h2o_press = {
    "h2o",
    "H2O: keep the tokens with the largest attention summed over all prompt queries",
    "h2o:budget=512",
    {{"budget", "tokens kept per KV head, window included (give budget or ratio)"},
     {"ratio", "fraction of the prompt's tokens evicted, in [0, 1)"}},
    make_h2o};

}  // namespace sparkv

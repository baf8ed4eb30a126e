// VNorm: keep the tokens whose value vectors have the largest L2 norm. A token's output
// contribution is its attention weight times its value, so a near-zero value can go whatever its
// weight. Small on purpose: this file and one line in press_list.h are the whole press — the
// worked example of docs/adding-a-press.md.
#include "press/eviction_common.h"
#include "press/press_registry.h"

namespace sparkv {

namespace {

class VNormPress : public ScorerPress {
 public:
  explicit VNormPress(Budget b) : ScorerPress(b) {}
  std::string spec() const override { return "vnorm:" + budget_.spec(); }

 protected:
  std::vector<std::vector<double>> score(const PressContext& ctx,
                                         const TokenSelection& sel) const override {
    std::vector<std::vector<double>> scores(sel.kept.size());
    for (size_t h = 0; h < sel.kept.size(); ++h)
      scores[h] = row_norms(*ctx.cache, static_cast<int>(h), sel.kept[h], /*values=*/true);
    return scores;
  }
  std::string name() const override { return "vnorm"; }
};

std::unique_ptr<Press> make_vnorm(PressParams& p) {
  return std::make_unique<VNormPress>(Budget::parse(p));
}

}  // namespace

extern const PressMethod vnorm_press = {
    "vnorm",
    "VNorm: keep the tokens with the largest value norm (the adding-a-press example)",
    "vnorm:ratio=0.5",
    {{"budget", "tokens kept per KV head (give budget or ratio)"},
     {"ratio", "fraction of the prompt's tokens evicted, in [0, 1)"}},
    make_vnorm};

}  // namespace sparkv

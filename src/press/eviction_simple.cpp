// The attention-free eviction presses: StreamingLLM (spec §2.3), KNorm (§2.7) and Random (§2.8).
// They need no captured queries, which makes them the sanity baselines.
#include <cmath>

#include "core/error.h"
#include "press/eviction_common.h"
#include "press/eviction_random.h"
#include "press/press_registry.h"

namespace sparkv {

namespace {

// splitmix64's finaliser.
uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// kvpress StreamingLLM: score 1 everywhere except 0 on [sinks, sinks + n_pruned) of the surviving
// sequence, so the first `sinks` and the most recent n_kept - sinks tokens stay. With fewer
// tokens kept than sinks, the tie rule keeps the first n_kept.
class StreamingLlmPress : public ScorerPress {
 public:
  StreamingLlmPress(Budget b, int sinks) : ScorerPress(b), sinks_(sinks) {}
  std::string spec() const override {
    return fmt::format("streamingllm:{},sinks={}", budget_.spec(), sinks_);
  }

 protected:
  std::vector<std::vector<double>> score(const PressContext& ctx,
                                         const TokenSelection& sel) const override {
    const int64_t n = static_cast<int64_t>(sel.kept[0].size());
    const int64_t n_pruned = n - n_kept(ctx, n);
    std::vector<double> s(n, 1.0);
    for (int64_t j = sinks_; j < std::min(n, sinks_ + n_pruned); ++j) s[j] = 0.0;
    return std::vector<std::vector<double>>(sel.kept.size(), s);
  }
  std::string name() const override { return "streamingllm"; }

 private:
  int64_t sinks_;
};

// KNorm (Devoto et al. 2024): keep the keys with the lowest L2 norm; no protection.
class KNormPress : public ScorerPress {
 public:
  explicit KNormPress(Budget b) : ScorerPress(b) {}
  std::string spec() const override { return "knorm:" + budget_.spec(); }

 protected:
  std::vector<std::vector<double>> score(const PressContext& ctx,
                                         const TokenSelection& sel) const override {
    std::vector<std::vector<double>> scores(sel.kept.size());
    for (size_t h = 0; h < sel.kept.size(); ++h) {
      scores[h] = row_norms(*ctx.cache, static_cast<int>(h), sel.kept[h], /*values=*/false);
      for (double& s : scores[h]) s = -s;  // the smallest norms win
    }
    return scores;
  }
  std::string name() const override { return "knorm"; }
};

// Uniform random scores from a stateless hash of (seed, context seed, layer, KV head, token), so
// a token's score does not depend on which other tokens survived and runs are reproducible.
class RandomPress : public ScorerPress {
 public:
  RandomPress(Budget b, uint64_t seed) : ScorerPress(b), seed_(seed) {}
  std::string spec() const override {
    return fmt::format("random:{},seed={}", budget_.spec(), seed_);
  }

 protected:
  std::vector<std::vector<double>> score(const PressContext& ctx,
                                         const TokenSelection& sel) const override {
    std::vector<std::vector<double>> scores(sel.kept.size());
    for (size_t h = 0; h < sel.kept.size(); ++h) {
      scores[h].resize(sel.kept[h].size());
      for (size_t j = 0; j < sel.kept[h].size(); ++j)
        scores[h][j] =
            random_press_score(seed_, ctx.seed, ctx.layer, static_cast<int>(h), sel.kept[h][j]);
    }
    return scores;
  }
  std::string name() const override { return "random"; }

 private:
  uint64_t seed_;
};

}  // namespace

double random_press_score(uint64_t seed, uint64_t ctx_seed, int layer, int kv_head, int32_t token) {
  uint64_t key = mix64(seed ^ mix64(ctx_seed));
  key = mix64(key ^ static_cast<uint64_t>(layer));
  key = mix64(key ^ static_cast<uint64_t>(kv_head));
  const uint64_t r = mix64(key ^ static_cast<uint64_t>(token));
  return static_cast<double>(r >> 11) * 0x1.0p-53;
}

std::unique_ptr<Press> make_streamingllm(PressParams& p) {
  const Budget b = Budget::parse(p);
  const int sinks = static_cast<int>(p.get_int("sinks", 4, 0, 1 << 20));
  SPARKV_CHECK(b.budget <= 0 || b.budget >= sinks,
               "streamingllm: sinks={} is larger than budget={} (the budget includes the sinks)",
               sinks, b.budget);
  return std::make_unique<StreamingLlmPress>(b, sinks);
}

std::unique_ptr<Press> make_knorm(PressParams& p) {
  return std::make_unique<KNormPress>(Budget::parse(p));
}

std::unique_ptr<Press> make_random(PressParams& p) {
  const Budget b = Budget::parse(p);
  const auto seed = static_cast<uint64_t>(p.get_int("seed", 0, 0, int64_t{1} << 62));
  return std::make_unique<RandomPress>(b, seed);
}

extern const PressMethod streamingllm_press = {
    "streamingllm",
    "StreamingLLM: the first sinks tokens and the most recent ones",
    "streamingllm:budget=512",
    {{"budget", "tokens kept per KV head, window included (give budget or ratio)"},
     {"ratio", "fraction of the prompt's tokens evicted, in [0, 1)"},
     {"sinks", "attention-sink tokens kept at the start (4)"}},
    make_streamingllm};

extern const PressMethod knorm_press = {
    "knorm",
    "Key norm: keep the tokens with the smallest key L2 norm",
    "knorm:ratio=0.5",
    {{"budget", "tokens kept per KV head, window included (give budget or ratio)"},
     {"ratio", "fraction of the prompt's tokens evicted, in [0, 1)"}},
    make_knorm};

extern const PressMethod random_press = {
    "random",
    "Random eviction (a floor for the other methods)",
    "random:ratio=0.5",
    {{"budget", "tokens kept per KV head, window included (give budget or ratio)"},
     {"ratio", "fraction of the prompt's tokens evicted, in [0, 1)"},
     {"seed", "draw seed, mixed with each sample's seed (0)"}},
    make_random};

}  // namespace sparkv

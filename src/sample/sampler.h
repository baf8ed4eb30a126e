// Token sampling: greedy, temperature, top-k, top-p, min-p and a repetition penalty, applied in
// llama.cpp's order (penalty -> top-k -> temperature softmax -> top-p -> min-p -> draw). A seed
// makes every run reproducible.
#pragma once

#include <cstdint>
#include <vector>

namespace sparkv {

struct SamplerParams {
  float temperature = 0.0f;   // <= 0: greedy
  int top_k = 40;             // <= 0: off
  float top_p = 0.95f;        // >= 1: off
  float min_p = 0.05f;        // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off
  int repeat_last_n = 64;
  uint64_t seed = 0;
};

// splitmix64: tiny, seedable, identical on every platform (also used by the task generators).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)

 private:
  uint64_t state_;
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& p);
  // Picks the next token from logits [n_vocab]; `history` is the context so far (for penalties).
  int32_t sample(const float* logits, int n_vocab, const std::vector<int32_t>& history);
  void validate() const;  // throws sparkv::Error on out-of-range parameters

 private:
  SamplerParams p_;
  SplitMix64 rng_;
  std::vector<std::pair<float, int32_t>> cand_;
};

int32_t argmax(const float* logits, int n);

}  // namespace sparkv

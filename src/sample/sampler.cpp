#include "sample/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "core/error.h"

namespace sparkv {

int32_t argmax(const float* logits, int n) {
  int32_t best = 0;
  for (int i = 1; i < n; ++i)
    if (logits[i] > logits[best]) best = i;  // ties: the lower id wins
  return best;
}

Sampler::Sampler(const SamplerParams& p) : p_(p), rng_(p.seed) { validate(); }

void Sampler::validate() const {
  SPARKV_CHECK(std::isfinite(p_.temperature), "--temp must be a finite number");
  SPARKV_CHECK(p_.top_p > 0.0f && p_.top_p <= 1.0f, "--top-p {} must be in (0, 1]", p_.top_p);
  SPARKV_CHECK(p_.min_p >= 0.0f && p_.min_p < 1.0f, "--min-p {} must be in [0, 1)", p_.min_p);
  SPARKV_CHECK(p_.repeat_penalty > 0.0f, "--repeat-penalty {} must be positive", p_.repeat_penalty);
  SPARKV_CHECK(p_.repeat_last_n >= 0, "--repeat-last-n must be >= 0");
}

int32_t Sampler::sample(const float* logits, int n_vocab, const std::vector<int32_t>& history) {
  cand_.resize(n_vocab);
  for (int i = 0; i < n_vocab; ++i) cand_[i] = {logits[i], i};
  for (const auto& c : cand_)
    SPARKV_CHECK(std::isfinite(c.first), "model produced a non-finite logit (token {})", c.second);

  if (p_.repeat_penalty != 1.0f && p_.repeat_last_n > 0) {
    std::unordered_set<int32_t> seen;
    const size_t start =
        history.size() > static_cast<size_t>(p_.repeat_last_n) ? history.size() - p_.repeat_last_n : 0;
    for (size_t i = start; i < history.size(); ++i) seen.insert(history[i]);
    for (int32_t id : seen) {
      if (id < 0 || id >= n_vocab) continue;
      float& l = cand_[id].first;  // as in CTRL / llama.cpp: shrink positives, grow negatives
      l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
    }
  }
  if (p_.temperature <= 0.0f) {
    int32_t best = 0;
    for (int i = 1; i < n_vocab; ++i)
      if (cand_[i].first > cand_[best].first) best = i;
    return best;
  }
  auto by_logit = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  size_t keep = cand_.size();
  if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < keep) {
    keep = p_.top_k;
    std::partial_sort(cand_.begin(), cand_.begin() + keep, cand_.end(), by_logit);
  } else {
    std::sort(cand_.begin(), cand_.end(), by_logit);
  }
  cand_.resize(keep);
  const float mx = cand_[0].first;
  double sum = 0.0;
  for (auto& c : cand_) {
    c.first = static_cast<float>(std::exp((c.first - mx) / p_.temperature));
    sum += c.first;
  }
  for (auto& c : cand_) c.first = static_cast<float>(c.first / sum);
  if (p_.top_p < 1.0f) {
    double cum = 0.0;
    size_t n = 0;
    while (n < cand_.size()) {
      cum += cand_[n].first;
      ++n;
      if (cum >= p_.top_p) break;
    }
    cand_.resize(n);
  }
  if (p_.min_p > 0.0f) {
    const float thr = cand_[0].first * p_.min_p;
    size_t n = 1;
    while (n < cand_.size() && cand_[n].first >= thr) ++n;
    cand_.resize(n);
  }
  double total = 0.0;
  for (const auto& c : cand_) total += c.first;
  double r = rng_.uniform() * total;
  for (const auto& c : cand_) {
    r -= c.first;
    if (r < 0) return c.second;
  }
  return cand_.back().second;
}

}  // namespace sparkv

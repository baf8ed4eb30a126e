#include "model/rope.h"

#include <cmath>

#include "core/error.h"

namespace sparkv {

std::vector<float> rope_inv_freq(const ModelConfig& cfg, const std::vector<float>& freq_divisors) {
  const int half = cfg.head_dim / 2;
  std::vector<float> inv(half);
  SPARKV_CHECK(freq_divisors.empty() || static_cast<int>(freq_divisors.size()) == half,
               "rope_freqs has {} entries, expected head_dim/2 = {}", freq_divisors.size(), half);
  for (int i = 0; i < half; ++i) {
    double f = std::pow(static_cast<double>(cfg.rope_theta), -2.0 * i / cfg.head_dim);
    if (!freq_divisors.empty()) {
      SPARKV_CHECK(freq_divisors[i] > 0 && std::isfinite(freq_divisors[i]),
                   "rope_freqs[{}] = {} is not a positive number", i, freq_divisors[i]);
      f /= freq_divisors[i];
    } else if (cfg.rope_scaling == RopeScaling::kLinear) {
      f /= cfg.rope_factor;
    } else if (cfg.rope_scaling == RopeScaling::kLlama3) {
      const double wavelen = 2.0 * M_PI / f;
      const double low_wavelen = cfg.rope_orig_ctx / cfg.rope_low_freq_factor;
      const double high_wavelen = cfg.rope_orig_ctx / cfg.rope_high_freq_factor;
      if (wavelen > low_wavelen) {
        f /= cfg.rope_factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (cfg.rope_orig_ctx / wavelen - cfg.rope_low_freq_factor) /
                              (cfg.rope_high_freq_factor - cfg.rope_low_freq_factor);
        f = (1.0 - smooth) * f / cfg.rope_factor + smooth * f;
      }
    }
    inv[i] = static_cast<float>(f);
  }
  return inv;
}

void rope_apply(float* x, int n_heads, int D, int64_t pos, const float* inv_freq) {
  const int half = D / 2;
  // Angles in double: at positions of 100k+ a float product loses the low bits of the phase.
  float cs[512], sn[512];
  for (int i = 0; i < half; ++i) {
    const double a = static_cast<double>(pos) * static_cast<double>(inv_freq[i]);
    cs[i] = static_cast<float>(std::cos(a));
    sn[i] = static_cast<float>(std::sin(a));
  }
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + static_cast<size_t>(h) * D;
    for (int i = 0; i < half; ++i) {
      const float x0 = v[i], x1 = v[i + half];
      v[i] = x0 * cs[i] - x1 * sn[i];
      v[i + half] = x1 * cs[i] + x0 * sn[i];
    }
  }
}

}  // namespace sparkv

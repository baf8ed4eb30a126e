#include <cmath>
#include <vector>

#include "attn/attn_state.h"
#include "attn/spark_decode.h"
#include "core/fp16.h"

namespace sparkv {

double spark_uniform(uint64_t key, int64_t t, int j) {
  uint64_t z = key ^ (static_cast<uint64_t>(t) * 0x9e3779b97f4a7c15ull) ^
               (static_cast<uint64_t>(j) * 0xc2b2ae3d27d4eb4full);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return (static_cast<double>(z >> 11) + 0.5) * 0x1.0p-53;
}

const char* spark_key_quant_name(SparkKeyQuant kq) {
  switch (kq) {
    case SparkKeyQuant::kF16:
      return "f16";
    case SparkKeyQuant::kQ8:
      return "q8";
    case SparkKeyQuant::kQ4:
      return "q4";
  }
  return "?";
}

float SparkView::kval(int64_t t, int64_t i) const {
  switch (kq) {
    case SparkKeyQuant::kF16:
      return fp16_to_f32(static_cast<const uint16_t*>(kvals)[i]);
    case SparkKeyQuant::kQ8:
      return fp16_to_f32(kscale[t]) * static_cast<const int8_t*>(kvals)[i];
    case SparkKeyQuant::kQ4: {
      const uint8_t b = static_cast<const uint8_t*>(kvals)[i / 2];
      const int code = (i % 2 == 0) ? (b & 0xF) : (b >> 4);
      return fp16_to_f32(kscale[t]) * (code - 8);
    }
  }
  return 0.0f;
}

void spark_reconstruct_key(const SparkView& s, int64_t t, float* out) {
  const int D = s.D;
  const uint8_t* mask = s.kmask + t * (D / 8);
  // No stored signs: every pruned entry is +w_j (chmean carries the sign in w; zero has w = 0).
  const uint8_t* pos = s.kpos ? s.kpos + t * (D / 8) : nullptr;
  int64_t k = s.kval_offset(t);
  const float r = s.r ? fp16_to_f32(s.r[t]) : 1.0f;  // no stored scale: r_t = 1
  for (int j = 0; j < D; ++j) {
    if (mask[j / 8] >> (j % 8) & 1) {
      out[j] = s.kval(t, k++);
      continue;
    }
    const float sign = !pos || (pos[j / 8] >> (j % 8) & 1) ? 1.0f : -1.0f;
    float mag = r * s.w[j];
    if (s.sampled) {
      // r holds the distribution parameter (mean score); w_j = n_j^{-1/2}, as in sqrt(x / n_j).
      const double u = spark_uniform(s.sample_key, t, j);
      double x;
      if (s.sampled == 2) {
        x = -std::log(u) * r;  // Exponential with mean r
      } else {
        // |Normal(mean r, std r)| via Box-Muller on a second counter.
        const double u2 = spark_uniform(s.sample_key ^ 0x5bd1e995ull, t, j);
        x = std::abs(r + r * std::sqrt(-2.0 * std::log(u)) * std::cos(2 * M_PI * u2));
      }
      const double tau = fp16_to_f32(s.tau[t]);
      if (x > tau) x = tau;
      mag = static_cast<float>(std::sqrt(x)) * s.w[j];
    }
    out[j] = sign * mag;
  }
}

void spark_reconstruct_value(const SparkView& s, int64_t t, float* out) {
  const int D = s.D;
  if (s.v) {
    const size_t row = kv_row_bytes(s.v_type, D);
    kv_dequantize_row(s.v_type, static_cast<const uint8_t*>(s.v) + t * row, out, D);
    return;
  }
  const uint8_t* mask = s.vmask + t * (D / 8);
  const uint16_t* vals = s.vvals + t * s.v_fixed;
  const float fill = fp16_to_f32(s.vfill[t]);
  int k = 0;
  for (int j = 0; j < D; ++j) out[j] = (mask[j / 8] >> (j % 8) & 1) ? fp16_to_f32(vals[k++]) : fill;
}

// The oracle: rebuild k̂ and v̂ of each token, then plain online softmax in double dot products.
void attn_spark_update_ref(const float* q, int g, const SparkView& s, int64_t t0, int64_t t1,
                           float* m, float* l, float* o) {
  const int D = s.D;
  std::vector<float> k(D), v(D);
  for (int64_t t = t0; t < t1; ++t) {
    spark_reconstruct_key(s, t, k.data());
    spark_reconstruct_value(s, t, v.data());
    for (int h = 0; h < g; ++h) {
      double acc = 0.0;
      for (int d = 0; d < D; ++d) acc += static_cast<double>(q[h * D + d]) * k[d];
      attn_state_push(static_cast<float>(acc), v.data(), D, m + h, l + h, o + h * D);
    }
  }
}

}  // namespace sparkv

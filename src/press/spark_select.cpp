#include "press/spark_select.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace sparkv {

const char* spark_variant_name(SparkVariant v) {
  switch (v) {
    case SparkVariant::kFixed:
      return "fixed";
    case SparkVariant::kGroup:
      return "g";
    case SparkVariant::kTopP:
      return "p";
  }
  return "?";
}

const std::vector<std::string>& spark_recovery_names() {
  // Enum order (spark_select.h).
  static const std::vector<std::string> names = {
      "mean",    "zero",           "constant",  "normal", "exponential", "bounded",
      "absmean", "absmean_pruned", "absmedian", "token",  "scaled",      "chmean"};
  return names;
}

const char* spark_recovery_name(SparkRecovery r) {
  const auto& names = spark_recovery_names();
  const auto i = static_cast<size_t>(r);
  return i < names.size() ? names[i].c_str() : "?";
}

bool spark_recovery_parse(const std::string& name, SparkRecovery* out) {
  const auto& names = spark_recovery_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) {
      *out = static_cast<SparkRecovery>(i);
      return true;
    }
  return false;
}

bool spark_recovery_has_scale(SparkRecovery r) {
  return r != SparkRecovery::kZero && r != SparkRecovery::kAbsMean &&
         r != SparkRecovery::kAbsMeanPruned && r != SparkRecovery::kAbsMedian &&
         r != SparkRecovery::kChannelMean;
}

bool spark_recovery_has_signs(SparkRecovery r) {
  return r != SparkRecovery::kChannelMean && r != SparkRecovery::kZero;
}

bool spark_recovery_uses_key_stats(SparkRecovery r) {
  return r == SparkRecovery::kAbsMean || r == SparkRecovery::kAbsMeanPruned ||
         r == SparkRecovery::kAbsMedian || r == SparkRecovery::kScaled ||
         r == SparkRecovery::kChannelMean;
}

namespace {

bool is_kept(const uint8_t* mask, int j) {
  return mask[j / 8] >> (j % 8) & 1;
}

}  // namespace

void spark_recovery_weights(SparkRecovery r, const SparkOptions& opt, const float* k,
                            const uint8_t* masks, int64_t n, int D, const float* norms, float* w) {
  const int nb = D / 8;
  switch (r) {
    case SparkRecovery::kZero:  // no scale, no signs: every pruned entry reads as +0
      std::fill(w, w + D, 0.0f);
      return;
    case SparkRecovery::kConstant:
    case SparkRecovery::kToken:
      std::fill(w, w + D, 1.0f);
      return;
    case SparkRecovery::kMean:
    case SparkRecovery::kNormal:
    case SparkRecovery::kExponential:
      for (int j = 0; j < D; ++j) w[j] = 1.0f / std::sqrt(norms[j]);
      return;
    case SparkRecovery::kBounded: {
      // n_j floored relative to the head's own largest norm: a channel the window never reads
      // (n_j at the ε guard) no longer comes back ~1000× larger than one it reads.
      float nmax = 0.0f;
      for (int j = 0; j < D; ++j) nmax = std::max(nmax, norms[j]);
      const float lo = std::max(static_cast<float>(opt.floor) * nmax, kSparkNormEps);
      for (int j = 0; j < D; ++j) w[j] = 1.0f / std::sqrt(std::max(norms[j], lo));
      return;
    }
    case SparkRecovery::kAbsMean:
    case SparkRecovery::kChannelMean: {
      const bool sign = r == SparkRecovery::kChannelMean;
      std::vector<double> acc(D, 0.0);
      for (int64_t t = 0; t < n; ++t)
        for (int j = 0; j < D; ++j) acc[j] += sign ? k[t * D + j] : std::fabs(k[t * D + j]);
      for (int j = 0; j < D; ++j) w[j] = n > 0 ? static_cast<float>(acc[j] / n) : 0.0f;
      return;
    }
    case SparkRecovery::kAbsMeanPruned:
    case SparkRecovery::kScaled: {
      // Over the pruned entries only: the magnitudes a channel has when it is not salient.
      std::vector<double> acc(D, 0.0), all(D, 0.0);
      std::vector<int64_t> cnt(D, 0);
      for (int64_t t = 0; t < n; ++t)
        for (int j = 0; j < D; ++j) {
          const double a = std::fabs(k[t * D + j]);
          all[j] += a;
          if (!is_kept(masks + t * nb, j)) {
            acc[j] += a;
            ++cnt[j];
          }
        }
      for (int j = 0; j < D; ++j)
        w[j] = cnt[j] > 0 ? static_cast<float>(acc[j] / cnt[j])
               : n > 0    ? static_cast<float>(all[j] / n)
                          : 0.0f;
      return;
    }
    case SparkRecovery::kAbsMedian: {
      std::vector<float> col(static_cast<size_t>(n));
      for (int j = 0; j < D; ++j) {
        for (int64_t t = 0; t < n; ++t) col[t] = std::fabs(k[t * D + j]);
        if (n == 0) {
          w[j] = 0.0f;
          continue;
        }
        const auto mid = col.begin() + n / 2;
        std::nth_element(col.begin(), mid, col.end());
        w[j] = *mid;
      }
      return;
    }
  }
}

float spark_recovery_scale(SparkRecovery r, const SparkOptions& opt, const float* k,
                           const uint8_t* mask, int D, float mu, const float* w) {
  (void)opt;
  switch (r) {
    case SparkRecovery::kMean:
      return std::sqrt(mu);
    case SparkRecovery::kConstant:
      return opt.constant;
    case SparkRecovery::kNormal:
    case SparkRecovery::kExponential:
      return mu;  // the distribution's mean (score space)
    case SparkRecovery::kZero:
    case SparkRecovery::kAbsMean:
    case SparkRecovery::kAbsMeanPruned:
    case SparkRecovery::kAbsMedian:
    case SparkRecovery::kChannelMean:
      return 1.0f;  // not stored: the kernels read r_t = 1
    case SparkRecovery::kBounded:
    case SparkRecovery::kToken:
    case SparkRecovery::kScaled:
      break;
  }
  // The token's pruned entries: their largest magnitude bounds what may come back, so no
  // recovered entry is larger than anything that was removed from this token.
  double amax = 0.0, asum = 0.0, wmax = 0.0, wsum = 0.0;
  int np = 0;
  for (int j = 0; j < D; ++j) {
    if (is_kept(mask, j)) continue;
    const double a = std::fabs(k[j]);
    amax = std::max(amax, a);
    asum += a;
    wmax = std::max(wmax, static_cast<double>(w[j]));
    wsum += w[j];
    ++np;
  }
  if (np == 0 || wmax <= 0.0) return 0.0f;
  const double cap = amax / wmax;  // r_t · w_j <= amax for every pruned j
  double scale = 0.0;
  if (r == SparkRecovery::kBounded)
    scale = std::sqrt(static_cast<double>(mu));
  else if (r == SparkRecovery::kToken)
    scale = asum / np;  // w_j = 1
  else
    scale = asum / wsum;  // Σ_pruned r_t·w_j = Σ_pruned |k_t,j|
  return static_cast<float>(std::min(scale, cap));
}

void spark_channel_norms(const float* window_q, int w, int n_head, int D, int kv_head, int g,
                         float* n) {
  std::vector<double> acc(D, 0.0), mean(D);
  for (int s = 0; s < w; ++s) {
    std::fill(mean.begin(), mean.end(), 0.0);
    for (int j = 0; j < g; ++j) {
      const float* q = window_q + (static_cast<size_t>(s) * n_head + kv_head * g + j) * D;
      for (int d = 0; d < D; ++d) mean[d] += q[d];
    }
    for (int d = 0; d < D; ++d) {
      const double m = mean[d] / g;
      acc[d] += m * m;
    }
  }
  for (int d = 0; d < D; ++d) n[d] = std::max(static_cast<float>(std::sqrt(acc[d])), kSparkNormEps);
}

namespace {

// The k-th largest (1-based) of a[0, n), n <= 1024: a three-way quickselect whose partitions are
// branchless (every element is written to both buffers, the counts advance by the comparisons),
// so the data-dependent branches of std::nth_element, which mispredicts about half the time on
// random scores, are gone; it was half of SparK's compression time at D = 128.
double kth_largest(const double* a, int n, int k) {
  double buf[2][1024 + 1], lt[1024 + 1];
  const double* cur = a;
  int side = 0;
  while (n > 8) {
    const double x = cur[0], y = cur[n / 2], z = cur[n - 1];
    const double pivot = std::max(std::min(x, y), std::min(std::max(x, y), z));  // median of 3
    double* gt = buf[side];
    int ng = 0, nl = 0;
    for (int i = 0; i < n; ++i) {
      const double v = cur[i];
      gt[ng] = v;
      lt[nl] = v;
      ng += v > pivot;
      nl += v < pivot;
    }
    const int ne = n - ng - nl;
    if (k <= ng) {
      cur = gt, n = ng;
      side ^= 1;
    } else if (k <= ng + ne) {
      return pivot;
    } else {
      k -= ng + ne;
      std::copy(lt, lt + nl, buf[side]);
      cur = buf[side], n = nl;
      side ^= 1;
    }
  }
  double t[8];
  std::copy(cur, cur + n, t);
  std::sort(t, t + n, std::greater<double>());
  return t[k - 1];
}

}  // namespace

int spark_fixed_keep(int D, double ratio) {
  return D - static_cast<int>(std::floor(ratio * D + 1e-9));
}

int spark_select_token(const float* k, const float* n, int D, const SparkOptions& opt,
                       uint8_t* keep_mask, float* mu) {
  // Scores in double: the ranking must not depend on float rounding of k²·n.
  double s[1024];
  for (int j = 0; j < D; ++j) s[j] = static_cast<double>(k[j]) * k[j] * n[j];
  // (score desc, index asc) is a strict total order, so the kept set is well defined.
  if (opt.variant == SparkVariant::kFixed) {
    // The fixed variant needs only the keep-th largest score: a partition of the plain values
    // (no index indirection in the comparisons), then one pass that keeps every score above it
    // and, of the scores equal to it, the lowest channels — the same set as the total order.
    // The pass is branchless: which channels survive is random, so branches on it mispredict.
    const int keep = spark_fixed_keep(D, opt.ratio);
    const double thr = keep > 0 ? kth_largest(s, D, keep) : std::numeric_limits<double>::infinity();
    int above = 0;
    for (int j = 0; j < D; ++j) above += s[j] > thr;
    int ties = keep - above;
    double pruned[4] = {0.0, 0.0, 0.0, 0.0};  // four chains: a serial double sum is ~4 cycles/add
    for (int b = 0; b < D / 8; ++b) {
      unsigned bits = 0;
      for (int i = 0; i < 8; ++i) {
        const double v = s[8 * b + i];
        const int eq = v == thr;
        const int take = (v > thr) | (eq & (ties > 0));
        ties -= eq & take;
        bits |= static_cast<unsigned>(take) << i;
        pruned[i & 3] += take ? 0.0 : v;
      }
      keep_mask[b] = static_cast<uint8_t>(bits);
    }
    const double pruned_sum = (pruned[0] + pruned[1]) + (pruned[2] + pruned[3]);
    *mu = keep < D ? static_cast<float>(pruned_sum / (D - keep)) : 0.0f;
    return keep;
  }
  int order[1024];
  double total = 0.0;
  for (int j = 0; j < D; ++j) {
    total += s[j];
    order[j] = j;
  }
  const auto before = [&](int a, int b) { return s[a] > s[b] || (s[a] == s[b] && a < b); };
  std::sort(order, order + D, before);

  int keep = D;
  switch (opt.variant) {
    case SparkVariant::kFixed:  // handled above
      break;
    case SparkVariant::kGroup: {
      // Bucket by the number of channels needed for 99% of the token's saliency (spec §3.4).
      int istar = D - 1;
      double cum = 0.0;
      for (int i = 0; i < D; ++i) {
        cum += s[order[i]];
        if (cum > 0.99 * total) {
          istar = i;
          break;
        }
      }
      if (total <= 0.0) istar = 0;
      static constexpr double kBounds[4] = {0.2, 0.4, 0.6, 0.8};
      static constexpr double kKeep[5] = {0.1, 0.3, 0.5, 0.7, 0.9};
      int bucket = 0;
      while (bucket < 4 && istar >= static_cast<int>(std::floor(kBounds[bucket] * D))) ++bucket;
      keep = static_cast<int>(std::floor(kKeep[bucket] * D));
      break;
    }
    case SparkVariant::kTopP: {
      keep = D;
      double cum = 0.0;
      for (int i = 0; i < D; ++i) {
        cum += s[order[i]];
        if (cum >= opt.p * total) {
          keep = i + 1;
          break;
        }
      }
      keep = std::max(keep, 1);
      break;
    }
  }
  std::fill(keep_mask, keep_mask + D / 8, 0);
  for (int i = 0; i < keep; ++i)
    keep_mask[order[i] / 8] |= static_cast<uint8_t>(1u << (order[i] % 8));
  double pruned_sum = 0.0;
  for (int i = keep; i < D; ++i) pruned_sum += s[order[i]];
  *mu = keep < D ? static_cast<float>(pruned_sum / (D - keep)) : 0.0f;
  return keep;
}

void spark_select_values(const float* v, int64_t T, int D, double ratio, uint8_t* keep_masks,
                         float* fill) {
  const int n_prune = static_cast<int>(std::floor(ratio * D + 1e-9));
  // d_{t,j} = (Var_t v[., j] + Var_j v[t, .]) / 2, unbiased, normalised by its max over (t, j).
  std::vector<double> var_c(D, 0.0), var_t(T, 0.0);
  for (int j = 0; j < D; ++j) {
    double m = 0;
    for (int64_t t = 0; t < T; ++t) m += v[t * D + j];
    m /= T;
    double ss = 0;
    for (int64_t t = 0; t < T; ++t) ss += (v[t * D + j] - m) * (v[t * D + j] - m);
    var_c[j] = T > 1 ? ss / (T - 1) : 0.0;
  }
  for (int64_t t = 0; t < T; ++t) {
    double m = 0;
    for (int j = 0; j < D; ++j) m += v[t * D + j];
    m /= D;
    double ss = 0;
    for (int j = 0; j < D; ++j) ss += (v[t * D + j] - m) * (v[t * D + j] - m);
    var_t[t] = D > 1 ? ss / (D - 1) : 0.0;
  }
  double dmax = 0;
  for (int64_t t = 0; t < T; ++t)
    for (int j = 0; j < D; ++j) dmax = std::max(dmax, (var_c[j] + var_t[t]) / 2);
  std::vector<double> score(D);
  std::vector<int> order(D);
  for (int64_t t = 0; t < T; ++t) {
    for (int j = 0; j < D; ++j) {
      const double d = dmax > 0 ? (var_c[j] + var_t[t]) / 2 / dmax : 0.0;
      score[j] = 0.7 * std::abs(v[t * D + j]) + 0.3 * d;
      order[j] = j;
    }
    std::sort(order.begin(), order.end(),
              [&](int a, int b) { return score[a] > score[b] || (score[a] == score[b] && a < b); });
    uint8_t* mask = keep_masks + t * (D / 8);
    std::fill(mask, mask + D / 8, 0);
    for (int i = 0; i < D - n_prune; ++i)
      mask[order[i] / 8] |= static_cast<uint8_t>(1u << (order[i] % 8));
    double sum = 0;
    for (int i = D - n_prune; i < D; ++i) sum += v[t * D + order[i]];
    fill[t] = n_prune > 0 ? static_cast<float>(sum / n_prune) : 0.0f;
  }
}

}  // namespace sparkv

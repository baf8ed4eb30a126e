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

const char* spark_recovery_name(SparkRecovery r) {
  switch (r) {
    case SparkRecovery::kMean:
      return "mean";
    case SparkRecovery::kZero:
      return "zero";
    case SparkRecovery::kConstant:
      return "constant";
    case SparkRecovery::kNormal:
      return "normal";
    case SparkRecovery::kExponential:
      return "exponential";
  }
  return "?";
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

#include "kv/spark_cache.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/fp16.h"

namespace sparkv {

namespace {
template <typename T>
size_t vbytes(const std::vector<T>& v) {
  return v.capacity() * sizeof(T);
}
constexpr int kPad = 8;        // kernels load 8 values at a time from the packed streams
constexpr int kPadBytes = 16;  // ... of up to 2 bytes each

// Appends one token's kept key values to the stream in form kq; returns the fp16 scale d (0 for
// f16). The rules are those of spark_decode.h (q8: q8_0's, q4: q4_0's, over the token's run).
uint16_t push_kept(SparkKeyQuant kq, const std::vector<float>& x, std::vector<uint8_t>& out) {
  if (kq == SparkKeyQuant::kF16) {  // little-endian fp16, the dense f16 row conversion
    const size_t at = out.size();
    out.resize(at + 2 * x.size());
    kv_quantize_row(KvDtype::kF16, x.data(), out.data() + at, static_cast<int>(x.size()));
    return 0;
  }
  float amax = 0.0f, max = 0.0f;
  for (float v : x)
    if (std::fabs(v) > amax) {
      amax = std::fabs(v);
      max = v;
    }
  if (kq == SparkKeyQuant::kQ8) {
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (float v : x) out.push_back(static_cast<uint8_t>(static_cast<int8_t>(std::roundf(v * id))));
    return f32_to_fp16(d);
  }
  const float d = max / -8.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (size_t i = 0; i < x.size(); i += 2) {
    const int c0 = std::min(15, static_cast<int>(static_cast<int8_t>(x[i] * id + 8.5f)));
    const int c1 = i + 1 < x.size()
                       ? std::min(15, static_cast<int>(static_cast<int8_t>(x[i + 1] * id + 8.5f)))
                       : 8;
    out.push_back(static_cast<uint8_t>(c0 | (c1 << 4)));
  }
  return f32_to_fp16(d);
}

// Stream elements a token with `kept` values occupies (int4 runs start on a byte boundary).
int64_t stream_elems(SparkKeyQuant kq, int64_t kept) {
  return kq == SparkKeyQuant::kQ4 ? (kept + 1) / 2 * 2 : kept;
}

// Stream bytes for `elems` elements.
size_t stream_bytes(SparkKeyQuant kq, size_t elems) {
  return kq == SparkKeyQuant::kF16 ? 2 * elems : kq == SparkKeyQuant::kQ8 ? elems : elems / 2;
}

}  // namespace

SparkLayerCache::SparkLayerCache(int n_kv, int head_dim, int group, const SparkOptions& opt,
                                 const SparkStorage& storage)
    : n_kv_(n_kv),
      D_(head_dim),
      group_(group),
      opt_(opt),
      storage_(storage),
      heads_(n_kv),
      tail_(n_kv, head_dim, group, storage.tail) {
  SPARKV_CHECK(head_dim % 8 == 0, "spark: head_dim {} must be a multiple of 8", head_dim);
  kv_check_head_dim(storage.v_type, head_dim, "spark values");
  SPARKV_CHECK(
      storage.kq == SparkKeyQuant::kF16 ||
          (opt.recovery != SparkRecovery::kNormal && opt.recovery != SparkRecovery::kExponential),
      "spark: kq={} needs a deterministic recovery (the sampled ones use the f16 scalar path)",
      spark_key_quant_name(storage.kq));
}

void SparkLayerCache::build(const DenseLayerCache& src,
                            const std::vector<std::vector<int32_t>>& kept, const float* norms,
                            int layer) {
  SPARKV_CHECK(tail_.n_tokens(0) == 0 && heads_[0].n == 0, "spark: cache already built");
  const int D = D_;
  sample_key_base_ =
      opt_.seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(layer) * 0x100000001b3ull;
  SPARKV_CHECK(
      opt_.decode_block == 0 || opt_.value_ratio == 0.0,
      "spark: decode_block cannot be combined with values= (value statistics are per prefill)");
  norms_.assign(norms, norms + static_cast<size_t>(n_kv_) * D);
  const bool fixed = opt_.variant == SparkVariant::kFixed;
  // The last n_recent kept tokens bypass compression: they go to the dense tail below.
  const int64_t n_kept = kept.empty() ? 0 : static_cast<int64_t>(kept[0].size());
  const int64_t n_recent = std::min<int64_t>(opt_.recent, n_kept);
  for (const auto& idx : kept)
    SPARKV_CHECK(static_cast<int64_t>(idx.size()) == n_kept,
                 "spark: every KV head of a layer must keep the same token count");
#pragma omp parallel for schedule(dynamic, 1)
  for (int h = 0; h < n_kv_; ++h) {
    SparkHeadStore& st = heads_[h];
    const std::vector<int32_t>& idx = kept[h];
    const int64_t n = n_kept - n_recent;
    const float* nrm = norms + static_cast<size_t>(h) * D;
    std::vector<float> k(static_cast<size_t>(n) * D), v(static_cast<size_t>(n) * D);
    for (int64_t i = 0; i < n; ++i) src.read(h, idx[i], 1, k.data() + i * D, v.data() + i * D);
    st.k_fixed = fixed ? spark_fixed_keep(D, opt_.ratio) : 0;
    st.k_stride = static_cast<int>(stream_elems(storage_.kq, st.k_fixed));
    if (!fixed) st.koffs.assign(1, 0);
    st.kvals.reserve(stream_bytes(storage_.kq, fixed ? n * st.k_stride : n * D / 2) + kPadBytes);
    compress_into(st, k.data(), v.data(), n, nrm);
    st.kvals.shrink_to_fit();
  }
  append_kept(src, kept, n_kept - n_recent, n_recent, tail_);
}

void SparkLayerCache::compress_into(SparkHeadStore& st, const float* k, const float* v, int64_t n,
                                    const float* nrm) {
  const int D = D_, nb = D / 8;
  const int64_t n0 = st.n;
  const bool sampled =
      opt_.recovery == SparkRecovery::kNormal || opt_.recovery == SparkRecovery::kExponential;
  const bool fixed = opt_.variant == SparkVariant::kFixed;
  const SparkKeyQuant kq = storage_.kq;
  const SparkRecovery rec = opt_.recovery;
  const bool has_scale = spark_recovery_has_scale(rec), has_signs = spark_recovery_has_signs(rec);
  st.kmask.resize((n0 + n) * nb, 0);
  if (has_signs) st.kpos.resize((n0 + n) * nb, 0);
  if (has_scale) st.r.resize(n0 + n, 0);
  if (sampled) st.tau.resize(n0 + n, 0);
  if (kq != SparkKeyQuant::kF16) st.kscale.resize(n0 + n, 0);
  // The packed stream ends with padding; new tokens continue where the real data ends.
  if (n0 > 0) st.kvals.resize(st.kvals.size() - kPadBytes);
  int64_t elems = fixed ? n0 * st.k_stride : st.koffs[n0];  // stream elements written so far
  // Selection first: the key-statistic recoveries need every token's kept set before any r_t.
  std::vector<float> mus(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    spark_select_token(k + i * D, nrm, D, opt_, st.kmask.data() + (n0 + i) * nb, &mus[i]);
  // The head's channel weights come from its first compressed tokens (the prefill); decode
  // blocks reuse them, as they reuse the prefill's channel norms.
  if (n0 == 0) {
    st.w.resize(D);
    spark_recovery_weights(rec, opt_, k, st.kmask.data(), n, D, nrm, st.w.data());
  }
  std::vector<float> kept_vals;
  kept_vals.reserve(D);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = n0 + i;
    const float* kt = k + i * D;
    const uint8_t* mask = st.kmask.data() + t * nb;
    const float mu = mus[i];
    double tau = 0.0;  // the T-th largest score, for the sampled recoveries' clip
    kept_vals.clear();
    // Branchless: which channels were kept is random per token.
    kept_vals.resize(D);
    int nk = 0;
    for (int b = 0; b < nb; ++b) {
      const unsigned m = mask[b];
      unsigned p = 0;
      for (int i = 0; i < 8; ++i) {
        const int j = 8 * b + i;
        const unsigned kept = m >> i & 1;
        kept_vals[nk] = kt[j];
        nk += static_cast<int>(kept);
        p |= (~kept & static_cast<unsigned>(kt[j] > 0.0f)) << i;  // σ = +1; zero is negative
      }
      if (has_signs) st.kpos[t * nb + b] = static_cast<uint8_t>(p);
    }
    kept_vals.resize(nk);
    if (sampled) {  // τ_t: the smallest kept score
      for (int j = 0; j < D; ++j)
        if (mask[j / 8] >> (j % 8) & 1) {
          const double sj = static_cast<double>(kt[j]) * kt[j] * nrm[j];
          tau = (tau == 0.0 || sj < tau) ? sj : tau;
        }
    }
    const uint16_t scale = push_kept(kq, kept_vals, st.kvals);
    if (kq != SparkKeyQuant::kF16) st.kscale[t] = scale;
    elems += stream_elems(kq, static_cast<int64_t>(kept_vals.size()));
    if (!fixed) st.koffs.push_back(static_cast<uint32_t>(elems));
    if (has_scale) {
      const float r = spark_recovery_scale(rec, opt_, kt, mask, D, mu, st.w.data());
      // The bounded recoveries promise r_t·w_j <= the token's largest pruned |k|: round r_t
      // toward zero so the f16 rounding cannot break that (the paper's mean is unbounded anyway).
      const bool bounded = rec == SparkRecovery::kBounded || rec == SparkRecovery::kToken ||
                           rec == SparkRecovery::kScaled;
      st.r[t] = bounded ? f32_to_fp16_toward_zero(r) : f32_to_fp16(r);
      if (sampled) st.tau[t] = f32_to_fp16(static_cast<float>(tau));
    }
  }
  st.kvals.resize(st.kvals.size() + kPadBytes, 0);

  if (opt_.value_ratio > 0.0) {
    st.vmask.assign(n * nb, 0);
    std::vector<float> fill(n);
    spark_select_values(v, n, D, opt_.value_ratio, st.vmask.data(), fill.data());
    st.v_fixed = D - static_cast<int>(std::floor(opt_.value_ratio * D + 1e-9));
    st.vvals.reserve(n * st.v_fixed + kPad);
    st.vfill.resize(n);
    for (int64_t t = 0; t < n; ++t) {
      st.vfill[t] = f32_to_fp16(fill[t]);
      for (int j = 0; j < D; ++j)
        if (st.vmask[t * nb + j / 8] >> (j % 8) & 1) st.vvals.push_back(f32_to_fp16(v[t * D + j]));
    }
    st.vvals.resize(st.vvals.size() + kPad, 0);
  } else {
    const size_t row = kv_row_bytes(storage_.v_type, D);
    st.v.resize(static_cast<size_t>(n0 + n) * row);
    for (int64_t i = 0; i < n; ++i)
      kv_quantize_row(storage_.v_type, v + i * D, st.v.data() + (n0 + i) * row, D);
  }
  st.n = n0 + n;
}

void SparkLayerCache::append(const float* k, const float* v, int n) {
  tail_.append(k, v, n);
  const int B = opt_.decode_block;
  if (B <= 0 || heads_[0].n == 0 || tail_.n_tokens(0) < B) return;
  // Compress whole blocks from the front of the tail, keep the rest dense.
  const int64_t n_tail = tail_.n_tokens(0);
  const int64_t n_done = n_tail / B * B;
  const int D = D_;
  std::vector<float> rest_k(static_cast<size_t>(n_tail - n_done) * n_kv_ * D);
  std::vector<float> rest_v(rest_k.size());
  for (int h = 0; h < n_kv_; ++h) {
    std::vector<float> kb(static_cast<size_t>(n_tail) * D), vb(kb.size());
    tail_.read(h, 0, n_tail, kb.data(), vb.data());
    compress_into(heads_[h], kb.data(), vb.data(), n_done,
                  norms_.data() + static_cast<size_t>(h) * D);
    for (int64_t t = n_done; t < n_tail; ++t)
      for (int d = 0; d < D; ++d) {
        rest_k[((t - n_done) * n_kv_ + h) * D + d] = kb[t * D + d];
        rest_v[((t - n_done) * n_kv_ + h) * D + d] = vb[t * D + d];
      }
  }
  tail_ = DenseLayerCache(n_kv_, D_, group_, storage_.tail);
  if (n_tail > n_done)
    tail_.append(rest_k.data(), rest_v.data(), static_cast<int>(n_tail - n_done));
}

SparkView SparkLayerCache::view(int h) const {
  const SparkHeadStore& st = heads_[h];
  SparkView s;
  s.D = D_;
  s.n = st.n;
  s.kmask = st.kmask.data();
  s.kpos = spark_recovery_has_signs(opt_.recovery) ? st.kpos.data() : nullptr;
  s.r = spark_recovery_has_scale(opt_.recovery) ? st.r.data() : nullptr;
  s.kvals = st.kvals.data();
  s.kq = storage_.kq;
  s.kscale = st.kscale.empty() ? nullptr : st.kscale.data();
  s.koffs = st.koffs.empty() ? nullptr : st.koffs.data();
  s.k_fixed = st.k_fixed;
  s.k_stride = st.k_stride;
  s.w = st.w.data();
  s.v = st.v.empty() ? nullptr : st.v.data();
  s.v_type = storage_.v_type;
  s.vmask = st.vmask.empty() ? nullptr : st.vmask.data();
  s.vvals = st.vvals.empty() ? nullptr : st.vvals.data();
  s.v_fixed = st.v_fixed;
  s.vfill = st.vfill.empty() ? nullptr : st.vfill.data();
  if (opt_.recovery == SparkRecovery::kNormal || opt_.recovery == SparkRecovery::kExponential) {
    s.sampled = opt_.recovery == SparkRecovery::kNormal ? 1 : 2;
    s.sample_key = sample_key_base_ + static_cast<uint64_t>(h) * 0xff51afd7ed558ccdull;
    s.tau = st.tau.data();
  }
  return s;
}

void SparkLayerCache::attend(const float* q, int n_q, float* out) const {
  const int64_t n_comp = heads_[0].n;
  const int64_t n_all = n_comp + tail_.n_tokens(0);
  std::vector<SparkView> views(n_kv_);
  for (int h = 0; h < n_kv_; ++h) views[h] = view(h);
  attend_split(
      q, n_q, n_kv_, group_, D_, n_all, out,
      [&](int rows, int h, int64_t t0, int64_t t1, const float* qs, float* m, float* l, float* o) {
        if (t0 < n_comp) attn_spark_update(qs, rows, views[h], t0, std::min(t1, n_comp), m, l, o);
        if (t1 > n_comp)
          tail_.attend_range(h, std::max(t0, n_comp) - n_comp, t1 - n_comp, qs, rows, m, l, o);
      });
}

size_t SparkLayerCache::bytes() const {
  size_t total = tail_.bytes();
  for (const auto& h : heads_)
    total += vbytes(h.kmask) + vbytes(h.kpos) + vbytes(h.r) + vbytes(h.tau) + vbytes(h.kvals) +
             vbytes(h.kscale) + vbytes(h.koffs) + vbytes(h.w) + vbytes(h.v) + vbytes(h.vmask) +
             vbytes(h.vvals) + vbytes(h.vfill);
  return total;
}

double SparkLayerCache::mean_kept() const {
  double kept = 0, n = 0;
  for (const auto& h : heads_) {
    for (uint8_t b : h.kmask) kept += __builtin_popcount(b);
    n += h.n;
  }
  return n > 0 ? kept / n : 0.0;
}

}  // namespace sparkv

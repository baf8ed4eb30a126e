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
constexpr int kPad = kSparkPad;
constexpr int kPadBytes = kSparkPadBytes;

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

// Decode blocks append to the packed arrays (decode_block=). std::vector doubles its capacity, and
// bytes() counts capacity: one block made a 700-token cache hold more than the dense rows of the
// same tokens. Arrays grow to `need` plus `slack` elements instead (the caller sizes the slack
// to a few percent of the tokens held).
template <typename T>
void grow_to(std::vector<T>& v, size_t need, size_t slack) {
  if (need > v.capacity()) v.reserve(need + slack);
}

int64_t stream_elems(SparkKeyQuant kq, int64_t kept) {
  return spark_stream_elems(kq, kept);
}
size_t stream_bytes(SparkKeyQuant kq, size_t elems) {
  return spark_stream_bytes(kq, elems);
}

}  // namespace

SparkLayerCache::SparkLayerCache(int n_kv, int head_dim, int group,
                                 std::shared_ptr<const SparkPlanner> planner,
                                 const SparkStorage& storage)
    : n_kv_(n_kv),
      D_(head_dim),
      group_(group),
      planner_(std::move(planner)),
      layout_(planner_->layout()),
      storage_(storage),
      heads_(n_kv),
      tail_(n_kv, head_dim, group, storage.tail) {
  SPARKV_CHECK(head_dim % 8 == 0, "spark: head_dim {} must be a multiple of 8", head_dim);
  kv_check_head_dim(storage.v_type, head_dim, "spark values");
  SPARKV_CHECK(
      storage.kq == SparkKeyQuant::kF16 || layout_.sampled == 0,
      "spark: kq={} needs a deterministic recovery (the sampled ones use the f16 scalar path)",
      spark_key_quant_name(storage.kq));
}

SparkLayerCache::SparkLayerCache(int n_kv, int head_dim, int group, const SparkLayout& layout,
                                 const SparkStorage& storage)
    : n_kv_(n_kv),
      D_(head_dim),
      group_(group),
      layout_(layout),
      storage_(storage),
      heads_(n_kv),
      tail_(n_kv, head_dim, group, storage.tail) {
  kv_check_head_dim(storage.v_type, head_dim, "spark values");
}

void SparkLayerCache::build(const DenseLayerCache& src,
                            const std::vector<std::vector<int32_t>>& kept, int64_t n_recent) {
  SPARKV_CHECK(tail_.n_tokens(0) == 0 && heads_[0].n == 0, "spark: cache already built");
  const int D = D_;
  const bool fixed = layout_.k_fixed > 0;
  const int64_t n_kept = kept.empty() ? 0 : static_cast<int64_t>(kept[0].size());
  SPARKV_CHECK(n_recent >= 0 && n_recent <= n_kept, "spark: {} recent tokens of {} kept", n_recent,
               n_kept);
  for (const auto& idx : kept)
    SPARKV_CHECK(static_cast<int64_t>(idx.size()) == n_kept,
                 "spark: every KV head of a layer must keep the same token count");
#pragma omp parallel for schedule(dynamic, 1)
  for (int h = 0; h < n_kv_; ++h) {
    SparkHeadStore& st = heads_[h];
    const std::vector<int32_t>& idx = kept[h];
    const int64_t n = n_kept - n_recent;
    std::vector<float> k(static_cast<size_t>(n) * D), v(static_cast<size_t>(n) * D);
    for (int64_t i = 0; i < n; ++i) src.read(h, idx[i], 1, k.data() + i * D, v.data() + i * D);
    st.k_fixed = layout_.k_fixed;
    st.k_stride = static_cast<int>(stream_elems(storage_.kq, st.k_fixed));
    if (!fixed) st.koffs.assign(1, 0);
    st.kvals.reserve(stream_bytes(storage_.kq, fixed ? n * st.k_stride : n * D / 2) + kPadBytes);
    compress_into(h, k.data(), v.data(), n);
    st.kvals.shrink_to_fit();
  }
  append_kept(src, kept, n_kept - n_recent, n_recent, tail_);
  // The planner holds the window's statistics; only decode blocks still need them.
  if (planner_->decode_block() <= 0) planner_.reset();
}

void SparkLayerCache::compress_into(int h, const float* k, const float* v, int64_t n) {
  SparkHeadStore& st = heads_[h];
  const int D = D_, nb = D / 8;
  const int64_t n0 = st.n;
  const SparkLayout& L = layout_;
  const bool fixed = L.k_fixed > 0;
  const SparkKeyQuant kq = storage_.kq;
  SparkHeadPlan plan;
  planner_->plan(h, k, v, n, n0 == 0 ? nullptr : st.w.data(), &plan);
  if (n0 > 0) {  // a decode block: the build sized every array exactly
    const size_t m = static_cast<size_t>(n0 + n);
    // Room for max(one block, 1/32 of the tokens) more: a reallocation every few percent of
    // growth, and never the doubling that outgrew the dense cache.
    const size_t more = std::max<size_t>(static_cast<size_t>(n), m / 32);
    grow_to(st.kmask, m * nb, more * nb);
    if (L.signs) grow_to(st.kpos, m * nb, more * nb);
    if (L.scale) grow_to(st.r, m, more);
    if (L.sampled) grow_to(st.tau, m, more);
    if (kq != SparkKeyQuant::kF16) grow_to(st.kscale, m, more);
    if (!fixed) grow_to(st.koffs, m + 1, more);
    // Kept values: at most D per token; the slack at this head's average so far.
    const size_t held = st.kvals.size() - kPadBytes;
    grow_to(st.kvals,
            held + stream_bytes(kq, static_cast<size_t>(n) * (fixed ? st.k_stride : D)) + kPadBytes,
            held / static_cast<size_t>(n0) * more);
    const size_t row = kv_row_bytes(storage_.v_type, D);
    if (L.v_fixed == 0) grow_to(st.v, m * row, more * row);
  }
  st.kmask.resize((n0 + n) * nb, 0);
  std::copy(plan.kmask.begin(), plan.kmask.end(), st.kmask.begin() + n0 * nb);
  if (L.signs) st.kpos.resize((n0 + n) * nb, 0);
  if (L.scale) {
    st.r.resize(n0 + n, 0);
    std::copy(plan.r.begin(), plan.r.end(), st.r.begin() + n0);
  }
  if (L.sampled) {
    st.tau.resize(n0 + n, 0);
    std::copy(plan.tau.begin(), plan.tau.end(), st.tau.begin() + n0);
  }
  if (kq != SparkKeyQuant::kF16) st.kscale.resize(n0 + n, 0);
  if (n0 == 0) st.w.assign(plan.w.begin(), plan.w.end());
  // The packed stream ends with padding; new tokens continue where the real data ends.
  if (n0 > 0) st.kvals.resize(st.kvals.size() - kPadBytes);
  int64_t elems = fixed ? n0 * st.k_stride : st.koffs[n0];  // stream elements written so far
  std::vector<float> kept_vals;
  kept_vals.reserve(D);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = n0 + i;
    const float* kt = k + i * D;
    const uint8_t* mask = st.kmask.data() + t * nb;
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
      if (L.signs) st.kpos[t * nb + b] = static_cast<uint8_t>(p);
    }
    kept_vals.resize(nk);
    const uint16_t scale = push_kept(kq, kept_vals, st.kvals);
    if (kq != SparkKeyQuant::kF16) st.kscale[t] = scale;
    elems += stream_elems(kq, static_cast<int64_t>(kept_vals.size()));
    if (!fixed) st.koffs.push_back(static_cast<uint32_t>(elems));
  }
  st.kvals.resize(st.kvals.size() + kPadBytes, 0);

  if (L.v_fixed > 0) {
    SPARKV_CHECK(n0 == 0 && plan.vmask.size() == static_cast<size_t>(n) * nb &&
                     plan.vfill.size() == static_cast<size_t>(n),
                 "internal: spark value plan does not match the cache layout");
    st.vmask.assign(plan.vmask.begin(), plan.vmask.end());
    st.v_fixed = L.v_fixed;
    st.vvals.reserve(n * st.v_fixed + kPad);
    st.vfill.assign(plan.vfill.begin(), plan.vfill.end());
    for (int64_t t = 0; t < n; ++t)
      for (int j = 0; j < D; ++j)
        if (st.vmask[t * nb + j / 8] >> (j % 8) & 1) st.vvals.push_back(f32_to_fp16(v[t * D + j]));
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
  const int B = planner_ ? planner_->decode_block() : 0;
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
    compress_into(h, kb.data(), vb.data(), n_done);
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
  s.kpos = layout_.signs ? st.kpos.data() : nullptr;
  s.r = layout_.scale ? st.r.data() : nullptr;
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
  if (layout_.sampled) {
    s.sampled = layout_.sampled;
    s.sample_key = layout_.sample_key_base + static_cast<uint64_t>(h) * 0xff51afd7ed558ccdull;
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

void SparkLayerCache::read(int h, int64_t t0, int64_t n, float* k, float* v) const {
  const int64_t n_comp = heads_[h].n;
  const SparkView s = view(h);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = t0 + i;
    if (t >= n_comp) {
      tail_.read(h, t - n_comp, 1, k ? k + i * D_ : nullptr, v ? v + i * D_ : nullptr);
      continue;
    }
    if (k) spark_reconstruct_key(s, t, k + i * D_);
    if (v) spark_reconstruct_value(s, t, v + i * D_);
  }
}

}  // namespace sparkv

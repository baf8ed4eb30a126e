#include "kv/think_cache.h"

#include <algorithm>
#include <cstring>

#include "attn/think_decode.h"
#include "core/error.h"
#include "core/fp16.h"
#include "kv/dense_cache.h"

namespace sparkv {

namespace {

void store(uint8_t* dst, KvDtype dtype, int64_t i, float x) {
  if (dtype == KvDtype::kF32)
    reinterpret_cast<float*>(dst)[i] = x;
  else
    reinterpret_cast<uint16_t*>(dst)[i] = f32_to_fp16(x);
}

float load(const uint8_t* src, KvDtype dtype, int64_t i) {
  return dtype == KvDtype::kF32 ? reinterpret_cast<const float*>(src)[i]
                                : fp16_to_f32(reinterpret_cast<const uint16_t*>(src)[i]);
}

}  // namespace

ThinkLayerCache::ThinkLayerCache(int n_kv, int head_dim, int group, KvDtype dtype,
                                 std::vector<std::vector<int32_t>> channels)
    : n_kv_(n_kv),
      D_(head_dim),
      group_(group),
      dtype_(dtype),
      channels_(std::move(channels)),
      pk_(n_kv),
      pv_(n_kv),
      pages_(n_kv) {
  SPARKV_CHECK(dtype == KvDtype::kF32 || dtype == KvDtype::kF16,
               "think cache: elements must be f32 or f16");
  SPARKV_CHECK(static_cast<int>(channels_.size()) == n_kv,
               "think cache: {} channel sets for {} KV heads", channels_.size(), n_kv);
  dk_ = static_cast<int>(channels_[0].size());
  for (int h = 0; h < n_kv; ++h) {
    const auto& c = channels_[h];
    SPARKV_CHECK(static_cast<int>(c.size()) == dk_,
                 "think cache: KV head {} keeps {} channels, head 0 keeps {}", h, c.size(), dk_);
    for (size_t i = 0; i < c.size(); ++i)
      SPARKV_CHECK(c[i] >= 0 && c[i] < head_dim && (i == 0 || c[i] > c[i - 1]),
                   "think cache: KV head {} channel ids must ascend within [0, {}), got {}", h,
                   head_dim, c[i]);
  }
}

void ThinkLayerCache::set_pruned(int h, const float* k, const float* v, int64_t n) {
  SPARKV_CHECK(h >= 0 && h < n_kv_, "think cache: KV head {} out of range", h);
  SPARKV_CHECK(n_tail_ == 0, "think cache: the pruned segment must be stored before appending");
  SPARKV_CHECK(n_pruned_ < 0 || n == n_pruned_,
               "think cache: KV head {} gets {} pruned tokens, the others {}", h, n, n_pruned_);
  SPARKV_CHECK(!pk_[h], "think cache: KV head {} pruned segment stored twice", h);
  n_pruned_ = n;
  pk_[h].reset(new uint8_t[static_cast<size_t>(n) * dk_ * esize()]);
  pv_[h].reset(new uint8_t[static_cast<size_t>(n) * D_ * esize()]);
  const auto& ch = channels_[h];
  for (int64_t t = 0; t < n; ++t) {
    for (int c = 0; c < dk_; ++c) store(pk_[h].get(), dtype_, t * dk_ + c, k[t * D_ + ch[c]]);
    for (int d = 0; d < D_; ++d) store(pv_[h].get(), dtype_, t * D_ + d, v[t * D_ + d]);
  }
}

uint8_t* ThinkLayerCache::tail_k(int h, int64_t t) const {
  return pages_[h][t / kPageTokens].get() + static_cast<size_t>(t % kPageTokens) * D_ * esize();
}

uint8_t* ThinkLayerCache::tail_v(int h, int64_t t) const {
  return pages_[h][t / kPageTokens].get() +
         (static_cast<size_t>(kPageTokens) + t % kPageTokens) * D_ * esize();
}

void ThinkLayerCache::append(const float* k, const float* v, int n) {
  if (n_pruned_ < 0) n_pruned_ = 0;  // nothing was pruned: the cache is all tail
  for (int h = 0; h < n_kv_; ++h)
    SPARKV_CHECK(n_pruned_ == 0 || pk_[h],
                 "think cache: KV head {} has no pruned segment but the others have {} tokens", h,
                 n_pruned_);
  const size_t page_bytes = 2 * static_cast<size_t>(kPageTokens) * D_ * esize();
  for (int j = 0; j < n; ++j) {
    const int64_t t = n_tail_ + j;
    for (int h = 0; h < n_kv_; ++h) {
      if (t / kPageTokens >= static_cast<int64_t>(pages_[h].size()))
        pages_[h].emplace_back(new uint8_t[page_bytes]);
      const float* ks = k + (static_cast<size_t>(j) * n_kv_ + h) * D_;
      const float* vs = v + (static_cast<size_t>(j) * n_kv_ + h) * D_;
      for (int d = 0; d < D_; ++d) {
        store(tail_k(h, t), dtype_, d, ks[d]);
        store(tail_v(h, t), dtype_, d, vs[d]);
      }
    }
  }
  n_tail_ += n;
}

size_t ThinkLayerCache::bytes() const {
  size_t b = 0;
  const int64_t np = std::max<int64_t>(n_pruned_, 0);
  for (int h = 0; h < n_kv_; ++h) {
    b += channels_[h].size() * sizeof(int32_t);
    if (pk_[h]) b += static_cast<size_t>(np) * (dk_ + D_) * esize();
    b += pages_[h].size() * 2 * static_cast<size_t>(kPageTokens) * D_ * esize();
  }
  return b;
}

void ThinkLayerCache::read(int h, int64_t t, float* k_out, float* v_out) const {
  const int64_t np = std::max<int64_t>(n_pruned_, 0);
  SPARKV_CHECK(h >= 0 && h < n_kv_ && t >= 0 && t < np + n_tail_,
               "think cache: read of head {} token {} out of range", h, t);
  if (t < np) {
    if (k_out) {
      std::fill(k_out, k_out + D_, 0.0f);
      for (int c = 0; c < dk_; ++c)
        k_out[channels_[h][c]] = load(pk_[h].get(), dtype_, t * dk_ + c);
    }
    if (v_out)
      for (int d = 0; d < D_; ++d) v_out[d] = load(pv_[h].get(), dtype_, t * D_ + d);
    return;
  }
  for (int d = 0; d < D_; ++d) {
    if (k_out) k_out[d] = load(tail_k(h, t - np), dtype_, d);
    if (v_out) v_out[d] = load(tail_v(h, t - np), dtype_, d);
  }
}

void ThinkLayerCache::attend(const float* q, int n_q, float* out) const {
  const int64_t np = std::max<int64_t>(n_pruned_, 0);
  for (int h = 0; h < n_kv_; ++h)
    SPARKV_CHECK(np == 0 || pk_[h], "think cache: KV head {} has no pruned segment", h);
  attend_split(
      q, n_q, n_kv_, group_, D_, np + n_tail_, out,
      [&](int g, int h, int64_t t0, int64_t t1, const float* qs, float* m, float* l, float* o) {
        if (t0 < np) {
          // Gather the scaled query onto the kept channels: [g, dk].
          float qbuf[8 * 256];
          std::vector<float> qbig;
          float* qp = qbuf;
          if (static_cast<size_t>(g) * dk_ > sizeof(qbuf) / sizeof(float)) {
            qbig.resize(static_cast<size_t>(g) * dk_);
            qp = qbig.data();
          }
          const auto& ch = channels_[h];
          for (int gi = 0; gi < g; ++gi)
            for (int c = 0; c < dk_; ++c) qp[gi * dk_ + c] = qs[gi * D_ + ch[c]];
          const int64_t e = std::min(t1, np);
          attn_think_update(qp, g, pk_[h].get() + static_cast<size_t>(t0) * dk_ * esize(), dk_,
                            pv_[h].get() + static_cast<size_t>(t0) * D_ * esize(), D_, dtype_,
                            e - t0, m, l, o);
          t0 = e;
        }
        // The dense tail, page by page.
        for (int64_t t = t0; t < t1;) {
          const int64_t r = t - np;
          const int64_t cnt = std::min<int64_t>(kPageTokens - r % kPageTokens, t1 - t);
          attn_dense_update(qs, g, tail_k(h, r), tail_v(h, r), dtype_, cnt, D_, m, l, o);
          t += cnt;
        }
      });
}

void ThinkLayerCache::read(int h, int64_t t0, int64_t n, float* k, float* v) const {
  std::vector<float> kt(D_), vt(D_);
  for (int64_t i = 0; i < n; ++i) {
    read(h, t0 + i, kt.data(), vt.data());
    if (k) std::copy(kt.begin(), kt.end(), k + i * D_);
    if (v) std::copy(vt.begin(), vt.end(), v + i * D_);
  }
}

}  // namespace sparkv

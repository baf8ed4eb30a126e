#include "kv/dense_cache.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/fp16.h"

namespace sparkv {

DenseLayerCache::DenseLayerCache(int n_kv, int head_dim, int group, KvDtype dtype)
    : n_kv_(n_kv), D_(head_dim), group_(group), dtype_(dtype), pages_(n_kv) {}

uint8_t* DenseLayerCache::k_ptr(int h, int64_t t) const {
  const int64_t p = t / kPageTokens, r = t % kPageTokens;
  return pages_[h][p].get() + static_cast<size_t>(r) * D_ * esize();
}

uint8_t* DenseLayerCache::v_ptr(int h, int64_t t) const {
  const int64_t p = t / kPageTokens, r = t % kPageTokens;
  return pages_[h][p].get() + (static_cast<size_t>(kPageTokens) + r) * D_ * esize();
}

size_t DenseLayerCache::bytes() const {
  size_t pages = 0;
  for (const auto& hp : pages_) pages += hp.size();
  return pages * 2 * kPageTokens * D_ * esize();
}

void DenseLayerCache::append(const float* k, const float* v, int n) {
  const size_t page_bytes = 2 * static_cast<size_t>(kPageTokens) * D_ * esize();
  for (int j = 0; j < n; ++j) {
    const int64_t t = n_ + j;
    for (int h = 0; h < n_kv_; ++h) {
      if (t / kPageTokens >= static_cast<int64_t>(pages_[h].size()))
        pages_[h].emplace_back(new uint8_t[page_bytes]);
      const float* ks = k + (static_cast<size_t>(j) * n_kv_ + h) * D_;
      const float* vs = v + (static_cast<size_t>(j) * n_kv_ + h) * D_;
      if (dtype_ == KvDtype::kF32) {
        std::memcpy(k_ptr(h, t), ks, D_ * sizeof(float));
        std::memcpy(v_ptr(h, t), vs, D_ * sizeof(float));
      } else {
        auto* kd = reinterpret_cast<uint16_t*>(k_ptr(h, t));
        auto* vd = reinterpret_cast<uint16_t*>(v_ptr(h, t));
        for (int d = 0; d < D_; ++d) {
          kd[d] = f32_to_fp16(ks[d]);
          vd[d] = f32_to_fp16(vs[d]);
        }
      }
    }
  }
  n_ += n;
}

void DenseLayerCache::read(int h, int64_t t0, int64_t n, float* k_out, float* v_out) const {
  SPARKV_CHECK(h >= 0 && h < n_kv_ && t0 >= 0 && t0 + n <= n_, "cache read out of range");
  for (int64_t j = 0; j < n; ++j) {
    const uint8_t* kp = k_ptr(h, t0 + j);
    const uint8_t* vp = v_ptr(h, t0 + j);
    for (int d = 0; d < D_; ++d) {
      if (dtype_ == KvDtype::kF32) {
        if (k_out) k_out[j * D_ + d] = reinterpret_cast<const float*>(kp)[d];
        if (v_out) v_out[j * D_ + d] = reinterpret_cast<const float*>(vp)[d];
      } else {
        if (k_out) k_out[j * D_ + d] = fp16_to_f32(reinterpret_cast<const uint16_t*>(kp)[d]);
        if (v_out) v_out[j * D_ + d] = fp16_to_f32(reinterpret_cast<const uint16_t*>(vp)[d]);
      }
    }
  }
}

void DenseLayerCache::attend_range(int h, int64_t t0, int64_t t1, const float* q, float* m,
                                   float* l, float* o) const {
  // Stream page by page; each page holds a contiguous run of K rows and V rows.
  for (int64_t t = t0; t < t1;) {
    const int64_t in_page = kPageTokens - t % kPageTokens;
    const int64_t cnt = std::min(in_page, t1 - t);
    attn_dense_update(q, group_, k_ptr(h, t), v_ptr(h, t), dtype_, cnt, D_, m, l, o);
    t += cnt;
  }
}

void DenseLayerCache::attend(const float* q, int n_q, float* out) const {
  attend_split(q, n_q, n_kv_, group_, D_, n_, out,
               [&](int, int h, int64_t t0, int64_t t1, const float* qs, float* m, float* l,
                   float* o) { attend_range(h, t0, t1, qs, m, l, o); });
}

}  // namespace sparkv

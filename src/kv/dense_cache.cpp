#include "kv/dense_cache.h"

#include <xmmintrin.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace sparkv {

DenseLayerCache::DenseLayerCache(int n_kv, int head_dim, int group, KvDtype k_type, KvDtype v_type)
    : n_kv_(n_kv), D_(head_dim), group_(group), k_type_(k_type), v_type_(v_type), pages_(n_kv) {
  kv_check_head_dim(k_type, head_dim, "K cache");
  kv_check_head_dim(v_type, head_dim, "V cache");
  k_row_ = kv_row_bytes(k_type, head_dim);
  v_row_ = kv_row_bytes(v_type, head_dim);
  kind_ = k_type == v_type ? kv_dtype_name(k_type)
                           : std::string(kv_dtype_name(k_type)) + "/" + kv_dtype_name(v_type);
}

uint8_t* DenseLayerCache::k_ptr(int h, int64_t t) const {
  const int64_t p = t / kPageTokens, r = t % kPageTokens;
  return pages_[h][p].get() + static_cast<size_t>(r) * k_row_;
}

uint8_t* DenseLayerCache::v_ptr(int h, int64_t t) const {
  const int64_t p = t / kPageTokens, r = t % kPageTokens;
  return pages_[h][p].get() + static_cast<size_t>(kPageTokens) * k_row_ + static_cast<size_t>(r) * v_row_;
}

size_t DenseLayerCache::bytes() const {
  size_t pages = 0;
  for (const auto& hp : pages_) pages += hp.size();
  return pages * page_bytes();
}

void DenseLayerCache::ensure_page(int h, int64_t t) {
  if (t / kPageTokens >= static_cast<int64_t>(pages_[h].size()))
    pages_[h].emplace_back(new uint8_t[page_bytes()]);
}

void DenseLayerCache::append(const float* k, const float* v, int n) {
  for (int j = 0; j < n; ++j) {
    const int64_t t = n_ + j;
    for (int h = 0; h < n_kv_; ++h) {
      ensure_page(h, t);
      const float* ks = k + (static_cast<size_t>(j) * n_kv_ + h) * D_;
      const float* vs = v + (static_cast<size_t>(j) * n_kv_ + h) * D_;
      kv_quantize_row(k_type_, ks, k_ptr(h, t), D_);
      kv_quantize_row(v_type_, vs, v_ptr(h, t), D_);
    }
  }
  n_ += n;
}

void DenseLayerCache::read(int h, int64_t t0, int64_t n, float* k_out, float* v_out) const {
  SPARKV_CHECK(h >= 0 && h < n_kv_ && t0 >= 0 && t0 + n <= n_,
               "cache read out of range: head {} tokens [{}, {}) of {}", h, t0, t0 + n, n_);
  for (int64_t j = 0; j < n; ++j) {
    if (k_out) kv_dequantize_row(k_type_, k_ptr(h, t0 + j), k_out + j * D_, D_);
    if (v_out) kv_dequantize_row(v_type_, v_ptr(h, t0 + j), v_out + j * D_, D_);
  }
}

std::unique_ptr<DenseLayerCache> DenseLayerCache::gather(
    const std::vector<std::vector<int32_t>>& kept) const {
  SPARKV_CHECK(static_cast<int>(kept.size()) == n_kv_, "gather: selection has {} heads, cache {}",
               kept.size(), n_kv_);
  auto out = std::make_unique<DenseLayerCache>(n_kv_, D_, group_, k_type_, v_type_);
  const size_t n = kept[0].size();
  for (int h = 0; h < n_kv_; ++h) {
    SPARKV_CHECK(kept[h].size() == n, "gather: head {} keeps {} tokens, head 0 keeps {}", h,
                 kept[h].size(), n);
    for (size_t j = 0; j < n; ++j) {
      const int32_t t = kept[h][j];
      SPARKV_CHECK(t >= 0 && t < n_, "gather: token {} out of range (cache holds {})", t, n_);
      out->ensure_page(h, static_cast<int64_t>(j));
      std::memcpy(out->k_ptr(h, j), k_ptr(h, t), k_row_);
      std::memcpy(out->v_ptr(h, j), v_ptr(h, t), v_row_);
    }
  }
  out->n_ = static_cast<int64_t>(n);
  return out;
}

void DenseLayerCache::attend_range(int h, int64_t t0, int64_t t1, const float* q, float* m,
                                   float* l, float* o) const {
  // Stream page by page; each page holds a contiguous run of K rows and V rows.
  for (int64_t t = t0; t < t1;) {
    const int64_t in_page = kPageTokens - t % kPageTokens;
    const int64_t cnt = std::min(in_page, t1 - t);
    // Pages are separate allocations, so the hardware prefetcher restarts at each one: ask for
    // the next page's keys (to L2) while this page is being read.
    if (t + cnt < t1) {
      const char* next = reinterpret_cast<const char*>(k_ptr(h, t + cnt));
      const size_t bytes = k_row_ * std::min<int64_t>(kPageTokens, t1 - t - cnt);
      for (size_t b = 0; b < bytes; b += 64) _mm_prefetch(next + b, _MM_HINT_T1);
    }
    attn_dense_update(q, group_, k_ptr(h, t), v_ptr(h, t), k_type_, v_type_, cnt, D_, m, l, o);
    t += cnt;
  }
}

void DenseLayerCache::attend(const float* q, int n_q, float* out) const {
  attend_split(q, n_q, n_kv_, group_, D_, n_, out,
               [&](int, int h, int64_t t0, int64_t t1, const float* qs, float* m, float* l,
                   float* o) { attend_range(h, t0, t1, qs, m, l, o); });
}

}  // namespace sparkv

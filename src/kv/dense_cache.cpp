#include "kv/dense_cache.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace sparkv {

DenseLayerCache::DenseLayerCache(int n_kv, int head_dim, int group, KvDtype k_type, KvDtype v_type)
    : n_kv_(n_kv),
      D_(head_dim),
      group_(group),
      k_type_(k_type),
      v_type_(v_type),
      k_pages_(n_kv),
      v_pages_(n_kv),
      run_end_page_(n_kv),
      chunks_(n_kv),
      tail_(n_kv) {
  kv_check_head_dim(k_type, head_dim, "K cache");
  kv_check_head_dim(v_type, head_dim, "V cache");
  k_row_ = kv_row_bytes(k_type, head_dim);
  v_row_ = kv_row_bytes(v_type, head_dim);
  kind_ = k_type == v_type ? kv_dtype_name(k_type)
                           : std::string(kv_dtype_name(k_type)) + "/" + kv_dtype_name(v_type);
}

uint8_t* DenseLayerCache::k_ptr(int h, int64_t t) const {
  return k_pages_[h][t / kPageTokens] + static_cast<size_t>(t % kPageTokens) * k_row_;
}

uint8_t* DenseLayerCache::v_ptr(int h, int64_t t) const {
  return v_pages_[h][t / kPageTokens] + static_cast<size_t>(t % kPageTokens) * v_row_;
}

int64_t DenseLayerCache::run_end(int h, int64_t t) const {
  return std::min(n_, run_end_page_[h][t / kPageTokens] * kPageTokens);
}

size_t DenseLayerCache::bytes() const {
  size_t pages = 0;
  for (const auto& hp : k_pages_) pages += hp.size();
  return pages * page_bytes();
}

void DenseLayerCache::new_chunk(int h, int64_t pages, bool huge) {
  const size_t k_page = static_cast<size_t>(kPageTokens) * k_row_;
  const size_t v_page = static_cast<size_t>(kPageTokens) * v_row_;
  ChunkTail& c = tail_[h];
  c.cap = pages;
  chunks_[h].push_back(big_alloc(static_cast<size_t>(pages) * (k_page + v_page), huge));
  c.k = chunks_[h].back().get();
  c.v = c.k + static_cast<size_t>(pages) * k_page;
  c.used = 0;
  c.end_page = static_cast<int64_t>(k_pages_[h].size()) + pages;
}

void DenseLayerCache::reserve(int64_t n_tokens) {
  const int64_t want = (n_tokens + kPageTokens - 1) / kPageTokens;
  for (int h = 0; h < n_kv_; ++h) {
    const ChunkTail& c = tail_[h];
    const int64_t in_use = static_cast<int64_t>(k_pages_[h].size());
    if (want <= in_use + (c.cap - c.used)) continue;
    // One run for all the new tokens: the current chunk's free pages are left unused (never
    // touched, so never resident), and its pages' run now ends where they do.
    for (int64_t p = in_use - c.used; p < in_use; ++p) run_end_page_[h][p] = in_use;
    new_chunk(h, want - in_use, true);
  }
}

void DenseLayerCache::reserve_pages(int64_t n_tokens) {
  const int64_t want = (n_tokens + kPageTokens - 1) / kPageTokens;
  const size_t k_page = static_cast<size_t>(kPageTokens) * k_row_;
  const size_t v_page = static_cast<size_t>(kPageTokens) * v_row_;
  for (int h = 0; h < n_kv_; ++h) {
    ChunkTail& c = tail_[h];
    int64_t have = static_cast<int64_t>(k_pages_[h].size());
    while (have < want) {
      if (c.used == c.cap) {
        // Unreserved growth (decode): what this call needs, and room for 1/16 of what the head
        // holds up to 4 MiB, on 4 KiB pages (see the class comment).
        constexpr size_t kMaxAhead = size_t{4} << 20;
        const int64_t ahead =
            static_cast<int64_t>(std::max<size_t>(1, kMaxAhead / (k_page + v_page)));
        new_chunk(h, std::max(want - have, std::min(have / 16, ahead)), false);
      }
      k_pages_[h].push_back(c.k + static_cast<size_t>(c.used) * k_page);
      v_pages_[h].push_back(c.v + static_cast<size_t>(c.used) * v_page);
      run_end_page_[h].push_back(c.end_page);  // the run ends where the chunk does
      ++c.used;
      ++have;
    }
  }
}

void DenseLayerCache::append(const float* k, const float* v, int n) {
  reserve_pages(n_ + n);
  for (int j = 0; j < n; ++j) {
    const int64_t t = n_ + j;
    for (int h = 0; h < n_kv_; ++h) {
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
  out->reserve_pages(static_cast<int64_t>(n));
  for (int h = 0; h < n_kv_; ++h) {
    SPARKV_CHECK(kept[h].size() == n, "gather: head {} keeps {} tokens, head 0 keeps {}", h,
                 kept[h].size(), n);
    for (size_t j = 0; j < n; ++j) {
      const int32_t t = kept[h][j];
      SPARKV_CHECK(t >= 0 && t < n_, "gather: token {} out of range (cache holds {})", t, n_);
      std::memcpy(out->k_ptr(h, j), k_ptr(h, t), k_row_);
      std::memcpy(out->v_ptr(h, j), v_ptr(h, t), v_row_);
    }
  }
  out->n_ = static_cast<int64_t>(n);
  return out;
}

void DenseLayerCache::attend_range(int h, int64_t t0, int64_t t1, const float* q, int rows,
                                   float* m, float* l, float* o) const {
  // One kernel call per run of contiguous rows (a whole prefill chunk, typically): the kernels
  // prefetch ahead within their range, so the longer the run the fewer stalls at its start.
  for (int64_t t = t0; t < t1;) {
    const int64_t end = std::min(t1, run_end(h, t));
    attn_dense_update(q, rows, k_ptr(h, t), v_ptr(h, t), k_type_, v_type_, end - t, D_, m, l, o);
    t = end;
  }
}

void DenseLayerCache::attend(const float* q, int n_q, float* out) const {
  if (n_q * group_ >= kTiledMinRows) {
    attend_tiled(q, n_q, n_kv_, group_, D_, n_, out,
                 [&](int h, int64_t t0, int n, float* k, float* v) { read(h, t0, n, k, v); });
    return;
  }
  attend_split(q, n_q, n_kv_, group_, D_, n_, out,
               [&](int rows, int h, int64_t t0, int64_t t1, const float* qs, float* m, float* l,
                   float* o) { attend_range(h, t0, t1, qs, rows, m, l, o); });
}

void append_kept(const DenseLayerCache& src, const std::vector<std::vector<int32_t>>& kept,
                 int64_t first, int64_t n, LayerCache& dst) {
  const int n_kv = src.n_kv(), D = src.head_dim();
  constexpr int64_t kChunk = 256;
  std::vector<float> k(static_cast<size_t>(std::min(kChunk, n)) * n_kv * D), v(k.size());
  for (int64_t t0 = 0; t0 < n; t0 += kChunk) {
    const int64_t m = std::min(kChunk, n - t0);
    for (int h = 0; h < n_kv; ++h)
      for (int64_t j = 0; j < m; ++j) {
        const size_t off = (static_cast<size_t>(j) * n_kv + h) * D;
        src.read(h, kept[h][first + t0 + j], 1, k.data() + off, v.data() + off);
      }
    dst.append(k.data(), v.data(), static_cast<int>(m));
  }
}

size_t DenseLayerCache::bytes_held() const {
  const int64_t cap = (n_ + kPageTokens - 1) / kPageTokens * kPageTokens;
  return cap > 0 ? static_cast<size_t>(static_cast<double>(bytes()) * n_ / cap) : 0;
}

}  // namespace sparkv

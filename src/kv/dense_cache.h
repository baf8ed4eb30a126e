// Dense KV storage (f32 or f16), in pages of kPageTokens tokens per KV head so that the cache
// grows without copying and threads can split long contexts page by page.
#pragma once

#include <memory>
#include <vector>

#include "attn/dense_decode.h"
#include "kv/layer_cache.h"

namespace sparkv {

class DenseLayerCache : public LayerCache {
 public:
  static constexpr int kPageTokens = 256;

  // group = query heads per KV head.
  DenseLayerCache(int n_kv, int head_dim, int group, KvDtype dtype);

  void append(const float* k, const float* v, int n) override;
  void attend(const float* q, int n_q, float* out) const override;
  int64_t n_tokens(int) const override { return n_; }
  size_t bytes() const override;
  const char* kind() const override { return dtype_ == KvDtype::kF16 ? "f16" : "f32"; }

  // Folds tokens [t0, t1) of KV head h into the online-softmax states of the group's query heads
  // (q scaled, [group, D]); the building block other storages use for their dense segments.
  void attend_range(int h, int64_t t0, int64_t t1, const float* q, float* m, float* l, float* o) const;

  // Reads tokens [t0, t0+n) of KV head h as f32. k_out, v_out: [n, D] (either may be null).
  void read(int h, int64_t t0, int64_t n, float* k_out, float* v_out) const;

  int n_kv() const { return n_kv_; }
  int head_dim() const { return D_; }
  int group() const { return group_; }
  KvDtype dtype() const { return dtype_; }

 private:
  size_t esize() const { return dtype_ == KvDtype::kF16 ? 2 : 4; }
  // Page p of head h holds K [kPageTokens, D] followed by V [kPageTokens, D].
  uint8_t* k_ptr(int h, int64_t t) const;
  uint8_t* v_ptr(int h, int64_t t) const;

  int n_kv_, D_, group_;
  KvDtype dtype_;
  int64_t n_ = 0;
  std::vector<std::vector<std::unique_ptr<uint8_t[]>>> pages_;  // [n_kv][n_pages]
};

// Runs attention for n_q queries over any storage that can produce partial online-softmax states
// for a token range of one KV head. Shared by the cache implementations: it owns the parallel
// split (queries x KV heads x token chunks) and the merge.
//   visit(i_query, kv_head, t_begin, t_end, q_scaled [g, D], m [g], l [g], o [g, D])
// must fold tokens [t_begin, t_end) of kv_head into the state.
template <typename Visit>
void attend_split(const float* q, int n_q, int n_kv, int group, int D, int64_t n_tokens,
                  float* out, Visit&& visit);

}  // namespace sparkv

#include "kv/attend_split_inl.h"

// The KV cache of one layer, as the model sees it. Keys are stored post-RoPE, so a storage form
// never needs positions; decoding positions are tracked by the Session (after eviction they keep
// counting from the original prompt length, as kvpress does).
//
// Implementations own their bytes and the attention over them: attn/ kernels read each storage
// form directly, and no implementation ever materialises a dense copy of a compressed cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace sparkv {

class LayerCache {
 public:
  virtual ~LayerCache() = default;

  // Appends n new tokens. k, v: [n, n_kv, D] (token-major, as the projections produce them).
  virtual void append(const float* k, const float* v, int n) = 0;

  // Attention for the n_q most recently appended tokens. q: [n_q, n_head, D] (post-RoPE, not
  // yet scaled). Query i sees every cached token except the last n_q-1-i (causal within the
  // chunk). out: [n_q, n_head, D].
  virtual void attend(const float* q, int n_q, float* out) const = 0;

  // Tokens held for KV head h (eviction can leave different tokens, but the count is the same
  // for every head of a layer except with per-head budgets).
  virtual int64_t n_tokens(int kv_head) const = 0;

  // Bytes allocated by this storage for keys and values (and metadata), i.e. what it costs.
  virtual size_t bytes() const = 0;

  // A short name for reports ("f16", "spark", ...).
  virtual const char* kind() const = 0;
};

}  // namespace sparkv

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

class DenseLayerCache;

// Everything outside kv/ (the forward pass, presses, captures, reports) reaches a storage form
// through this interface only; none of them needs to know which form it holds.
class LayerCache {
 public:
  virtual ~LayerCache() = default;

  // Appends n new tokens. k, v: [n, n_kv, D] (token-major, as the projections produce them).
  virtual void append(const float* k, const float* v, int n) = 0;

  // A hint that the cache will hold n_tokens tokens soon (a prefill about to append them):
  // storage that grows may allocate exactly that room now. No effect on contents.
  virtual void reserve(int64_t n_tokens) {}

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

  // Shape: KV heads, channels per head, query heads per KV head.
  virtual int n_kv() const = 0;
  virtual int head_dim() const = 0;
  virtual int group() const = 0;

  // Reads tokens [t0, t0+n) of KV head h as f32 rows k, v [n, D] (either may be null): what
  // attention sees — dequantized, and for a compressed form its reconstruction (SparK's recovered
  // channels, ThinK's pruned channels as zero).
  virtual void read(int h, int64_t t0, int64_t n, float* k, float* v) const = 0;

  // Bytes the tokens held occupy, for budget comparisons: bytes() less the room a form has
  // reserved for tokens to come (the dense form's unused rows of its last pages).
  virtual size_t bytes_held() const { return bytes(); }

  // The uncompressed rows a press builds from: the dense form is its own; a compressed form has
  // none (a layer is compressed once, right after its prefill).
  virtual const DenseLayerCache* uncompressed() const { return nullptr; }
};

}  // namespace sparkv

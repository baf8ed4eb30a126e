// SparK KV storage: the prefill tokens of each KV head in packed form (kept key values f16, or
// int8 / int4 with an fp16 scale per token, a kept-channel bitmask, the signs of pruned channels,
// one fp16 recovery scale per token, and per head the channel recovery weights), values dense in
// any cache type (or packed f16 when value pruning is on), plus a dense tail in the session's
// cache types for tokens appended after compression (decode tokens, question suffixes).
//
// Bytes per token per KV head (D channels, T kept, fixed λ, values dense):
//   keys   kept values: 2·T (f16) | T + 2 (q8) | ceil(T/2) + 2 (q4)
//          + D/8 (mask) + D/8 (pruned signs, at their channel positions) + 2 (r_t)
//   values kv_row_bytes(v_type, D): 2·D for f16, 34·D/32 for q8_0, ...
// plus, per head, 4·D bytes of recovery weights and 16 bytes of stream padding. Variable-T
// variants (SparK-g/-p) add a 4-byte offset per token. See docs/spark-storage.md.
#pragma once

#include <memory>
#include <vector>

#include "attn/spark_decode.h"
#include "kv/dense_cache.h"

namespace sparkv {

// Storage choices that are not part of the method: the form of the kept key values, the type of
// the dense values, and the types of the dense tail.
struct SparkStorage {
  SparkKeyQuant kq = SparkKeyQuant::kF16;
  KvDtype v_type = KvDtype::kF16;  // dense values of the compressed tokens
  KvTypes tail;                    // tokens appended after compression
};

// Which fields of a plan the cache stores, fixed per cache by the press's options.
struct SparkLayout {
  int k_fixed = 0;    // kept key channels of every token (>= 1); 0: variable, an offset per token
  bool signs = true;  // the pruned entries' signs (D/8 bytes per token)
  bool scale = true;  // r_t (2 bytes per token)
  int sampled = 0;    // 0 none | 1 normal | 2 exponential: τ_t stored, magnitudes regenerated
  uint64_t sample_key_base = 0;  // keys the sampled magnitudes (per layer; the head is mixed in)
  int v_fixed = 0;               // kept value channels of every token; 0: values stored dense
};

// What the press decided for n consecutive tokens of one KV head; the cache packs it.
struct SparkHeadPlan {
  std::vector<uint8_t> kmask;   // [n, D/8] kept key channels
  std::vector<uint16_t> r;      // [n] fp16 r_t (layout.scale)
  std::vector<uint16_t> tau;    // [n] fp16 τ_t (layout.sampled)
  std::vector<float> w;         // [D] the head's channel weights (its first plan only)
  std::vector<uint8_t> vmask;   // [n, D/8] kept value channels (layout.v_fixed > 0)
  std::vector<uint16_t> vfill;  // [n] fp16 fill of the pruned value channels
};

// The press side of a SparK cache (press/spark_plan.h implements it): every decision and
// statistic. The cache asks it for the prefill survivors at build() and, when decode_block() > 0,
// for each whole block of that many tokens appended after compression. kv/ only packs the plans.
class SparkPlanner {
 public:
  virtual ~SparkPlanner() = default;
  virtual const SparkLayout& layout() const = 0;
  virtual int decode_block() const = 0;
  // k, v: [n, D] f32 tokens of KV head h. head_w: the head's stored weights, or null for its first
  // plan, which then sets out->w. Called concurrently for different heads.
  virtual void plan(int h, const float* k, const float* v, int64_t n, const float* head_w,
                    SparkHeadPlan* out) const = 0;
};

struct SparkHeadStore {
  int64_t n = 0;
  std::vector<uint8_t> kmask;    // [n, D/8]
  std::vector<uint8_t> kpos;     // [n, D/8]
  std::vector<uint16_t> r;       // [n] fp16
  std::vector<uint16_t> tau;     // [n] fp16, sampled recoveries only
  std::vector<uint8_t> kvals;    // [Σ kept] f16 / int8 / int4 (+16 bytes pad)
  std::vector<uint16_t> kscale;  // [n] fp16, q8 / q4 only
  std::vector<uint32_t> koffs;   // [n+1], variable-T only (stream elements)
  int k_fixed = 0;
  int k_stride = 0;
  std::vector<float> w;         // [D]
  std::vector<uint8_t> v;       // [n, kv_row_bytes(v_type, D)] (dense values)
  std::vector<uint8_t> vmask;   // [n, D/8] (pruned values)
  std::vector<uint16_t> vvals;  // [n * v_fixed + 8 pad]
  std::vector<uint16_t> vfill;  // [n]
  int v_fixed = 0;
};

// The packed key stream: kept values back to back (int4 runs start on a byte boundary), padded at
// the end because the kernels load 8 values at a time; the same rules size a loaded cache
// (kv/cache_io.cpp).
inline constexpr int kSparkPad = 8;        // values of padding (value streams)
inline constexpr int kSparkPadBytes = 16;  // bytes of padding (key stream: 8 values of <= 2 bytes)
// Stream elements a token with `kept` values occupies.
inline int64_t spark_stream_elems(SparkKeyQuant kq, int64_t kept) {
  return kq == SparkKeyQuant::kQ4 ? (kept + 1) / 2 * 2 : kept;
}
// Stream bytes for `elems` elements.
inline size_t spark_stream_bytes(SparkKeyQuant kq, size_t elems) {
  return kq == SparkKeyQuant::kF16 ? 2 * elems : kq == SparkKeyQuant::kQ8 ? elems : elems / 2;
}
// Kept channels of token t in a [n, D/8] channel mask.
inline int spark_kept(const uint8_t* mask, int64_t t, int nb) {
  int kept = 0;
  for (int b = 0; b < nb; ++b) kept += __builtin_popcount(mask[t * nb + b]);
  return kept;
}

struct CacheIo;

class SparkLayerCache : public LayerCache {
 public:
  SparkLayerCache(int n_kv, int head_dim, int group, std::shared_ptr<const SparkPlanner> planner,
                  const SparkStorage& storage = {});

  // Packs the selected prefill tokens of `src` (kept[h] ascending, the same count per head) as
  // the planner decides; the last n_recent of them go to the dense tail uncompressed.
  void build(const DenseLayerCache& src, const std::vector<std::vector<int32_t>>& kept,
             int64_t n_recent);

  // New tokens go to the dense tail; with a decode block, full blocks of it are then compressed.
  void append(const float* k, const float* v, int n) override;
  void attend(const float* q, int n_q, float* out) const override;
  int64_t n_tokens(int h) const override { return heads_[h].n + tail_.n_tokens(h); }
  size_t bytes() const override;
  const char* kind() const override { return "spark"; }
  int n_kv() const override { return n_kv_; }
  int head_dim() const override { return D_; }
  int group() const override { return group_; }
  void read(int h, int64_t t0, int64_t n, float* k, float* v) const override;
  const SparkStorage& storage() const { return storage_; }

  SparkView view(int h) const;
  int64_t n_compressed(int h) const { return heads_[h].n; }
  const DenseLayerCache& tail() const { return tail_; }
  // Average kept key channels per compressed token (all heads).
  double mean_kept() const;

 private:
  friend struct CacheIo;
  // A loaded cache (kv/cache_io.cpp): the layout as saved, no planner.
  SparkLayerCache(int n_kv, int head_dim, int group, const SparkLayout& layout,
                  const SparkStorage& storage);

  int n_kv_, D_, group_;
  // Kept only while decode blocks may still be compressed (it holds the window's statistics).
  std::shared_ptr<const SparkPlanner> planner_;
  SparkLayout layout_;
  SparkStorage storage_;
  // Plans and packs n tokens (k, v: [n, D] f32) of head h onto the end of its store.
  void compress_into(int h, const float* k, const float* v, int64_t n);

  std::vector<SparkHeadStore> heads_;
  DenseLayerCache tail_;
};

}  // namespace sparkv

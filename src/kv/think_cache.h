// ThinK storage (spec §3.1): per KV head one set of kept key channels, and the prompt tokens'
// keys stored PACKED over those channels only, so pruning saves real bytes:
//   pruned segment, per head:  channel ids [dk] (int32), K [n_pruned, dk], V [n_pruned, D]
//   dense tail, per head:      K [n_tail, D], V [n_tail, D] in pages of kPageTokens
// The tail holds the prompt's most recent tokens when the press keeps them unpruned (ThinK's own
// code keeps the last 32) and every token appended after compression (generated tokens stay at
// full width, as in ThinK). Elements are f32 or f16 like the prefill cache they came from.
//
// Decode attention reads the packed form directly: the query is gathered by the channel ids once
// per step and dotted with dk-wide key rows (attn/think_decode.h); the tail uses the dense kernel.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "attn/dense_decode.h"
#include "kv/layer_cache.h"

namespace sparkv {

struct CacheIo;

class ThinkLayerCache : public LayerCache {
 public:
  // Tail pages (recent and decode tokens) as small as the dense cache's: a 256-token page cost
  // more than the dense rows of a short prompt with recent=32.
  static constexpr int kPageTokens = 64;

  // channels[h]: the kept key channels of KV head h, ascending, the same count for every head.
  ThinkLayerCache(int n_kv, int head_dim, int group, KvDtype dtype,
                  std::vector<std::vector<int32_t>> channels);

  // Stores the pruned segment of KV head h: n tokens given as full-width rows k, v [n, D]; only
  // the kept channels of k are stored. Every head must get the same n, before any append().
  void set_pruned(int h, const float* k, const float* v, int64_t n);

  void append(const float* k, const float* v, int n) override;  // to the dense tail
  void attend(const float* q, int n_q, float* out) const override;
  int64_t n_tokens(int) const override { return n_pruned_ + n_tail_; }
  size_t bytes() const override;
  const char* kind() const override { return "think"; }

  int n_kv() const override { return n_kv_; }
  int head_dim() const override { return D_; }
  int group() const override { return group_; }
  void read(int h, int64_t t0, int64_t n, float* k, float* v) const override;

  const std::vector<int32_t>& channels(int h) const { return channels_[h]; }
  int kept_channels() const { return dk_; }
  int64_t n_pruned_tokens() const { return n_pruned_; }
  int64_t n_tail_tokens() const { return n_tail_; }
  // Token t of head h as f32 rows [D]; pruned channels read as zero (tests, debugging).
  void read(int h, int64_t t, float* k_out, float* v_out) const;

 private:
  friend struct CacheIo;
  size_t esize() const { return dtype_ == KvDtype::kF16 ? 2 : 4; }
  uint8_t* tail_k(int h, int64_t t) const;
  uint8_t* tail_v(int h, int64_t t) const;

  int n_kv_, D_, group_, dk_;
  KvDtype dtype_;
  std::vector<std::vector<int32_t>> channels_;       // [n_kv][dk]
  int64_t n_pruned_ = -1;                            // -1 until the first set_pruned
  std::vector<std::unique_ptr<uint8_t[]>> pk_, pv_;  // [n_kv]: K [n_pruned, dk], V [n_pruned, D]
  int64_t n_tail_ = 0;
  std::vector<std::vector<std::unique_ptr<uint8_t[]>>> pages_;  // [n_kv][page]: K then V rows
};

}  // namespace sparkv

// Dense KV storage in any llama.cpp cache type (kv/kv_types.h; K and V independently), in pages of
// kPageTokens tokens per KV head so that the cache grows without copying and threads can split
// long contexts page by page; each append allocates its pages as one contiguous chunk per head
// (see k_ptr). A row is one token of one KV head: D values, or D/32 blocks.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "attn/dense_decode.h"
#include "core/big_alloc.h"
#include "kv/layer_cache.h"

namespace sparkv {

struct CacheIo;  // kv/cache_io.cpp: the saved form of each storage

class DenseLayerCache : public LayerCache {
 public:
  static constexpr int kPageTokens = 64;

  // group = query heads per KV head. Block types need head_dim % 32 == 0 (checked).
  DenseLayerCache(int n_kv, int head_dim, int group, KvDtype k_type, KvDtype v_type);
  DenseLayerCache(int n_kv, int head_dim, int group, KvDtype dtype)
      : DenseLayerCache(n_kv, head_dim, group, dtype, dtype) {}
  DenseLayerCache(int n_kv, int head_dim, int group, KvTypes types)
      : DenseLayerCache(n_kv, head_dim, group, types.k, types.v) {}

  void append(const float* k, const float* v, int n) override;
  // Allocates the pages tokens [n, n_tokens) need as one chunk per head, on huge pages when
  // large: a prefill fills it row for row, so nothing is reserved that stays untouched.
  void reserve(int64_t n_tokens) override;
  void attend(const float* q, int n_q, float* out) const override;
  int64_t n_tokens(int) const override { return n_; }
  size_t bytes() const override;
  // Bytes a cache of this shape and these types holds with n tokens per head (what gather() of
  // n tokens allocates): whole pages.
  size_t bytes_for(int64_t n) const {
    return static_cast<size_t>(n_kv_) * static_cast<size_t>((n + kPageTokens - 1) / kPageTokens) *
           page_bytes();
  }
  // "f16", or "q8_0/q4_0" when K and V differ.
  const char* kind() const override { return kind_.c_str(); }

  // Folds tokens [t0, t1) of KV head h into the online-softmax states of the group's query heads
  // (q scaled, [group, D]); the building block other storages use for their dense segments.
  void attend_range(int h, int64_t t0, int64_t t1, const float* q, float* m, float* l,
                    float* o) const {
    attend_range(h, t0, t1, q, group_, m, l, o);
  }
  // The same for `rows` query heads (q: [rows, D]; attend_split's stacked prefill rows).
  void attend_range(int h, int64_t t0, int64_t t1, const float* q, int rows, float* m, float* l,
                    float* o) const;

  // Reads tokens [t0, t0+n) of KV head h as f32 (dequantized). k_out, v_out: [n, D] (either may
  // be null).
  void read(int h, int64_t t0, int64_t n, float* k_out, float* v_out) const override;
  // bytes() scaled to the tokens held (element-type agnostic): an allocator's page slack would
  // inflate small budgets.
  size_t bytes_held() const override;
  const DenseLayerCache* uncompressed() const override { return this; }

  // A new cache of the same types holding tokens kept[h] of each head (ascending, the same count
  // for every head), copied row for row: quantized rows are not requantized.
  std::unique_ptr<DenseLayerCache> gather(const std::vector<std::vector<int32_t>>& kept) const;

  int n_kv() const override { return n_kv_; }
  int head_dim() const override { return D_; }
  int group() const override { return group_; }
  KvDtype k_type() const { return k_type_; }
  KvDtype v_type() const { return v_type_; }
  KvTypes types() const { return {k_type_, v_type_}; }
  // The K type (the single element type of the f32 / f16 era; prefer k_type() / v_type()).
  KvDtype dtype() const { return k_type_; }

 private:
  friend struct CacheIo;
  // Token t of head h is row t % kPageTokens of page t / kPageTokens. Pages live in chunks: a
  // chunk of a head holds the K rows of its pages followed by their V rows, so consecutive pages
  // of one chunk have contiguous K rows and contiguous V rows, and attend_range hands a whole run
  // to one kernel call, which streams it and prefetches ahead within it. A prefill reserve()s its
  // tokens first: one chunk per head, exactly its pages, on huge pages (core/big_alloc.h). Tokens
  // appended without a reservation (decode) get a chunk with room for 1/16 of what the head
  // already holds, up to 4 MiB, on 4 KiB pages so that rows never touched are never resident:
  // the reservation costs at most ~6% of the cache. Separately allocated pages would interleave
  // the heads in memory and restart the hardware prefetchers at every page.
  uint8_t* k_ptr(int h, int64_t t) const;
  uint8_t* v_ptr(int h, int64_t t) const;
  // The end of the run holding token t (exclusive; at most n_).
  int64_t run_end(int h, int64_t t) const;
  // Bytes of a page's K and V rows: the unit of allocation and of bytes().
  size_t page_bytes() const { return static_cast<size_t>(kPageTokens) * (k_row_ + v_row_); }
  // Makes room for tokens [0, n_tokens) in every head, one new chunk per head if needed.
  void reserve_pages(int64_t n_tokens);
  // Starts a new chunk of `pages` pages for head h (the current one is full or abandoned).
  void new_chunk(int h, int64_t pages, bool huge);

  int n_kv_, D_, group_;
  KvDtype k_type_, v_type_;
  size_t k_row_, v_row_;  // bytes of one token's row of one head
  std::string kind_;
  int64_t n_ = 0;
  std::vector<std::vector<uint8_t*>> k_pages_, v_pages_;  // [n_kv][n_pages]: row 0, into chunks_
  std::vector<std::vector<int64_t>> run_end_page_;        // [n_kv][n_pages]: end page of its chunk
  std::vector<std::vector<BigBuffer>> chunks_;            // [n_kv][n_chunks]
  // Pages of the newest chunk of each head: its capacity, how many are in use, its K and V bases.
  struct ChunkTail {
    int64_t cap = 0, used = 0, end_page = 0;
    uint8_t* k = nullptr;
    uint8_t* v = nullptr;
  };
  std::vector<ChunkTail> tail_;  // [n_kv]
};

// Appends the survivors kept[h][first .. first + n) of every KV head of src to dst, in order:
// the presses that move selected tokens into another cache (quant, ThinK's and SparK's dense
// recent tokens). Staged token-major as append() expects, [chunk, n_kv, D], in chunks to bound
// the memory. Every head must hold at least first + n survivors.
void append_kept(const DenseLayerCache& src, const std::vector<std::vector<int32_t>>& kept,
                 int64_t first, int64_t n, LayerCache& dst);

// Runs attention for n_q queries over any storage that can produce partial online-softmax states
// for a token range of one KV head. Shared by the cache implementations: it owns the parallel
// split (query blocks x KV heads x token chunks) and the merge.
//   visit(rows, kv_head, t_begin, t_end, q_scaled [rows, D], m [rows], l [rows], o [rows, D])
// must fold tokens [t_begin, t_end) of kv_head into the states of `rows` query heads — the
// group's heads of one query, or of up to kStackedRows / group consecutive queries stacked
// (prefill), which the kernels treat as one larger group.
constexpr int kStackedRows = 8;
template <typename Visit>
void attend_split(const float* q, int n_q, int n_kv, int group, int D, int64_t n_tokens, float* out,
                  Visit&& visit);

// Prefill attention as GEMM tiles (attn/prefill_tile.h) for a storage that reads its rows as f32:
// query blocks of kTileRows / group queries x KV heads in parallel, each walking the tokens its
// last query sees in tiles of kTileTokens converted by
//   read(kv_head, t0, n, k_out [n, D], v_out [n, D]).
// Used when a call has at least kTiledMinRows query rows (n_q x group): below that the stacked
// decode kernels (attend_split) are as fast and split the token axis across threads.
constexpr int kTiledMinRows = 64;
template <typename ReadF32>
void attend_tiled(const float* q, int n_q, int n_kv, int group, int D, int64_t n_tokens, float* out,
                  ReadF32&& read);

}  // namespace sparkv

#include "kv/attend_split_inl.h"
#include "kv/attend_tiled_inl.h"

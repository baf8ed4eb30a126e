// A Session is one conversation's state over a shared, immutable Model: the per-layer KV caches,
// the logical position, and scratch. Use one Session per thread; any number of Sessions can share
// a Model.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "attn/dense_decode.h"
#include "kv/layer_cache.h"
#include "model/forward.h"
#include "model/model.h"

namespace sparkv {

struct SessionOptions {
  int64_t n_ctx = 0;        // maximum context; 0 = the model's trained context
  KvTypes kv_types;         // dense cache element types of K and V (-ctk / -ctv; f16)
  int prefill_chunk = 512;  // tokens per prefill forward (bounds activation memory)
  // Budget for what the KV cache and prefill scratch will hold (bytes; 0 = none): checked by the
  // prefill against the recipe's memory plan (runtime/memory_plan.h) before any cache page is
  // allocated, so a context the budget cannot hold fails up front, naming a recipe that fits,
  // rather than by running out of memory mid-prefill.
  uint64_t kv_mem_limit = 0;
};

// Bytes a dense cache holding n_ctx tokens takes in every layer: n_layer x n_kv_heads x n_ctx
// rounded up to whole pages (DenseLayerCache::kPageTokens) x (K row + V row bytes): what the
// full recipe holds (runtime/memory_plan.h).
uint64_t dense_kv_bytes(const ModelConfig& c, int64_t n_ctx, KvTypes types);

class Session {
 public:
  Session(const Model& model, const SessionOptions& opts = {});

  // Appends tokens to the context (prefill for many, decode for one) and returns the logits of
  // the last one, [n_vocab]. Throws if the context would exceed n_ctx.
  const std::vector<float>& feed(const std::vector<int32_t>& ids, ForwardObserver* obs = nullptr);
  // Like feed, layer-major (Forward::run_layer_major in prefill_chunk chunks): layer_done(l) runs
  // once layer l holds every new token, before layer l+1 starts; it may replace caches()[l] (a
  // press compressing as the prefill goes). Bit-identical to feed() when layer_done changes
  // nothing.
  const std::vector<float>& feed_layer_major(const std::vector<int32_t>& ids, ForwardObserver* obs,
                                             const std::function<void(int)>& layer_done);
  // Like feed, but returns logits for every fed token: [ids.size(), n_vocab].
  std::vector<float> feed_all_logits(const std::vector<int32_t>& ids,
                                     ForwardObserver* obs = nullptr);
  // One decode step of B sessions of the same model: sessions[b] is fed ids[b], in one forward
  // pass that reads the weights once (Forward::run_decode_batch). Each session ends exactly as
  // feed({ids[b]}) would leave it. Throws before any change if a session has no room.
  static void feed_decode_batch(Session* const* sessions, const int32_t* ids, int B);

  const Model& model() const { return model_; }
  int64_t n_past() const { return n_past_; }  // logical position of the next token
  int64_t n_ctx() const { return n_ctx_; }
  const SessionOptions& options() const { return opts_; }
  const std::vector<int32_t>& history() const { return history_; }
  const std::vector<float>& logits() const { return logits_; }

  // The caches, one per layer. A press replaces entries with compressed storage; n_past keeps
  // counting from the original length.
  std::vector<std::unique_ptr<LayerCache>>& caches() { return caches_; }
  const std::vector<std::unique_ptr<LayerCache>>& caches() const { return caches_; }
  size_t kv_bytes() const;

  // A new session over the same model that continues this one's context (position, history,
  // last logits) with the given caches — e.g. compress_caches() of this session's prefill. This is
  // how one prefill serves many recipes.
  std::unique_ptr<Session> fork_with_caches(std::vector<std::unique_ptr<LayerCache>> caches) const;
  // Replaces this fresh session's state with a saved one (runtime/cache_file.h checks the
  // shapes first): caches per layer, the position, the token history and the last logits.
  void restore(std::vector<std::unique_ptr<LayerCache>> caches, int64_t n_past,
               std::vector<int32_t> history, std::vector<float> logits);
  // Bytes the same tokens would take in a dense f16 cache (the baseline for savings).
  size_t kv_bytes_dense_f16() const;

 private:
  void check_room(size_t n) const;
  void reserve(size_t n);  // every layer: room for n more tokens (LayerCache::reserve)

  const Model& model_;
  SessionOptions opts_;
  int64_t n_ctx_;
  int64_t n_past_ = 0;
  Forward forward_;
  std::vector<std::unique_ptr<LayerCache>> caches_;
  std::vector<int32_t> history_;
  std::vector<float> logits_;
};

}  // namespace sparkv

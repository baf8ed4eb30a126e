// The decoder forward pass (Llama / Mistral / Qwen2 / Qwen3): one function for prefill chunks and
// single-token decode. K/V go into the per-layer caches through the LayerCache interface, so any
// storage form (dense, SparK, ThinK, quantized) plugs in without touching this code.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "kv/layer_cache.h"
#include "model/model.h"

namespace sparkv {

// Observes intermediate tensors during a forward pass; presses use it to capture the window
// queries they score with (kvpress computes them from the same hidden states).
class ForwardObserver {
 public:
  virtual ~ForwardObserver() = default;
  // q: [n, n_head, D] post-RoPE (and post q-norm) queries of tokens at positions pos0..pos0+n-1.
  virtual void on_queries(int layer, const float* q, int n, int64_t pos0) {}
  // x: [n, n_embd] normalised layer input (what feeds q_proj).
  virtual void on_layer_input(int layer, const float* x, int n, int64_t pos0) {}
  // After the chunk's K/V were appended to `cache` and attention ran (q as in on_queries);
  // att: [n, n_head, D] the attention outputs (before o_proj).
  virtual void on_attended(int layer, const float* q, const float* att, int n, int64_t pos0,
                           const LayerCache& cache) {}
};

struct ForwardScratch;

class Forward {
 public:
  explicit Forward(const Model& model);
  ~Forward();

  // Runs n tokens at positions pos0.., appending their K/V to `caches` (one per layer).
  // logits: [n_vocab] for the last token, or [n, n_vocab] when all_logits.
  void run(const int32_t* ids, int n, int64_t pos0,
           std::vector<std::unique_ptr<LayerCache>>& caches, float* logits, bool all_logits,
           ForwardObserver* observer = nullptr);

  // Layer-major prefill: all n tokens go through layer l (in chunks of `chunk` tokens, each chunk
  // exactly as run() computes it, so the caches and logits are bit-identical to feeding the same
  // chunks to run() one after the other), then layer_done(l) runs before layer l+1 starts — where
  // a press compresses layer l's cache and frees its dense pages. logits: [n_vocab] of the last
  // token. Scratch: the residual stream [n, n_embd] plus one chunk's activations.
  void run_layer_major(const int32_t* ids, int n, int64_t pos0, int chunk,
                       std::vector<std::unique_ptr<LayerCache>>& caches, float* logits,
                       ForwardObserver* observer, const std::function<void(int)>& layer_done);

  // One decode step of B sequences at once (continuous batching): token ids[b] at position pos[b]
  // goes into caches[b] and its logits [n_vocab] into logits[b]. The projections read each weight
  // row once for all B tokens; every sequence's logits equal run(&ids[b], 1, pos[b], ...) bit for
  // bit, whatever else shares the batch.
  void run_decode_batch(const int32_t* ids, int B, const int64_t* pos,
                        std::vector<std::unique_ptr<LayerCache>>* const* caches,
                        float* const* logits);

 private:
  // Layer li over n tokens whose residual stream is x [n, n_embd] (updated in place).
  void layer_step(int li, float* x, int n, int64_t pos0, LayerCache& cache,
                  ForwardObserver* observer);
  void embed(const int32_t* ids, int n, float* x) const;  // x: [n, n_embd]
  // Final norm and lm_head of n rows x [n, n_embd] -> logits [n, n_vocab].
  void head(const float* x, int n, int64_t pos_first, float* logits);

  const Model& model_;
  std::unique_ptr<ForwardScratch> s_;
};

}  // namespace sparkv

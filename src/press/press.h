// Presses decide WHAT survives in the KV cache after prefill; kv/ owns the bytes.
//
// A recipe ("snapkv:budget=128+spark:ratio=0.8") is a PressPipeline: zero or more eviction presses
// that narrow the set of kept tokens per KV head, applied left to right on what the previous one
// left, then at most one storage press (SparK, ThinK, ...) that builds the layer's compressed
// storage from the surviving tokens. Without a storage press the survivors are gathered into a
// dense cache. Presses read the full-precision prefill state and never modify it, which is what
// lets `sparkv eval` prefill once and apply many recipes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kv/dense_cache.h"
#include "kv/layer_cache.h"
#include "model/config.h"

namespace sparkv {

class Model;

// Per-layer prefill state a press may read (see press/capture.h for how it is recorded).
struct PressContext {
  const Model* model = nullptr;
  const ModelConfig* config = nullptr;
  int layer = 0;
  const DenseLayerCache* cache = nullptr;  // full prefill K/V of this layer, [n_kv][T, D]
  int64_t n_prompt = 0;                    // T: tokens in the prefill
  // Post-RoPE (and post q-norm) queries of the last `window` prompt positions: [window, n_head, D].
  const float* window_q = nullptr;
  int window = 0;
  // Optional statistics, present when some press in the pipeline asked for them:
  // H2O: sum over all prompt queries of attention probabilities per key, [n_head, T].
  const float* attn_colsum = nullptr;
  // Expected Attention: mean [n_embd] and covariance [n_embd, n_embd] of the layer's normalised
  // input hidden states (after dropping sinks).
  const float* hidden_mean = nullptr;
  const float* hidden_cov = nullptr;
  int64_t n_hidden = 0;
  // Global per-press seed (Random press, sampled recoveries).
  uint64_t seed = 0;
};

// Kept token indices per KV head (into ctx.cache), ascending.
struct TokenSelection {
  std::vector<std::vector<int32_t>> kept;  // [n_kv][n_kept]
  static TokenSelection all(int n_kv, int64_t n);
  int64_t max_kept() const;
};

// What a pipeline needs recorded during prefill. Presses name the fields they set
// (`PressNeeds{.window = w}`); pipelines and multi-recipe prefills combine them with merge().
struct PressNeeds {
  int window = 0;             // last-w post-RoPE queries (SnapKV, SparK, ThinK, TOVA)
  bool attn_colsum = false;   // attention column sums over all prompt queries (H2O)
  bool hidden_stats = false;  // hidden-state mean / covariance (Expected Attention)

  // The union: the longer window, either statistic.
  PressNeeds& merge(const PressNeeds& o);
  // True when a capture recorded for *this serves a press that needs `o` (a shorter window is
  // served by a longer one).
  bool covers(const PressNeeds& o) const;
};

class Press {
 public:
  virtual ~Press() = default;
  // The canonical spec of this press ("snapkv:budget=128,window=64,kernel=5").
  virtual std::string spec() const = 0;
  virtual PressNeeds needs() const { return {}; }
  // Eviction presses narrow `sel`. The default keeps everything.
  virtual void select_tokens(const PressContext& ctx, TokenSelection& sel) const {}
  // Storage presses build the compressed storage of the surviving tokens; others return nullptr.
  virtual std::unique_ptr<LayerCache> build(const PressContext& ctx,
                                            const TokenSelection& sel) const {
    return nullptr;
  }
  virtual bool is_storage() const { return false; }

  // Memory planning (--kv-mem-limit), before any token is computed. At most how many of n
  // survivors this press keeps per KV head in layer `layer` of a model shaped like cfg.
  virtual int64_t kept_bound(const ModelConfig& cfg, int layer, int64_t n) const { return n; }
  // At most how many bytes a storage press's layer holds for n_kept tokens per KV head when the
  // prefill cache has `types`. The default is the dense rows: every storage press is never above
  // dense (no_larger_than_dense).
  virtual size_t storage_bound(const ModelConfig& cfg, KvTypes types, int64_t n_kept) const;
};

// Bytes of a dense layer cache of `types` holding n tokens per KV head: whole pages
// (DenseLayerCache::kPageTokens), K and V rows.
size_t dense_layer_bytes(const ModelConfig& cfg, KvTypes types, int64_t n);

class PressPipeline {
 public:
  PressPipeline() = default;
  explicit PressPipeline(std::vector<std::unique_ptr<Press>> presses);

  bool empty() const { return presses_.empty(); }
  std::string spec() const;  // "full" when empty
  PressNeeds needs() const;  // the union over presses
  // Runs the pipeline on one layer and returns its new storage.
  std::unique_ptr<LayerCache> apply(const PressContext& ctx) const;
  const std::vector<std::unique_ptr<Press>>& presses() const { return presses_; }
  // At most how many bytes every layer together holds right after this pipeline compressed a
  // prefill of n_prompt tokens (the presses' kept_bound / storage_bound, summed over layers).
  uint64_t compressed_bound(const ModelConfig& cfg, KvTypes types, int64_t n_prompt) const;

 private:
  std::vector<std::unique_ptr<Press>> presses_;
};

// Copies the selected tokens of a dense cache into a new dense cache of the same element type
// (every head keeps sel.kept[h].size() tokens; counts must be equal across heads).
std::unique_ptr<DenseLayerCache> gather_dense(const DenseLayerCache& src,
                                              const TokenSelection& sel);

// Never above dense: a storage press's packed layer when it holds fewer bytes than the dense rows
// of the same tokens, else those rows (on short prompts per-head constants and a dense tail's
// first page can outweigh what packing saves). The rows are only gathered when they win.
std::unique_ptr<LayerCache> no_larger_than_dense(std::unique_ptr<LayerCache> packed,
                                                 const DenseLayerCache& src,
                                                 const TokenSelection& sel);

}  // namespace sparkv

// What a session will hold for one prompt under one recipe, known before any token is computed:
// the figure --kv-mem-limit checks. A recipe that compresses is prefilled layer-major (each layer
// compressed right after its prefill), so a prompt needs the compressed cache plus one dense
// layer, not the dense cache.
#pragma once

#include <cstdint>
#include <string>

#include "press/press.h"
#include "runtime/session.h"

namespace sparkv {

struct MemoryPlan {
  std::string recipe;        // canonical spec
  bool layer_major = false;  // compressed as the prefill goes
  // Every layer's compressed cache right after the prefill (the presses' bounds); 0 for full.
  uint64_t compressed = 0;
  // The dense layer a layer-major prefill holds before compressing it; 0 for full.
  uint64_t dense_layer = 0;
  // Rows appended after the prefill up to n_ctx, dense; for full, the whole dense cache of n_ctx.
  uint64_t decode = 0;
  uint64_t scratch = 0;  // prefill activations (prefill_scratch_bytes)
  // The most held at once: the dense layer exists only during the prefill, decode rows after it.
  uint64_t peak() const { return compressed + std::max(dense_layer, decode) + scratch; }
};

// Prefill activations, as a formula (no n x n score matrix anywhere): per chunk of
// c = min(chunk, n) tokens, 4 bytes x c x (3·n_embd + 2·q_dim + 2·kv_dim + 2·n_ff
// + n_head·(head_dim + 2)) — residual, normalised input, q/k/v, attention output, projection,
// gate/up, and the attention's per-query partial states — plus the logits (4·n_vocab) and a
// dequantized weight tile per thread (4·min(2^18, n_vocab·n_embd)); a layer-major prefill adds
// the residual stream of every prompt token, 4·n·n_embd.
uint64_t prefill_scratch_bytes(const ModelConfig& cfg, int64_t n_prompt, int chunk,
                               bool layer_major);

MemoryPlan plan_memory(const ModelConfig& cfg, KvTypes types, const PressPipeline& pipeline,
                       int64_t n_prompt, int64_t n_ctx, int chunk);

// plan_memory(...), checked: throws when its peak() exceeds `limit` (0 = no limit), naming the
// parts and the least compressing recipe of a fixed ladder (spark:ratio=0.8, then snapkv budgets
// 8192 ... 512 + spark:ratio=0.8) that would fit.
MemoryPlan check_memory(const ModelConfig& cfg, KvTypes types, const PressPipeline& pipeline,
                        int64_t n_prompt, int64_t n_ctx, int chunk, uint64_t limit);

}  // namespace sparkv

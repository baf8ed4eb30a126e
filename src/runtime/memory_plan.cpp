#include "runtime/memory_plan.h"

#include <omp.h>

#include <algorithm>

#include "attn/prefill_tile.h"
#include "core/byte_size.h"
#include "core/error.h"
#include "kv/dense_cache.h"
#include "press/press_spec.h"

namespace sparkv {

uint64_t prefill_scratch_bytes(const ModelConfig& c, int64_t n_prompt, int chunk,
                               bool layer_major) {
  const uint64_t n = static_cast<uint64_t>(std::max<int64_t>(n_prompt, 0));
  const uint64_t ct = std::min<uint64_t>(static_cast<uint64_t>(std::max(chunk, 1)), n);
  const uint64_t per_token = 3ull * c.n_embd + 2ull * c.q_dim() + 2ull * c.kv_dim() +
                             2ull * c.n_ff + static_cast<uint64_t>(c.n_head) * (c.head_dim + 2);
  // Each thread dequantizes a tile of at most 2^20 weights (model/matmul.cpp), and holds one
  // prefill attention tile (attn/prefill_tile.h): a block's rows of q, state and scores, and
  // kTileTokens rows of K and V in f32.
  const uint64_t tile =
      std::min<uint64_t>(uint64_t{1} << 20, static_cast<uint64_t>(c.n_vocab) * c.n_embd);
  const uint64_t group = static_cast<uint64_t>(std::max(1, c.n_head / std::max(1, c.n_head_kv)));
  const uint64_t rows = std::max<uint64_t>(1, kTileRows / group) * group;
  const uint64_t D = static_cast<uint64_t>(c.head_dim);
  const uint64_t attn_tile = rows * (2 * D + 2 + kTileTokens) + 2 * uint64_t{kTileTokens} * D;
  uint64_t bytes = 4 * (ct * per_token + static_cast<uint64_t>(c.n_vocab) +
                        (tile + attn_tile) * static_cast<uint64_t>(omp_get_max_threads()));
  if (layer_major) bytes += 4 * n * static_cast<uint64_t>(c.n_embd);
  return bytes;
}

MemoryPlan plan_memory(const ModelConfig& cfg, KvTypes types, const PressPipeline& pipeline,
                       int64_t n_prompt, int64_t n_ctx, int chunk) {
  MemoryPlan p;
  p.recipe = pipeline.spec();
  p.layer_major = !pipeline.empty();
  if (!p.layer_major) {
    p.decode = dense_kv_bytes(cfg, n_ctx, types);
  } else {
    p.compressed = pipeline.compressed_bound(cfg, types, n_prompt);
    p.dense_layer = dense_layer_bytes(cfg, types, n_prompt);
    // Decode rows land in dense storage (a SparK / ThinK tail, or the gathered dense cache):
    // their pages, plus one partly filled page per head.
    p.decode =
        static_cast<uint64_t>(cfg.n_layer) *
        dense_layer_bytes(cfg, types,
                          std::max<int64_t>(n_ctx - n_prompt, 0) + DenseLayerCache::kPageTokens);
  }
  p.scratch = prefill_scratch_bytes(cfg, n_prompt, chunk, p.layer_major);
  return p;
}

namespace {

std::string parts(const ModelConfig& c, KvTypes types, const MemoryPlan& p, int64_t n_ctx) {
  if (!p.layer_major) {
    const int64_t page = DenseLayerCache::kPageTokens;
    return fmt::format(
        "{} ({} bytes = {} layers x {} KV heads x {} tokens in {}-token pages x {} bytes of K+V "
        "per token and head) + {} of prefill scratch",
        format_bytes(p.decode), p.decode, c.n_layer, c.n_head_kv, (n_ctx + page - 1) / page * page,
        page, kv_row_bytes(types.k, c.head_dim) + kv_row_bytes(types.v, c.head_dim),
        format_bytes(p.scratch));
  }
  return fmt::format(
      "the compressed cache ({}) + the larger of one dense layer during the prefill ({}) and the "
      "decode rows up to the context ({}) + {} of prefill scratch",
      format_bytes(p.compressed), format_bytes(p.dense_layer), format_bytes(p.decode),
      format_bytes(p.scratch));
}

}  // namespace

MemoryPlan check_memory(const ModelConfig& cfg, KvTypes types, const PressPipeline& pipeline,
                        int64_t n_prompt, int64_t n_ctx, int chunk, uint64_t limit) {
  const MemoryPlan p = plan_memory(cfg, types, pipeline, n_prompt, n_ctx, chunk);
  if (limit == 0 || p.peak() <= limit) return p;
  std::string advice = "lower --ctx-size or use smaller cache types";
  for (const char* r :
       {"spark:ratio=0.8", "snapkv:budget=8192+spark:ratio=0.8",
        "snapkv:budget=4096+spark:ratio=0.8", "snapkv:budget=2048+spark:ratio=0.8",
        "snapkv:budget=1024+spark:ratio=0.8", "snapkv:budget=512+spark:ratio=0.8"}) {
    const PressPipeline alt = parse_press_spec(r);
    if (alt.spec() == p.recipe) continue;
    const MemoryPlan q = plan_memory(cfg, types, alt, n_prompt, n_ctx, chunk);
    if (q.peak() <= limit) {
      advice = fmt::format("the recipe '{}' needs at most {} and fits", r, format_bytes(q.peak()));
      break;
    }
  }
  if (!p.layer_major) {
    fail(
        "KV cache for a context of {} tokens needs {}, {} in all, over the --kv-mem-limit of {} "
        "({} bytes): {}",
        n_ctx, parts(cfg, types, p, n_ctx), format_bytes(p.peak()), format_bytes(limit), limit,
        advice);
  }
  fail(
      "KV memory for a context of {} tokens (a prompt of {}) under '{}' needs up to {}: {}, over "
      "the --kv-mem-limit of {} ({} bytes): {}",
      n_ctx, n_prompt, p.recipe, format_bytes(p.peak()), parts(cfg, types, p, n_ctx),
      format_bytes(limit), limit, advice);
}

}  // namespace sparkv

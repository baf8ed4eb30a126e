// sparkv public API: a session — one conversation's KV cache over a shared Model.
//
//   prefill(prompt, recipe)   the prompt's forward pass; records what the recipe will score with
//   compress(recipe)          packs the cache (SparK, ThinK, eviction, ...) in place
//   fork(recipe)              another session continuing the same prefill under another recipe
//   prefill_and_compress(prompt, recipe)
//                             both at once, layer by layer: only one layer's dense cache ever
//                             exists, so the memory a prompt needs follows the compressed cache
//   generate(options)         samples tokens until a stop token, a stop string or the limit
//   save_cache / load_cache   the whole state as a prompt-cache file (runtime/cache_file.h): a
//                             prompt prefilled and compressed once, restored by later runs
//
// A Session is used from one thread at a time; any number of Sessions may share one Model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sparkv/error.h"
#include "sparkv/model.h"
#include "sparkv/recipe.h"

namespace sparkv::api {

class Session;
void append_batch(const std::vector<Session*>& sessions, const std::vector<int32_t>& ids);

struct SessionOptions {
  int64_t n_ctx = 0;  // most tokens the session holds; 0 = the model's trained context
  std::string cache_type_k = "f16";  // dense cache element types, as llama.cpp's -ctk / -ctv
  std::string cache_type_v = "f16";
  // Budget for the KV cache and prefill scratch (0 = no limit): the prefill checks the recipe's
  // memory plan (plan_kv_memory) before any allocation and throws naming a recipe that fits.
  uint64_t kv_mem_limit = 0;
};

// Sampling in llama.cpp's order: repetition penalty -> top-k -> temperature -> top-p -> min-p.
struct SamplingParams {
  float temperature = 0.0f;  // <= 0: greedy
  int top_k = 40;            // <= 0: off
  float top_p = 0.95f;       // >= 1: off
  float min_p = 0.05f;       // <= 0: off
  float repeat_penalty = 1.0f;
  int repeat_last_n = 64;
  uint64_t seed = 0;

  // Throws sparkv::Error naming an out-of-range value (generate() checks too, but after the
  // prefill: call this first to fail fast).
  void validate() const;
};

// Called for every generated token with the text it completed (UTF-8 whole; "" while a
// multi-byte character or a possible stop string is pending, and for a stop token). Return false
// to stop. After the last token it is called once more with id -1 and the remaining text, when
// there is any.
using TokenCallback = std::function<bool(int32_t id, std::string_view text)>;

struct GenerateOptions {
  int max_tokens = 64;
  SamplingParams sampling;
  // Generation ends when the text contains one of these; the returned text stops before it.
  std::vector<std::string> stop;
  bool stop_at_eos = true;        // the model's end-of-sequence ids end generation
  std::vector<int32_t> stop_ids;  // more ids that end generation
  TokenCallback on_token;
};

struct GenerateResult {
  std::vector<int32_t> ids;  // every sampled token (a stop token included)
  std::string text;          // decoded without special tokens, cut before a stop string
  // "stop_token" | "stop_string" | "length" | "callback" | "context_full"
  std::string stop_reason;
  int decode_steps = 0;  // forward passes after the first sampled token
  double decode_seconds = 0;
};

// Bytes of the KV cache, as allocated.
struct KvReport {
  size_t bytes = 0;                  // now
  size_t dense_f16_bytes = 0;        // the same tokens in a dense f16 cache (the savings baseline)
  size_t bytes_before_compress = 0;  // right after prefill (0 before any compress)
  size_t bytes_after_compress = 0;   // right after compress (0 before any compress)
  // Layers per storage form ("spark", "think", "f16", ...): a layer whose packed form would hold
  // more bytes than its dense rows stays dense.
  std::map<std::string, int> layers_by_storage;
  std::string cache_type_k, cache_type_v;  // the dense element types, canonical names
};

struct Timings {
  int64_t prompt_tokens = 0;
  double prefill_seconds = 0;
  double compress_seconds = 0;
};

// A prompt longer than the room it has (`sparkv run --truncate`): "error" refuses it (the
// prefill's error names both lengths), "middle" keeps the first and last int(room / 2) tokens
// (LongBench's rule, in token space), so a leading BOS / chat header and the trailing question
// survive. parse_truncate throws naming an unknown mode.
enum class Truncate { kError, kMiddle };
Truncate parse_truncate(const std::string& mode);
// Applies kMiddle to `prompt` when it exceeds `room`; returns how many tokens were dropped.
size_t truncate_middle(std::vector<int32_t>& prompt, int64_t room);

// The most bytes a session with `opts` holds for a prompt of n_prompt tokens under `recipe`: for
// full, the dense cache of n_ctx tokens; for a compressing recipe, its compressed cache (bounds
// from the presses) + the larger of one dense layer (during the layer-major prefill) and the
// decode rows up to n_ctx; plus the prefill scratch. Throws when that exceeds opts.kv_mem_limit,
// naming the parts and a recipe that would fit.
uint64_t plan_kv_memory(const Model& model, const SessionOptions& opts, const Recipe& recipe,
                        int64_t n_prompt);
// The same plan in parts, without checking any limit (a server charges each slot its cache and
// keeps the one prefill's scratch apart).
struct KvPlan {
  uint64_t compressed = 0;   // every layer's compressed cache (0 for full)
  uint64_t dense_layer = 0;  // one dense layer during a layer-major prefill (0 for full)
  uint64_t decode = 0;       // decode rows up to n_ctx; for full the dense cache of n_ctx
  uint64_t scratch = 0;      // prefill activations
  uint64_t cache_peak() const { return compressed + (dense_layer > decode ? dense_layer : decode); }
};
KvPlan plan_kv(const Model& model, const SessionOptions& opts, const Recipe& recipe,
               int64_t n_prompt);

class Session {
 public:
  // Throws when a cache type is unknown (kv_mem_limit is checked by the prefill).
  explicit Session(const Model& model, const SessionOptions& opts = {});
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  // The first forward pass of an empty session. Records what the given recipes need (the last
  // queries, attention sums, ...), so that compress() and fork() can apply any of them after.
  void prefill(const std::vector<int32_t>& ids, const std::vector<Recipe>& recipes = {});
  void prefill(const std::vector<int32_t>& ids, const Recipe& recipe) {
    prefill(ids, std::vector<Recipe>{recipe});
  }
  // prefill(ids, recipe) + compress(recipe, seed) in one layer-major pass (what programs that
  // serve one recipe use): every prompt token goes through layer l, then layer l is compressed
  // with its own statistics and its dense pages freed before layer l+1 runs. The KV memory peaks
  // at the compressed layers + one dense layer instead of the whole dense cache; the caches and
  // tokens are bit-identical to the two-step path. No fork() afterwards.
  void prefill_and_compress(const std::vector<int32_t>& ids, const Recipe& recipe,
                            uint64_t seed = 0);
  // Compresses the prefill's cache in place (the full recipe leaves it as is). Once per session.
  void compress(const Recipe& recipe, uint64_t seed = 0);
  // A new session continuing the prefill under `recipe`, leaving this one untouched (call before
  // compress()). One prefill serves many recipes this way.
  Session fork(const Recipe& recipe, uint64_t seed = 0) const;
  // Feeds more tokens (a next turn, or decode by hand) on top of whatever the cache holds.
  void append(const std::vector<int32_t>& ids);
  // Samples from the last logits onward.
  GenerateResult generate(const GenerateOptions& opts);

  const std::vector<float>& logits() const;  // [n_vocab] of the last fed token
  int64_t n_past() const;                    // position of the next token
  int64_t n_ctx() const;
  const std::vector<int32_t>& history() const;
  KvReport kv() const;
  Timings timings() const;
  const Model& model() const;
  // The recipe the cache was compressed with (its canonical spec; "full" before any compress).
  const std::string& recipe() const;

  // The session's state as a prompt-cache file's bytes: the caches in their storage form,
  // position, history and last logits, behind a header naming the model and recipe and a
  // CRC-32. Throws for a SparK cache with decode_block= (its planner is not saved).
  std::vector<uint8_t> save_cache() const;
  // The same, written to FILE.tmp and renamed into place.
  void save_cache_file(const std::string& path) const;
  // A session restored from save_cache()'s bytes, continuing exactly where the saved one stood
  // (generate() or append() next). Throws a one-line error naming `what` for a file that is
  // not a prompt cache, another version, corrupt or truncated (checksum), made with another
  // model, with other cache types (opts), or longer than opts' context.
  static Session load_cache(const Model& model, const std::vector<uint8_t>& bytes,
                            const SessionOptions& opts = {},
                            const std::string& what = "prompt cache");
  static Session load_cache_file(const Model& model, const std::string& path,
                                 const SessionOptions& opts = {});

 private:
  friend void append_batch(const std::vector<Session*>& sessions, const std::vector<int32_t>& ids);
  struct State;
  explicit Session(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

// What a prompt-cache file holds, read from its header only (the whole file is checked when it
// is loaded): the recipe it was compressed with and the tokens it covers. For indexing a
// directory of files (the server's --cache-dir). Throws one line for a file that is not a prompt
// cache, another version, or a header cut short.
struct CacheFileInfo {
  std::string recipe;
  std::string model_name;
  std::vector<int32_t> tokens;
};
CacheFileInfo read_cache_file_info(const std::string& path);

}  // namespace sparkv::api

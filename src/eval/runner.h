// The grid runner's core: one prefill per sample, every recipe built from it (kvpress semantics,
// spec §1: compression reads the full prefill state, which no method changes), each decoded
// greedily in its own forked Session, recipes in parallel across threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "eval/fidelity.h"
#include "eval/suite.h"
#include "press/press.h"
#include "quant/kv_types.h"

namespace sparkv {

class Model;
class Tokenizer;

struct Recipe {
  std::string label;  // as the user wrote it
  std::string key;    // canonical spec (PressPipeline::spec()), "full" for the full cache
  PressPipeline pipeline;
};
// Parses the --press specs; "full" is always present and first; duplicates (same canonical spec)
// are rejected naming both.
std::vector<Recipe> parse_recipes(const std::vector<std::string>& specs);

struct RecipeOutcome {
  std::string recipe;        // Recipe::key
  std::vector<int32_t> ids;  // the answer's tokens (a stop token excluded)
  std::string text;
  double score = 0;     // in [0, 1]
  size_t kv_bytes = 0;  // right after compression
  Fidelity fidelity;
  double compress_seconds = 0, decode_seconds = 0;
  std::string stop_reason;  // "stop_token" | "length" | "newline"
};

struct SampleOutcome {
  int64_t n_prompt = 0;      // prefill tokens (what is compressed)
  size_t kv_bytes_full = 0;  // the prefill in a dense f16 cache (the savings baseline)
  double prefill_seconds = 0;
  std::vector<RecipeOutcome> recipes;  // in the order of the `run` mask
};

struct RunnerOptions {
  int fidelity_tokens = 32;  // N: decode steps compared against the full cache
  bool parallel = true;      // decode recipes on parallel threads
  // OpenMP threads inside one decode: -1 = auto (1 for models under 64 MiB of weights, whose
  // decode step is shorter than a thread barrier; else all), 0 = all, n = n. Every decode of a
  // sample uses the same value, which keeps the attention's token split -- and so the floats --
  // identical between the reference, the recipes and the from-scratch oracle.
  int decode_threads = -1;
  // Element types of the dense caches (the prefill and every recipe's dense storage); the prefill
  // attention reads them, so each cache type is its own prefill.
  KvTypes kv_types;
};
// "f16" for the default, else "k/v" or the one name when K and V agree ("q8_0").
std::string kv_types_label(const KvTypes& t);

class SampleRunner {
 public:
  SampleRunner(const Model& model, const Tokenizer& tok, RunnerOptions opts);

  // Prefill once, then every recipe with run[i] (the full cache is always decoded: it is the
  // fidelity reference). Outcomes come back for the recipes run, in recipe order.
  SampleOutcome run(const EvalItem& item, const std::vector<Recipe>& recipes,
                    const std::vector<bool>& run) const;

  // The oracle for the prefill-once path: a fresh Session, prefill and compression per recipe.
  // Fidelity is not computed.
  std::vector<RecipeOutcome> run_from_scratch(const EvalItem& item,
                                              const std::vector<Recipe>& recipes) const;

  bool is_stop(int32_t id) const;

 private:
  struct Trace;
  RecipeOutcome decode_reference(class Session& s, const EvalItem& item, Trace* trace) const;
  RecipeOutcome decode_recipe(class Session& s, const EvalItem& item, const Trace* trace) const;
  Fidelity teacher_forced(class Session& s, const EvalItem& item, const Trace& trace) const;
  void finish(const EvalItem& item, RecipeOutcome* out) const;
  int64_t n_ctx_for(const EvalItem& item) const;
  int decode_threads() const;

  const Model& model_;
  const Tokenizer& tok_;
  RunnerOptions opts_;
  std::vector<int32_t> stop_ids_;
};

}  // namespace sparkv

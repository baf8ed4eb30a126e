#include "eval/runner.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <map>

#include "core/error.h"
#include "kv/dense_cache.h"
#include "model/model.h"
#include "press/capture.h"
#include "press/press_spec.h"
#include "runtime/prefill.h"
#include "runtime/session.h"
#include "sample/sampler.h"
#include "tokenizer/tokenizer.h"

namespace sparkv {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// What the method needs to hold the prompt: each storage form's bytes for the tokens it holds
// (dense caches count their tokens, not their whole pages).
size_t logical_kv_bytes(const Session& s) {
  size_t total = 0;
  for (const auto& c : s.caches()) total += c->bytes_held();
  return total;
}

// Sets this thread's OpenMP thread count for a scope (inside a parallel loop it applies to the
// calling thread's nested regions only).
class ScopedOmpThreads {
 public:
  explicit ScopedOmpThreads(int n) : prev_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~ScopedOmpThreads() { omp_set_num_threads(prev_); }
  ScopedOmpThreads(const ScopedOmpThreads&) = delete;
  ScopedOmpThreads& operator=(const ScopedOmpThreads&) = delete;

 private:
  int prev_;
};

constexpr size_t kSmallModelBytes = size_t{64} << 20;

int32_t argmax_of(const Session& s) {
  const std::vector<float>& lg = s.logits();
  return argmax(lg.data(), static_cast<int>(lg.size()));
}

}  // namespace

std::vector<Recipe> parse_recipes(const std::vector<std::string>& specs) {
  std::vector<Recipe> out;
  out.push_back({"full", "full", PressPipeline()});
  std::map<std::string, std::string> seen = {{"full", "full"}};
  for (const std::string& spec : specs) {
    PressPipeline p = parse_press_spec(spec);
    const std::string key = p.spec();
    if (key == "full") continue;  // always present
    auto it = seen.find(key);
    SPARKV_CHECK(it == seen.end(), "--press '{}' is the same recipe as '{}' ({})", spec,
                 it == seen.end() ? "" : it->second, key);
    seen[key] = spec;
    out.push_back({spec, key, std::move(p)});
  }
  return out;
}

struct SampleRunner::Trace {
  std::vector<int32_t> tokens;            // full-cache greedy tokens (a final stop included)
  std::vector<std::vector<double>> logp;  // [step < N][n_vocab]
  std::vector<std::vector<float>> att;    // [layer][fed token, n_head, D]
};

SampleRunner::SampleRunner(const Model& model, const Tokenizer& tok, RunnerOptions opts)
    : model_(model), tok_(tok), opts_(opts) {
  SPARKV_CHECK(opts.fidelity_tokens >= 0 && opts.fidelity_tokens <= 4096,
               "eval: --fidelity-tokens {} out of range [0, 4096]", opts.fidelity_tokens);
  stop_ids_ = model.config().eos_ids;
  for (int32_t id : tok.stop_ids())
    if (std::find(stop_ids_.begin(), stop_ids_.end(), id) == stop_ids_.end())
      stop_ids_.push_back(id);
}

bool SampleRunner::is_stop(int32_t id) const {
  return std::find(stop_ids_.begin(), stop_ids_.end(), id) != stop_ids_.end();
}

std::string kv_types_label(const KvTypes& t) {
  if (t.k == t.v) return kv_dtype_name(t.k);
  return std::string(kv_dtype_name(t.k)) + "/" + kv_dtype_name(t.v);
}

int SampleRunner::decode_threads() const {
  if (opts_.decode_threads > 0) return opts_.decode_threads;
  if (opts_.decode_threads < 0 && model_.weight_bytes() < kSmallModelBytes) return 1;
  return omp_get_max_threads();
}

int64_t SampleRunner::n_ctx_for(const EvalItem& item) const {
  return static_cast<int64_t>(item.prefill_ids.size() + item.answer_ids.size()) +
         std::max(item.max_new_tokens, opts_.fidelity_tokens) + 1;
}

namespace {

// Takes one greedy token into the answer; returns true once the answer is complete.
bool accept(const Tokenizer& tok, const EvalItem& item, int32_t id, bool stop, int step,
            RecipeOutcome* o) {
  if (stop) {
    o->stop_reason = "stop_token";
    return true;
  }
  o->ids.push_back(id);
  if (item.stop_at_newline && tok.token_bytes(id).find('\n') != std::string::npos) {
    o->stop_reason = "newline";
    return true;
  }
  if (step + 1 >= item.max_new_tokens) {
    o->stop_reason = "length";
    return true;
  }
  return false;
}

// The answer prefix goes in one token at a time: decode-shaped steps keep the threads of a
// parallel recipe loop off the BLAS prefill path, and give every recipe the same arithmetic.
void feed_answer_prefix(Session& s, const EvalItem& item, ForwardObserver* obs) {
  for (int32_t id : item.answer_ids) s.feed({id}, obs);
}

}  // namespace

void SampleRunner::finish(const EvalItem& item, RecipeOutcome* o) const {
  o->text = tok_.decode(o->ids, /*skip_special=*/true);
  o->score =
      score_sample(item.metric, o->text, item.answers, item.all_classes, item.first_line_only);
}

RecipeOutcome SampleRunner::decode_reference(Session& s, const EvalItem& item, Trace* trace) const {
  const ModelConfig& c = model_.config();
  const int N = opts_.fidelity_tokens;
  AttentionRecorder rec(c.n_layer, c.n_head, c.head_dim);
  RecipeOutcome o;
  const auto t0 = std::chrono::steady_clock::now();
  feed_answer_prefix(s, item, N > 0 ? &rec : nullptr);
  const int steps = std::max(item.max_new_tokens, N);
  bool done = false;
  for (int t = 0; t < steps; ++t) {
    const std::vector<float>& lg = s.logits();
    if (t < N) trace->logp.push_back(log_softmax(lg.data(), static_cast<int>(lg.size())));
    const int32_t id = argmax_of(s);
    trace->tokens.push_back(id);
    const bool stop = is_stop(id);
    if (!done) done = accept(tok_, item, id, stop, t, &o);
    if (stop || t + 1 >= steps || (done && t + 1 >= N)) break;
    s.feed({id}, t + 1 < N ? &rec : nullptr);
  }
  o.decode_seconds = seconds_since(t0);
  trace->att = std::move(rec.recorded());
  o.fidelity.steps = static_cast<int>(trace->logp.size());
  o.fidelity.top1 = o.fidelity.steps > 0 ? 1.0 : 0.0;
  o.fidelity.attn_err.assign(c.n_layer, 0.0);
  finish(item, &o);
  return o;
}

RecipeOutcome SampleRunner::decode_recipe(Session& s, const EvalItem& item,
                                          const Trace* trace) const {
  const ModelConfig& c = model_.config();
  const size_t n_eff = trace ? trace->logp.size() : 0;
  AttentionRecorder cmp(c.n_layer, c.n_head, c.head_dim);
  if (trace) cmp.compare_with(&trace->att);
  RecipeOutcome o;
  const auto t0 = std::chrono::steady_clock::now();
  feed_answer_prefix(s, item, n_eff > 0 ? &cmp : nullptr);
  // While the greedy tokens equal the full cache's, this run *is* the teacher-forced run, so the
  // fidelity comes for free; it keeps decoding past the answer only while that holds.
  bool matching = trace != nullptr, done = false;
  double kl = 0;
  int agree = 0, steps = 0;
  for (int t = 0;; ++t) {
    const std::vector<float>& lg = s.logits();
    const int32_t id = argmax_of(s);
    if (matching && static_cast<size_t>(t) < n_eff) {
      kl += kl_divergence(trace->logp[t], lg.data(), static_cast<int>(lg.size()));
      agree += id == trace->tokens[t];
      ++steps;
    }
    if (!trace || static_cast<size_t>(t) >= trace->tokens.size() || id != trace->tokens[t])
      matching = false;
    const bool stop = is_stop(id);
    if (!done) done = accept(tok_, item, id, stop, t, &o);
    const bool more_fidelity = matching && static_cast<size_t>(t) + 1 < n_eff;
    if (stop || (done && !more_fidelity)) break;
    s.feed({id}, more_fidelity ? &cmp : nullptr);
  }
  o.decode_seconds = seconds_since(t0);
  o.fidelity.steps = steps;
  o.fidelity.kl = steps ? kl / steps : 0.0;
  o.fidelity.top1 = steps ? static_cast<double>(agree) / steps : 0.0;
  o.fidelity.attn_err = cmp.relative_errors();
  finish(item, &o);
  return o;
}

Fidelity SampleRunner::teacher_forced(Session& s, const EvalItem& item, const Trace& trace) const {
  const ModelConfig& c = model_.config();
  AttentionRecorder cmp(c.n_layer, c.n_head, c.head_dim);
  cmp.compare_with(&trace.att);
  feed_answer_prefix(s, item, &cmp);
  Fidelity f;
  double kl = 0;
  int agree = 0;
  const size_t n_eff = trace.logp.size();
  for (size_t t = 0; t < n_eff; ++t) {
    const std::vector<float>& lg = s.logits();
    kl += kl_divergence(trace.logp[t], lg.data(), static_cast<int>(lg.size()));
    agree += argmax_of(s) == trace.tokens[t];
    if (t + 1 < n_eff) s.feed({trace.tokens[t]}, &cmp);
  }
  f.steps = static_cast<int>(n_eff);
  f.kl = n_eff ? kl / n_eff : 0.0;
  f.top1 = n_eff ? static_cast<double>(agree) / n_eff : 0.0;
  f.attn_err = cmp.relative_errors();
  return f;
}

SampleOutcome SampleRunner::run(const EvalItem& item, const std::vector<Recipe>& recipes,
                                const std::vector<bool>& run) const {
  SPARKV_CHECK(!recipes.empty() && recipes[0].pipeline.empty() && run.size() == recipes.size(),
               "eval: recipes must start with the full cache");
  SPARKV_CHECK(!item.prefill_ids.empty(), "eval: {} has an empty prompt", item.ref.key());
  SessionOptions so;
  so.n_ctx = n_ctx_for(item);
  so.kv_types = opts_.kv_types;
  Session base(model_, so);
  PressNeeds needs;
  for (size_t i = 0; i < recipes.size(); ++i)
    if (run[i]) needs.merge(recipes[i].pipeline.needs());
  const Prefill prefill(base, item.prefill_ids, needs);
  SampleOutcome out;
  out.n_prompt = prefill.n_prompt();
  out.prefill_seconds = prefill.seconds();

  auto fork = [&](const PressPipeline& p, double* secs) {
    const auto tc = std::chrono::steady_clock::now();
    std::unique_ptr<Session> s = prefill.fork(p, item.ref.seed);
    if (secs) *secs = seconds_since(tc);
    return s;
  };

  const int dthreads = decode_threads();
  Trace trace;
  RecipeOutcome full;
  {
    ScopedOmpThreads threads(dthreads);
    double secs = 0;
    std::unique_ptr<Session> s = fork(recipes[0].pipeline, &secs);
    full.kv_bytes = logical_kv_bytes(*s);
    const size_t bytes = full.kv_bytes;
    full = decode_reference(*s, item, &trace);
    full.kv_bytes = bytes;
    full.compress_seconds = secs;
    full.recipe = recipes[0].key;
  }
  out.kv_bytes_full = base.kv_bytes_dense_f16();

  std::vector<size_t> todo;
  for (size_t i = 1; i < recipes.size(); ++i)
    if (run[i]) todo.push_back(i);
  std::vector<RecipeOutcome> outs(todo.size());
  std::vector<std::exception_ptr> errors(todo.size());
  const bool parallel = opts_.parallel && todo.size() > 1 && omp_get_max_threads() > 1;
  // (omp_get_max_threads() here is the caller's count: the scope above has ended.)
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
  for (size_t k = 0; k < todo.size(); ++k) {
    try {
      ScopedOmpThreads threads(dthreads);
      const Recipe& r = recipes[todo[k]];
      double secs = 0;
      std::unique_ptr<Session> s = fork(r.pipeline, &secs);
      const size_t bytes = logical_kv_bytes(*s);
      RecipeOutcome o = decode_recipe(*s, item, &trace);
      if (static_cast<size_t>(o.fidelity.steps) < trace.logp.size()) {
        // Greedy left the full cache's path early: teacher-force a fresh copy for the rest.
        std::unique_ptr<Session> tf = fork(r.pipeline, nullptr);
        o.fidelity = teacher_forced(*tf, item, trace);
      }
      o.kv_bytes = bytes;
      o.compress_seconds = secs;
      o.recipe = r.key;
      outs[k] = std::move(o);
    } catch (...) {
      errors[k] = std::current_exception();
    }
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  if (run[0]) out.recipes.push_back(std::move(full));
  for (auto& o : outs) out.recipes.push_back(std::move(o));
  return out;
}

std::vector<RecipeOutcome> SampleRunner::run_from_scratch(
    const EvalItem& item, const std::vector<Recipe>& recipes) const {
  SessionOptions so;
  so.n_ctx = n_ctx_for(item);
  so.kv_types = opts_.kv_types;
  std::vector<RecipeOutcome> out;
  for (const Recipe& r : recipes) {
    Session s(model_, so);
    Prefill prefill(s, item.prefill_ids, r.pipeline.needs());
    ScopedOmpThreads threads(decode_threads());
    prefill.apply(r.pipeline, item.ref.seed);
    const size_t bytes = logical_kv_bytes(s);
    RecipeOutcome o = decode_recipe(s, item, nullptr);
    o.kv_bytes = bytes;
    o.recipe = r.key;
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace sparkv

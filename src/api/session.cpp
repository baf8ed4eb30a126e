// The public Session (include/sparkv/session.h): runtime/'s Session and Prefill, the decode loop,
// and the text side of generation (streaming pieces, stop strings).
#include "sparkv/session.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "core/error.h"
#include "model/model.h"
#include "press/press.h"
#include "quant/kv_types.h"
#include "runtime/generate.h"
#include "runtime/prefill.h"
#include "runtime/session.h"
#include "sample/sampler.h"
#include "tokenizer/tokenizer.h"

namespace sparkv::api {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Length of the longest suffix of `text` that begins one of `stops` (text that must wait: the
// next token may complete a stop string).
size_t pending_stop_prefix(const std::string& text, const std::vector<std::string>& stops) {
  size_t best = 0;
  for (const auto& s : stops)
    for (size_t n = std::min(s.size() - 1, text.size()); n > best; --n)
      if (text.compare(text.size() - n, n, s, 0, n) == 0) {
        best = n;
        break;
      }
  return best;
}

SamplerParams to_sampler(const SamplingParams& p) {
  SamplerParams sp;
  sp.temperature = p.temperature;
  sp.top_k = p.top_k;
  sp.top_p = p.top_p;
  sp.min_p = p.min_p;
  sp.repeat_penalty = p.repeat_penalty;
  sp.repeat_last_n = p.repeat_last_n;
  sp.seed = p.seed;
  return sp;
}

}  // namespace

Truncate parse_truncate(const std::string& mode) {
  return truncate_mode_from_name(mode) == TruncateMode::kMiddle ? Truncate::kMiddle
                                                                : Truncate::kError;
}

size_t truncate_middle(std::vector<int32_t>& prompt, int64_t room) {
  return fit_prompt(prompt, room, TruncateMode::kMiddle);
}

void SamplingParams::validate() const {
  Sampler(to_sampler(*this)).validate();
}

struct Session::State {
  Model model;
  SessionOptions opts;
  std::unique_ptr<sparkv::Session> s;
  std::unique_ptr<Prefill> prefill;  // refers to *s; present from prefill() on
  bool compressed = false;
  Timings timings;
  size_t kv_before = 0, kv_after = 0;
};

Session::Session(std::unique_ptr<State> s) : s_(std::move(s)) {}

Session::Session(const Model& model, const SessionOptions& opts)
    : s_(std::make_unique<State>(State{model, opts, nullptr, nullptr, false, {}, 0, 0})) {
  sparkv::SessionOptions so;
  so.n_ctx = opts.n_ctx;
  so.kv_types.k = kv_dtype_from_name(opts.cache_type_k);
  so.kv_types.v = kv_dtype_from_name(opts.cache_type_v);
  so.kv_mem_limit = opts.kv_mem_limit;
  s_->s = std::make_unique<sparkv::Session>(model.impl(), so);
}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

void Session::prefill(const std::vector<int32_t>& ids, const std::vector<Recipe>& recipes) {
  SPARKV_CHECK(!s_->prefill, "prefill: this session was already prefilled (use append)");
  PressNeeds needs;
  for (const Recipe& r : recipes) needs.merge(r.impl().needs());
  s_->prefill = std::make_unique<Prefill>(*s_->s, ids, needs);
  s_->timings.prompt_tokens = s_->prefill->n_prompt();
  s_->timings.prefill_seconds = s_->prefill->seconds();
}

void Session::compress(const Recipe& recipe, uint64_t seed) {
  SPARKV_CHECK(s_->prefill != nullptr, "compress: prefill the session first");
  SPARKV_CHECK(!s_->compressed, "compress: the session is already compressed");
  if (recipe.is_full()) return;
  const auto t0 = std::chrono::steady_clock::now();
  s_->kv_before = s_->s->kv_bytes();
  s_->prefill->apply(recipe.impl(), seed);
  s_->timings.compress_seconds = seconds_since(t0);
  // Right after compression, before decode tails allocate pages: the figure `sparkv eval`
  // reports as KV bytes per prompt token.
  s_->kv_after = s_->s->kv_bytes();
  s_->compressed = true;
}

Session Session::fork(const Recipe& recipe, uint64_t seed) const {
  SPARKV_CHECK(s_->prefill != nullptr, "fork: prefill the session first");
  SPARKV_CHECK(!s_->compressed, "fork: the session is already compressed (fork before compress)");
  auto st = std::make_unique<State>(State{s_->model, s_->opts, nullptr, nullptr, false, {}, 0, 0});
  const auto t0 = std::chrono::steady_clock::now();
  st->s = s_->prefill->fork(recipe.impl(), seed);
  st->timings = s_->timings;
  if (!recipe.is_full()) {
    st->timings.compress_seconds = seconds_since(t0);
    st->kv_before = s_->s->kv_bytes();
    st->kv_after = st->s->kv_bytes();
    st->compressed = true;
  }
  return Session(std::move(st));
}

void Session::append(const std::vector<int32_t>& ids) {
  SPARKV_CHECK(!ids.empty(), "append: no tokens");
  s_->s->feed(ids);
}

GenerateResult Session::generate(const GenerateOptions& opts) {
  SPARKV_CHECK(opts.max_tokens >= 0, "max_tokens {} must be >= 0", opts.max_tokens);
  std::optional<Tokenizer> tok_handle;
  if (s_->model.has_tokenizer()) tok_handle.emplace(s_->model.tokenizer());
  const Tokenizer* tok = tok_handle ? &*tok_handle : nullptr;
  SPARKV_CHECK(tok != nullptr || opts.stop.empty(),
               "generate: stop strings need a tokenizer; the model carries none");
  for (const auto& st : opts.stop) SPARKV_CHECK(!st.empty(), "generate: an empty stop string");

  Sampler sampler(to_sampler(opts.sampling));

  sparkv::GenerateOptions go;
  go.n_predict = opts.max_tokens;
  if (opts.stop_at_eos) go.stop_ids = s_->model.eos_ids();
  go.stop_ids.insert(go.stop_ids.end(), opts.stop_ids.begin(), opts.stop_ids.end());

  // Text of every non-stop token as it streams (UTF-8 completed by StreamDecoder), how much of it
  // the callback has seen, and where a stop string begins (npos while none).
  std::unique_ptr<StreamDecoder> stream;
  if (tok) stream = std::make_unique<StreamDecoder>(tok->impl());
  std::string text;
  size_t shown = 0, stop_at = std::string::npos;
  bool user_stop = false;
  size_t longest = 0;
  for (const auto& st : opts.stop) longest = std::max(longest, st.size());
  go.on_token = [&](int32_t id) {
    const bool is_stop = std::find(go.stop_ids.begin(), go.stop_ids.end(), id) != go.stop_ids.end();
    if (!stream || is_stop) {
      if (opts.on_token && !opts.on_token(id, {})) user_stop = true;
      return !user_stop;
    }
    const size_t from = text.size();
    text += stream->push(id);
    size_t upto = text.size();
    if (!opts.stop.empty()) {
      // A stop string may straddle tokens: search from the longest stop's reach before `from`.
      const size_t start = from > longest ? from - longest : 0;
      for (const auto& st : opts.stop) {
        const size_t p = text.find(st, start);
        if (p != std::string::npos && p < stop_at) stop_at = p;
      }
      upto = stop_at != std::string::npos ? stop_at
                                          : text.size() - pending_stop_prefix(text, opts.stop);
    }
    std::string_view piece;
    if (upto > shown) piece = std::string_view(text).substr(shown, upto - shown);
    shown = std::max(shown, upto);
    if (opts.on_token && !opts.on_token(id, piece)) user_stop = true;
    return !user_stop && stop_at == std::string::npos;
  };

  sparkv::GenerateResult r;
  sparkv::decode(*s_->s, sampler, go, &r);
  GenerateResult out;
  out.ids = r.ids;
  out.stop_reason = r.stop_reason;
  out.decode_steps = r.decode_steps;
  out.decode_seconds = r.decode_seconds;
  if (stop_at != std::string::npos && !user_stop) {
    out.stop_reason = "stop_string";
    out.text = text.substr(0, stop_at);
  } else if (tok) {
    std::vector<int32_t> shown_ids = r.ids;
    if (!shown_ids.empty() && r.stop_reason == "stop_token") shown_ids.pop_back();
    out.text = tok->decode(shown_ids, /*skip_special=*/true);
    // What the stream still held back: a partial UTF-8 tail or a prefix of a stop string.
    const std::string tail = text.substr(std::min(shown, text.size())) + stream->flush();
    if (opts.on_token && !tail.empty()) opts.on_token(-1, tail);
  }
  return out;
}

const std::vector<float>& Session::logits() const {
  return s_->s->logits();
}
int64_t Session::n_past() const {
  return s_->s->n_past();
}
int64_t Session::n_ctx() const {
  return s_->s->n_ctx();
}
const std::vector<int32_t>& Session::history() const {
  return s_->s->history();
}
Timings Session::timings() const {
  return s_->timings;
}
const Model& Session::model() const {
  return s_->model;
}

KvReport Session::kv() const {
  KvReport k;
  k.bytes = s_->s->kv_bytes();
  k.dense_f16_bytes = s_->s->kv_bytes_dense_f16();
  k.bytes_before_compress = s_->kv_before;
  k.bytes_after_compress = s_->kv_after;
  for (const auto& c : s_->s->caches()) ++k.layers_by_storage[c->kind()];
  k.cache_type_k = kv_dtype_name(kv_dtype_from_name(s_->opts.cache_type_k));
  k.cache_type_v = kv_dtype_name(kv_dtype_from_name(s_->opts.cache_type_v));
  return k;
}

}  // namespace sparkv::api

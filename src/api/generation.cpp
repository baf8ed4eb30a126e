// The public Generation (include/sparkv/generation.h): the decode loop of runtime/generate.cpp one
// step at a time, with the text side of generation (streamed pieces, stop strings) that
// Session::generate returns.
#include "sparkv/generation.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

#include "core/error.h"
#include "sample/sampler.h"
#include "tokenizer/tokenizer.h"

namespace sparkv::api {

namespace {

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

void SamplingParams::validate() const {
  Sampler(to_sampler(*this)).validate();
}

struct Generation::State {
  Session* session;
  GenerateOptions opts;
  Sampler sampler;
  std::vector<int32_t> stop_ids;
  std::optional<Tokenizer> tok;
  // Text of every non-stop token as it streams (UTF-8 completed by StreamDecoder), how much of it
  // the callback has seen, and where a stop string begins (npos while none).
  std::unique_ptr<StreamDecoder> stream;
  std::string text;
  size_t shown = 0, stop_at = std::string::npos, longest = 0;
  bool user_stop = false;
  bool done = false;
  int32_t next = -1;
  GenerateResult r;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();

  State(Session& s, GenerateOptions o)
      : session(&s), opts(std::move(o)), sampler(to_sampler(opts.sampling)) {}

  // The text side of one token; false ends generation ("callback", or a stop string).
  bool on_token(int32_t id) {
    const bool is_stop = std::find(stop_ids.begin(), stop_ids.end(), id) != stop_ids.end();
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
  }
};

Generation::Generation(Session& session, GenerateOptions opts)
    : s_(std::make_unique<State>(session, std::move(opts))) {
  State& g = *s_;
  SPARKV_CHECK(g.opts.max_tokens >= 0, "max_tokens {} must be >= 0", g.opts.max_tokens);
  const Model& model = session.model();
  if (model.has_tokenizer()) g.tok.emplace(model.tokenizer());
  SPARKV_CHECK(g.tok.has_value() || g.opts.stop.empty(),
               "generate: stop strings need a tokenizer; the model carries none");
  for (const auto& st : g.opts.stop) SPARKV_CHECK(!st.empty(), "generate: an empty stop string");
  SPARKV_CHECK(session.n_past() > 0, "decode: the session holds no tokens (prefill first)");
  if (g.opts.stop_at_eos) g.stop_ids = model.eos_ids();
  g.stop_ids.insert(g.stop_ids.end(), g.opts.stop_ids.begin(), g.opts.stop_ids.end());
  if (g.tok) g.stream = std::make_unique<StreamDecoder>(g.tok->impl());
  for (const auto& st : g.opts.stop) g.longest = std::max(g.longest, st.size());
  g.r.stop_reason = "length";
  g.done = g.opts.max_tokens == 0;
}

Generation::~Generation() = default;
Generation::Generation(Generation&&) noexcept = default;
Generation& Generation::operator=(Generation&&) noexcept = default;

bool Generation::step() {
  State& g = *s_;
  if (g.done) return false;
  Session& s = *g.session;
  const int32_t id = g.sampler.sample(s.logits().data(), s.model().n_vocab(), s.history());
  g.r.ids.push_back(id);
  const bool stop = std::find(g.stop_ids.begin(), g.stop_ids.end(), id) != g.stop_ids.end();
  g.done = true;
  if (!g.on_token(id)) {
    g.r.stop_reason = "callback";
    return false;
  }
  if (stop) {
    g.r.stop_reason = "stop_token";
    return false;
  }
  if (static_cast<int>(g.r.ids.size()) == g.opts.max_tokens) return false;
  if (s.n_past() + 1 > s.n_ctx()) {
    g.r.stop_reason = "context_full";
    return false;
  }
  g.done = false;
  g.next = id;
  ++g.r.decode_steps;
  return true;
}

int32_t Generation::next_id() const {
  return s_->next;
}
bool Generation::done() const {
  return s_->done;
}
Session& Generation::session() {
  return *s_->session;
}

GenerateResult Generation::finish() {
  State& g = *s_;
  SPARKV_CHECK(g.done, "finish: the generation has not ended (call step() until it returns false)");
  GenerateResult out = std::move(g.r);
  out.decode_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - g.t0).count();
  if (g.stop_at != std::string::npos && !g.user_stop) {
    out.stop_reason = "stop_string";
    out.text = g.text.substr(0, g.stop_at);
  } else if (g.tok) {
    std::vector<int32_t> shown_ids = out.ids;
    if (!shown_ids.empty() && out.stop_reason == "stop_token") shown_ids.pop_back();
    out.text = g.tok->decode(shown_ids, /*skip_special=*/true);
    // What the stream still held back: a partial UTF-8 tail or a prefix of a stop string.
    const std::string tail = g.text.substr(std::min(g.shown, g.text.size())) + g.stream->flush();
    if (g.opts.on_token && !tail.empty()) g.opts.on_token(-1, tail);
  }
  g.r = GenerateResult{};
  return out;
}

}  // namespace sparkv::api

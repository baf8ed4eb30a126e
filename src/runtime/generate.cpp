#include "runtime/generate.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"

namespace sparkv {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

TruncateMode truncate_mode_from_name(std::string_view name) {
  if (name == "error") return TruncateMode::kError;
  if (name == "middle") return TruncateMode::kMiddle;
  fail("unknown --truncate mode '{}' (valid: error, middle)", name);
}

size_t fit_prompt(std::vector<int32_t>& prompt, int64_t room, TruncateMode mode) {
  const int64_t n = static_cast<int64_t>(prompt.size());
  if (n <= room) return 0;
  SPARKV_CHECK(mode == TruncateMode::kMiddle,
               "prompt of {} tokens exceeds the {} tokens of room in the context (raise --ctx-size "
               "or pass --truncate middle)",
               n, room);
  SPARKV_CHECK(room >= 2,
               "no room for the prompt: {} tokens of context left (raise --ctx-size or "
               "lower --n-predict)",
               room);
  // int(room / 2) from each end, exactly as LongBench's pred.py (an odd room leaves one unused).
  const int64_t half = room / 2;
  std::copy(prompt.end() - half, prompt.end(), prompt.begin() + half);
  prompt.resize(static_cast<size_t>(2 * half));
  return static_cast<size_t>(n - 2 * half);
}

GenerateResult generate(Session& session, const std::vector<int32_t>& prompt, Sampler& sampler,
                        const GenerateOptions& opts) {
  SPARKV_CHECK(opts.n_predict >= 0, "-n {} must be >= 0", opts.n_predict);
  SPARKV_CHECK(!prompt.empty(), "the prompt is empty (no tokens)");
  // Refuse up front rather than fail mid-generation.
  SPARKV_CHECK(session.n_past() + static_cast<int64_t>(prompt.size()) <= session.n_ctx(),
               "prompt of {} tokens exceeds the context size of {} tokens (raise --ctx-size or "
               "pass --truncate middle)",
               prompt.size(), session.n_ctx() - session.n_past());
  GenerateResult r;
  auto t0 = std::chrono::steady_clock::now();
  session.feed(prompt, opts.prefill_observer);
  r.prefill_seconds = seconds_since(t0);
  if (opts.after_prefill) {
    t0 = std::chrono::steady_clock::now();
    opts.after_prefill(session);
    r.compress_seconds = seconds_since(t0);
  }
  decode(session, sampler, opts, &r);
  return r;
}

void decode(Session& session, Sampler& sampler, const GenerateOptions& opts, GenerateResult* out) {
  SPARKV_CHECK(opts.n_predict >= 0, "-n {} must be >= 0", opts.n_predict);
  SPARKV_CHECK(session.n_past() > 0, "decode: the session holds no tokens (prefill first)");
  GenerateResult& r = *out;
  const int V = session.model().config().n_vocab;
  auto t0 = std::chrono::steady_clock::now();
  r.stop_reason = "length";
  for (int i = 0; i < opts.n_predict; ++i) {
    const int32_t id = sampler.sample(session.logits().data(), V, session.history());
    r.ids.push_back(id);
    const bool stop =
        std::find(opts.stop_ids.begin(), opts.stop_ids.end(), id) != opts.stop_ids.end();
    if (opts.on_token && !opts.on_token(id)) {
      r.stop_reason = "callback";
      break;
    }
    if (stop) {
      r.stop_reason = "stop_token";
      break;
    }
    if (i + 1 == opts.n_predict) break;
    if (session.n_past() + 1 > session.n_ctx()) {
      r.stop_reason = "context_full";
      break;
    }
    session.feed({id});
    ++r.decode_steps;
  }
  r.decode_seconds = seconds_since(t0);
}

}  // namespace sparkv

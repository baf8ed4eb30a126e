// The generation loop: prefill the prompt, optionally transform the cache (a press), then decode
// token by token until a stop id or the token limit.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/session.h"
#include "sample/sampler.h"

namespace sparkv {

struct GenerateOptions {
  int n_predict = 64;
  std::vector<int32_t> stop_ids;
  // Observes the prompt's prefill (a PrefillCapture when a press will run).
  ForwardObserver* prefill_observer = nullptr;
  // Runs once after the prompt's prefill, before decoding (where presses compress the cache).
  std::function<void(Session&)> after_prefill;
  // Called with each generated token; return false to stop.
  std::function<bool(int32_t)> on_token;
};

struct GenerateResult {
  std::vector<int32_t> ids;  // generated tokens (a stop token is included)
  double prefill_seconds = 0;
  double compress_seconds = 0;
  double decode_seconds = 0;
  int decode_steps = 0;     // forward passes during decoding
  std::string stop_reason;  // "stop_token" | "length" | "callback"
};

// What to do with a prompt longer than the room it has (sparkv run --truncate).
enum class TruncateMode {
  kError,   // refuse with an error naming both lengths (the default)
  kMiddle,  // keep the first and last halves, drop the middle (LongBench's rule, in token space)
};
// "error" | "middle"; throws naming the value otherwise.
TruncateMode truncate_mode_from_name(std::string_view name);

// Makes `prompt` fit in `room` tokens. kMiddle keeps the first and the last int(room / 2) tokens
// (LongBench's rule), so a leading BOS / chat header and the trailing question or generation
// prompt survive; kError throws if it does not fit. Returns how many tokens were dropped.
size_t fit_prompt(std::vector<int32_t>& prompt, int64_t room, TruncateMode mode);

GenerateResult generate(Session& session, const std::vector<int32_t>& prompt, Sampler& sampler,
                        const GenerateOptions& opts);

// The decode loop alone, from the session's last logits: what generate() runs after the prefill
// (and the public Session::generate after its own prefill / compress). Fills ids, decode_steps,
// decode_seconds and stop_reason; opts' prefill fields are not used.
void decode(Session& session, Sampler& sampler, const GenerateOptions& opts, GenerateResult* r);

}  // namespace sparkv

// sparkv public API: generation one token at a time, and decode steps of many sessions batched.
//
//   Generation g(session, opts);            // after prefill (and compress)
//   while (g.step()) session.append({g.next_id()});
//   GenerateResult r = g.finish();          // what session.generate(opts) returns
//
// A server keeps one Generation per request and feeds all of them with append_batch(): one
// forward pass per step for every active session, each weight row read once for all of them.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sparkv/session.h"

namespace sparkv::api {

class Generation {
 public:
  // Validates opts (sampling ranges, stop strings) and starts the clock. The session must hold
  // the prompt already; it must outlive the Generation.
  Generation(Session& session, GenerateOptions opts);
  ~Generation();
  Generation(Generation&&) noexcept;
  Generation& operator=(Generation&&) noexcept;

  // Samples the next token from the session's last logits, streams its text through on_token,
  // and decides whether generation ends (stop token, stop string, max_tokens, a full context,
  // on_token returning false). Returns true when the session must be fed next_id() before the
  // next step; false once done().
  bool step();
  int32_t next_id() const;
  bool done() const;
  // After done(): the result, exactly what Session::generate returns for the same options (the
  // text cut before a stop string; a held-back tail goes out through on_token(-1, tail)).
  GenerateResult finish();
  Session& session();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// One decode step of several sessions of one Model: sessions[i] is fed ids[i] in a single forward
// pass that reads each weight matrix once for all of them (continuous batching). Batch-invariant:
// every session's logits are bit-identical to sessions[i]->append({ids[i]}), whatever else shares
// the batch. Throws, changing nothing, when a session has no room left or appears twice.
void append_batch(const std::vector<Session*>& sessions, const std::vector<int32_t>& ids);

}  // namespace sparkv::api

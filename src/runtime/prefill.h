// The one place the sequence every program runs is wired: prefill a prompt while recording what
// the recipes will need, then build compressed caches from that prefill — in place, or as forks
// that each continue the same prefill under another recipe (how `sparkv eval` scores many recipes
// from one prefill). The public API, the evaluation runner and the benches all go through here.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "press/capture.h"
#include "press/press.h"
#include "runtime/session.h"

namespace sparkv {

class Prefill {
 public:
  // Feeds `ids` into `session`, which must hold no tokens yet, recording what `needs` asks for.
  // The session must outlive this object. Throws if the prompt is empty or does not fit.
  Prefill(Session& session, const std::vector<int32_t>& ids, const PressNeeds& needs);
  // Prefill that compresses as it goes (layer-major, Session::feed_layer_major): layer l's cache
  // is compressed under `pipeline` with layer l's own statistics as soon as every prompt token
  // has passed layer l, and its dense pages are freed before layer l+1 runs, so the KV memory
  // peaks at the compressed layers + one dense layer. Every press needs only its own layer's
  // statistics (PyramidKV's per-layer budgets are a closed form of the layer index). The caches
  // equal those of Prefill(session, ids, pipeline.needs()) + apply(pipeline, seed), bit for bit.
  // No dense prefill remains: compress / fork / apply throw. The full recipe feeds as usual.
  Prefill(Session& session, const std::vector<int32_t>& ids, const PressPipeline& pipeline,
          uint64_t seed);

  int64_t n_prompt() const { return n_prompt_; }
  double seconds() const { return seconds_; }  // the prefill's wall time, compression excluded
  // Compressing as it went: the time spent in the presses, and the bytes the dense cache of
  // every layer held just before its compression (what apply() would have started from).
  double compress_seconds() const { return compress_seconds_; }
  size_t dense_bytes() const { return dense_bytes_; }
  bool compressed_as_it_went() const { return compressed_; }
  const PressNeeds& needs() const { return needs_; }
  Session& session() const { return session_; }

  // The compressed caches of every layer under `pipeline`, built from the session's dense
  // prefill; the session is untouched. Throws if the capture does not serve the pipeline, or
  // if the session's caches are no longer the prefill's. Thread-safe.
  std::vector<std::unique_ptr<LayerCache>> compress(const PressPipeline& pipeline,
                                                    uint64_t seed = 0) const;
  // A new session that continues this prefill with `pipeline`'s caches.
  std::unique_ptr<Session> fork(const PressPipeline& pipeline, uint64_t seed = 0) const;
  // Replaces the session's caches with their compressed form (a no-op for the full cache). The
  // dense prefill is gone afterwards: later compress / fork calls throw.
  void apply(const PressPipeline& pipeline, uint64_t seed = 0);

 private:
  void feed_dense(const std::vector<int32_t>& ids);  // the chunk-major prefill, caches kept dense

  Session& session_;
  PressNeeds needs_;
  int64_t n_prompt_ = 0;
  double seconds_ = 0;
  double compress_seconds_ = 0;
  size_t dense_bytes_ = 0;
  bool compressed_ = false;  // the layer-major constructor compressed the caches
  std::unique_ptr<PrefillCapture> capture_;
  // A capture with hidden-state statistics rebuilds them on every fill (Expected Attention):
  // compressions then run one at a time.
  mutable std::mutex stats_mutex_;
};

}  // namespace sparkv

#include "runtime/prefill.h"

#include <chrono>

#include "core/error.h"
#include "runtime/compress.h"
#include "runtime/memory_plan.h"

namespace sparkv {

namespace {

void check_prompt(const Session& session, int64_t n_prompt, const PressPipeline& recipe) {
  SPARKV_CHECK(n_prompt > 0, "the prompt is empty (no tokens)");
  SPARKV_CHECK(session.n_past() == 0,
               "prefill: the session already holds {} tokens (a compressible prefill starts an "
               "empty session)",
               session.n_past());
  SPARKV_CHECK(n_prompt <= session.n_ctx(),
               "prompt of {} tokens exceeds the context size of {} tokens (raise --ctx-size or "
               "pass --truncate middle)",
               n_prompt, session.n_ctx());
  const SessionOptions& o = session.options();
  check_memory(session.model().config(), o.kv_types, recipe, n_prompt, session.n_ctx(),
               o.prefill_chunk, o.kv_mem_limit);
}

}  // namespace

Prefill::Prefill(Session& session, const std::vector<int32_t>& ids, const PressNeeds& needs)
    : session_(session), needs_(needs), n_prompt_(static_cast<int64_t>(ids.size())) {
  feed_dense(ids);
}

void Prefill::feed_dense(const std::vector<int32_t>& ids) {
  check_prompt(session_, n_prompt_, PressPipeline());  // the dense cache is kept
  capture_ = std::make_unique<PrefillCapture>(session_.model().config(), needs_, 0, n_prompt_);
  const auto t0 = std::chrono::steady_clock::now();
  // Nothing to record (the full cache alone): no observer, the plain forward pass.
  const bool record = needs_.window > 0 || needs_.attn_colsum || needs_.hidden_stats;
  session_.feed(ids, record ? capture_.get() : nullptr);
  seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  dense_bytes_ = session_.kv_bytes();
}

Prefill::Prefill(Session& session, const std::vector<int32_t>& ids, const PressPipeline& pipeline,
                 uint64_t seed)
    : session_(session), needs_(pipeline.needs()), n_prompt_(static_cast<int64_t>(ids.size())) {
  if (pipeline.empty()) {  // nothing to compress: the chunk-major feed holds less scratch
    feed_dense(ids);
    return;
  }
  check_prompt(session, n_prompt_, pipeline);
  capture_ = std::make_unique<PrefillCapture>(session.model().config(), needs_, 0, n_prompt_);
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  Clock::duration in_presses{};
  session.feed_layer_major(ids, capture_.get(), [&](int l) {
    const auto c0 = Clock::now();
    dense_bytes_ += session_.caches()[l]->bytes();
    session_.caches()[l] = pipeline.apply(press_context(session_, *capture_, l, n_prompt_, seed));
    capture_->release(l);
    in_presses += Clock::now() - c0;
  });
  compressed_ = true;
  compress_seconds_ = std::chrono::duration<double>(in_presses).count();
  seconds_ = std::chrono::duration<double>(Clock::now() - t0).count() - compress_seconds_;
}

std::vector<std::unique_ptr<LayerCache>> Prefill::compress(const PressPipeline& pipeline,
                                                           uint64_t seed) const {
  SPARKV_CHECK(!compressed_,
               "this prefill compressed its caches as it went (no dense prefill remains to "
               "compress or fork)");
  const PressNeeds want = pipeline.needs();
  SPARKV_CHECK(needs_.covers(want),
               "recipe '{}' needs prefill statistics that were not recorded (window {} of {}{}{}): "
               "name the recipe when prefilling",
               pipeline.spec(), want.window, needs_.window,
               want.attn_colsum && !needs_.attn_colsum ? ", attention column sums" : "",
               want.hidden_stats && !needs_.hidden_stats ? ", hidden-state statistics" : "");
  if (needs_.hidden_stats) {  // fill() rewrites the statistics for every pipeline then
    std::lock_guard<std::mutex> lock(stats_mutex_);
    return compress_caches(session_, pipeline, *capture_, n_prompt_, seed);
  }
  return compress_caches(session_, pipeline, *capture_, n_prompt_, seed);
}

std::unique_ptr<Session> Prefill::fork(const PressPipeline& pipeline, uint64_t seed) const {
  return session_.fork_with_caches(compress(pipeline, seed));
}

void Prefill::apply(const PressPipeline& pipeline, uint64_t seed) {
  if (pipeline.empty()) return;
  auto caches = compress(pipeline, seed);
  for (size_t l = 0; l < caches.size(); ++l) session_.caches()[l] = std::move(caches[l]);
}

}  // namespace sparkv

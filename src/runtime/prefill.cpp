#include "runtime/prefill.h"

#include <chrono>

#include "core/error.h"
#include "runtime/compress.h"

namespace sparkv {

Prefill::Prefill(Session& session, const std::vector<int32_t>& ids, const PressNeeds& needs)
    : session_(session), needs_(needs), n_prompt_(static_cast<int64_t>(ids.size())) {
  SPARKV_CHECK(!ids.empty(), "the prompt is empty (no tokens)");
  SPARKV_CHECK(session.n_past() == 0,
               "prefill: the session already holds {} tokens (a compressible prefill starts an "
               "empty session)",
               session.n_past());
  SPARKV_CHECK(n_prompt_ <= session.n_ctx(),
               "prompt of {} tokens exceeds the context size of {} tokens (raise --ctx-size or "
               "pass --truncate middle)",
               n_prompt_, session.n_ctx());
  capture_ = std::make_unique<PrefillCapture>(session.model().config(), needs, 0, n_prompt_);
  const auto t0 = std::chrono::steady_clock::now();
  // Nothing to record (the full cache alone): no observer, the plain forward pass.
  const bool record = needs.window > 0 || needs.attn_colsum || needs.hidden_stats;
  session.feed(ids, record ? capture_.get() : nullptr);
  seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<std::unique_ptr<LayerCache>> Prefill::compress(const PressPipeline& pipeline,
                                                           uint64_t seed) const {
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

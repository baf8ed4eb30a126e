#include "runtime/compress.h"

#include "core/error.h"

namespace sparkv {

PressContext press_context(const Session& session, const PrefillCapture& capture, int layer,
                           int64_t n_prompt, uint64_t seed) {
  const DenseLayerCache* dense = session.caches().at(layer)->uncompressed();
  SPARKV_CHECK(dense != nullptr, "press: layer {} is already compressed", layer);
  SPARKV_CHECK(dense->n_tokens(0) == n_prompt,
               "press: the cache holds {} tokens but the prefill had {} (compress right after "
               "the first prefill)",
               dense->n_tokens(0), n_prompt);
  PressContext ctx;
  ctx.model = &session.model();
  ctx.config = &session.model().config();
  ctx.layer = layer;
  ctx.cache = dense;
  ctx.n_prompt = n_prompt;
  ctx.seed = seed;
  capture.fill(layer, &ctx);
  return ctx;
}

std::vector<std::unique_ptr<LayerCache>> compress_caches(const Session& session,
                                                         const PressPipeline& pipeline,
                                                         const PrefillCapture& capture,
                                                         int64_t n_prompt, uint64_t seed) {
  std::vector<std::unique_ptr<LayerCache>> out;
  for (int l = 0; l < session.model().config().n_layer; ++l)
    out.push_back(pipeline.apply(press_context(session, capture, l, n_prompt, seed)));
  return out;
}

void compress_session(Session& session, const PressPipeline& pipeline,
                      const PrefillCapture& capture, int64_t n_prompt, uint64_t seed) {
  if (pipeline.empty()) return;
  auto caches = compress_caches(session, pipeline, capture, n_prompt, seed);
  for (size_t l = 0; l < caches.size(); ++l) session.caches()[l] = std::move(caches[l]);
}

}  // namespace sparkv

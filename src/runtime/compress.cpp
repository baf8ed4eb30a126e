#include "runtime/compress.h"

#include "core/error.h"

namespace sparkv {

std::vector<std::unique_ptr<LayerCache>> compress_caches(const Session& session,
                                                         const PressPipeline& pipeline,
                                                         const PrefillCapture& capture,
                                                         int64_t n_prompt, uint64_t seed) {
  const ModelConfig& c = session.model().config();
  std::vector<std::unique_ptr<LayerCache>> out;
  for (int l = 0; l < c.n_layer; ++l) {
    const auto* dense = dynamic_cast<const DenseLayerCache*>(session.caches()[l].get());
    SPARKV_CHECK(dense != nullptr, "press: layer {} is already compressed", l);
    SPARKV_CHECK(dense->n_tokens(0) == n_prompt,
                 "press: the cache holds {} tokens but the prefill had {} (compress right after "
                 "the first prefill)",
                 dense->n_tokens(0), n_prompt);
    PressContext ctx;
    ctx.model = &session.model();
    ctx.config = &c;
    ctx.layer = l;
    ctx.cache = dense;
    ctx.n_prompt = n_prompt;
    ctx.seed = seed;
    capture.fill(l, &ctx);
    out.push_back(pipeline.apply(ctx));
  }
  return out;
}

void compress_session(Session& session, const PressPipeline& pipeline, const PrefillCapture& capture,
                      int64_t n_prompt, uint64_t seed) {
  if (pipeline.empty()) return;
  auto caches = compress_caches(session, pipeline, capture, n_prompt, seed);
  for (size_t l = 0; l < caches.size(); ++l) session.caches()[l] = std::move(caches[l]);
}

}  // namespace sparkv

// Applying a press recipe to a session's prefill: the bridge between runtime/ and press/.
#pragma once

#include <memory>
#include <vector>

#include "press/capture.h"
#include "press/press.h"
#include "runtime/session.h"

namespace sparkv {

// Builds the compressed caches of every layer from the session's dense prefill caches, leaving
// the session untouched (so one prefill can serve many recipes).
std::vector<std::unique_ptr<LayerCache>> compress_caches(const Session& session,
                                                         const PressPipeline& pipeline,
                                                         const PrefillCapture& capture,
                                                         int64_t n_prompt, uint64_t seed = 0);

// Replaces the session's caches with their compressed form.
void compress_session(Session& session, const PressPipeline& pipeline, const PrefillCapture& capture,
                      int64_t n_prompt, uint64_t seed = 0);

}  // namespace sparkv

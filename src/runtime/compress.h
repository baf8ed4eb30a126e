// Applying a press recipe to a session's prefill: the bridge between runtime/ and press/.
#pragma once

#include <memory>
#include <vector>

#include "press/capture.h"
#include "press/press.h"
#include "runtime/session.h"

namespace sparkv {

// The press context of one layer of the session's dense prefill: its cache, the prompt length,
// and what the capture recorded. compress_caches runs the pipeline on exactly this; tests use it
// to look at the selection an eviction press makes on a real prefill.
PressContext press_context(const Session& session, const PrefillCapture& capture, int layer,
                           int64_t n_prompt, uint64_t seed = 0);

// Builds the compressed caches of every layer from the session's dense prefill caches, leaving
// the session untouched (so one prefill can serve many recipes).
std::vector<std::unique_ptr<LayerCache>> compress_caches(const Session& session,
                                                         const PressPipeline& pipeline,
                                                         const PrefillCapture& capture,
                                                         int64_t n_prompt, uint64_t seed = 0);

// Replaces the session's caches with their compressed form.
void compress_session(Session& session, const PressPipeline& pipeline,
                      const PrefillCapture& capture, int64_t n_prompt, uint64_t seed = 0);

}  // namespace sparkv

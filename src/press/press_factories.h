// Factories for every press method; the registry in press_spec.cpp maps method names to these.
// Each reads its parameters from PressParams (validating ranges); the parser then rejects unread keys.
#pragma once

#include <memory>

#include "press/press.h"
#include "press/press_spec.h"

namespace sparkv {

// Token eviction (press/eviction_*.cpp).
std::unique_ptr<Press> make_snapkv(PressParams& p);        // budget|ratio, window=64, kernel=5
std::unique_ptr<Press> make_pyramidkv(PressParams& p);     // budget|ratio, window=64, kernel=5, beta=20, compat=0
std::unique_ptr<Press> make_streamingllm(PressParams& p);  // budget|ratio, sinks=4
std::unique_ptr<Press> make_h2o(PressParams& p);           // budget|ratio
std::unique_ptr<Press> make_tova(PressParams& p);          // budget|ratio
std::unique_ptr<Press> make_knorm(PressParams& p);         // budget|ratio
std::unique_ptr<Press> make_random(PressParams& p);        // budget|ratio, seed=0
std::unique_ptr<Press> make_expected(PressParams& p);      // budget|ratio, sinks=4, future=512, cov=1, vnorm=1
// Structured channel pruning with packed storage (press/think_press.cpp).
std::unique_ptr<Press> make_think(PressParams& p);         // ratio, window=32, recent=0
// SparK (press/spark_press.cpp).
std::unique_ptr<Press> make_spark(PressParams& p);
// Dense llama.cpp cache types applied after prefill (press/quant_press.cpp).
std::unique_ptr<Press> make_quant(PressParams& p);         // k=f16, v=f16 (f32 ... iq4_nl)

}  // namespace sparkv

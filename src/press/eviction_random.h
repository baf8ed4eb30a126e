// The Random press's score function, exposed so the numpy reference can mirror it bit for bit.
#pragma once

#include <cstdint>

namespace sparkv {

// Uniform in [0, 1): splitmix64 finaliser chained over (seed, context seed, layer, KV head,
// token index); the top 53 bits of the last hash scaled by 2^-53.
double random_press_score(uint64_t seed, uint64_t ctx_seed, int layer, int kv_head, int32_t token);

}  // namespace sparkv

// Rotary position embedding in the HF "rotate_half" layout: channel i pairs with i + D/2.
// GGUF llama tensors are un-permuted at load so this is the only layout the engine knows.
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"

namespace sparkv {

// inv_freq[i] = theta^(-2i/D) with the configured scaling applied (linear: / factor; llama3:
// the piecewise low/high frequency rule). `freq_divisors`, when non-empty, are GGUF
// rope_freqs.weight values (effective inv_freq[i] / divisor[i]) and replace the llama3 rule.
std::vector<float> rope_inv_freq(const ModelConfig& cfg, const std::vector<float>& freq_divisors);

// Rotates n_heads vectors of length D in place at position pos: x is [n_heads, D].
void rope_apply(float* x, int n_heads, int D, int64_t pos, const float* inv_freq);

}  // namespace sparkv

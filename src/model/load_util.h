// Helpers shared by the GGUF and HF loaders (internal).
#pragma once

#include <string>
#include <vector>

#include "model/weights.h"

namespace sparkv {

// Reorders the rows of a [n_heads*D, cols] weight from llama.cpp's interleaved RoPE layout
// (GGUF row 2i+j of a head) to the HF half-split layout (row j*(D/2)+i). Works on whole rows, so
// it applies to any block type.
void unpermute_rope_rows(Weight* w, int n_heads, int head_dim);
// Same for a bias / vector of n_heads*D floats.
void unpermute_rope_vec(std::vector<float>* v, int n_heads, int head_dim);

// Dequantizes a whole 1-D tensor of `n` elements stored as `type` to f32.
std::vector<float> to_f32(GgmlType type, const void* data, int64_t n);

}  // namespace sparkv

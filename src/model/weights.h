// The in-memory model: hyperparameters plus weights bound to layers. Weights point into the
// mmapped file where the bytes can be used as they are, and own a transformed copy otherwise
// (GGUF llama Q/K rows un-permuted to the HF half-split RoPE layout, so channel ids mean the same
// thing whichever file a model came from).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/config.h"
#include "quant/ggml_type.h"

namespace sparkv {

// A 2-D weight [rows = out features, cols = in features], row-major, rows stored in `type`.
struct Weight {
  GgmlType type = GgmlType::kF32;
  int64_t rows = 0;
  int64_t cols = 0;
  const uint8_t* data = nullptr;  // into the mmap or into owned
  std::vector<uint8_t> owned;
  std::string name;               // tensor name in the file, for messages and `inspect`

  bool empty() const { return data == nullptr; }
  size_t row_bytes() const { return ggml_row_bytes(type, cols); }
  size_t bytes() const { return row_bytes() * static_cast<size_t>(rows); }
  const uint8_t* row(int64_t r) const { return data + row_bytes() * static_cast<size_t>(r); }
};

struct LayerWeights {
  std::vector<float> attn_norm;  // [n_embd]
  Weight wq;                     // [n_head*head_dim, n_embd]
  Weight wk;                     // [n_head_kv*head_dim, n_embd]
  Weight wv;                     // [n_head_kv*head_dim, n_embd]
  std::vector<float> bq, bk, bv;  // Qwen2 biases: [q_dim], [kv_dim], [kv_dim]; empty otherwise
  std::vector<float> q_norm;     // Qwen3: [head_dim]; empty otherwise
  std::vector<float> k_norm;     // Qwen3: [head_dim]
  Weight wo;                     // [n_embd, n_head*head_dim]
  std::vector<float> ffn_norm;   // [n_embd]
  Weight w_gate;                 // [n_ff, n_embd]
  Weight w_up;                   // [n_ff, n_embd]
  Weight w_down;                 // [n_embd, n_ff]
};

struct ModelWeights {
  Weight tok_embd;               // [n_vocab, n_embd]
  std::vector<float> output_norm;  // [n_embd]
  Weight output;                 // [n_vocab, n_embd]; empty when tied (use tok_embd)
  std::vector<LayerWeights> layers;
  std::vector<float> rope_inv_freq;  // [head_dim/2], scaling already applied

  const Weight& lm_head() const { return output.empty() ? tok_embd : output; }
};

}  // namespace sparkv

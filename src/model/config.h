// Architecture hyperparameters, filled from GGUF metadata or HF config.json. Both loaders produce
// the same ModelConfig and the same in-memory weights.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sparkv {

enum class Arch { kLlama, kQwen2, kQwen3 };  // Mistral runs as kLlama

enum class RopeScaling { kNone, kLinear, kLlama3 };

struct ModelConfig {
  Arch arch = Arch::kLlama;
  std::string arch_name;      // as found in the file ("llama", "qwen2", "MistralForCausalLM", ...)
  int n_layer = 0;
  int n_embd = 0;             // model width
  int n_head = 0;             // query heads
  int n_head_kv = 0;          // key/value heads (GQA when < n_head)
  int head_dim = 0;           // may differ from n_embd / n_head (Qwen3)
  int n_ff = 0;               // SwiGLU hidden width
  int n_vocab = 0;
  int n_ctx_train = 0;        // context length the model was trained for
  float norm_eps = 1e-5f;
  float rope_theta = 10000.0f;
  RopeScaling rope_scaling = RopeScaling::kNone;
  float rope_factor = 1.0f;               // linear / llama3 factor
  float rope_low_freq_factor = 1.0f;      // llama3
  float rope_high_freq_factor = 4.0f;     // llama3
  int rope_orig_ctx = 8192;               // llama3 original_max_position_embeddings
  bool qkv_bias = false;      // Qwen2
  bool qk_norm = false;       // Qwen3: RMSNorm over head_dim on each q and k head before RoPE
  bool tied_embeddings = false;
  std::vector<int32_t> eos_ids;  // from config / generation_config, if any
  int32_t bos_id = -1;

  int group_size() const { return n_head / n_head_kv; }
  int q_dim() const { return n_head * head_dim; }
  int kv_dim() const { return n_head_kv * head_dim; }
};

const char* arch_name(Arch a);

}  // namespace sparkv

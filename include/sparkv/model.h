// sparkv public API: models and tokenizers.
//
// A Model is a loaded checkpoint (a GGUF file or a Hugging Face folder: config.json, *.safetensors
// and tokenizer.json) with its tokenizer and chat template. It is immutable after load and a cheap
// handle: copies share the weights, and any number of Sessions on any threads may use one Model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sparkv/error.h"

namespace sparkv {
class Model;
class Tokenizer;
}  // namespace sparkv

namespace sparkv::api {

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant"
  std::string content;
};

// One tensor of the checkpoint as stored (GGUF: type name and ggml shape; HF: dtype and shape).
struct TensorInfo {
  std::string name;
  std::string type;
  std::vector<int64_t> shape;
};

// What `sparkv inspect` shows. Field names follow llama.cpp's hyperparameter names.
struct ModelInfo {
  std::string path;
  std::string format;             // "gguf" | "hf"
  std::string architecture;       // the engine's family: "llama", "qwen2", "qwen3", ...
  std::string architecture_name;  // as the file names it
  int n_layer = 0, n_embd = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_ff = 0, n_vocab = 0;
  int64_t n_ctx_train = 0;
  double norm_eps = 0, rope_theta = 0, rope_factor = 1;
  std::string rope_scaling;  // "none" | "linear" | "llama3"
  bool qkv_bias = false, qk_norm = false, tied_embeddings = false;
  size_t weight_bytes = 0;  // what one decode step streams
  std::vector<TensorInfo> tensors;
};

// A tokenizer on its own (from a GGUF file's vocabulary, a tokenizer.json or a folder holding
// one): `sparkv tokenize` loads only this, never the weights. Copies share the vocabulary.
class Tokenizer {
 public:
  // `path`: a .gguf file, a tokenizer.json, or a folder with tokenizer.json.
  static Tokenizer load(const std::string& path);
  // A tokenizer.json or a folder holding one (+ tokenizer_config.json).
  static Tokenizer from_hf(const std::string& path);

  // add_bos: prepend BOS when the vocabulary asks for it; parse_special: match special-token
  // strings in the text (chat markup). Invalid UTF-8 throws.
  std::vector<int32_t> encode(std::string_view text, bool add_bos = true,
                              bool parse_special = true) const;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const;
  std::string token_text(int32_t id) const;  // the stored piece ("Ġthe")
  int32_t n_vocab() const;
  int32_t bos_id() const;                 // -1 if none
  int32_t eos_id() const;                 // -1 if none
  std::vector<int32_t> stop_ids() const;  // every id that ends generation
  bool add_bos() const;
  std::string kind() const;           // "gpt2" | "llama"
  std::string pre() const;            // pre-tokenizer name
  std::string chat_template() const;  // Jinja text shipped with the vocabulary, or ""

  // Renders a conversation with the vocabulary's chat template (or `template_name`: llama3 |
  // chatml | qwen3 | mistral) and encodes it; add_generation_prompt appends the assistant header.
  std::string render_chat(const std::vector<ChatMessage>& messages,
                          bool add_generation_prompt = true,
                          const std::string& template_name = "") const;
  std::vector<int32_t> encode_chat(const std::vector<ChatMessage>& messages,
                                   bool add_generation_prompt = true,
                                   const std::string& template_name = "") const;

  // The engine's tokenizer (for code inside this library).
  const sparkv::Tokenizer& impl() const { return *impl_; }
  explicit Tokenizer(std::shared_ptr<const sparkv::Tokenizer> impl);

 private:
  std::shared_ptr<const sparkv::Tokenizer> impl_;
};

// What a model argument names: `arg` itself when it exists; else, when it is a bare name (no '/'),
// the first of models_dir/NAME.gguf, models_dir/NAME-f16.gguf, models_dir/NAME that exists (the
// shipped models: "sparkv-tiny", "sparkv-tiny-q8_0", "sparkv-tiny-learned-hf"); else `arg`
// unchanged, so that loading it fails naming it.
std::string resolve_model_name(const std::string& arg, const std::string& models_dir);

struct LoadOptions {
  std::string tokenizer;  // tokenizer.json (or its folder) to use instead of the model's own
  bool load_tokenizer = true;
};

class Model {
 public:
  // Throws sparkv::Error naming the file and the problem.
  static Model load(const std::string& path, const LoadOptions& opts = {});

  const std::string& path() const;
  ModelInfo info(bool with_tensors = true) const;
  bool has_tokenizer() const;
  // Throws when the model carries no tokenizer and none was given at load. The handle shares the
  // model's lifetime (it stays valid after every Model handle is gone).
  Tokenizer tokenizer() const;
  // Ids that end generation: the model's end-of-sequence ids.
  std::vector<int32_t> eos_ids() const;
  size_t weight_bytes() const;
  int64_t n_ctx_train() const;
  int n_vocab() const;

  // The engine's model (for code inside this library).
  const sparkv::Model& impl() const;

 private:
  Model() = default;
  struct State;
  std::shared_ptr<const State> s_;
};

}  // namespace sparkv::api

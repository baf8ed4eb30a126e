// A loaded model: config, weights and (when the file carries one) its tokenizer. Immutable after
// load, so any number of Sessions may share one Model across threads.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "model/config.h"
#include "model/weights.h"

namespace sparkv {

class GgufFile;
class SafetensorsModel;
class Tokenizer;

enum class ModelFormat { kGguf, kHf };

class Model {
 public:
  // `path` is a .gguf file or a Hugging Face model folder (config.json + *.safetensors).
  // Throws sparkv::Error naming the file and the problem.
  static std::unique_ptr<Model> load(const std::string& path, bool load_tokenizer = true);
  ~Model();

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  ModelFormat format() const { return format_; }
  const std::string& path() const { return path_; }
  // nullptr when the model has no tokenizer (or it was not requested).
  const Tokenizer* tokenizer() const { return tokenizer_.get(); }
  const GgufFile* gguf() const { return gguf_.get(); }
  const SafetensorsModel* safetensors() const { return st_.get(); }
  // Bytes of all weights (what one decode step streams from memory).
  size_t weight_bytes() const;
  // Identifies the weights caches are computed with (prompt-cache files, runtime/cache_file.h):
  // the shapes, tensor types and a hash of every layer's K / V projections and norms (the first
  // 64 KiB of each matrix) — another checkpoint or quantization of the same architecture gives
  // other keys. 16 hex digits, computed on first use.
  const std::string& fingerprint() const;
  // Prefaults a GGUF's mapped weights, once per model (io/mmap_file.h: MmapFile::populate), so a
  // first prompt does not pay a page fault per 4 KiB of weights. Sessions call it; a model only
  // inspected never reads its weights.
  void populate_weights() const;

 private:
  Model();
  friend std::unique_ptr<Model> load_gguf_model(const std::string&, bool);
  friend std::unique_ptr<Model> load_hf_model(const std::string&, bool);

  std::string path_;
  ModelFormat format_ = ModelFormat::kGguf;
  ModelConfig config_;
  ModelWeights weights_;
  std::unique_ptr<GgufFile> gguf_;
  std::unique_ptr<SafetensorsModel> st_;
  std::unique_ptr<Tokenizer> tokenizer_;
  mutable std::once_flag fingerprint_once_;
  mutable std::string fingerprint_;
  mutable std::once_flag populate_once_;
};

std::unique_ptr<Model> load_gguf_model(const std::string& path, bool load_tokenizer);
std::unique_ptr<Model> load_hf_model(const std::string& path, bool load_tokenizer);

// Checks shapes and cross-field consistency (heads divide, head_dim even, ...); throws naming the
// file and field.
void validate_config(const ModelConfig& cfg, const std::string& path);

}  // namespace sparkv

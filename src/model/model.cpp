#include "model/model.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/fnv.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "tokenizer/tokenizer.h"

namespace sparkv {

const char* arch_name(Arch a) {
  switch (a) {
    case Arch::kLlama:
      return "llama";
    case Arch::kQwen2:
      return "qwen2";
    case Arch::kQwen3:
      return "qwen3";
  }
  return "?";
}

Model::Model() = default;
Model::~Model() = default;

std::unique_ptr<Model> Model::load(const std::string& path, bool load_tokenizer) {
  namespace fs = std::filesystem;
  std::error_code ec;
  SPARKV_CHECK(fs::exists(path, ec), "{}: no such file or directory", path);
  if (fs::is_directory(path, ec)) return load_hf_model(path, load_tokenizer);
  return load_gguf_model(path, load_tokenizer);
}

size_t Model::weight_bytes() const {
  size_t total = weights_.tok_embd.bytes() + weights_.output.bytes();
  for (const LayerWeights& l : weights_.layers)
    total += l.wq.bytes() + l.wk.bytes() + l.wv.bytes() + l.wo.bytes() + l.w_gate.bytes() +
             l.w_up.bytes() + l.w_down.bytes();
  return total;
}

void Model::populate_weights() const {
  std::call_once(populate_once_, [this] {
    if (gguf_) gguf_->populate();
  });
}

const std::string& Model::fingerprint() const {
  std::call_once(fingerprint_once_, [this] {
    const ModelConfig& c = config_;
    uint64_t h = fnv1a64(c.arch_name.data(), c.arch_name.size());
    auto pod = [&h](const auto& v) { h = fnv1a64(&v, sizeof(v), h); };
    auto floats = [&h](const std::vector<float>& v) {
      h = fnv1a64(v.data(), v.size() * sizeof(float), h);
    };
    auto weight = [&](const Weight& w) {
      pod(static_cast<int>(w.type));
      pod(w.rows);
      pod(w.cols);
      // The first 64 KiB: enough to tell checkpoints and quantizations apart without reading
      // every weight.
      if (w.data) h = fnv1a64(w.data, std::min<size_t>(w.bytes(), size_t{64} << 10), h);
    };
    for (int v : {c.n_layer, c.n_embd, c.n_head, c.n_head_kv, c.head_dim, c.n_ff, c.n_vocab})
      pod(v);
    pod(c.rope_theta);
    pod(c.norm_eps);
    weight(weights_.tok_embd);
    floats(weights_.rope_inv_freq);
    for (const LayerWeights& l : weights_.layers) {
      floats(l.attn_norm);
      weight(l.wk);
      weight(l.wv);
      floats(l.bk);
      floats(l.k_norm);
    }
    fingerprint_ = fmt::format("{:016x}", h);
  });
  return fingerprint_;
}

void validate_config(const ModelConfig& c, const std::string& path) {
  auto positive = [&](int v, const char* field) {
    SPARKV_CHECK(v > 0, "{}: {} must be positive, got {}", path, field, v);
  };
  positive(c.n_layer, "block_count / num_hidden_layers");
  positive(c.n_embd, "embedding_length / hidden_size");
  positive(c.n_head, "head_count / num_attention_heads");
  positive(c.n_head_kv, "head_count_kv / num_key_value_heads");
  positive(c.head_dim, "head_dim");
  positive(c.n_ff, "feed_forward_length / intermediate_size");
  positive(c.n_vocab, "vocab size");
  SPARKV_CHECK(
      c.n_layer <= 1024 && c.n_embd <= (1 << 16) && c.n_head <= 1024 && c.n_ff <= (1 << 20),
      "{}: implausible model size (layers {}, width {}, heads {}, ffn {})", path, c.n_layer,
      c.n_embd, c.n_head, c.n_ff);
  SPARKV_CHECK(c.n_head % c.n_head_kv == 0,
               "{}: head_count {} is not a multiple of head_count_kv {}", path, c.n_head,
               c.n_head_kv);
  SPARKV_CHECK(c.head_dim % 2 == 0 && c.head_dim <= 1024,
               "{}: head_dim {} must be even and <= 1024", path, c.head_dim);
  SPARKV_CHECK(c.norm_eps > 0 && c.norm_eps < 1, "{}: rms norm epsilon {} out of range", path,
               c.norm_eps);
  SPARKV_CHECK(c.rope_theta > 0, "{}: rope theta {} must be positive", path, c.rope_theta);
  SPARKV_CHECK(c.rope_factor > 0, "{}: rope scaling factor {} must be positive", path,
               c.rope_factor);
  if (c.rope_scaling == RopeScaling::kLlama3)
    SPARKV_CHECK(c.rope_high_freq_factor > c.rope_low_freq_factor && c.rope_orig_ctx > 0,
                 "{}: llama3 rope scaling needs high_freq_factor > low_freq_factor and an "
                 "original context",
                 path);
}

}  // namespace sparkv

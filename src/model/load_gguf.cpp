// GGUF -> Model: llama.cpp metadata keys and tensor names (spec engine-and-formats §2.1).
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "io/gguf.h"
#include "model/load_util.h"
#include "model/model.h"
#include "model/rope.h"
#include "tokenizer/tokenizer.h"

namespace sparkv {

namespace {

class GgufBinder {
 public:
  GgufBinder(const GgufFile& f) : f_(f) {}

  const GgufTensorInfo* find(const std::string& name) const { return f_.find_tensor(name); }

  // A 2-D weight with HF shape [rows, cols] (GGUF ne = [cols, rows]).
  Weight matrix(const std::string& name, int64_t rows, int64_t cols) const {
    const GgufTensorInfo* t = f_.find_tensor(name);
    SPARKV_CHECK(t != nullptr, "{}: missing tensor '{}'", f_.path(), name);
    const bool shape_ok = t->ne.size() == 2 && t->ne[0] == cols && t->ne[1] == rows;
    SPARKV_CHECK(shape_ok, "{}: tensor '{}' has shape {}, expected [{}, {}] (ne order)", f_.path(),
                 name, shape_str(t->ne), cols, rows);
    Weight w;
    w.type = t->type;
    w.rows = rows;
    w.cols = cols;
    w.data = t->data;
    w.name = name;
    return w;
  }

  // A 1-D vector of n floats (norm weights, biases), converted to f32.
  std::vector<float> vec(const std::string& name, int64_t n) const {
    const GgufTensorInfo* t = f_.find_tensor(name);
    SPARKV_CHECK(t != nullptr, "{}: missing tensor '{}'", f_.path(), name);
    SPARKV_CHECK(t->ne.size() == 1 && t->ne[0] == n, "{}: tensor '{}' has shape {}, expected [{}]",
                 f_.path(), name, shape_str(t->ne), n);
    return to_f32(t->type, t->data, n);
  }

  static std::string shape_str(const std::vector<int64_t>& ne) {
    std::string s = "[";
    for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
    return s + "]";
  }

 private:
  const GgufFile& f_;
};

int64_t require_int(const GgufFile& f, const std::string& key) {
  auto v = f.get_int(key);
  SPARKV_CHECK(v.has_value(), "{}: missing metadata key '{}'", f.path(), key);
  SPARKV_CHECK(*v > 0 && *v < (int64_t{1} << 31), "{}: metadata '{}' = {} is out of range",
               f.path(), key, *v);
  return *v;
}

ModelConfig read_config(const GgufFile& f) {
  ModelConfig c;
  auto arch = f.get_string("general.architecture");
  SPARKV_CHECK(arch.has_value(), "{}: missing metadata key 'general.architecture'", f.path());
  c.arch_name = *arch;
  if (*arch == "llama") {
    c.arch = Arch::kLlama;
  } else if (*arch == "qwen2") {
    c.arch = Arch::kQwen2;
  } else if (*arch == "qwen3") {
    c.arch = Arch::kQwen3;
  } else {
    fail("{}: unknown architecture '{}' (supported: llama, qwen2, qwen3; Mistral uses llama)",
         f.path(), *arch);
  }
  const std::string a = *arch + ".";
  c.n_layer = static_cast<int>(require_int(f, a + "block_count"));
  c.n_embd = static_cast<int>(require_int(f, a + "embedding_length"));
  c.n_ff = static_cast<int>(require_int(f, a + "feed_forward_length"));
  c.n_head = static_cast<int>(require_int(f, a + "attention.head_count"));
  c.n_head_kv = f.get_int(a + "attention.head_count_kv").value_or(c.n_head);
  c.head_dim = f.get_int(a + "attention.key_length").value_or(c.n_embd / c.n_head);
  const int64_t v_len = f.get_int(a + "attention.value_length").value_or(c.head_dim);
  SPARKV_CHECK(v_len == c.head_dim, "{}: value_length {} != key_length {} is not supported",
               f.path(), v_len, c.head_dim);
  c.n_ctx_train = static_cast<int>(f.get_int(a + "context_length").value_or(4096));
  c.norm_eps = static_cast<float>(f.get_float(a + "attention.layer_norm_rms_epsilon").value_or(1e-5));
  c.rope_theta = static_cast<float>(f.get_float(a + "rope.freq_base").value_or(10000.0));
  const int64_t rope_dims = f.get_int(a + "rope.dimension_count").value_or(c.head_dim);
  SPARKV_CHECK(rope_dims == c.head_dim,
               "{}: partial rotary embedding (rope.dimension_count {} < head_dim {}) is not "
               "supported",
               f.path(), rope_dims, c.head_dim);
  const std::string scaling = f.get_string(a + "rope.scaling.type").value_or("none");
  if (scaling == "linear") {
    c.rope_scaling = RopeScaling::kLinear;
    c.rope_factor = static_cast<float>(f.get_float(a + "rope.scaling.factor").value_or(1.0));
  } else if (scaling != "none") {
    fail("{}: rope scaling type '{}' is not supported (none, linear, llama3 via rope_freqs)",
         f.path(), scaling);
  } else if (auto lin = f.get_float(a + "rope.scale_linear")) {
    c.rope_scaling = RopeScaling::kLinear;
    c.rope_factor = static_cast<float>(*lin);
  }
  c.bos_id = static_cast<int32_t>(f.get_int("tokenizer.ggml.bos_token_id").value_or(-1));
  if (auto eos = f.get_int("tokenizer.ggml.eos_token_id")) c.eos_ids.push_back(*eos);
  return c;
}

}  // namespace

std::unique_ptr<Model> load_gguf_model(const std::string& path, bool load_tokenizer) {
  std::unique_ptr<Model> m(new Model());
  m->path_ = path;
  m->format_ = ModelFormat::kGguf;
  m->gguf_ = std::make_unique<GgufFile>(path);
  const GgufFile& f = *m->gguf_;
  ModelConfig& c = m->config_;
  c = read_config(f);

  GgufBinder b(f);
  const GgufTensorInfo* embd = b.find("token_embd.weight");
  SPARKV_CHECK(embd != nullptr, "{}: missing tensor 'token_embd.weight'", path);
  SPARKV_CHECK(embd->ne.size() == 2, "{}: token_embd.weight must be 2-D", path);
  c.n_vocab = static_cast<int>(embd->ne[1]);
  validate_config(c, path);

  ModelWeights& w = m->weights_;
  w.tok_embd = b.matrix("token_embd.weight", c.n_vocab, c.n_embd);
  w.output_norm = b.vec("output_norm.weight", c.n_embd);
  c.tied_embeddings = b.find("output.weight") == nullptr;
  if (!c.tied_embeddings) w.output = b.matrix("output.weight", c.n_vocab, c.n_embd);
  c.qkv_bias = b.find("blk.0.attn_q.bias") != nullptr;
  c.qk_norm = b.find("blk.0.attn_q_norm.weight") != nullptr;
  SPARKV_CHECK(c.arch != Arch::kQwen3 || c.qk_norm, "{}: qwen3 model without attn_q_norm tensors",
               path);

  const bool permuted = c.arch == Arch::kLlama;  // llama.cpp permutes Q/K rows for llama only
  w.layers.resize(c.n_layer);
  for (int i = 0; i < c.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    LayerWeights& l = w.layers[i];
    l.attn_norm = b.vec(p + "attn_norm.weight", c.n_embd);
    l.wq = b.matrix(p + "attn_q.weight", c.q_dim(), c.n_embd);
    l.wk = b.matrix(p + "attn_k.weight", c.kv_dim(), c.n_embd);
    l.wv = b.matrix(p + "attn_v.weight", c.kv_dim(), c.n_embd);
    l.wo = b.matrix(p + "attn_output.weight", c.n_embd, c.q_dim());
    if (c.qkv_bias) {
      l.bq = b.vec(p + "attn_q.bias", c.q_dim());
      l.bk = b.vec(p + "attn_k.bias", c.kv_dim());
      l.bv = b.vec(p + "attn_v.bias", c.kv_dim());
    }
    if (c.qk_norm) {
      l.q_norm = b.vec(p + "attn_q_norm.weight", c.head_dim);
      l.k_norm = b.vec(p + "attn_k_norm.weight", c.head_dim);
    }
    l.ffn_norm = b.vec(p + "ffn_norm.weight", c.n_embd);
    l.w_gate = b.matrix(p + "ffn_gate.weight", c.n_ff, c.n_embd);
    l.w_up = b.matrix(p + "ffn_up.weight", c.n_ff, c.n_embd);
    l.w_down = b.matrix(p + "ffn_down.weight", c.n_embd, c.n_ff);
    if (permuted) {
      unpermute_rope_rows(&l.wq, c.n_head, c.head_dim);
      unpermute_rope_rows(&l.wk, c.n_head_kv, c.head_dim);
      if (c.qkv_bias) {
        unpermute_rope_vec(&l.bq, c.n_head, c.head_dim);
        unpermute_rope_vec(&l.bk, c.n_head_kv, c.head_dim);
      }
    }
  }

  std::vector<float> divisors;
  if (b.find("rope_freqs.weight")) {
    divisors = b.vec("rope_freqs.weight", c.head_dim / 2);
    c.rope_scaling = RopeScaling::kLlama3;  // informational: the divisors encode it
  }
  w.rope_inv_freq = rope_inv_freq(c, divisors);

  if (load_tokenizer && f.has("tokenizer.ggml.model")) {
    m->tokenizer_ = Tokenizer::from_gguf(f);
    for (int32_t id : m->tokenizer_->stop_ids())
      if (std::find(c.eos_ids.begin(), c.eos_ids.end(), id) == c.eos_ids.end())
        c.eos_ids.push_back(id);
  }
  return m;
}

}  // namespace sparkv

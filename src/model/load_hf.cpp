// Hugging Face folder -> Model: config.json (+ generation_config.json) and safetensors weights.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/safetensors.h"
#include "model/load_util.h"
#include "model/model.h"
#include "model/rope.h"
#include "tokenizer/tokenizer.h"

namespace sparkv {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

json read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SPARKV_CHECK(in.good(), "{}: cannot open", path);
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  SPARKV_CHECK(size >= 0 && size < (64 << 20), "{}: implausible size for a JSON config", path);
  in.seekg(0);
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    fail("{}: invalid JSON ({})", path, e.what());
  }
}

class ConfigReader {
 public:
  ConfigReader(const json& j, std::string path) : j_(j), path_(std::move(path)) {}

  int get_int(const char* key, std::optional<int> fallback = std::nullopt) const {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) {
      SPARKV_CHECK(fallback.has_value(), "{}: missing field '{}'", path_, key);
      return *fallback;
    }
    SPARKV_CHECK(it->is_number_integer(), "{}: field '{}' must be an integer", path_, key);
    const int64_t v = it->get<int64_t>();
    SPARKV_CHECK(v >= 0 && v < (int64_t{1} << 31), "{}: field '{}' = {} is out of range", path_,
                 key, v);
    return static_cast<int>(v);
  }
  double get_num(const json& obj, const char* key, double fallback) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return fallback;
    SPARKV_CHECK(it->is_number(), "{}: field '{}' must be a number", path_, key);
    return it->get<double>();
  }
  double get_num(const char* key, double fallback) const { return get_num(j_, key, fallback); }
  bool get_bool(const char* key, bool fallback) const {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return fallback;
    SPARKV_CHECK(it->is_boolean(), "{}: field '{}' must be true or false", path_, key);
    return it->get<bool>();
  }

 private:
  const json& j_;
  std::string path_;
};

void read_ids(const json& v, std::vector<int32_t>* out) {
  if (v.is_number_integer()) {
    out->push_back(v.get<int32_t>());
  } else if (v.is_array()) {
    for (const json& x : v)
      if (x.is_number_integer()) out->push_back(x.get<int32_t>());
  }
}

ModelConfig read_config(const std::string& dir) {
  const std::string path = (fs::path(dir) / "config.json").string();
  SPARKV_CHECK(fs::exists(path), "{}: not a model folder (no config.json)", dir);
  const json j = read_json(path);
  SPARKV_CHECK(j.is_object(), "{}: expected a JSON object", path);
  ConfigReader r(j, path);
  ModelConfig c;
  std::string arch;
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string())
    arch = j["architectures"][0].get<std::string>();
  else if (j.contains("model_type") && j["model_type"].is_string())
    arch = j["model_type"].get<std::string>();
  c.arch_name = arch;
  if (arch == "LlamaForCausalLM" || arch == "MistralForCausalLM" || arch == "llama" ||
      arch == "mistral") {
    c.arch = Arch::kLlama;
  } else if (arch == "Qwen2ForCausalLM" || arch == "qwen2") {
    c.arch = Arch::kQwen2;
    c.qkv_bias = true;
  } else if (arch == "Qwen3ForCausalLM" || arch == "qwen3") {
    c.arch = Arch::kQwen3;
    c.qk_norm = true;
  } else {
    fail("{}: unknown architecture '{}' (supported: LlamaForCausalLM, MistralForCausalLM, "
         "Qwen2ForCausalLM, Qwen3ForCausalLM)",
         path, arch.empty() ? "<none>" : arch);
  }
  c.n_layer = r.get_int("num_hidden_layers");
  c.n_embd = r.get_int("hidden_size");
  c.n_ff = r.get_int("intermediate_size");
  c.n_head = r.get_int("num_attention_heads");
  c.n_head_kv = r.get_int("num_key_value_heads", c.n_head);
  SPARKV_CHECK(c.n_head > 0, "{}: num_attention_heads must be positive", path);
  c.head_dim = r.get_int("head_dim", c.n_embd / c.n_head);
  c.n_vocab = r.get_int("vocab_size");
  c.n_ctx_train = r.get_int("max_position_embeddings", 4096);
  c.norm_eps = static_cast<float>(r.get_num("rms_norm_eps", 1e-6));
  if (c.arch == Arch::kLlama) c.qkv_bias = r.get_bool("attention_bias", false);
  c.tied_embeddings = r.get_bool("tie_word_embeddings", false);

  // RoPE: newer transformers nest theta and scaling under rope_parameters.
  const json* rope = nullptr;
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) rope = &j["rope_parameters"];
  c.rope_theta = static_cast<float>(
      r.get_num("rope_theta", rope ? r.get_num(*rope, "rope_theta", 10000.0) : 10000.0));
  const json* sc = nullptr;
  if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) sc = &j["rope_scaling"];
  else if (rope) sc = rope;
  if (sc) {
    std::string type;
    for (const char* k : {"rope_type", "type"})
      if (sc->contains(k) && (*sc)[k].is_string()) type = (*sc)[k].get<std::string>();
    if (type == "llama3") {
      c.rope_scaling = RopeScaling::kLlama3;
      c.rope_factor = static_cast<float>(r.get_num(*sc, "factor", 8.0));
      c.rope_low_freq_factor = static_cast<float>(r.get_num(*sc, "low_freq_factor", 1.0));
      c.rope_high_freq_factor = static_cast<float>(r.get_num(*sc, "high_freq_factor", 4.0));
      // Range-checked before the cast: a double outside int's range is undefined behaviour.
      const double orig = r.get_num(*sc, "original_max_position_embeddings", 8192.0);
      SPARKV_CHECK(orig >= 1 && orig < 2147483648.0,
                   "{}: rope_scaling original_max_position_embeddings {} is out of range", path,
                   orig);
      c.rope_orig_ctx = static_cast<int>(orig);
    } else if (type == "linear") {
      c.rope_scaling = RopeScaling::kLinear;
      c.rope_factor = static_cast<float>(r.get_num(*sc, "factor", 1.0));
    } else if (!type.empty() && type != "default") {
      fail("{}: rope_scaling type '{}' is not supported (llama3, linear)", path, type);
    }
  }
  if (j.contains("bos_token_id")) {
    std::vector<int32_t> b;
    read_ids(j["bos_token_id"], &b);
    if (!b.empty()) c.bos_id = b[0];
  }
  if (j.contains("eos_token_id")) read_ids(j["eos_token_id"], &c.eos_ids);
  const std::string gen_path = (fs::path(dir) / "generation_config.json").string();
  if (fs::exists(gen_path)) {
    const json g = read_json(gen_path);
    if (g.is_object() && g.contains("eos_token_id")) {
      std::vector<int32_t> ids;
      read_ids(g["eos_token_id"], &ids);
      for (int32_t id : ids)
        if (std::find(c.eos_ids.begin(), c.eos_ids.end(), id) == c.eos_ids.end())
          c.eos_ids.push_back(id);
    }
  }
  return c;
}

class StBinder {
 public:
  explicit StBinder(const SafetensorsModel& st) : st_(st) {}

  const StTensor& get(const std::string& name) const {
    const StTensor* t = st_.find(name);
    SPARKV_CHECK(t != nullptr, "model folder: missing tensor '{}'", name);
    return *t;
  }
  static GgmlType type_of(const StTensor& t) {
    switch (t.dtype) {
      case StDtype::kF32: return GgmlType::kF32;
      case StDtype::kF16: return GgmlType::kF16;
      case StDtype::kBF16: return GgmlType::kBF16;
      default: fail("{}: tensor '{}' has dtype {} (supported: F32, F16, BF16)", t.file, t.name,
                    t.dtype_name);
    }
  }
  Weight matrix(const std::string& name, int64_t rows, int64_t cols) const {
    const StTensor& t = get(name);
    SPARKV_CHECK(t.shape.size() == 2 && t.shape[0] == rows && t.shape[1] == cols,
                 "{}: tensor '{}' has shape {}, expected [{}, {}]", t.file, name, shape_str(t.shape),
                 rows, cols);
    Weight w;
    w.type = type_of(t);
    w.rows = rows;
    w.cols = cols;
    w.data = t.data;
    w.name = name;
    return w;
  }
  std::vector<float> vec(const std::string& name, int64_t n) const {
    const StTensor& t = get(name);
    SPARKV_CHECK(t.shape.size() == 1 && t.shape[0] == n, "{}: tensor '{}' has shape {}, expected [{}]",
                 t.file, name, shape_str(t.shape), n);
    return to_f32(type_of(t), t.data, n);
  }
  bool has(const std::string& name) const { return st_.find(name) != nullptr; }

  static std::string shape_str(const std::vector<int64_t>& s) {
    std::string r = "[";
    for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
    return r + "]";
  }

 private:
  const SafetensorsModel& st_;
};

}  // namespace

std::unique_ptr<Model> load_hf_model(const std::string& dir, bool load_tokenizer) {
  std::unique_ptr<Model> m(new Model());
  m->path_ = dir;
  m->format_ = ModelFormat::kHf;
  ModelConfig& c = m->config_;
  c = read_config(dir);
  validate_config(c, dir + "/config.json");
  m->st_ = std::make_unique<SafetensorsModel>(dir);
  StBinder b(*m->st_);

  ModelWeights& w = m->weights_;
  w.tok_embd = b.matrix("model.embed_tokens.weight", c.n_vocab, c.n_embd);
  w.output_norm = b.vec("model.norm.weight", c.n_embd);
  if (b.has("lm_head.weight")) {
    c.tied_embeddings = false;
    w.output = b.matrix("lm_head.weight", c.n_vocab, c.n_embd);
  } else {
    c.tied_embeddings = true;
  }
  w.layers.resize(c.n_layer);
  for (int i = 0; i < c.n_layer; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LayerWeights& l = w.layers[i];
    l.attn_norm = b.vec(p + "input_layernorm.weight", c.n_embd);
    l.wq = b.matrix(p + "self_attn.q_proj.weight", c.q_dim(), c.n_embd);
    l.wk = b.matrix(p + "self_attn.k_proj.weight", c.kv_dim(), c.n_embd);
    l.wv = b.matrix(p + "self_attn.v_proj.weight", c.kv_dim(), c.n_embd);
    l.wo = b.matrix(p + "self_attn.o_proj.weight", c.n_embd, c.q_dim());
    if (c.qkv_bias) {
      l.bq = b.vec(p + "self_attn.q_proj.bias", c.q_dim());
      l.bk = b.vec(p + "self_attn.k_proj.bias", c.kv_dim());
      l.bv = b.vec(p + "self_attn.v_proj.bias", c.kv_dim());
    }
    if (c.qk_norm) {
      l.q_norm = b.vec(p + "self_attn.q_norm.weight", c.head_dim);
      l.k_norm = b.vec(p + "self_attn.k_norm.weight", c.head_dim);
    }
    l.ffn_norm = b.vec(p + "post_attention_layernorm.weight", c.n_embd);
    l.w_gate = b.matrix(p + "mlp.gate_proj.weight", c.n_ff, c.n_embd);
    l.w_up = b.matrix(p + "mlp.up_proj.weight", c.n_ff, c.n_embd);
    l.w_down = b.matrix(p + "mlp.down_proj.weight", c.n_embd, c.n_ff);
  }
  w.rope_inv_freq = rope_inv_freq(c, {});

  if (load_tokenizer && fs::exists(fs::path(dir) / "tokenizer.json")) {
    m->tokenizer_ = Tokenizer::from_hf(dir);
    for (int32_t id : m->tokenizer_->stop_ids())
      if (std::find(c.eos_ids.begin(), c.eos_ids.end(), id) == c.eos_ids.end())
        c.eos_ids.push_back(id);
  }
  return m;
}

}  // namespace sparkv

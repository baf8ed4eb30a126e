// The public Model and Tokenizer (include/sparkv/model.h) over model/ and tokenizer/.
#include "sparkv/model.h"

#include <filesystem>
#include <optional>

#include "core/error.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "quant/ggml_type.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace sparkv::api {

namespace {

const char* scaling_name(RopeScaling s) {
  switch (s) {
    case RopeScaling::kNone:
      return "none";
    case RopeScaling::kLinear:
      return "linear";
    case RopeScaling::kLlama3:
      return "llama3";
  }
  return "?";
}

}  // namespace

// ---- Tokenizer ----------------------------------------------------------------------------------

Tokenizer::Tokenizer(std::shared_ptr<const sparkv::Tokenizer> impl) : impl_(std::move(impl)) {}

Tokenizer Tokenizer::load(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec) || path.ends_with(".json"))
    return Tokenizer(sparkv::Tokenizer::from_hf(path));
  GgufFile f(path);
  return Tokenizer(sparkv::Tokenizer::from_gguf(f));
}

Tokenizer Tokenizer::from_hf(const std::string& path) {
  return Tokenizer(sparkv::Tokenizer::from_hf(path));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos,
                                       bool parse_special) const {
  return impl_->encode(text, add_bos, parse_special);
}
std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  return impl_->decode(ids, skip_special);
}
std::string Tokenizer::token_text(int32_t id) const {
  return impl_->token_text(id);
}
int32_t Tokenizer::n_vocab() const {
  return impl_->n_vocab();
}
int32_t Tokenizer::bos_id() const {
  return impl_->bos_id();
}
int32_t Tokenizer::eos_id() const {
  return impl_->eos_id();
}
std::vector<int32_t> Tokenizer::stop_ids() const {
  return impl_->stop_ids();
}
bool Tokenizer::add_bos() const {
  return impl_->add_bos();
}
std::string Tokenizer::kind() const {
  return impl_->kind();
}
std::string Tokenizer::pre() const {
  return impl_->pre();
}
std::string Tokenizer::chat_template() const {
  return impl_->chat_template();
}

std::string Tokenizer::render_chat(const std::vector<ChatMessage>& messages,
                                   bool add_generation_prompt,
                                   const std::string& template_name) const {
  const std::string bos = impl_->bos_id() >= 0 ? impl_->token_text(impl_->bos_id()) : "";
  const std::string eos = impl_->eos_id() >= 0 ? impl_->token_text(impl_->eos_id()) : "";
  const ChatTemplate tmpl = template_name.empty()
                                ? ChatTemplate::from_text(impl_->chat_template(), bos, eos)
                                : ChatTemplate::from_name(template_name, bos, eos);
  std::vector<sparkv::ChatMessage> msgs;
  for (const auto& m : messages) msgs.push_back({m.role, m.content});
  return tmpl.render(msgs, add_generation_prompt);
}

std::vector<int32_t> Tokenizer::encode_chat(const std::vector<ChatMessage>& messages,
                                            bool add_generation_prompt,
                                            const std::string& template_name) const {
  // The rendered text carries BOS where the template puts it, and its markup is special tokens.
  return impl_->encode(render_chat(messages, add_generation_prompt, template_name),
                       /*add_bos=*/false, /*parse_special=*/true);
}

// ---- Model --------------------------------------------------------------------------------------

struct Model::State {
  std::unique_ptr<sparkv::Model> model;
  std::shared_ptr<const sparkv::Tokenizer> own_tok;  // --tokenizer override
};

std::string resolve_model_name(const std::string& arg, const std::string& models_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (arg.empty() || fs::exists(arg, ec)) return arg;
  if (arg.find('/') != std::string::npos || arg == "." || arg == ".." || models_dir.empty())
    return arg;
  for (const std::string& cand : {arg + ".gguf", arg + "-f16.gguf", arg}) {
    const fs::path p = fs::path(models_dir) / cand;
    if (fs::exists(p, ec)) return p.string();
  }
  return arg;
}

Model Model::load(const std::string& path, const LoadOptions& opts) {
  auto s = std::make_shared<State>();
  s->model = sparkv::Model::load(path, opts.load_tokenizer && opts.tokenizer.empty());
  if (!opts.tokenizer.empty()) s->own_tok = sparkv::Tokenizer::from_hf(opts.tokenizer);
  Model m;
  m.s_ = std::move(s);
  return m;
}

const std::string& Model::path() const {
  return s_->model->path();
}
bool Model::has_tokenizer() const {
  return s_->own_tok || s_->model->tokenizer();
}

Tokenizer Model::tokenizer() const {
  if (s_->own_tok) return Tokenizer(s_->own_tok);
  const sparkv::Tokenizer* t = s_->model->tokenizer();
  SPARKV_CHECK(t != nullptr, "{}: the model carries no tokenizer; pass --tokenizer PATH", path());
  // The model owns its tokenizer: the handle aliases the model's state and keeps it alive. (Not
  // stored in the state, which would make a cycle that is never freed.)
  return Tokenizer(std::shared_ptr<const sparkv::Tokenizer>(s_, t));
}

std::vector<int32_t> Model::eos_ids() const {
  return s_->model->config().eos_ids;
}
size_t Model::weight_bytes() const {
  return s_->model->weight_bytes();
}
int64_t Model::n_ctx_train() const {
  return s_->model->config().n_ctx_train;
}
int Model::n_vocab() const {
  return s_->model->config().n_vocab;
}
const sparkv::Model& Model::impl() const {
  return *s_->model;
}

ModelInfo Model::info(bool with_tensors) const {
  const sparkv::Model& m = *s_->model;
  const ModelConfig& c = m.config();
  ModelInfo i;
  i.path = m.path();
  i.format = m.format() == ModelFormat::kGguf ? "gguf" : "hf";
  i.architecture = arch_name(c.arch);
  i.architecture_name = c.arch_name;
  i.n_layer = c.n_layer;
  i.n_embd = c.n_embd;
  i.n_head = c.n_head;
  i.n_head_kv = c.n_head_kv;
  i.head_dim = c.head_dim;
  i.n_ff = c.n_ff;
  i.n_vocab = c.n_vocab;
  i.n_ctx_train = c.n_ctx_train;
  i.norm_eps = c.norm_eps;
  i.rope_theta = c.rope_theta;
  i.rope_scaling = scaling_name(c.rope_scaling);
  i.rope_factor = c.rope_factor;
  i.qkv_bias = c.qkv_bias;
  i.qk_norm = c.qk_norm;
  i.tied_embeddings = c.tied_embeddings;
  i.weight_bytes = m.weight_bytes();
  if (!with_tensors) return i;
  if (m.gguf()) {
    for (const GgufTensorInfo& t : m.gguf()->tensors())
      i.tensors.push_back({t.name, std::string(ggml_type_info(t.type).name), t.ne});
  } else if (m.safetensors()) {
    for (const auto& [name, t] : m.safetensors()->tensors())
      i.tensors.push_back({name, t.dtype_name, t.shape});
  }
  return i;
}

}  // namespace sparkv::api

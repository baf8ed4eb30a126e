// sparkv inspect: architecture, hyperparameters, tensors, tokenizer and chat template of a model.
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "core/error.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace sparkv::cli {

namespace {

struct InspectArgs {
  std::string model;
  bool json = false;
  bool tensors = true;
};

const char* scaling_name(RopeScaling s) {
  switch (s) {
    case RopeScaling::kNone: return "none";
    case RopeScaling::kLinear: return "linear";
    case RopeScaling::kLlama3: return "llama3";
  }
  return "?";
}

void inspect(const InspectArgs& a) {
  const std::string path = a.model.empty() ? default_model_path() : a.model;
  std::unique_ptr<Model> m = Model::load(path);
  const ModelConfig& c = m->config();
  nlohmann::json j;
  j["path"] = path;
  j["format"] = m->format() == ModelFormat::kGguf ? "gguf" : "hf";
  j["architecture"] = arch_name(c.arch);
  j["architecture_name"] = c.arch_name;
  j["hparams"] = {{"n_layer", c.n_layer},         {"n_embd", c.n_embd},
                  {"n_head", c.n_head},           {"n_head_kv", c.n_head_kv},
                  {"head_dim", c.head_dim},       {"n_ff", c.n_ff},
                  {"n_vocab", c.n_vocab},         {"n_ctx_train", c.n_ctx_train},
                  {"norm_eps", c.norm_eps},       {"rope_theta", c.rope_theta},
                  {"rope_scaling", scaling_name(c.rope_scaling)},
                  {"rope_factor", c.rope_factor}, {"qkv_bias", c.qkv_bias},
                  {"qk_norm", c.qk_norm},         {"tied_embeddings", c.tied_embeddings}};
  j["weight_bytes"] = m->weight_bytes();
  nlohmann::json tensors = nlohmann::json::array();
  if (m->gguf()) {
    for (const GgufTensorInfo& t : m->gguf()->tensors())
      tensors.push_back({{"name", t.name},
                         {"type", std::string(ggml_type_info(t.type).name)},
                         {"shape", t.ne}});
  } else if (m->safetensors()) {
    for (const auto& [name, t] : m->safetensors()->tensors())
      tensors.push_back({{"name", name}, {"type", t.dtype_name}, {"shape", t.shape}});
  }
  j["n_tensors"] = tensors.size();
  if (a.tensors) j["tensors"] = tensors;
  if (const Tokenizer* tok = m->tokenizer()) {
    j["tokenizer"] = {{"kind", tok->kind()},       {"pre", tok->pre()},
                      {"n_vocab", tok->n_vocab()}, {"bos_id", tok->bos_id()},
                      {"eos_id", tok->eos_id()},   {"stop_ids", tok->stop_ids()},
                      {"add_bos", tok->add_bos()}};
    j["chat_template"] = tok->chat_template();
  } else {
    j["tokenizer"] = nullptr;
  }
  if (a.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("model:        %s (%s)\n", path.c_str(), j["format"].get<std::string>().c_str());
  std::printf("architecture: %s (%s)\n", arch_name(c.arch), c.arch_name.c_str());
  for (auto& [k, v] : j["hparams"].items()) std::printf("  %-16s %s\n", k.c_str(), v.dump().c_str());
  std::printf("weights:      %.2f MiB in %zu tensors\n", m->weight_bytes() / 1048576.0,
              tensors.size());
  if (a.tensors)
    for (const auto& t : tensors)
      std::printf("  %-40s %-6s %s\n", t["name"].get<std::string>().c_str(),
                  t["type"].get<std::string>().c_str(), t["shape"].dump().c_str());
  if (const Tokenizer* tok = m->tokenizer()) {
    std::printf("tokenizer:    %s (pre %s), %d tokens, bos %d, eos %d\n", tok->kind().c_str(),
                tok->pre().c_str(), tok->n_vocab(), tok->bos_id(), tok->eos_id());
    std::printf("chat template:\n%s\n", tok->chat_template().empty() ? "  (none)"
                                                                      : tok->chat_template().c_str());
  } else {
    std::printf("tokenizer:    (none)\n");
  }
}

}  // namespace

void register_inspect(CLI::App& app) {
  auto a = std::make_shared<InspectArgs>();
  CLI::App* c = app.add_subcommand("inspect", "Show a model's architecture, tensors and tokenizer");
  c->add_option("-m,--model", a->model, "GGUF file or Hugging Face folder (default: embedded model)");
  c->add_flag("--json", a->json, "Machine-readable output");
  c->add_flag("!--no-tensors", a->tensors, "Omit the tensor list");
  c->callback([a] { inspect(*a); });
}

}  // namespace sparkv::cli

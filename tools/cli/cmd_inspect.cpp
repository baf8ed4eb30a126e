// sparkv inspect: architecture, hyperparameters, tensors, tokenizer and chat template of a model.
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "sparkv/sparkv.h"

namespace sparkv::cli {

namespace {

struct InspectArgs {
  std::string model;
  bool json = false;
  bool tensors = true;
};

void inspect(const InspectArgs& a) {
  const std::string path = resolve_model(a.model);
  const api::Model m = api::Model::load(path);
  const api::ModelInfo c = m.info(/*with_tensors=*/true);
  nlohmann::json j;
  j["path"] = path;
  j["format"] = c.format;
  j["architecture"] = c.architecture;
  j["architecture_name"] = c.architecture_name;
  j["hparams"] = {{"n_layer", c.n_layer},
                  {"n_embd", c.n_embd},
                  {"n_head", c.n_head},
                  {"n_head_kv", c.n_head_kv},
                  {"head_dim", c.head_dim},
                  {"n_ff", c.n_ff},
                  {"n_vocab", c.n_vocab},
                  {"n_ctx_train", c.n_ctx_train},
                  {"norm_eps", c.norm_eps},
                  {"rope_theta", c.rope_theta},
                  {"rope_scaling", c.rope_scaling},
                  {"rope_factor", c.rope_factor},
                  {"qkv_bias", c.qkv_bias},
                  {"qk_norm", c.qk_norm},
                  {"tied_embeddings", c.tied_embeddings}};
  j["weight_bytes"] = c.weight_bytes;
  nlohmann::json tensors = nlohmann::json::array();
  for (const api::TensorInfo& t : c.tensors)
    tensors.push_back({{"name", t.name}, {"type", t.type}, {"shape", t.shape}});
  j["n_tensors"] = tensors.size();
  if (a.tensors) j["tensors"] = tensors;
  if (m.has_tokenizer()) {
    const api::Tokenizer tok = m.tokenizer();
    j["tokenizer"] = {{"kind", tok.kind()},       {"pre", tok.pre()},
                      {"n_vocab", tok.n_vocab()}, {"bos_id", tok.bos_id()},
                      {"eos_id", tok.eos_id()},   {"stop_ids", tok.stop_ids()},
                      {"add_bos", tok.add_bos()}};
    j["chat_template"] = tok.chat_template();
  } else {
    j["tokenizer"] = nullptr;
  }
  if (a.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("model:        %s (%s)\n", path.c_str(), c.format.c_str());
  std::printf("architecture: %s (%s)\n", c.architecture.c_str(), c.architecture_name.c_str());
  for (auto& [k, v] : j["hparams"].items())
    std::printf("  %-16s %s\n", k.c_str(), v.dump().c_str());
  std::printf("weights:      %.2f MiB in %zu tensors\n", c.weight_bytes / 1048576.0,
              tensors.size());
  if (a.tensors)
    for (const auto& t : tensors)
      std::printf("  %-40s %-6s %s\n", t["name"].get<std::string>().c_str(),
                  t["type"].get<std::string>().c_str(), t["shape"].dump().c_str());
  if (m.has_tokenizer()) {
    const api::Tokenizer tok = m.tokenizer();
    std::printf("tokenizer:    %s (pre %s), %d tokens, bos %d, eos %d\n", tok.kind().c_str(),
                tok.pre().c_str(), tok.n_vocab(), tok.bos_id(), tok.eos_id());
    const std::string tmpl = tok.chat_template();
    std::printf("chat template:\n%s\n", tmpl.empty() ? "  (none)" : tmpl.c_str());
  } else {
    std::printf("tokenizer:    (none)\n");
  }
}

}  // namespace

void register_inspect(CLI::App& app) {
  auto a = std::make_shared<InspectArgs>();
  CLI::App* c = app.add_subcommand("inspect", "Show a model's architecture, tensors and tokenizer");
  c->add_option("-m,--model", a->model,
                "GGUF file, Hugging Face folder or shipped model name (default: embedded model)");
  c->add_flag("--json", a->json, "Machine-readable output");
  c->add_flag("!--no-tensors", a->tensors, "Omit the tensor list");
  c->callback([a] { inspect(*a); });
}

}  // namespace sparkv::cli

// sparkv tokenize: text -> ids (and pieces), like llama.cpp's llama-tokenize. Loads only the
// tokenizer, never the weights.
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "sparkv/sparkv.h"

namespace sparkv::cli {

namespace {

struct TokenizeArgs {
  std::string model;
  std::string tokenizer;
  std::string prompt;
  std::string file;
  bool json = false;
  bool no_bos = false;
  bool no_special = false;
};

void tokenize(const TokenizeArgs& a) {
  CLI_CHECK(a.prompt.empty() != a.file.empty(), "give exactly one of -p TEXT or -f FILE");
  CLI_CHECK(a.model.empty() || a.tokenizer.empty(), "give -m MODEL or --tokenizer PATH, not both");
  // Only the vocabulary is read, never the weights.
  const api::Tokenizer tok =
      !a.tokenizer.empty() ? api::Tokenizer::from_hf(a.tokenizer)
                           : api::Tokenizer::load(resolve_model(a.model));
  const std::string text = a.prompt.empty() ? read_file(a.file) : a.prompt;
  const std::vector<int32_t> ids = tok.encode(text, tok.add_bos() && !a.no_bos, !a.no_special);
  if (a.json) {
    nlohmann::json j;
    j["n_tokens"] = ids.size();
    j["ids"] = ids;
    nlohmann::json pieces = nlohmann::json::array();
    for (int32_t id : ids) pieces.push_back(tok.token_text(id));
    j["pieces"] = pieces;
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("[");
  for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? ", " : "", ids[i]);
  std::printf("]\n");
}

}  // namespace

void register_tokenize(CLI::App& app) {
  auto a = std::make_shared<TokenizeArgs>();
  CLI::App* c = app.add_subcommand("tokenize", "Print the token ids of a text");
  c->add_option("-m,--model", a->model, "GGUF file or model folder whose tokenizer to use");
  c->add_option("--tokenizer", a->tokenizer, "tokenizer.json (or its folder)");
  c->add_option("-p,--prompt", a->prompt, "Text to tokenize");
  c->add_option("-f,--file", a->file, "Read the text from a file");
  c->add_flag("--no-bos", a->no_bos, "Do not add BOS even if the vocabulary asks for it");
  c->add_flag("--no-parse-special", a->no_special, "Treat special-token text as plain text");
  c->add_flag("--json", a->json, "Print ids and pieces as JSON");
  c->callback([a] { tokenize(*a); });
}

}  // namespace sparkv::cli

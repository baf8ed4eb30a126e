// sparkv serve: the OpenAI-compatible HTTP server (tools/server/).
#include <memory>

#include "cli_common.h"
#include "server/server.h"
#include "sparkv/sparkv.h"

namespace sparkv::cli {

void register_serve(CLI::App& app) {
  auto o = std::make_shared<server::ServeOptions>();
  auto limit = std::make_shared<std::string>();
  auto body = std::make_shared<std::string>("4MiB");
  CLI::App* c = app.add_subcommand(
      "serve",
      "OpenAI-compatible HTTP server: /v1/completions, /v1/chat/completions, /v1/models, "
      "/health, /metrics");
  c->add_option("-m,--model", o->model,
                "GGUF file, Hugging Face folder or shipped model name (default: embedded model)");
  c->add_option("--tokenizer", o->tokenizer, "tokenizer.json (or its folder) to use instead");
  c->add_option("--host", o->host, "Address to bind (loopback by default; 0.0.0.0 exposes it)")
      ->capture_default_str();
  c->add_option("--port", o->port, "Port (0 = any free port, printed on stderr)")
      ->capture_default_str();
  c->add_option("--press", o->press,
                "Default KV recipe; a request's \"kv_press\" field overrides it (methods: " +
                    api::Recipe::methods_help() + ")")
      ->capture_default_str();
  c->add_option("--slots", o->slots, "Concurrent generations, decoded as one batch per step")
      ->capture_default_str();
  c->add_option("--queue", o->queue, "Requests that may wait for a slot before 429")
      ->capture_default_str();
  c->add_option("--kv-mem-limit", *limit,
                "KV bytes all slots may hold together (512MiB, 2GiB, ...); a request that cannot "
                "fit even alone gets 503");
  c->add_option("-c,--ctx-size", o->ctx, "Context per slot (0 = the model's trained context)")
      ->capture_default_str();
  c->add_option("--api-key", o->api_key,
                "Require 'Authorization: Bearer KEY' on every endpoint but /health");
  c->add_option("--max-body", *body, "Largest request body (413 above)")->capture_default_str();
  c->add_option("--max-tokens-limit", o->max_tokens_limit, "Most tokens one request may generate")
      ->capture_default_str();
  c->add_option("--model-name", o->model_name,
                "Model id reported by /v1/models (default: file name)");
  c->add_option("-t,--threads", o->threads, "Threads (0 = all cores)")->capture_default_str();
  c->add_option("--cache-dir", o->cache_dir,
                "Also write every prompt-cache entry here as a file (`sparkv run --prompt-cache` "
                "reads them); a request whose prompt has a file here is restored from it");
  auto pc_mem = std::make_shared<std::string>("1GiB");
  c->add_option("--prompt-cache-mem", *pc_mem,
                "Bytes of compressed prompts kept for reuse (0 = off); they share --kv-mem-limit "
                "with the slots and give way to requests first")
      ->capture_default_str();
  c->callback([o, limit, body, pc_mem] {
    o->prompt_cache_bytes = api::parse_byte_size(*pc_mem, "--prompt-cache-mem");
    o->model = resolve_model(o->model);
    if (!limit->empty()) o->kv_mem_limit = api::parse_byte_size(*limit, "--kv-mem-limit");
    o->max_body_bytes = api::parse_byte_size(*body, "--max-body");
    CLI_CHECK(o->port >= 0 && o->port <= 65535, "--port {} is not a TCP port", o->port);
    CLI_CHECK(o->max_tokens_limit >= 1, "--max-tokens-limit must be >= 1");
    api::Recipe::parse(o->press);  // a bad default recipe fails before the model loads
    const int rc = server::serve(*o);
    if (rc != 0) throw Error("the server stopped with an error");
  });
}

}  // namespace sparkv::cli

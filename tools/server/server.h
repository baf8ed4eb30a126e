// `sparkv serve`: an OpenAI-compatible HTTP server over the public API (include/sparkv/).
//
//   POST /v1/completions, POST /v1/chat/completions (stream: true as server-sent events),
//   GET /v1/models, GET /health, GET /metrics (Prometheus text)
//
// Requests run in slots of a Scheduler (continuous batching); errors are OpenAI-style JSON
// ({"error": {"message", "type", "param", "code"}}) with the OpenAI API's status codes.
#pragma once

#include <cstdint>
#include <string>

namespace sparkv::server {

struct ServeOptions {
  std::string model;  // GGUF file or HF folder
  std::string tokenizer;
  std::string host = "127.0.0.1";
  int port = 8080;             // 0 = any free port (printed on stderr)
  std::string press = "full";  // the default recipe; a request's "kv_press" overrides it
  int slots = 4;
  int queue = 16;
  uint64_t kv_mem_limit = 0;  // bytes for all slots' KV caches; 0 = none
  int64_t ctx = 0;            // context per slot; 0 = the model's trained context
  std::string api_key;        // empty = no authentication
  size_t max_body_bytes = size_t{4} << 20;
  int max_tokens_limit = 4096;  // most tokens one request may ask for
  int threads = 0;
  std::string model_name;  // the id /v1/models reports; default: the file name
  std::string cache_dir;   // prompt-cache files (tools/server/prompt_cache.h); "" = memory only
  // The prompt cache's capacity in bytes, within kv_mem_limit when one is set; 0 = off.
  uint64_t prompt_cache_bytes = uint64_t{1} << 30;
};

// Serves until SIGINT or SIGTERM; returns the process exit code.
int serve(const ServeOptions& opts);

}  // namespace sparkv::server

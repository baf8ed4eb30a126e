// `sparkv serve`'s request parser (tools/server/request.cpp) on arbitrary bodies. Besides not
// crashing: a rejected body gets a 400 whose error body is JSON with a message; an accepted one
// has a non-empty prompt that fits the context with its max_tokens, and a recipe that parses.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "../../tools/server/request.h"
#include "sparkv/sparkv.h"

using namespace sparkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const api::Model model =
      api::Model::load(std::string(SPARKV_SOURCE_DIR) + "/models/sparkv-tiny-f16.gguf");
  if (size < 1 || size > (1 << 16)) return 0;
  const server::Endpoint ep =
      data[0] & 1 ? server::Endpoint::kChat : server::Endpoint::kCompletions;
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  server::RequestLimits lim;
  lim.n_ctx = 512;
  lim.max_tokens_limit = 256;
  try {
    const server::ParsedRequest r = server::parse_request(ep, body, model, lim);
    if (r.prompt.empty()) __builtin_trap();
    if (r.gen.max_tokens < 1 || r.gen.max_tokens > lim.max_tokens_limit) __builtin_trap();
    if (static_cast<int64_t>(r.prompt.size()) + r.gen.max_tokens > lim.n_ctx) __builtin_trap();
    if (api::Recipe::parse(r.recipe_spec).spec() != r.recipe_spec) __builtin_trap();
  } catch (const server::ApiError& e) {
    if (e.status != 400) __builtin_trap();
    const auto j = nlohmann::json::parse(server::error_body(e));
    if (!j["error"]["message"].is_string() || j["error"]["message"].get<std::string>().empty())
      __builtin_trap();
  }
  return 0;
}

#include "request.h"

#include <nlohmann/json.hpp>

namespace sparkv::server {

using nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& msg, const std::string& param = "",
                      const std::string& code = "") {
  throw ApiError(400, msg, "invalid_request_error", code, param);
}

const json* field(const json& j, const char* name) {
  const auto it = j.find(name);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

double number(const json& j, const char* name, double def, double lo, double hi) {
  const json* v = field(j, name);
  if (!v) return def;
  if (!v->is_number()) bad(std::string("'") + name + "' must be a number", name);
  const double x = v->get<double>();
  if (!(x >= lo && x <= hi))
    bad(std::string("'") + name + "' = " + v->dump() + " is out of range [" + json(lo).dump() +
            ", " + json(hi).dump() + "]",
        name);
  return x;
}

int64_t integer(const json& j, const char* name, int64_t def, int64_t lo, int64_t hi) {
  const json* v = field(j, name);
  if (!v) return def;
  if (!v->is_number_integer() && !v->is_number_unsigned())
    bad(std::string("'") + name + "' must be an integer", name);
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    bad(std::string("'") + name + "' is out of range", name);
  const int64_t x = v->get<int64_t>();
  if (x < lo || x > hi)
    bad(std::string("'") + name + "' = " + std::to_string(x) + " is out of range [" +
            std::to_string(lo) + ", " + std::to_string(hi) + "]",
        name);
  return x;
}

bool boolean(const json& j, const char* name, bool def) {
  const json* v = field(j, name);
  if (!v) return def;
  if (!v->is_boolean()) bad(std::string("'") + name + "' must be a boolean", name);
  return v->get<bool>();
}

std::vector<std::string> stops(const json& j) {
  const json* v = field(j, "stop");
  if (!v) return {};
  std::vector<std::string> out;
  if (v->is_string()) {
    out.push_back(v->get<std::string>());
  } else if (v->is_array()) {
    for (const json& s : *v) {
      if (!s.is_string()) bad("'stop' must be a string or an array of strings", "stop");
      out.push_back(s.get<std::string>());
    }
  } else {
    bad("'stop' must be a string or an array of strings", "stop");
  }
  if (out.size() > 4) bad("'stop' takes at most 4 sequences", "stop");
  for (const auto& s : out)
    if (s.empty()) bad("'stop' sequences must not be empty", "stop");
  return out;
}

}  // namespace

std::string error_body(const ApiError& e) {
  json err = {{"message", e.what()},
              {"type", e.type},
              {"param", e.param.empty() ? json(nullptr) : json(e.param)},
              {"code", e.code.empty() ? json(nullptr) : json(e.code)}};
  // The message may quote the body (a JSON parse error shows what it read): invalid UTF-8 there
  // becomes U+FFFD rather than an exception while answering (found by fuzz_server_request).
  return json{{"error", err}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

ParsedRequest parse_request(Endpoint ep, const std::string& body, const api::Model& model,
                            const RequestLimits& lim) {
  json j;
  try {
    // nlohmann parses and frees iteratively, and nothing here walks the document recursively, so
    // deep nesting within the body limit costs memory, not stack.
    j = json::parse(body);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for 1e999
    bad(std::string("the request body is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) bad("the request body must be a JSON object");
  ParsedRequest r;
  const api::Tokenizer tok = model.tokenizer();
  try {
    if (ep == Endpoint::kCompletions) {
      const json* p = field(j, "prompt");
      if (!p) bad("'prompt' is required", "prompt");
      if (p->is_string()) {
        r.prompt = tok.encode(p->get<std::string>(), tok.add_bos(), /*parse_special=*/false);
      } else if (p->is_array() && !p->empty() && (*p)[0].is_number()) {
        for (const json& t : *p) {
          if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= tok.n_vocab())
            bad("'prompt' token ids must be integers in [0, " + std::to_string(tok.n_vocab()) + ")",
                "prompt");
          r.prompt.push_back(static_cast<int32_t>(t.get<int64_t>()));
        }
      } else if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) {
        r.prompt = tok.encode((*p)[0].get<std::string>(), tok.add_bos(), false);
      } else {
        bad("'prompt' must be a string, an array of one string, or an array of token ids "
            "(one prompt per request)",
            "prompt");
      }
    } else {
      const json* m = field(j, "messages");
      if (!m || !m->is_array() || m->empty())
        bad("'messages' must be a non-empty array", "messages");
      std::vector<api::ChatMessage> msgs;
      for (const json& x : *m) {
        if (!x.is_object()) bad("each message must be an object", "messages");
        const json* role = field(x, "role");
        const json* content = field(x, "content");
        if (!role || !role->is_string()) bad("each message needs a string 'role'", "messages");
        const std::string ro = role->get<std::string>();
        if (ro != "system" && ro != "user" && ro != "assistant" && ro != "developer")
          bad("message role '" + ro + "' is not one of system, user, assistant", "messages");
        std::string text;
        if (content && content->is_string()) {
          text = content->get<std::string>();
        } else if (content && content->is_array()) {
          // The content-parts form: text parts only.
          for (const json& part : *content) {
            const json* type = part.is_object() ? field(part, "type") : nullptr;
            const json* t = part.is_object() ? field(part, "text") : nullptr;
            if (!type || *type != "text" || !t || !t->is_string())
              bad("only text content parts are supported", "messages");
            text += t->get<std::string>();
          }
        } else {
          bad("each message needs a string 'content'", "messages");
        }
        msgs.push_back({ro == "developer" ? "system" : ro, text});
      }
      r.prompt = tok.encode_chat(msgs, /*add_generation_prompt=*/true);
    }
  } catch (const ApiError&) {
    throw;
  } catch (const Error& e) {  // invalid UTF-8, a template that cannot render this conversation
    bad(e.what(), ep == Endpoint::kChat ? "messages" : "prompt");
  }
  if (r.prompt.empty()) bad("the prompt is empty (no tokens)", "prompt");

  if (const json* n = field(j, "n"); n && !(n->is_number_integer() && n->get<int64_t>() == 1))
    bad("only n = 1 is supported", "n");
  if (boolean(j, "echo", false)) bad("'echo' is not supported", "echo");
  if (const json* lp = field(j, "logprobs"); lp && !(lp->is_boolean() && !lp->get<bool>()))
    bad("'logprobs' is not supported", "logprobs");

  const char* max_name = field(j, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  const int64_t def_max = ep == Endpoint::kCompletions ? 16 : lim.max_tokens_limit;
  int64_t max_tokens = integer(j, max_name, def_max, 1, lim.max_tokens_limit);
  const int64_t room = lim.n_ctx - static_cast<int64_t>(r.prompt.size());
  if (room < 1 || (field(j, max_name) && max_tokens > room))
    throw ApiError(400,
                   "this request needs " + std::to_string(r.prompt.size()) + " prompt tokens + " +
                       std::to_string(max_tokens) + " completion tokens, over the context of " +
                       std::to_string(lim.n_ctx) + " tokens",
                   "invalid_request_error", "context_length_exceeded", "messages");
  max_tokens = std::min(max_tokens, room);  // an unset max_tokens means "until the context ends"
  r.gen.max_tokens = static_cast<int>(max_tokens);

  // OpenAI's defaults: temperature 1, top_p 1, no top-k / min-p (llama.cpp's top_k and min_p are
  // accepted as extensions).
  r.gen.sampling.temperature = static_cast<float>(number(j, "temperature", 1.0, 0.0, 2.0));
  r.gen.sampling.top_p = static_cast<float>(number(j, "top_p", 1.0, 0.0, 1.0));
  r.gen.sampling.top_k = static_cast<int>(integer(j, "top_k", 0, 0, 1 << 30));
  r.gen.sampling.min_p = static_cast<float>(number(j, "min_p", 0.0, 0.0, 1.0));
  r.gen.sampling.repeat_penalty = static_cast<float>(number(j, "repeat_penalty", 1.0, 0.0, 10.0));
  r.gen.sampling.seed = static_cast<uint64_t>(integer(j, "seed", 0, INT64_MIN, INT64_MAX));
  if (r.gen.sampling.top_p <= 0.0f) bad("'top_p' must be > 0", "top_p");
  r.gen.stop = stops(j);
  // llama.cpp's extension: generate max_tokens whatever the model says (benchmarks).
  r.gen.stop_at_eos = !boolean(j, "ignore_eos", false);
  r.stream = boolean(j, "stream", false);
  if (const json* so = field(j, "stream_options")) {
    if (!so->is_object()) bad("'stream_options' must be an object", "stream_options");
    r.include_usage = boolean(*so, "include_usage", true);
  }

  r.recipe_spec = lim.default_press;
  if (const json* kp = field(j, "kv_press")) {
    if (!kp->is_string())
      bad("'kv_press' must be a recipe string, e.g. \"spark:ratio=0.8\"", "kv_press");
    r.recipe_spec = kp->get<std::string>();
  }
  try {
    r.recipe = api::Recipe::parse(r.recipe_spec);
  } catch (const Error& e) {
    bad(std::string("kv_press: ") + e.what(), "kv_press", "invalid_kv_press");
  }
  r.recipe_spec = r.recipe.spec();
  try {
    r.gen.sampling.validate();
  } catch (const Error& e) {
    bad(e.what());
  }
  return r;
}

}  // namespace sparkv::server

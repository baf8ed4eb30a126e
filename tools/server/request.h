// OpenAI request bodies -> what a Job needs, with the API's validation rules. Every problem is an
// ApiError carrying the status and error object the OpenAI API would send.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "sparkv/sparkv.h"

namespace sparkv::server {

struct ApiError : std::runtime_error {
  int status;
  std::string type, code, param;
  ApiError(int status_, std::string message, std::string type_ = "invalid_request_error",
           std::string code_ = "", std::string param_ = "")
      : std::runtime_error(std::move(message)),
        status(status_),
        type(std::move(type_)),
        code(std::move(code_)),
        param(std::move(param_)) {}
};

// {"error": {"message", "type", "param", "code"}} (param and code null when empty).
std::string error_body(const ApiError& e);

enum class Endpoint { kCompletions, kChat };

struct ParsedRequest {
  std::vector<int32_t> prompt;
  api::Recipe recipe;
  std::string recipe_spec;
  api::GenerateOptions gen;
  bool stream = false;
  bool include_usage = true;
};

struct RequestLimits {
  int64_t n_ctx = 0;            // the slot's context: prompt + max_tokens must fit
  int max_tokens_limit = 4096;  // most tokens a request may ask for
  std::string default_press = "full";
};

// Parses and validates a body. Throws ApiError (400 for malformed JSON, wrong types, bad values,
// an unknown kv_press, a prompt over the context).
ParsedRequest parse_request(Endpoint ep, const std::string& body, const api::Model& model,
                            const RequestLimits& lim);

}  // namespace sparkv::server

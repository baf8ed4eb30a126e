// sparkv: long-context LLM inference with a SparK-compressed KV cache — the public C++ API.
//
//   #include <sparkv/sparkv.h>
//   auto model = sparkv::api::Model::load("model.gguf");            // or a Hugging Face folder
//   sparkv::api::Session s(model);
//   auto recipe = sparkv::api::Recipe::parse("snapkv:budget=512+spark:ratio=0.8");
//   s.prefill(model.tokenizer().encode(prompt), recipe);
//   s.compress(recipe);
//   auto out = s.generate({.max_tokens = 64});
//
// Headers: model.h (models, tokenizers, chat templates), recipe.h (compression recipes),
// session.h (prefill, compress, fork, generate, KV bytes, timings), generation.h (token by token,
// batched decode steps), eval.h (long-context suites),
// system.h (threads, bandwidth). Errors are sparkv::Error (error.h) with a one-line message.
// Everything else under src/ is internal and may change.
#pragma once

#include "sparkv/error.h"
#include "sparkv/eval.h"
#include "sparkv/generation.h"
#include "sparkv/model.h"
#include "sparkv/recipe.h"
#include "sparkv/session.h"
#include "sparkv/system.h"

// sparkv run: generate text from a prompt.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "sparkv/sparkv.h"

namespace sparkv::cli {

namespace {

struct RunArgs {
  std::string model;
  std::string tokenizer;
  std::string prompt;
  std::string prompt_file;
  std::string system;
  std::string chat_template;
  bool chat = false;
  int n_predict = 64;
  int threads = 0;
  int64_t ctx = 0;
  std::string cache_type_k = "f16";
  std::string cache_type_v = "f16";
  std::string press = "full";
  bool json = false;
  std::string truncate = "error";
  std::string kv_mem_limit;
  std::string prompt_cache;
  api::SamplingParams sp;
};

// --prompt-cache FILE, as llama.cpp's: a file whose tokens are the prompt (or begin it) under
// the same recipe is loaded instead of prefilling; otherwise the prompt is prefilled and
// compressed, and the file (re)written before generating. Returns what happened.
std::string prefill_with_prompt_cache(const RunArgs& a, const api::Model& model,
                                      const api::SessionOptions& so, const api::Recipe& recipe,
                                      const std::vector<int32_t>& prompt, api::Session& session) {
  if (std::filesystem::exists(a.prompt_cache)) {
    // A corrupt, truncated or foreign file is an error, not a silent re-prefill.
    api::Session cached = api::Session::load_cache_file(model, a.prompt_cache, so);
    const auto& h = cached.history();
    const bool prefix = h.size() <= prompt.size() && std::equal(h.begin(), h.end(), prompt.begin());
    if (cached.recipe() == recipe.spec() && prefix) {
      const bool whole = h.size() == prompt.size();
      if (!whole) cached.append(std::vector<int32_t>(prompt.begin() + h.size(), prompt.end()));
      session = std::move(cached);
      return whole ? "hit" : "extended";
    }
    std::fprintf(stderr,
                 "[sparkv] prompt cache %s holds another prompt or recipe (%s); prefilling and "
                 "rewriting it\n",
                 a.prompt_cache.c_str(), cached.recipe().c_str());
  }
  session.prefill_and_compress(prompt, recipe, a.sp.seed);
  session.save_cache_file(a.prompt_cache);
  return "written";
}

void run(const RunArgs& a) {
  api::set_threads(a.threads);
  if (a.prompt.empty() == a.prompt_file.empty())
    throw Error("give exactly one of -p TEXT or -f FILE");
  const std::string model_path = resolve_model(a.model);
  const api::Model model = api::Model::load(model_path, {.tokenizer = a.tokenizer});
  const api::Tokenizer tok = model.tokenizer();
  std::string text = a.prompt.empty() ? read_file(a.prompt_file) : a.prompt;

  std::vector<int32_t> prompt;
  if (a.chat) {
    std::vector<api::ChatMessage> msgs;
    if (!a.system.empty()) msgs.push_back({"system", a.system});
    msgs.push_back({"user", text});
    prompt = tok.encode_chat(msgs, /*add_generation_prompt=*/true, a.chat_template);
  } else {
    prompt = tok.encode(text, tok.add_bos(), /*parse_special=*/false);
  }

  api::SessionOptions so;
  so.n_ctx = a.ctx;
  if (!a.kv_mem_limit.empty())
    so.kv_mem_limit = api::parse_byte_size(a.kv_mem_limit, "--kv-mem-limit");
  const api::Truncate truncate = api::parse_truncate(a.truncate);
  so.cache_type_k = a.cache_type_k;
  so.cache_type_v = a.cache_type_v;
  const api::Recipe recipe = api::Recipe::parse(a.press);
  api::Session session(model, so);
  if (a.n_predict < 0) throw Error("-n " + std::to_string(a.n_predict) + " must be >= 0");
  // Middle truncation leaves room for the answer, as LongBench does; --truncate error keeps the
  // prompt whole and lets the prefill refuse one that does not fit.
  size_t truncated_from = 0;
  if (truncate == api::Truncate::kMiddle) {
    const size_t n = prompt.size();
    if (api::truncate_middle(prompt, session.n_ctx() - std::max(a.n_predict, 0)) > 0) {
      truncated_from = n;
      std::fprintf(stderr, "[sparkv] prompt truncated (middle): %zu -> %zu tokens\n", n,
                   prompt.size());
    }
  }
  // Validated before the prefill, so a bad sampler value fails fast.
  a.sp.validate();
  api::GenerateOptions go;
  go.max_tokens = a.n_predict;
  go.sampling = a.sp;
  if (!a.json) {
    go.on_token = [](int32_t, std::string_view piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return true;
    };
  }
  std::string cache_use;
  const auto t_first = std::chrono::steady_clock::now();
  if (a.prompt_cache.empty())
    session.prefill_and_compress(prompt, recipe, a.sp.seed);
  else
    cache_use = prefill_with_prompt_cache(a, model, so, recipe, prompt, session);
  const double ready_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_first).count();
  const api::GenerateResult r = session.generate(go);

  const api::Timings t = session.timings();
  const api::KvReport kv = session.kv();
  const double pp = t.prefill_seconds > 0 ? prompt.size() / t.prefill_seconds : 0.0;
  const double tg = r.decode_seconds > 0 ? r.decode_steps / r.decode_seconds : 0.0;
  if (a.json) {
    nlohmann::json j;
    j["model"] = model_path;
    j["prompt_tokens"] = prompt.size();
    if (truncated_from > 0) j["prompt_tokens_before_truncation"] = truncated_from;
    j["prompt_ids"] = prompt;
    j["generated_tokens"] = r.ids.size();
    j["generated_ids"] = r.ids;
    j["text"] = r.text;
    j["stop_reason"] = r.stop_reason;
    j["prefill_tokens_per_s"] = pp;
    j["decode_tokens_per_s"] = tg;
    j["kv_bytes"] = kv.bytes;
    j["cache_type_k"] = kv.cache_type_k;
    j["cache_type_v"] = kv.cache_type_v;
    j["kv_bytes_dense_f16"] = kv.dense_f16_bytes;
    j["press"] = recipe.spec();
    j["kv_bytes_before_press"] = kv.bytes_before_compress;
    j["kv_bytes_after_press"] = kv.bytes_after_compress;
    j["compress_seconds"] = t.compress_seconds;
    // Storage form of each layer after the press ("spark", "think", or a dense element type):
    // a layer whose packed form would hold more bytes than its dense rows (short prompts) stays
    // dense, and this says so.
    j["kv_layers_by_storage"] = kv.layers_by_storage;
    // Seconds from the start of the prefill (or of loading the prompt cache) until the first
    // token could be sampled.
    j["prompt_ready_seconds"] = ready_s;
    if (!cache_use.empty()) j["prompt_cache"] = cache_use;  // hit | extended | written
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("\n");
    std::fprintf(stderr,
                 "\n[sparkv] prompt %zu tok, %.1f tok/s | generated %zu tok, %.1f tok/s | KV %zu "
                 "bytes (dense f16 equivalent %zu) | press %s\n",
                 prompt.size(), pp, r.ids.size(), tg, kv.bytes, kv.dense_f16_bytes,
                 recipe.spec().c_str());
  }
}

}  // namespace

void register_run(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* c = app.add_subcommand("run", "Generate text from a prompt");
  c->add_option("-m,--model", a->model,
                "GGUF file, Hugging Face folder or shipped model name (default: embedded model)");
  c->add_option("--tokenizer", a->tokenizer,
                "tokenizer.json (or its folder) to use instead of the model's");
  c->add_option("-p,--prompt", a->prompt, "Prompt text");
  c->add_option("-f,--file", a->prompt_file, "Read the prompt from a file");
  c->add_option("-n,--n-predict", a->n_predict, "Tokens to generate")->capture_default_str();
  c->add_flag("--chat", a->chat, "Wrap the prompt in the model's chat template");
  c->add_option("--chat-template", a->chat_template, "Override: llama3 | chatml | qwen3 | mistral");
  c->add_option("--system", a->system, "System message (with --chat)");
  c->add_option("--temp", a->sp.temperature, "Temperature (0 = greedy)")->capture_default_str();
  c->add_option("--top-k", a->sp.top_k, "Top-k (0 = off)")->capture_default_str();
  c->add_option("--top-p", a->sp.top_p, "Top-p (1 = off)")->capture_default_str();
  c->add_option("--min-p", a->sp.min_p, "Min-p (0 = off)")->capture_default_str();
  c->add_option("--repeat-penalty", a->sp.repeat_penalty, "Repetition penalty (1 = off)")
      ->capture_default_str();
  c->add_option("--repeat-last-n", a->sp.repeat_last_n, "Tokens the penalty looks back over")
      ->capture_default_str();
  c->add_option("-s,--seed", a->sp.seed, "Sampling seed")->capture_default_str();
  c->add_option("-t,--threads", a->threads, "Threads (0 = all cores)")->capture_default_str();
  c->add_option("-c,--ctx-size", a->ctx, "Context size (0 = the model's trained context)")
      ->capture_default_str();
  c->add_option("--cache-type-k", a->cache_type_k,
                "KV cache type for K (-ctk), as llama.cpp: " + api::cache_type_names())
      ->capture_default_str();
  c->add_option("--cache-type-v", a->cache_type_v,
                "KV cache type for V (-ctv), as llama.cpp: " + api::cache_type_names())
      ->capture_default_str();
  c->add_option("--press", a->press,
                "KV compression recipe, e.g. spark:ratio=0.5 or snapkv:budget=128+spark:ratio=0.8 "
                "(methods: " +
                    api::Recipe::methods_help() + ")")
      ->capture_default_str();
  c->add_option("--truncate", a->truncate,
                "A prompt longer than the context: error | middle (keep the first and last halves "
                "of the room left after -n, in tokens, as LongBench does)")
      ->capture_default_str();
  c->add_option("--kv-mem-limit", a->kv_mem_limit,
                "Fail before allocating if the KV memory at full context would exceed this: the "
                "dense cache for full, the compressed cache + one dense layer + the decode rows "
                "for a compressing --press; the error names a recipe that fits (bytes, or 512MiB, "
                "2GiB, ...)");
  c->add_option("--prompt-cache", a->prompt_cache,
                "Load the prefilled, compressed prompt from FILE when it holds this prompt (or its "
                "beginning: the rest is appended uncompressed) under the same --press; otherwise "
                "prefill and write FILE. A corrupt or foreign FILE is an error");
  c->add_flag("--json", a->json,
              "Print one JSON object (text, ids, speeds, KV bytes) instead of streaming");
  c->callback([a] { run(*a); });
}

}  // namespace sparkv::cli

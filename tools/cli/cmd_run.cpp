// sparkv run: generate text from a prompt.
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "core/byte_size.h"
#include "core/error.h"
#include "kv/kv_types.h"
#include "model/model.h"
#include "press/press_spec.h"
#include "runtime/compress.h"
#include "runtime/generate.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

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
  SamplerParams sp;
};

void run(const RunArgs& a) {
  set_threads(a.threads);
  SPARKV_CHECK(a.prompt.empty() != a.prompt_file.empty(), "give exactly one of -p TEXT or -f FILE");
  const std::string model_path = a.model.empty() ? default_model_path() : a.model;
  std::unique_ptr<Model> model = Model::load(model_path);
  std::unique_ptr<Tokenizer> own_tok;
  const Tokenizer* tok = model->tokenizer();
  if (!a.tokenizer.empty()) {
    own_tok = Tokenizer::from_hf(a.tokenizer);
    tok = own_tok.get();
  }
  SPARKV_CHECK(tok != nullptr, "{}: the model carries no tokenizer; pass --tokenizer PATH",
               model_path);
  std::string text = a.prompt.empty() ? read_file(a.prompt_file) : a.prompt;

  std::vector<int32_t> prompt;
  if (a.chat) {
    const std::string bos = tok->bos_id() >= 0 ? tok->token_text(tok->bos_id()) : "";
    const std::string eos = tok->eos_id() >= 0 ? tok->token_text(tok->eos_id()) : "";
    const ChatTemplate tmpl = a.chat_template.empty()
                                  ? ChatTemplate::from_text(tok->chat_template(), bos, eos)
                                  : ChatTemplate::from_name(a.chat_template, bos, eos);
    std::vector<ChatMessage> msgs;
    if (!a.system.empty()) msgs.push_back({"system", a.system});
    msgs.push_back({"user", text});
    const std::string rendered = tmpl.render(msgs, true);
    prompt = tok->encode(rendered, /*add_bos=*/false, /*parse_special=*/true);
  } else {
    prompt = tok->encode(text, tok->add_bos(), /*parse_special=*/false);
  }

  SessionOptions so;
  so.n_ctx = a.ctx;
  if (!a.kv_mem_limit.empty()) so.kv_mem_limit = parse_byte_size(a.kv_mem_limit, "--kv-mem-limit");
  const TruncateMode truncate = truncate_mode_from_name(a.truncate);
  so.kv_types.k = kv_dtype_from_name(a.cache_type_k);
  so.kv_types.v = kv_dtype_from_name(a.cache_type_v);
  const PressPipeline pipeline = parse_press_spec(a.press);
  Session session(*model, so);
  // Middle truncation leaves room for the answer, as LongBench does; --truncate error keeps the
  // prompt whole and lets generate() refuse one that does not fit.
  size_t truncated_from = 0;
  if (truncate == TruncateMode::kMiddle) {
    const size_t n = prompt.size();
    if (fit_prompt(prompt, session.n_ctx() - std::max(a.n_predict, 0), truncate) > 0) {
      truncated_from = n;
      std::fprintf(stderr, "[sparkv] prompt truncated (middle): %zu -> %zu tokens\n", n,
                   prompt.size());
    }
  }
  Sampler sampler(a.sp);
  std::unique_ptr<PrefillCapture> capture;
  if (!pipeline.empty())
    capture = std::make_unique<PrefillCapture>(model->config(), pipeline.needs(), 0,
                                               static_cast<int64_t>(prompt.size()));

  GenerateOptions go;
  go.n_predict = a.n_predict;
  go.stop_ids = model->config().eos_ids;
  size_t kv_before = 0, kv_after = 0;
  if (capture) {
    go.prefill_observer = capture.get();
    go.after_prefill = [&](Session& s) {
      kv_before = s.kv_bytes();
      compress_session(s, pipeline, *capture, static_cast<int64_t>(prompt.size()), a.sp.seed);
      // Right after compression, before decode tails allocate pages: the figure `sparkv eval`
      // reports as KV bytes per prompt token.
      kv_after = s.kv_bytes();
    };
  }
  StreamDecoder stream(*tok);
  if (!a.json) {
    go.on_token = [&](int32_t id) {
      if (std::find(go.stop_ids.begin(), go.stop_ids.end(), id) != go.stop_ids.end()) return true;
      const std::string piece = stream.push(id);
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return true;
    };
  }
  const GenerateResult r = generate(session, prompt, sampler, go);

  std::vector<int32_t> shown = r.ids;
  if (!shown.empty() && r.stop_reason == "stop_token") shown.pop_back();
  const std::string out_text = tok->decode(shown, /*skip_special=*/true);
  const double pp = r.prefill_seconds > 0 ? prompt.size() / r.prefill_seconds : 0.0;
  const double tg = r.decode_seconds > 0 ? r.decode_steps / r.decode_seconds : 0.0;
  if (a.json) {
    nlohmann::json j;
    j["model"] = model_path;
    j["prompt_tokens"] = prompt.size();
    if (truncated_from > 0) j["prompt_tokens_before_truncation"] = truncated_from;
    j["prompt_ids"] = prompt;
    j["generated_tokens"] = r.ids.size();
    j["generated_ids"] = r.ids;
    j["text"] = out_text;
    j["stop_reason"] = r.stop_reason;
    j["prefill_tokens_per_s"] = pp;
    j["decode_tokens_per_s"] = tg;
    j["kv_bytes"] = session.kv_bytes();
    j["cache_type_k"] = kv_dtype_name(so.kv_types.k);
    j["cache_type_v"] = kv_dtype_name(so.kv_types.v);
    j["kv_bytes_dense_f16"] = session.kv_bytes_dense_f16();
    j["press"] = pipeline.spec();
    j["kv_bytes_before_press"] = kv_before;
    j["kv_bytes_after_press"] = kv_after;
    j["compress_seconds"] = r.compress_seconds;
    // Storage form of each layer after the press ("spark", "think", or a dense element type):
    // a layer whose packed form would hold more bytes than its dense rows (short prompts) stays
    // dense, and this says so.
    nlohmann::json layers = nlohmann::json::object();
    for (const auto& c : session.caches()) {
      const std::string kind = c->kind();
      layers[kind] = layers.value(kind, 0) + 1;
    }
    j["kv_layers_by_storage"] = layers;
    std::printf("%s\n", j.dump().c_str());
  } else {
    const std::string tail = stream.flush();
    std::fwrite(tail.data(), 1, tail.size(), stdout);
    std::printf("\n");
    std::fprintf(stderr,
                 "\n[sparkv] prompt %zu tok, %.1f tok/s | generated %zu tok, %.1f tok/s | KV %zu "
                 "bytes (dense f16 equivalent %zu) | press %s\n",
                 prompt.size(), pp, r.ids.size(), tg, session.kv_bytes(),
                 session.kv_bytes_dense_f16(), pipeline.spec().c_str());
  }
}

}  // namespace

void register_run(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* c = app.add_subcommand("run", "Generate text from a prompt");
  c->add_option("-m,--model", a->model,
                "GGUF file or Hugging Face folder (default: embedded model)");
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
                "KV cache type for K (-ctk), as llama.cpp: " + kv_dtype_names())
      ->capture_default_str();
  c->add_option("--cache-type-v", a->cache_type_v,
                "KV cache type for V (-ctv), as llama.cpp: " + kv_dtype_names())
      ->capture_default_str();
  c->add_option("--press", a->press,
                "KV compression recipe, e.g. spark:ratio=0.5 or snapkv:budget=128+spark:ratio=0.8 "
                "(methods: " +
                    press_methods_help() + ")")
      ->capture_default_str();
  c->add_option("--truncate", a->truncate,
                "A prompt longer than the context: error | middle (keep the first and last halves "
                "of the room left after -n, in tokens, as LongBench does)")
      ->capture_default_str();
  c->add_option("--kv-mem-limit", a->kv_mem_limit,
                "Fail before allocating if the dense KV cache at full context would exceed this "
                "(bytes, or 512MiB, 2GiB, ...)");
  c->add_flag("--json", a->json,
              "Print one JSON object (text, ids, speeds, KV bytes) instead of streaming");
  c->callback([a] { run(*a); });
}

}  // namespace sparkv::cli

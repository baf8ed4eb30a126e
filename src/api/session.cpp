// The public Session (include/sparkv/session.h): runtime/'s Session and Prefill; generate() is the
// Generation loop (generation.cpp) with a batch of one, and append_batch() its batched step.
#include "sparkv/session.h"

#include <algorithm>
#include <chrono>

#include "sparkv/generation.h"

#include "core/error.h"
#include "model/model.h"
#include "press/press.h"
#include "quant/kv_types.h"
#include "runtime/cache_file.h"
#include "runtime/generate.h"
#include "runtime/memory_plan.h"
#include "runtime/prefill.h"
#include "runtime/session.h"

namespace sparkv::api {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Truncate parse_truncate(const std::string& mode) {
  return truncate_mode_from_name(mode) == TruncateMode::kMiddle ? Truncate::kMiddle
                                                                : Truncate::kError;
}

size_t truncate_middle(std::vector<int32_t>& prompt, int64_t room) {
  return fit_prompt(prompt, room, TruncateMode::kMiddle);
}

struct Session::State {
  Model model;
  SessionOptions opts;
  std::unique_ptr<sparkv::Session> s;
  std::unique_ptr<Prefill> prefill;  // refers to *s; present from prefill() on
  bool compressed = false;
  Timings timings;
  size_t kv_before = 0, kv_after = 0;
  std::string recipe = "full";
};

uint64_t plan_kv_memory(const Model& model, const SessionOptions& opts, const Recipe& recipe,
                        int64_t n_prompt) {
  const ModelConfig& c = model.impl().config();
  const int64_t n_ctx = opts.n_ctx > 0 ? opts.n_ctx : c.n_ctx_train;
  const KvTypes types{kv_dtype_from_name(opts.cache_type_k), kv_dtype_from_name(opts.cache_type_v)};
  const int chunk = sparkv::SessionOptions{}.prefill_chunk;
  return check_memory(c, types, recipe.impl(), n_prompt, n_ctx, chunk, opts.kv_mem_limit).peak();
}

KvPlan plan_kv(const Model& model, const SessionOptions& opts, const Recipe& recipe,
               int64_t n_prompt) {
  const ModelConfig& c = model.impl().config();
  const int64_t n_ctx = opts.n_ctx > 0 ? opts.n_ctx : c.n_ctx_train;
  const KvTypes types{kv_dtype_from_name(opts.cache_type_k), kv_dtype_from_name(opts.cache_type_v)};
  const MemoryPlan p =
      plan_memory(c, types, recipe.impl(), n_prompt, n_ctx, sparkv::SessionOptions{}.prefill_chunk);
  return {p.compressed, p.dense_layer, p.decode, p.scratch};
}

Session::Session(std::unique_ptr<State> s) : s_(std::move(s)) {}

Session::Session(const Model& model, const SessionOptions& opts)
    : s_(std::make_unique<State>(State{model, opts, nullptr, nullptr, false, {}, 0, 0, "full"})) {
  sparkv::SessionOptions so;
  so.n_ctx = opts.n_ctx;
  so.kv_types.k = kv_dtype_from_name(opts.cache_type_k);
  so.kv_types.v = kv_dtype_from_name(opts.cache_type_v);
  so.kv_mem_limit = opts.kv_mem_limit;
  s_->s = std::make_unique<sparkv::Session>(model.impl(), so);
}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

void Session::prefill(const std::vector<int32_t>& ids, const std::vector<Recipe>& recipes) {
  SPARKV_CHECK(!s_->prefill && s_->s->n_past() == 0,
               "prefill: this session was already prefilled (use append)");
  PressNeeds needs;
  for (const Recipe& r : recipes) needs.merge(r.impl().needs());
  s_->prefill = std::make_unique<Prefill>(*s_->s, ids, needs);
  s_->timings.prompt_tokens = s_->prefill->n_prompt();
  s_->timings.prefill_seconds = s_->prefill->seconds();
}

void Session::prefill_and_compress(const std::vector<int32_t>& ids, const Recipe& recipe,
                                   uint64_t seed) {
  SPARKV_CHECK(!s_->prefill && s_->s->n_past() == 0,
               "prefill: this session was already prefilled (use append)");
  s_->prefill = std::make_unique<Prefill>(*s_->s, ids, recipe.impl(), seed);
  s_->recipe = recipe.spec();
  s_->timings.prompt_tokens = s_->prefill->n_prompt();
  s_->timings.prefill_seconds = s_->prefill->seconds();
  if (!s_->prefill->compressed_as_it_went()) return;  // the full recipe
  s_->timings.compress_seconds = s_->prefill->compress_seconds();
  s_->kv_before = s_->prefill->dense_bytes();
  s_->kv_after = s_->s->kv_bytes();
  s_->compressed = true;
}

void Session::compress(const Recipe& recipe, uint64_t seed) {
  SPARKV_CHECK(s_->prefill != nullptr, "compress: prefill the session first");
  SPARKV_CHECK(!s_->compressed, "compress: the session is already compressed");
  if (recipe.is_full()) return;
  const auto t0 = std::chrono::steady_clock::now();
  s_->kv_before = s_->s->kv_bytes();
  s_->prefill->apply(recipe.impl(), seed);
  s_->recipe = recipe.spec();
  s_->timings.compress_seconds = seconds_since(t0);
  // Right after compression, before decode tails allocate pages: the figure `sparkv eval`
  // reports as KV bytes per prompt token.
  s_->kv_after = s_->s->kv_bytes();
  s_->compressed = true;
}

Session Session::fork(const Recipe& recipe, uint64_t seed) const {
  SPARKV_CHECK(s_->prefill != nullptr, "fork: prefill the session first");
  SPARKV_CHECK(!s_->compressed, "fork: the session is already compressed (fork before compress)");
  auto st = std::make_unique<State>(
      State{s_->model, s_->opts, nullptr, nullptr, false, {}, 0, 0, "full"});
  const auto t0 = std::chrono::steady_clock::now();
  st->s = s_->prefill->fork(recipe.impl(), seed);
  st->recipe = recipe.spec();
  st->timings = s_->timings;
  if (!recipe.is_full()) {
    st->timings.compress_seconds = seconds_since(t0);
    st->kv_before = s_->s->kv_bytes();
    st->kv_after = st->s->kv_bytes();
    st->compressed = true;
  }
  return Session(std::move(st));
}

void Session::append(const std::vector<int32_t>& ids) {
  SPARKV_CHECK(!ids.empty(), "append: no tokens");
  s_->s->feed(ids);
}

GenerateResult Session::generate(const GenerateOptions& opts) {
  Generation g(*this, opts);
  while (g.step()) s_->s->feed({g.next_id()});
  return g.finish();
}

void append_batch(const std::vector<Session*>& sessions, const std::vector<int32_t>& ids) {
  SPARKV_CHECK(sessions.size() == ids.size(), "append_batch: {} sessions but {} token ids",
               sessions.size(), ids.size());
  SPARKV_CHECK(!sessions.empty(), "append_batch: no sessions");
  std::vector<sparkv::Session*> rs(sessions.size());
  for (size_t i = 0; i < sessions.size(); ++i) {
    SPARKV_CHECK(sessions[i] != nullptr, "append_batch: a null session");
    rs[i] = sessions[i]->s_->s.get();
  }
  sparkv::Session::feed_decode_batch(rs.data(), ids.data(), static_cast<int>(rs.size()));
}

const std::vector<float>& Session::logits() const {
  return s_->s->logits();
}
int64_t Session::n_past() const {
  return s_->s->n_past();
}
int64_t Session::n_ctx() const {
  return s_->s->n_ctx();
}
const std::vector<int32_t>& Session::history() const {
  return s_->s->history();
}
Timings Session::timings() const {
  return s_->timings;
}
const Model& Session::model() const {
  return s_->model;
}
const std::string& Session::recipe() const {
  return s_->recipe;
}

std::vector<uint8_t> Session::save_cache() const {
  SPARKV_CHECK(s_->s->n_past() > 0, "save_cache: the session holds no tokens");
  return save_cache_image(*s_->s, s_->recipe, s_->kv_before, s_->kv_after);
}

void Session::save_cache_file(const std::string& path) const {
  write_file_atomic(path, save_cache());
}

Session Session::load_cache(const Model& model, const std::vector<uint8_t>& bytes,
                            const SessionOptions& opts, const std::string& what) {
  CacheImage im = load_cache_image(bytes.data(), bytes.size(), what);
  Session s(model, opts);
  s.s_->recipe = im.recipe;
  s.s_->kv_before = im.kv_before;
  s.s_->kv_after = im.kv_after;
  s.s_->compressed = im.kv_after > 0;
  s.s_->timings.prompt_tokens = im.n_past;
  restore_cache_image(std::move(im), *s.s_->s, what);
  return s;
}

Session Session::load_cache_file(const Model& model, const std::string& path,
                                 const SessionOptions& opts) {
  return load_cache(model, read_file_bytes(path), opts, "prompt cache " + path);
}

CacheFileInfo read_cache_file_info(const std::string& path) {
  CacheHeader h = read_cache_header(path);
  return CacheFileInfo{std::move(h.recipe), std::move(h.model_name), std::move(h.history)};
}

KvReport Session::kv() const {
  KvReport k;
  k.bytes = s_->s->kv_bytes();
  k.dense_f16_bytes = s_->s->kv_bytes_dense_f16();
  k.bytes_before_compress = s_->kv_before;
  k.bytes_after_compress = s_->kv_after;
  for (const auto& c : s_->s->caches()) ++k.layers_by_storage[c->kind()];
  k.cache_type_k = kv_dtype_name(kv_dtype_from_name(s_->opts.cache_type_k));
  k.cache_type_v = kv_dtype_name(kv_dtype_from_name(s_->opts.cache_type_v));
  return k;
}

}  // namespace sparkv::api

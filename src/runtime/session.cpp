#include "runtime/session.h"

#include <malloc.h>

#include <algorithm>

#include "core/byte_size.h"
#include "core/error.h"
#include "kv/dense_cache.h"

namespace sparkv {

uint64_t dense_kv_bytes(const ModelConfig& c, int64_t n_ctx, KvTypes types) {
  const int64_t page = DenseLayerCache::kPageTokens;
  const uint64_t tokens =
      static_cast<uint64_t>((std::max<int64_t>(n_ctx, 0) + page - 1) / page * page);
  const uint64_t row = kv_row_bytes(types.k, c.head_dim) + kv_row_bytes(types.v, c.head_dim);
  return static_cast<uint64_t>(c.n_layer) * static_cast<uint64_t>(c.n_head_kv) * tokens * row;
}

namespace {

// glibc raises its mmap threshold to the size of each mmap'd block that is freed (up to 32 MiB), so
// once a layer-major prefill frees its first dense layer, the next layers' multi-MiB chunks and
// the presses' scratch come from the heap, whose freed middle is never returned: peak RSS then
// grew with the context (+360 MiB at 16k on the Qwen3-0.6B shape, over the compressed cache + one
// dense layer the plan promises). A fixed threshold keeps large blocks on mmap, returned on free.
void keep_large_blocks_on_mmap() {
  static const bool once = [] { return mallopt(M_MMAP_THRESHOLD, 256 * 1024) == 1; }();
  (void)once;
}

}  // namespace

Session::Session(const Model& model, const SessionOptions& opts)
    : model_(model), opts_(opts), forward_(model) {
  keep_large_blocks_on_mmap();
  model.populate_weights();
  const ModelConfig& c = model.config();
  n_ctx_ = opts.n_ctx > 0 ? opts.n_ctx : c.n_ctx_train;
  SPARKV_CHECK(opts.prefill_chunk > 0, "prefill chunk must be positive");
  SPARKV_CHECK(n_ctx_ > 0, "{}: context size {} must be positive (set --ctx-size)", model.path(),
               n_ctx_);
  for (int i = 0; i < c.n_layer; ++i)
    caches_.push_back(
        std::make_unique<DenseLayerCache>(c.n_head_kv, c.head_dim, c.group_size(), opts.kv_types));
  logits_.resize(c.n_vocab);
}

void Session::reserve(size_t n) {
  for (auto& c : caches_) c->reserve(c->n_tokens(0) + static_cast<int64_t>(n));
}

void Session::check_room(size_t n) const {
  SPARKV_CHECK(n_past_ + static_cast<int64_t>(n) <= n_ctx_,
               "context full: {} tokens already + {} new exceeds the context size of {} tokens "
               "(raise --ctx-size, up to what the model supports)",
               n_past_, n, n_ctx_);
}

const std::vector<float>& Session::feed(const std::vector<int32_t>& ids, ForwardObserver* obs) {
  SPARKV_CHECK(!ids.empty(), "nothing to feed: empty token list");
  check_room(ids.size());
  if (ids.size() > 1) reserve(ids.size());
  const int chunk = opts_.prefill_chunk;
  for (size_t off = 0; off < ids.size(); off += chunk) {
    const int n = static_cast<int>(std::min<size_t>(chunk, ids.size() - off));
    forward_.run(ids.data() + off, n, n_past_, caches_, logits_.data(), false, obs);
    n_past_ += n;
  }
  history_.insert(history_.end(), ids.begin(), ids.end());
  return logits_;
}

const std::vector<float>& Session::feed_layer_major(const std::vector<int32_t>& ids,
                                                    ForwardObserver* obs,
                                                    const std::function<void(int)>& layer_done) {
  SPARKV_CHECK(!ids.empty(), "nothing to feed: empty token list");
  check_room(ids.size());
  forward_.run_layer_major(ids.data(), static_cast<int>(ids.size()), n_past_, opts_.prefill_chunk,
                           caches_, logits_.data(), obs, layer_done);
  n_past_ += static_cast<int64_t>(ids.size());
  history_.insert(history_.end(), ids.begin(), ids.end());
  return logits_;
}

std::vector<float> Session::feed_all_logits(const std::vector<int32_t>& ids, ForwardObserver* obs) {
  SPARKV_CHECK(!ids.empty(), "nothing to feed: empty token list");
  check_room(ids.size());
  const int V = model_.config().n_vocab;
  std::vector<float> out(ids.size() * static_cast<size_t>(V));
  if (ids.size() > 1) reserve(ids.size());
  const int chunk = opts_.prefill_chunk;
  for (size_t off = 0; off < ids.size(); off += chunk) {
    const int n = static_cast<int>(std::min<size_t>(chunk, ids.size() - off));
    forward_.run(ids.data() + off, n, n_past_, caches_, out.data() + off * V, true, obs);
    n_past_ += n;
  }
  std::copy(out.end() - V, out.end(), logits_.begin());
  history_.insert(history_.end(), ids.begin(), ids.end());
  return out;
}

void Session::feed_decode_batch(Session* const* sessions, const int32_t* ids, int B) {
  SPARKV_CHECK(B >= 1, "decode batch: no sessions");
  const Model* model = &sessions[0]->model_;
  std::vector<int64_t> pos(B);
  std::vector<std::vector<std::unique_ptr<LayerCache>>*> caches(B);
  std::vector<float*> logits(B);
  for (int b = 0; b < B; ++b) {
    Session& s = *sessions[b];
    SPARKV_CHECK(&s.model_ == model, "decode batch: sessions of different models");
    for (int o = 0; o < b; ++o)
      SPARKV_CHECK(sessions[o] != sessions[b], "decode batch: a session appears twice");
    s.check_room(1);
    pos[b] = s.n_past_;
    caches[b] = &s.caches_;
    logits[b] = s.logits_.data();
  }
  sessions[0]->forward_.run_decode_batch(ids, B, pos.data(), caches.data(), logits.data());
  for (int b = 0; b < B; ++b) {
    sessions[b]->n_past_ += 1;
    sessions[b]->history_.push_back(ids[b]);
  }
}

std::unique_ptr<Session> Session::fork_with_caches(
    std::vector<std::unique_ptr<LayerCache>> caches) const {
  SPARKV_CHECK(caches.size() == caches_.size(), "fork: {} caches for {} layers", caches.size(),
               caches_.size());
  auto s = std::make_unique<Session>(model_, opts_);
  s->n_ctx_ = n_ctx_;
  s->n_past_ = n_past_;
  s->history_ = history_;
  s->logits_ = logits_;
  s->caches_ = std::move(caches);
  return s;
}

void Session::restore(std::vector<std::unique_ptr<LayerCache>> caches, int64_t n_past,
                      std::vector<int32_t> history, std::vector<float> logits) {
  SPARKV_CHECK(n_past_ == 0, "restore: the session already holds {} tokens", n_past_);
  SPARKV_CHECK(caches.size() == caches_.size(), "restore: {} caches for {} layers", caches.size(),
               caches_.size());
  SPARKV_CHECK(logits.size() == logits_.size(), "restore: {} logits for {} tokens", logits.size(),
               logits_.size());
  SPARKV_CHECK(n_past <= n_ctx_, "restore: {} tokens exceed the context size {}", n_past, n_ctx_);
  caches_ = std::move(caches);
  n_past_ = n_past;
  history_ = std::move(history);
  logits_ = std::move(logits);
}

size_t Session::kv_bytes() const {
  size_t total = 0;
  for (const auto& c : caches_) total += c->bytes();
  return total;
}

size_t Session::kv_bytes_dense_f16() const {
  const ModelConfig& c = model_.config();
  size_t total = 0;
  for (const auto& lc : caches_)
    for (int h = 0; h < c.n_head_kv; ++h)
      total += static_cast<size_t>(lc->n_tokens(h)) * c.head_dim * 2 * 2;
  return total;
}

}  // namespace sparkv

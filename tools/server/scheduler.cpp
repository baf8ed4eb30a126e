#include "scheduler.h"

#include <algorithm>
#include <cstdio>
#include <exception>

namespace sparkv::server {

namespace {

constexpr int64_t kPage = 64;  // the dense cache's page, in tokens (kv/dense_cache.h)

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int64_t round_pages(int64_t tokens) {
  return (tokens + kPage - 1) / kPage * kPage;
}

void fail_job(Job& j, int status, const std::string& message) {
  {
    std::lock_guard<std::mutex> lk(j.mu);
    j.error_status = status;
    j.error = message;
    j.finished = true;
  }
  j.cv.notify_all();
}

}  // namespace

struct Scheduler::Slot {
  std::shared_ptr<Job> job;
  std::unique_ptr<api::Session> session;
  std::unique_ptr<api::Generation> gen;
  uint64_t reserved = 0;
  bool done = false;
  std::string error;  // the batched step failed for this slot
};

Scheduler::Scheduler(api::Model model, SchedulerOptions opts)
    : model_(std::move(model)), opts_(opts), cache_(opts.prompt_cache_bytes, opts.cache_dir) {
  const api::ModelInfo info = model_.info(/*with_tensors=*/false);
  n_ctx_ = opts.n_ctx > 0 ? opts.n_ctx : info.n_ctx_train;
  row_bytes_ = static_cast<uint64_t>(info.n_layer) * info.n_head_kv * info.head_dim * 2 * 2;
  if (opts_.slots < 1) throw Error("--slots " + std::to_string(opts_.slots) + " must be >= 1");
  if (opts_.queue < 0) throw Error("--queue " + std::to_string(opts_.queue) + " must be >= 0");
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
  stop();
}

void Scheduler::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

uint64_t Scheduler::reservation(size_t prompt_tokens, int max_tokens,
                                const api::Recipe& recipe) const {
  // The recipe's memory plan for a context of the prompt + max_tokens: for full the dense cache;
  // for a compressing recipe (prefilled layer-major) its compressed cache + the larger of one
  // dense layer and the decode rows. The prefill scratch is not charged to slots: prefills run
  // one at a time.
  api::SessionOptions so;
  so.n_ctx = static_cast<int64_t>(prompt_tokens) + std::max(max_tokens, 0);
  return api::plan_kv(model_, so, recipe, static_cast<int64_t>(prompt_tokens)).cache_peak();
}

Scheduler::Submit Scheduler::submit(const std::shared_ptr<Job>& job) {
  if (opts_.kv_budget > 0 &&
      reservation(job->prompt.size(), job->gen.max_tokens, job->recipe) > opts_.kv_budget)
    return Submit::kOverBudget;
  {
    std::lock_guard<std::mutex> lk(mu_);
    // 503, not 429: a balancer retries a replica that is going away on another one.
    if (stopping_) return Submit::kStopping;
    // A free slot takes the request at once; otherwise it waits in the bounded queue.
    const int waiting = static_cast<int>(queue_.size());
    const int free_slots = opts_.slots - stats_.active;
    if (waiting - free_slots >= opts_.queue) return Submit::kQueueFull;
    job->t_submit = std::chrono::steady_clock::now();
    queue_.push_back(job);
    stats_.queued = static_cast<int>(queue_.size());
  }
  cv_.notify_all();
  return Submit::kQueued;
}

SchedulerStats Scheduler::stats() const {
  SchedulerStats s;
  {
    std::lock_guard<std::mutex> lk(mu_);
    s = stats_;
  }
  s.prompt_cache_hits = cache_.hits();
  s.prompt_cache_misses = cache_.misses();
  s.prompt_cache_bytes = cache_.bytes();
  s.prompt_cache_entries = cache_.entries();
  return s;
}

// Takes the queue's first request into a slot: prefill, press, and a Generation whose text goes
// to the job. Returns false when it must wait for memory. Called with mu_ held; releases it while
// computing.
bool Scheduler::admit_one(std::unique_lock<std::mutex>& lk) {
  std::shared_ptr<Job> job = queue_.front();
  if (job->cancelled) {
    queue_.pop_front();
    lk.unlock();
    fail_job(*job, 499, "the client closed the connection");
    lk.lock();
    return true;
  }
  const uint64_t need = reservation(job->prompt.size(), job->gen.max_tokens, job->recipe);
  if (opts_.kv_budget > 0 && stats_.kv_bytes_reserved + need > opts_.kv_budget && !slots_.empty())
    return false;
  // Cached prompts give way to requests: drop least recently used entries to make the room.
  if (opts_.kv_budget > 0) {
    const uint64_t left =
        opts_.kv_budget - std::min(opts_.kv_budget, stats_.kv_bytes_reserved + need);
    cache_.shrink_to(left);
  }
  queue_.pop_front();
  stats_.queued = static_cast<int>(queue_.size());
  stats_.kv_bytes_reserved += need;
  lk.unlock();

  auto slot = std::make_unique<Slot>();
  slot->job = job;
  slot->reserved = need;
  job->queue_seconds = seconds_since(job->t_submit);
  try {
    start_session(*slot, *job);
    // The press shrank the cache: keep only what it holds plus the decode rows to come.
    slot->reserved = slot->session->kv().bytes +
                     row_bytes_ * static_cast<uint64_t>(round_pages(job->gen.max_tokens) + kPage);
    slot->reserved = std::min(slot->reserved, need);
    Job* j = job.get();
    bool first = true;
    job->gen.on_token = [j, first](int32_t, std::string_view piece) mutable {
      if (first) {
        j->ttft_seconds = seconds_since(j->t_submit);
        first = false;
      }
      if (!piece.empty()) {
        {
          std::lock_guard<std::mutex> g(j->mu);
          j->pieces.emplace_back(piece);
        }
        j->cv.notify_all();
      }
      return !j->cancelled.load();
    };
    slot->gen = std::make_unique<api::Generation>(*slot->session, job->gen);
  } catch (const std::exception& e) {
    lk.lock();
    stats_.kv_bytes_reserved -= need;
    lk.unlock();
    fail_job(*job, 400, e.what());
    lk.lock();
    return true;
  }
  lk.lock();
  stats_.kv_bytes_reserved -= need - slot->reserved;
  slots_.push_back(std::move(slot));
  stats_.active = static_cast<int>(slots_.size());
  return true;
}

void Scheduler::start_session(Slot& slot, Job& job) {
  const api::SessionOptions so{.n_ctx = n_ctx_};
  const std::string spec = job.recipe.spec();
  const auto t0 = std::chrono::steady_clock::now();
  if (auto hit = cache_.lookup(spec, job.prompt)) {
    try {
      auto s = std::make_unique<api::Session>(
          api::Session::load_cache(model_, *hit->bytes, so, "prompt cache entry"));
      // A disk file named for this prompt must hold it (a hash collision or a renamed file).
      const auto& h = s->history();
      if (h.size() != hit->n_tokens || !std::equal(h.begin(), h.end(), job.prompt.begin()))
        throw Error("prompt cache entry: holds another prompt");
      if (hit->n_tokens < job.prompt.size())
        s->append(std::vector<int32_t>(job.prompt.begin() + static_cast<long>(hit->n_tokens),
                                       job.prompt.end()));
      slot.session = std::move(s);
      job.cached_tokens = hit->n_tokens;
      job.prefill_seconds = seconds_since(t0);
      return;
    } catch (const Error& e) {
      // Never fatal and never served: the file is set aside and the prompt prefilled.
      std::fprintf(stderr, "[sparkv] %s; prefilling instead\n", e.what());
      if (hit->from_disk) cache_.forget_file(hit->path);
    }
  }
  slot.session = std::make_unique<api::Session>(model_, so);
  slot.session->prefill_and_compress(job.prompt, job.recipe, job.gen.sampling.seed);
  job.prefill_seconds =
      slot.session->timings().prefill_seconds + slot.session->timings().compress_seconds;
  remember(*slot.session, spec);
}

void Scheduler::remember(api::Session& session, const std::string& spec) {
  // A repeated request ends in the same tokens: its entry is there already.
  if (!cache_.enabled() || cache_.touch(spec, session.history())) return;
  std::vector<uint8_t> bytes;
  try {
    bytes = session.save_cache();
  } catch (const Error&) {
    return;  // a form that cannot be saved (SparK with decode_block=): not cached
  }
  if (opts_.kv_budget > 0) {
    std::lock_guard<std::mutex> lk(mu_);
    const uint64_t used = stats_.kv_bytes_reserved;
    if (used + bytes.size() > opts_.kv_budget) return;
    cache_.shrink_to(opts_.kv_budget - used - bytes.size());
  }
  cache_.store(spec, session.history(), std::move(bytes));
}

void Scheduler::finish(Slot& s) {
  Job& j = *s.job;
  api::GenerateResult r;
  api::KvReport kv;
  std::string err = s.error;
  if (err.empty()) {
    try {
      r = s.gen->finish();
      kv = s.session->kv();
    } catch (const std::exception& e) {
      err = e.what();
    }
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    stats_.kv_bytes_reserved -= s.reserved;
    if (err.empty()) {
      ++stats_.requests_done;
      stats_.prompt_tokens += j.prompt.size();
      stats_.generated_tokens += r.ids.size();
      stats_.ttft_seconds_sum += j.ttft_seconds;
      stats_.cached_prompt_tokens += j.cached_tokens;
      stats_.decode_seconds_sum += r.decode_seconds;
      if (kv.dense_f16_bytes > kv.bytes)
        stats_.kv_bytes_saved_total += kv.dense_f16_bytes - kv.bytes;
    }
  }
  if (!err.empty()) {
    fail_job(j, 500, err);
    return;
  }
  // The conversation so far (prompt + the answer fed back): a next turn that sends it back with
  // a new message restores it instead of prefilling the answer again. The reservation is
  // released above, so the entry competes for the KV budget like any other.
  if (!r.ids.empty() && s.session->history().size() > j.prompt.size())
    remember(*s.session, j.recipe.spec());
  {
    std::lock_guard<std::mutex> lk(j.mu);
    j.result = std::move(r);
    j.kv = kv;
    j.finished = true;
  }
  j.cv.notify_all();
}

void Scheduler::loop() {
  std::unique_lock<std::mutex> lk(mu_);
  while (!stopping_) {
    while (!stopping_ && static_cast<int>(slots_.size()) < opts_.slots && !queue_.empty())
      if (!admit_one(lk)) break;
    if (stopping_) break;
    if (slots_.empty()) {
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      continue;
    }
    lk.unlock();

    // One step: every slot samples (and streams) its next token, then all that continue are fed
    // together.
    std::vector<api::Session*> batch;
    std::vector<int32_t> ids;
    std::vector<Slot*> fed;
    for (auto& s : slots_) {
      if (s->done) continue;
      if (s->gen->step()) {
        batch.push_back(s->session.get());
        ids.push_back(s->gen->next_id());
        fed.push_back(s.get());
      } else {
        s->done = true;
      }
    }
    if (!batch.empty()) {
      try {
        api::append_batch(batch, ids);
      } catch (const std::exception& e) {
        for (Slot* s : fed) {
          s->done = true;
          s->error = e.what();
        }
      }
    }
    uint64_t held = 0;
    for (auto& s : slots_) {
      if (s->done) finish(*s);
      if (!s->done) held += s->session->kv().bytes;
    }
    lk.lock();
    std::erase_if(slots_, [](const std::unique_ptr<Slot>& s) { return s->done; });
    stats_.active = static_cast<int>(slots_.size());
    stats_.kv_bytes_held = held;
    if (!batch.empty()) {
      ++stats_.decode_steps;
      stats_.batched_tokens += batch.size();
    }
  }
  // Stopping: what waits is refused, what runs is cut short.
  std::deque<std::shared_ptr<Job>> left;
  left.swap(queue_);
  lk.unlock();
  for (auto& j : left) fail_job(*j, 503, "the server is shutting down");
  for (auto& s : slots_) fail_job(*s->job, 503, "the server is shutting down");
  slots_.clear();
}

}  // namespace sparkv::server

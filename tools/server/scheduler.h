// The server's one compute thread: N slots over one Model, a bounded queue, and continuous
// batching — every step samples one token for each active slot, then feeds all of them in one
// forward pass (api::append_batch: weights read once per step, results batch-invariant).
//
// Memory: `kv_budget` bounds the KV bytes the slots may hold together. A request reserves its
// recipe's memory plan (api::plan_kv): for full the dense cache of prompt + max_tokens;
// for a compressing recipe, prefilled layer-major, its compressed cache + the larger of one dense
// layer and max_tokens of decode rows (the one prefill's scratch is not charged). After the
// prefill the reservation shrinks to the compressed cache actually held plus the decode rows. A
// request whose reservation exceeds the whole budget is refused (503); one that exceeds what is
// free waits in the queue until slots finish. The prompt cache (prompt_cache.h) lives in the same
// budget: its least recently used entries are dropped before a request has to wait, and an entry
// is only kept when the slots' reservations leave it room.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "prompt_cache.h"
#include "sparkv/sparkv.h"

namespace sparkv::server {

// One request as the compute thread sees it. The HTTP thread that made it waits on `cv` for
// pieces of text and for `finished`; setting `cancelled` (a client that went away) frees the slot
// at the next step.
struct Job {
  std::vector<int32_t> prompt;
  api::Recipe recipe;
  api::GenerateOptions gen;  // on_token is set by the scheduler
  std::atomic<bool> cancelled{false};

  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> pieces;  // streamed text not yet taken by the HTTP thread
  bool finished = false;
  int error_status = 0;  // set with `error` when the request failed after it was queued
  std::string error;
  api::GenerateResult result;
  api::KvReport kv;
  double queue_seconds = 0, prefill_seconds = 0, ttft_seconds = 0;
  size_t cached_tokens = 0;  // prompt tokens restored from the prompt cache (0 = prefilled)
  std::chrono::steady_clock::time_point t_submit;
};

struct SchedulerOptions {
  int slots = 4;
  int queue = 16;                   // requests waiting for a slot before 429
  uint64_t kv_budget = 0;           // bytes; 0 = no limit
  int64_t n_ctx = 0;                // per slot; 0 = the model's trained context
  uint64_t prompt_cache_bytes = 0;  // the prompt cache's capacity (0 = off); shares kv_budget
  std::string cache_dir;            // prompt-cache files ("" = memory only)
};

struct SchedulerStats {
  int active = 0, queued = 0;
  uint64_t kv_bytes_held = 0;         // what the active slots' caches hold now
  uint64_t kv_bytes_reserved = 0;     // what admission has set aside
  uint64_t kv_bytes_saved_total = 0;  // dense f16 bytes minus held, summed over finished requests
  uint64_t requests_done = 0, prompt_tokens = 0, generated_tokens = 0;
  uint64_t decode_steps = 0, batched_tokens = 0;  // batched_tokens / decode_steps = mean batch
  double ttft_seconds_sum = 0, decode_seconds_sum = 0;
  uint64_t prompt_cache_hits = 0, prompt_cache_misses = 0, prompt_cache_bytes = 0;
  uint64_t prompt_cache_entries = 0, cached_prompt_tokens = 0;
};

class Scheduler {
 public:
  enum class Submit { kQueued, kQueueFull, kOverBudget, kStopping };

  Scheduler(api::Model model, SchedulerOptions opts);
  ~Scheduler();  // stops: queued jobs finish with a 503 error, active ones are cancelled

  // Bytes a request reserves at admission (see the header comment).
  uint64_t reservation(size_t prompt_tokens, int max_tokens, const api::Recipe& recipe) const;
  Submit submit(const std::shared_ptr<Job>& job);
  int64_t n_ctx() const { return n_ctx_; }
  uint64_t kv_budget() const { return opts_.kv_budget; }
  SchedulerStats stats() const;
  void stop();

 private:
  struct Slot;
  void loop();
  bool admit_one(std::unique_lock<std::mutex>& lk);
  void finish(Slot& s);
  // The slot's session for the job: restored from the prompt cache, else prefilled (and then
  // kept in the cache when the budget leaves it room).
  void start_session(Slot& slot, Job& job);
  // Stores the session's cache in the prompt cache under its history (the prompt after a
  // prefill; prompt + answer after a generation), within the KV budget.
  void remember(api::Session& session, const std::string& spec);

  api::Model model_;
  SchedulerOptions opts_;
  int64_t n_ctx_;
  uint64_t row_bytes_;  // dense f16 K+V bytes of one token over all layers and KV heads
  PromptCache cache_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::vector<std::unique_ptr<Slot>> slots_;  // touched by the compute thread only
  SchedulerStats stats_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sparkv::server

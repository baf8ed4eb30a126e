#include "metrics.h"

#include <fmt/format.h>

namespace sparkv::server {

void Metrics::http_request() {
  std::lock_guard<std::mutex> lk(mu_);
  ++http_requests_;
}

void Metrics::http_error(int status) {
  std::lock_guard<std::mutex> lk(mu_);
  ++errors_[status];
}

void Metrics::request_started() {
  std::lock_guard<std::mutex> lk(mu_);
  ++started_;
}

void Metrics::request_done(const Job& j) {
  std::lock_guard<std::mutex> lk(mu_);
  ++done_;
  ttft_sum_ += j.ttft_seconds;
  for (size_t i = 0; i < kTtftBuckets.size(); ++i)
    if (j.ttft_seconds <= kTtftBuckets[i]) ++ttft_le_[i];
}

std::string Metrics::render(const SchedulerStats& s, int slots, uint64_t kv_budget) const {
  std::lock_guard<std::mutex> lk(mu_);
  std::string o;
  auto metric = [&](const char* name, const char* type, const char* help, auto value) {
    o += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  metric("sparkv_http_requests_total", "counter", "HTTP requests received.", http_requests_);
  o += "# HELP sparkv_http_errors_total HTTP error responses by status.\n"
       "# TYPE sparkv_http_errors_total counter\n";
  for (const auto& [status, n] : errors_)
    o += fmt::format("sparkv_http_errors_total{{status=\"{}\"}} {}\n", status, n);
  metric("sparkv_requests_started_total", "counter", "Generation requests admitted to the queue.",
         started_);
  metric("sparkv_requests_finished_total", "counter", "Generation requests answered.", done_);
  metric("sparkv_prompt_tokens_total", "counter", "Prompt tokens prefilled.", s.prompt_tokens);
  metric("sparkv_generated_tokens_total", "counter", "Tokens generated.", s.generated_tokens);
  metric("sparkv_decode_steps_total", "counter", "Batched decode steps.", s.decode_steps);
  metric("sparkv_decode_batched_tokens_total", "counter",
         "Tokens fed by batched decode steps (divided by steps: the mean batch).",
         s.batched_tokens);
  metric("sparkv_decode_seconds_total", "counter", "Seconds of decoding summed over requests.",
         s.decode_seconds_sum);
  o += "# HELP sparkv_time_to_first_token_seconds From request arrival to its first token.\n"
       "# TYPE sparkv_time_to_first_token_seconds histogram\n";
  for (size_t i = 0; i < kTtftBuckets.size(); ++i)
    o += fmt::format("sparkv_time_to_first_token_seconds_bucket{{le=\"{}\"}} {}\n", kTtftBuckets[i],
                     ttft_le_[i]);
  o += fmt::format("sparkv_time_to_first_token_seconds_bucket{{le=\"+Inf\"}} {}\n", done_);
  o += fmt::format("sparkv_time_to_first_token_seconds_sum {}\n", ttft_sum_);
  o += fmt::format("sparkv_time_to_first_token_seconds_count {}\n", done_);
  const double tps = s.decode_seconds_sum > 0 ? s.generated_tokens / s.decode_seconds_sum : 0.0;
  metric("sparkv_tokens_per_second", "gauge",
         "Generated tokens per second of decoding, per request, averaged over all requests.", tps);
  metric("sparkv_slots_total", "gauge", "Slots (concurrent generations).", slots);
  metric("sparkv_slots_active", "gauge", "Slots generating now.", s.active);
  metric("sparkv_queue_length", "gauge", "Requests waiting for a slot.", s.queued);
  metric("sparkv_kv_bytes_held", "gauge", "KV cache bytes the active slots hold.", s.kv_bytes_held);
  metric("sparkv_kv_bytes_reserved", "gauge", "KV cache bytes admission has set aside.",
         s.kv_bytes_reserved);
  metric("sparkv_kv_bytes_budget", "gauge", "The --kv-mem-limit (0 = none).", kv_budget);
  metric("sparkv_kv_bytes_saved_total", "counter",
         "Dense f16 KV bytes minus the bytes held, summed over finished requests.",
         s.kv_bytes_saved_total);
  metric("sparkv_prompt_cache_hits_total", "counter",
         "Requests restored from the prompt cache instead of prefilled.", s.prompt_cache_hits);
  metric("sparkv_prompt_cache_misses_total", "counter",
         "Requests the prompt cache could not serve.", s.prompt_cache_misses);
  metric("sparkv_prompt_cache_bytes", "gauge", "Bytes of compressed prompts held for reuse.",
         s.prompt_cache_bytes);
  metric("sparkv_prompt_cache_entries", "gauge", "Prompts held for reuse.", s.prompt_cache_entries);
  metric("sparkv_cached_prompt_tokens_total", "counter",
         "Prompt tokens restored from the prompt cache.", s.cached_prompt_tokens);
  return o;
}

}  // namespace sparkv::server

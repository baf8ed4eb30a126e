// Prometheus text for GET /metrics: HTTP and request counters, tokens, time to first token (a
// histogram), decode speed, the slots' KV bytes and what compression saved.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "scheduler.h"

namespace sparkv::server {

class Metrics {
 public:
  void http_request();
  void http_error(int status);
  void request_started();
  void request_done(const Job& j);
  std::string render(const SchedulerStats& s, int slots, uint64_t kv_budget) const;

 private:
  static constexpr std::array<double, 10> kTtftBuckets = {0.01, 0.025, 0.05, 0.1, 0.25,
                                                          0.5,  1.0,   2.5,  5.0, 10.0};
  mutable std::mutex mu_;
  uint64_t http_requests_ = 0, started_ = 0, done_ = 0;
  std::map<int, uint64_t> errors_;  // by status
  std::array<uint64_t, kTtftBuckets.size()> ttft_le_{};
  double ttft_sum_ = 0;
};

}  // namespace sparkv::server

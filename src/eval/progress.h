// A progress line on stderr with an ETA: redrawn in place on a terminal, otherwise one line at
// most every 10 s (logs stay readable).
#pragma once

#include <chrono>
#include <string>

namespace sparkv {

class ProgressBar {
 public:
  // total_work: in any unit that grows roughly with cost (the runner uses prompt tokens).
  ProgressBar(double total_work, int total_items, bool enabled);
  void update(double work_done, int items_done, const std::string& what);
  void finish();
  static std::string format_duration(double seconds);  // "42s", "3m05s", "1h02m"

 private:
  void draw(bool final_line);

  double total_, done_ = 0;
  int items_total_, items_done_ = 0;
  bool enabled_, tty_;
  std::string what_;
  std::chrono::steady_clock::time_point start_, last_print_;
  bool printed_ = false;
};

}  // namespace sparkv

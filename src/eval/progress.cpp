#include "eval/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace sparkv {

ProgressBar::ProgressBar(double total_work, int total_items, bool enabled)
    : total_(total_work),
      items_total_(total_items),
      enabled_(enabled),
      tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

std::string ProgressBar::format_duration(double s) {
  if (s < 0) s = 0;
  const long t = static_cast<long>(s + 0.5);
  if (t < 60) return fmt::format("{}s", t);
  if (t < 3600) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
}

void ProgressBar::update(double work_done, int items_done, const std::string& what) {
  done_ = work_done;
  items_done_ = items_done;
  what_ = what;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!tty_ && printed_ && now - last_print_ < std::chrono::seconds(10) && items_done < items_total_)
    return;
  last_print_ = now;
  draw(false);
}

void ProgressBar::draw(bool final_line) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double frac = total_ > 0 ? std::min(1.0, done_ / total_) : 1.0;
  constexpr int kWidth = 28;
  const int fill = static_cast<int>(frac * kWidth + 0.5);
  std::string bar(fill, '#');
  bar += std::string(kWidth - fill, '.');
  const std::string eta = done_ > 0 && frac < 1.0 ? format_duration(elapsed * (total_ - done_) / done_) : "-";
  const std::string line = fmt::format("[{}] {:3.0f}% {}/{} samples  elapsed {}  ETA {}  {}", bar,
                                       100 * frac, items_done_, items_total_,
                                       format_duration(elapsed), eta, what_);
  if (tty_) std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  else std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
  printed_ = true;
}

void ProgressBar::finish() {
  if (!enabled_) return;
  done_ = total_;
  items_done_ = items_total_;
  what_.clear();
  draw(true);
}

}  // namespace sparkv

#include "core/byte_size.h"

#include <cctype>
#include <charconv>
#include <cmath>

#include "core/error.h"

namespace sparkv {

uint64_t parse_byte_size(std::string_view text, std::string_view what) {
  const char* b = text.data();
  const char* e = b + text.size();
  double value = 0;
  auto [ptr, ec] = std::from_chars(b, e, value);
  SPARKV_CHECK(ec == std::errc() && std::isfinite(value) && value >= 0,
               "{} '{}' is not a byte size (e.g. 1073741824, 512MiB, 2GiB)", what, text);
  std::string suffix;
  for (const char* p = ptr; p != e; ++p) suffix += static_cast<char>(std::tolower(*p));
  double scale = 0;
  if (suffix.empty() || suffix == "b") scale = 1;
  else if (suffix == "k" || suffix == "kib") scale = 0x1p10;
  else if (suffix == "m" || suffix == "mib") scale = 0x1p20;
  else if (suffix == "g" || suffix == "gib") scale = 0x1p30;
  else if (suffix == "t" || suffix == "tib") scale = 0x1p40;
  else if (suffix == "kb") scale = 1e3;
  else if (suffix == "mb") scale = 1e6;
  else if (suffix == "gb") scale = 1e9;
  else if (suffix == "tb") scale = 1e12;
  SPARKV_CHECK(scale > 0, "{} '{}': unknown unit '{}' (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)",
               what, text, std::string_view(ptr, e - ptr));
  const double bytes = value * scale;
  // 2^63 keeps the result exactly representable and far above any machine's memory.
  SPARKV_CHECK(bytes < 0x1p63, "{} '{}' is too large", what, text);
  return static_cast<uint64_t>(bytes);
}

std::string format_bytes(uint64_t n) {
  if (n < 1024) return fmt::format("{} bytes", n);
  const char* const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(n) / 1024;
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.2f} {}", v, units[u]);
}

}  // namespace sparkv

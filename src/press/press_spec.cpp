#include "press/press_spec.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/error.h"
#include "press/press_registry.h"

namespace sparkv {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

std::vector<std::string> method_names() {
  std::vector<std::string> n = {"full"};
  for (const PressMethod* m : press_methods()) n.push_back(m->name);
  return n;
}

std::vector<std::string> key_names(const PressMethod& m) {
  std::vector<std::string> k;
  for (const auto& d : m.keys) k.push_back(d.name);
  return k;
}

}  // namespace

PressParams::PressParams(std::string method, std::map<std::string, std::string> kv,
                         std::vector<std::string> valid_keys)
    : method_(std::move(method)), kv_(std::move(kv)), valid_(std::move(valid_keys)) {}

double PressParams::get_double(const std::string& key, double fallback, double lo, double hi,
                               bool lo_inclusive, bool hi_inclusive) {
  declared(key);
  used_.push_back(key);
  auto it = kv_.find(key);
  if (it == kv_.end()) return fallback;
  double v = 0;
  const char* b = it->second.data();
  const char* e = b + it->second.size();
  auto [ptr, ec] = std::from_chars(b, e, v);
  SPARKV_CHECK(ec == std::errc() && ptr == e && std::isfinite(v), "{}: {}='{}' is not a number",
               method_, key, it->second);
  const bool ok_lo = lo_inclusive ? v >= lo : v > lo;
  const bool ok_hi = hi_inclusive ? v <= hi : v < hi;
  SPARKV_CHECK(ok_lo && ok_hi, "{}: {}={} is out of range {}{}, {}{}", method_, key, it->second,
               lo_inclusive ? "[" : "(", lo, hi, hi_inclusive ? "]" : ")");
  return v;
}

int64_t PressParams::get_int(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) {
  declared(key);
  used_.push_back(key);
  auto it = kv_.find(key);
  if (it == kv_.end()) return fallback;
  int64_t v = 0;
  const char* b = it->second.data();
  const char* e = b + it->second.size();
  auto [ptr, ec] = std::from_chars(b, e, v);
  SPARKV_CHECK(ec == std::errc() && ptr == e, "{}: {}='{}' is not an integer", method_, key,
               it->second);
  SPARKV_CHECK(v >= lo && v <= hi, "{}: {}={} is out of range [{}, {}]", method_, key, v, lo, hi);
  return v;
}

std::string PressParams::get_choice(const std::string& key, const std::string& fallback,
                                    const std::vector<std::string>& allowed) {
  declared(key);
  used_.push_back(key);
  auto it = kv_.find(key);
  if (it == kv_.end()) return fallback;
  SPARKV_CHECK(std::find(allowed.begin(), allowed.end(), it->second) != allowed.end(),
               "{}: unknown {} '{}' (valid: {})", method_, key, it->second, join(allowed));
  return it->second;
}

void PressParams::declared(const std::string& key) const {
  // A factory reading a key its registration does not list is a bug in that press, not bad input.
  SPARKV_CHECK(std::find(valid_.begin(), valid_.end(), key) != valid_.end(),
               "internal: press '{}' reads key '{}' that its registration does not declare",
               method_, key);
}

void PressParams::finish() const {
  for (const auto& [k, v] : kv_)
    SPARKV_CHECK(std::find(used_.begin(), used_.end(), k) != used_.end(),
                 "{}: unknown key '{}' (valid keys: {})", method_, k, join(valid_));
}

int64_t Budget::kept(int64_t n) const {
  if (budget > 0) return std::min(budget, n);
  return static_cast<int64_t>(static_cast<double>(n) * (1.0 - ratio));
}

std::string Budget::spec() const {
  return budget > 0 ? "budget=" + std::to_string(budget) : fmt::format("ratio={}", ratio);
}

Budget Budget::parse(PressParams& p) {
  Budget b;
  SPARKV_CHECK(p.has("budget") != p.has("ratio"), "{}: give exactly one of budget=N or ratio=R",
               p.method());
  if (p.has("budget"))
    b.budget = p.get_int("budget", 0, 1, int64_t{1} << 40);
  else
    b.ratio = p.get_double("ratio", 0, 0.0, 1.0, true, false);
  return b;
}

PressPipeline parse_press_spec(const std::string& spec) {
  SPARKV_CHECK(!spec.empty(), "empty press spec (use 'full' for no compression)");
  std::vector<std::unique_ptr<Press>> presses;
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t plus = spec.find('+', start);
    const std::string part =
        spec.substr(start, plus == std::string::npos ? std::string::npos : plus - start);
    SPARKV_CHECK(!part.empty(), "press spec '{}': empty press between '+' signs", spec);
    const size_t colon = part.find(':');
    const std::string name = part.substr(0, colon);
    std::map<std::string, std::string> kv;
    if (colon != std::string::npos) {
      const std::string args = part.substr(colon + 1);
      SPARKV_CHECK(!args.empty(), "press spec '{}': '{}:' has no key=value pairs", spec, name);
      size_t a = 0;
      while (a <= args.size()) {
        const size_t comma = args.find(',', a);
        const std::string item =
            args.substr(a, comma == std::string::npos ? std::string::npos : comma - a);
        const size_t eq = item.find('=');
        SPARKV_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < item.size(),
                     "press spec '{}': '{}' is not key=value", spec, item);
        const std::string key = item.substr(0, eq);
        SPARKV_CHECK(kv.count(key) == 0, "press spec '{}': key '{}' given twice for {}", spec, key,
                     name);
        kv[key] = item.substr(eq + 1);
        if (comma == std::string::npos) break;
        a = comma + 1;
      }
    }
    if (name == "full") {
      SPARKV_CHECK(kv.empty(), "press spec '{}': 'full' takes no keys", spec);
      SPARKV_CHECK(spec == "full", "press spec '{}': 'full' cannot be combined with other presses",
                   spec);
      return PressPipeline();
    }
    const PressMethod* m = find_press_method(name);
    SPARKV_CHECK(m != nullptr, "press spec '{}': unknown method '{}' (valid: {})", spec, name,
                 join(method_names()));
    const std::vector<std::string> keys = key_names(*m);
    for (const auto& [k, v] : kv)
      SPARKV_CHECK(std::find(keys.begin(), keys.end(), k) != keys.end(),
                   "{}: unknown key '{}' (valid keys: {})", name, k, join(keys));
    PressParams params(name, kv, keys);
    presses.push_back(m->make(params));
    params.finish();
    if (plus == std::string::npos) break;
    start = plus + 1;
  }
  return PressPipeline(std::move(presses));
}

std::string press_methods_help() {
  std::string s = "full (no compression)";
  for (const PressMethod* m : press_methods())
    s += "\n  " + std::string(m->name) + ": " + join(key_names(*m));
  return s;
}

}  // namespace sparkv

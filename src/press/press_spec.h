// The recipe grammar:  spec := "full" | press ("+" press)* ;  press := method [":" key "=" value
// ("," key "=" value)*] e.g. "snapkv:budget=128+spark:ratio=0.8",
// "pyramidkv:budget=512+think:ratio=0.5", "full". Errors name the offending token and list the
// valid methods or keys.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "press/press.h"

namespace sparkv {

// Typed, validated access to one press's key=value parameters. Every key must be consumed:
// finish() rejects leftovers, naming them and the method's valid keys.
class PressParams {
 public:
  PressParams(std::string method, std::map<std::string, std::string> kv,
              std::vector<std::string> valid_keys);

  const std::string& method() const { return method_; }
  bool has(const std::string& key) const { return kv_.count(key) != 0; }
  double get_double(const std::string& key, double fallback, double lo, double hi,
                    bool lo_inclusive = true, bool hi_inclusive = true);
  int64_t get_int(const std::string& key, int64_t fallback, int64_t lo, int64_t hi);
  std::string get_choice(const std::string& key, const std::string& fallback,
                         const std::vector<std::string>& allowed);
  void finish() const;

 private:
  void declared(const std::string& key) const;

  std::string method_;
  std::map<std::string, std::string> kv_;
  std::vector<std::string> valid_;
  mutable std::vector<std::string> used_;
};

// Budget semantics shared by the eviction presses: budget=B keeps min(B, T) tokens per KV head
// (the observation window counts toward B), ratio=r removes the fraction r (keeps int(T*(1-r))).
struct Budget {
  int64_t budget = 0;  // > 0 when given
  double ratio = -1;   // in [0, 1) when given
  int64_t kept(int64_t n_tokens) const;
  std::string spec() const;
  static Budget parse(PressParams& p);  // exactly one of budget= / ratio= is required
};

PressPipeline parse_press_spec(const std::string& spec);
// "method: keys" lines for --help texts.
std::string press_methods_help();

}  // namespace sparkv

// sparkv public API: compression recipes.
//
//   recipe := "full" | press ("+" press)*      press := method [":" key "=" value ("," ...)*]
//
// e.g. "spark:ratio=0.8", "snapkv:budget=512+spark:ratio=0.8",
// "pyramidkv:budget=256+think:ratio=0.5". Eviction presses (snapkv, pyramidkv, h2o, tova, ...)
// narrow which tokens survive, left to right; at most one storage press (spark, think, quant) comes
// last and packs what survives. A bad recipe throws sparkv::Error naming the token at fault and
// listing the valid methods or keys.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sparkv/error.h"

namespace sparkv {
class PressPipeline;
}

namespace sparkv::api {

// One key a method takes, as its registration documents it.
struct RecipeKey {
  std::string name;
  std::string help;
};
struct RecipeMethod {
  std::string name;
  std::string help;
  std::vector<RecipeKey> keys;
};

class Recipe {
 public:
  Recipe();  // the full cache
  static Recipe parse(const std::string& spec);

  // The canonical spec: every key with its value, defaults included ("full" for no press).
  std::string spec() const;
  bool is_full() const;

  // Every method the recipe grammar knows, with its keys.
  static std::vector<RecipeMethod> methods();
  // "method: keys" lines (what `--help` prints).
  static std::string methods_help();

  // The engine's pipeline (for code inside this library).
  const sparkv::PressPipeline& impl() const { return *p_; }

 private:
  std::shared_ptr<const sparkv::PressPipeline> p_;
};

}  // namespace sparkv::api

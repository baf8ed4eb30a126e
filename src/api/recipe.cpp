// The public Recipe (include/sparkv/recipe.h) over press/'s parser and registry.
#include "sparkv/recipe.h"

#include "press/press_registry.h"
#include "press/press_spec.h"

namespace sparkv::api {

Recipe::Recipe() : p_(std::make_shared<const PressPipeline>()) {}

Recipe Recipe::parse(const std::string& spec) {
  Recipe r;
  r.p_ = std::make_shared<const PressPipeline>(parse_press_spec(spec));
  return r;
}

std::string Recipe::spec() const {
  return p_->spec();
}
bool Recipe::is_full() const {
  return p_->empty();
}

std::vector<RecipeMethod> Recipe::methods() {
  std::vector<RecipeMethod> out;
  for (const PressMethod* m : press_methods()) {
    RecipeMethod r{m->name, m->help, {}};
    for (const auto& k : m->keys) r.keys.push_back({k.name, k.help});
    out.push_back(std::move(r));
  }
  return out;
}

std::string Recipe::methods_help() {
  return press_methods_help();
}

}  // namespace sparkv::api

#include "press/press_registry.h"

namespace sparkv {

#define SPARKV_PRESS(id) extern const PressMethod id##_press;
#include "press/press_list.h"
#undef SPARKV_PRESS

const std::vector<const PressMethod*>& press_methods() {
#define SPARKV_PRESS(id) &id##_press,
  static const std::vector<const PressMethod*> all = {
#include "press/press_list.h"
  };
#undef SPARKV_PRESS
  return all;
}

const PressMethod* find_press_method(const std::string& name) {
  for (const PressMethod* m : press_methods())
    if (name == m->name) return m;
  return nullptr;
}

}  // namespace sparkv

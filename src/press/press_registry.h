// The press registry: every recipe method is one PressMethod — its name, help, keys (each with its
// help) and factory — defined next to the press it makes, and listed by one line in
// press/press_list.h. The recipe parser, `--help`, the spec errors and the tests all read this
// list; nothing else names the methods. See docs/adding-a-press.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "press/press.h"
#include "press/press_spec.h"

namespace sparkv {

struct PressKeyDoc {
  const char* name;
  const char* help;  // meaning, range and default
};

struct PressMethod {
  const char* name;     // the recipe's method token ("snapkv")
  const char* help;     // one line
  const char* example;  // a valid recipe using it (tests parse it; docs show it)
  std::vector<PressKeyDoc> keys;
  // Reads its keys from PressParams (which rejects keys not in `keys`, and throws an internal
  // error on a read of an undeclared key).
  std::unique_ptr<Press> (*make)(PressParams& params);
};

// Every registered method, in press_list.h order.
const std::vector<const PressMethod*>& press_methods();
// nullptr when no method has this name.
const PressMethod* find_press_method(const std::string& name);

}  // namespace sparkv

// The --press recipe parser. Besides not crashing, an accepted spec must print a canonical spec
// that parses again to the same canonical spec (the grid runner keys results by it).
#include <cstdint>
#include <string>

#include "core/error.h"
#include "fuzz_util.h"
#include "press/press_spec.h"

using namespace sparkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // recipes are command-line arguments
  const std::string spec(reinterpret_cast<const char*>(data), size);
  std::string canonical;
  try {
    canonical = parse_press_spec(spec).spec();
  } catch (const Error& e) {
    fuzz::note(e);
    return 0;
  }
  std::string again;
  try {
    again = parse_press_spec(canonical).spec();
  } catch (const Error&) {
    __builtin_trap();  // the canonical form of an accepted spec was rejected
  }
  if (again != canonical) __builtin_trap();
  return 0;
}

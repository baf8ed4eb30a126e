// GGUF container + everything built on it: metadata accessors, the GGUF tokenizer and the model
// loader (config from metadata, weight binding). Any sparkv::Error is a correct rejection; a crash,
// sanitizer report, leak or other exception type is a finding.
#include <cstdint>

#include "core/error.h"
#include "fuzz_util.h"
#include "io/gguf.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

using namespace sparkv;

namespace {

// Runs f, ignoring a sparkv::Error: wrong-type errors are expected when every accessor is tried
// on every key.
template <typename F>
void quietly(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

// Reads every key through every typed accessor, as `inspect` and the loaders might.
void touch_metadata(const GgufFile& g) {
  for (const auto& entry : g.metadata()) {
    const std::string& key = entry.first;  // clang 14 cannot capture a structured binding
    quietly([&] { (void)g.get_int(key); });
    quietly([&] { (void)g.get_float(key); });
    quietly([&] { (void)g.get_bool(key); });
    quietly([&] { (void)g.get_string(key); });
    quietly([&] { (void)g.get_string_array(key); });
    quietly([&] { (void)g.get_float_array(key); });
    quietly([&] { (void)g.get_int_array(key); });
  }
  for (const GgufTensorInfo& t : g.tensors()) {
    // Touch the first and last byte: a range that left the mapping faults (a crash, a finding).
    if (t.n_bytes > 0) {
      volatile uint8_t first = t.data[0];
      volatile uint8_t last = t.data[t.n_bytes - 1];
      (void)first;
      (void)last;
    }
    (void)g.find_tensor(t.name);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::MemFile file({reinterpret_cast<const char*>(data), size});
  try {
    GgufFile g(file.path());
    touch_metadata(g);
    try {
      std::unique_ptr<Tokenizer> tok = Tokenizer::from_gguf(g);
      const std::vector<int32_t> ids = tok->encode("Hello, world! 123 <s> héllo", true, true);
      for (int32_t id : ids)
        if (id < 0 || id >= tok->n_vocab()) __builtin_trap();
      (void)tok->decode(ids);
    } catch (const Error& e) {
      fuzz::note(e);
    }
  } catch (const Error& e) {
    fuzz::note(e);
    return 0;
  }
  try {
    (void)Model::load(file.path(), /*load_tokenizer=*/true);
  } catch (const Error& e) {
    fuzz::note(e);
  }
  return 0;
}

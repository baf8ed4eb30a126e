// safetensors reader: a single file, or a sharded folder (model.safetensors.index.json + shards).
// Input: first byte picks the mode; the rest is split at kFileSeparator into
//   mode 0: the .safetensors file
//   mode 1: index json, shard-0.safetensors, shard-1.safetensors, shard-2.safetensors
//   mode 2: like 1, but a plain folder without an index (one or more *.safetensors)
#include <cstdint>

#include "core/error.h"
#include "fuzz_util.h"
#include "io/safetensors.h"

using namespace sparkv;

namespace {

void touch(const SafetensorsModel& st) {
  for (const auto& [name, t] : st.tensors()) {
    // Touch the first and last byte: a range that left the mapping faults (a crash, a finding).
    if (t.n_bytes > 0) {
      volatile uint8_t first = t.data[0];
      volatile uint8_t last = t.data[t.n_bytes - 1];
      (void)first;
      (void)last;
    }
    if (t.numel() < 0) __builtin_trap();
    (void)st.find(name);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::ScratchDir dir;
  if (size < 1) return 0;
  const int mode = data[0] % 3;
  try {
    if (mode == 0) {
      fuzz::MemFile file({reinterpret_cast<const char*>(data + 1), size - 1});
      touch(SafetensorsModel(file.path()));
      return 0;
    }
    dir.clear();
    const auto parts = fuzz::split_files(data + 1, size - 1, 4);
    size_t i = 0;
    if (mode == 1) dir.write("model.safetensors.index.json", parts[i++]);
    for (int shard = 0; i < parts.size(); ++i, ++shard)
      dir.write("shard-" + std::to_string(shard) + ".safetensors", parts[i]);
    touch(SafetensorsModel(dir.path().string()));
  } catch (const Error& e) {
    fuzz::note(e);
  }
  return 0;
}

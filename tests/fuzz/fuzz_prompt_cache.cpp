// Prompt-cache file parser (runtime/cache_file.h). Input: the first byte picks the mode, the rest
// is the file:
//   mode 0: the bytes as they are (magic, version and checksum checks)
//   mode 1: the harness appends the right CRC-32, so mutations reach the structure parser and the
//           SparK validation behind the checksum
//   mode 2: the bytes as a file on disk through read_cache_header (the server's --cache-dir index
//           reads only the header of each file)
// A file that loads is then read back row by row and attended with one query per layer: anything
// the validator lets through must be safe for the kernels.
#include <zlib.h>

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "fuzz_util.h"
#include "runtime/cache_file.h"

using namespace sparkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::vector<uint8_t> file(data + 1, data + size);
  if (data[0] % 3 == 2) {
    static const std::string path =
        "/tmp/fuzz_prompt_cache_" + std::to_string(getpid()) + ".sparkv";
    {
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      f.write(reinterpret_cast<const char*>(file.data()),
              static_cast<std::streamsize>(file.size()));
    }
    try {
      const CacheHeader h = read_cache_header(path);
      if (h.history.size() > file.size() / 4) __builtin_trap();  // bounded by the file
    } catch (const Error& e) {
      fuzz::note(e);
    }
    return 0;
  }
  if (data[0] % 3 == 1) {
    const uint32_t c = static_cast<uint32_t>(
        crc32(crc32(0L, Z_NULL, 0), file.data(), static_cast<uInt>(file.size())));
    file.resize(file.size() + 4);
    std::memcpy(file.data() + file.size() - 4, &c, 4);
  }
  try {
    CacheImage im = load_cache_image(file.data(), file.size(), "fuzz");
    for (const auto& c : im.caches) {
      const int D = c->head_dim();
      const size_t q_len = static_cast<size_t>(c->n_kv()) * c->group() * D;
      if (q_len > (size_t{1} << 16)) continue;
      const int64_t n = c->n_tokens(0);
      if (n > (int64_t{1} << 14)) continue;
      std::vector<float> k(static_cast<size_t>(n) * D), v(k.size());
      for (int h = 0; h < c->n_kv(); ++h)
        if (c->n_tokens(h) == n) c->read(h, 0, n, k.data(), v.data());
      std::vector<float> q(q_len, 0.25f), out(q_len);
      if (n > 0) c->attend(q.data(), 1, out.data());
    }
  } catch (const Error& e) {
    fuzz::note(e);
  }
  return 0;
}

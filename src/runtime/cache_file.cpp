#include "runtime/cache_file.h"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "kv/layer_io.h"

namespace sparkv {

namespace {

constexpr char kMagic[8] = {'S', 'P', 'A', 'R', 'K', 'V', 'K', 'V'};

uint32_t crc32_of(const uint8_t* p, size_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  while (n > 0) {  // zlib takes uInt lengths
    const uInt step = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    c = crc32(c, p, step);
    p += step;
    n -= step;
  }
  return static_cast<uint32_t>(c);
}

// The magic and version at the start of a file (12 bytes, present).
void check_preamble(const uint8_t* head, const std::string& what) {
  if (std::memcmp(head, kMagic, sizeof(kMagic)) != 0)
    fail("{}: not a sparkv prompt cache (no SPARKVKV header)", what);
  uint32_t version;
  std::memcpy(&version, head + sizeof(kMagic), sizeof version);
  if (version != kCacheFileVersion)
    fail("{}: prompt cache format version {}; this build reads version {}", what, version,
         kCacheFileVersion);
}

}  // namespace

std::vector<uint8_t> save_cache_image(const Session& s, const std::string& recipe,
                                      uint64_t kv_before, uint64_t kv_after) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  w.raw(kMagic, sizeof(kMagic));
  w.put<uint32_t>(kCacheFileVersion);
  w.str(s.model().fingerprint());
  w.str(s.model().config().arch_name);
  w.str(recipe);
  w.put<uint8_t>(static_cast<uint8_t>(s.options().kv_types.k));
  w.put<uint8_t>(static_cast<uint8_t>(s.options().kv_types.v));
  w.put<int64_t>(s.n_past());
  w.vec(s.history());
  w.vec(s.logits());
  w.put<uint64_t>(kv_before);
  w.put<uint64_t>(kv_after);
  w.put<uint32_t>(static_cast<uint32_t>(s.caches().size()));
  for (const auto& c : s.caches()) save_layer_cache(*c, w);
  w.put<uint32_t>(crc32_of(out.data(), out.size()));
  return out;
}

CacheHeader read_cache_header(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("{}: cannot open: {}", path, std::strerror(errno));
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) fail("{}: cannot stat: {}", path, ec.message());
  const auto get = [&](void* p, uint64_t n) {
    f.read(static_cast<char*>(p), static_cast<std::streamsize>(n));
    if (!f) fail("{}: truncated prompt cache header", path);
  };
  // Counts are bounded by the file's size before anything is allocated.
  const auto count = [&](uint64_t elem) {
    uint64_t n = 0;
    get(&n, sizeof n);
    if (n > size / elem) fail("{}: corrupt prompt cache header (count {})", path, n);
    return n;
  };
  const auto str = [&] {
    std::string out(count(1), '\0');
    get(out.data(), out.size());
    return out;
  };
  if (size < sizeof(kMagic) + 8) fail("{}: not a sparkv prompt cache (no SPARKVKV header)", path);
  uint8_t head[sizeof(kMagic) + 4];
  get(head, sizeof head);
  check_preamble(head, path);
  CacheHeader h;
  h.fingerprint = str();
  h.model_name = str();
  h.recipe = str();
  uint8_t types[2];
  int64_t n_past = 0;
  get(types, sizeof types);
  get(&n_past, sizeof n_past);
  h.history.resize(count(sizeof(int32_t)));
  get(h.history.data(), h.history.size() * sizeof(int32_t));
  return h;
}

CacheImage load_cache_image(const uint8_t* data, size_t n, const std::string& what) {
  if (n < sizeof(kMagic) + 8) fail("{}: not a sparkv prompt cache (no SPARKVKV header)", what);
  check_preamble(data, what);
  ByteReader r(data, n - 4, what);
  r.skip(sizeof(kMagic) + 4);
  uint32_t stored;
  std::memcpy(&stored, data + n - 4, 4);
  if (crc32_of(data, n - 4) != stored)
    fail("{}: checksum mismatch (the file is corrupt or truncated)", what);
  CacheImage im;
  im.fingerprint = r.str();
  im.model_name = r.str();
  im.recipe = r.str();
  const auto max_type = static_cast<uint8_t>(KvDtype::kIQ4_NL);
  im.types.k = static_cast<KvDtype>(r.get_in<uint8_t>(0, max_type, "K type"));
  im.types.v = static_cast<KvDtype>(r.get_in<uint8_t>(0, max_type, "V type"));
  im.n_past = r.get_in<int64_t>(0, int64_t{1} << 31, "n_past");
  im.history = r.vec<int32_t>();
  im.logits = r.vec<float>();
  im.kv_before = r.get<uint64_t>();
  im.kv_after = r.get<uint64_t>();
  const uint32_t n_layer = r.get_in<uint32_t>(1, 4096, "n_layer");
  for (uint32_t l = 0; l < n_layer; ++l) im.caches.push_back(load_layer_cache(r));
  if (r.left() != 0) fail("{}: {} bytes after the last layer (corrupt)", what, r.left());
  return im;
}

void restore_cache_image(CacheImage&& im, Session& s, const std::string& what) {
  const ModelConfig& c = s.model().config();
  const std::string& fingerprint = s.model().fingerprint();
  if (im.fingerprint != fingerprint)
    fail("{}: made with another model (fingerprint {}, {}; this model is {}, {})", what,
         im.fingerprint, im.model_name, fingerprint, c.arch_name);
  const KvTypes want = s.options().kv_types;
  if (im.types.k != want.k || im.types.v != want.v)
    fail("{}: holds a {}/{} cache; this session uses {}/{} (-ctk / -ctv)", what,
         kv_dtype_name(im.types.k), kv_dtype_name(im.types.v), kv_dtype_name(want.k),
         kv_dtype_name(want.v));
  if (static_cast<int>(im.caches.size()) != c.n_layer)
    fail("{}: {} layers; the model has {}", what, im.caches.size(), c.n_layer);
  for (size_t l = 0; l < im.caches.size(); ++l) {
    const LayerCache& lc = *im.caches[l];
    if (lc.n_kv() != c.n_head_kv || lc.head_dim() != c.head_dim || lc.group() != c.group_size())
      fail("{}: layer {} has {} KV heads x {} channels (group {}); the model has {} x {} ({})",
           what, l, lc.n_kv(), lc.head_dim(), lc.group(), c.n_head_kv, c.head_dim, c.group_size());
  }
  if (static_cast<int64_t>(im.logits.size()) != c.n_vocab)
    fail("{}: {} logits; the model has {} tokens", what, im.logits.size(), c.n_vocab);
  if (static_cast<int64_t>(im.history.size()) != im.n_past)
    fail("{}: {} history tokens for position {} (corrupt)", what, im.history.size(), im.n_past);
  for (int32_t id : im.history)
    if (id < 0 || id >= c.n_vocab)
      fail("{}: token id {} out of the vocabulary (corrupt)", what, id);
  if (im.n_past > s.n_ctx())
    fail("{}: holds {} tokens; the session's context is {} (raise --ctx-size)", what, im.n_past,
         s.n_ctx());
  s.restore(std::move(im.caches), im.n_past, std::move(im.history), std::move(im.logits));
}

void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) fail("{}: cannot write ({})", tmp, std::strerror(errno));
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
    if (!f) fail("{}: write failed ({})", tmp, std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    fail("{}: cannot rename into place ({})", path, std::strerror(errno));
}

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) fail("{}: cannot open ({})", path, std::strerror(errno));
  const std::streamoff size = f.tellg();
  if (size < 0) fail("{}: cannot read its size", path);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  f.seekg(0);
  if (size > 0 && !f.read(reinterpret_cast<char*>(bytes.data()), size))
    fail("{}: read failed ({})", path, std::strerror(errno));
  return bytes;
}

}  // namespace sparkv

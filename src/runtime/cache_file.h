// The prompt-cache file: a Session's whole state (every layer's KV cache in its storage form, the
// position, the token history, the last logits) after a prefill and its compression, so that a
// later run — `sparkv run --prompt-cache`, or a server's prompt cache in memory or under
// --cache-dir — starts from it instead of prefilling again.
//
// Layout (little-endian), version 1:
//   "SPARKVKV" u32 version | str model fingerprint | str model name | str recipe spec
//   u8 K type, u8 V type | i64 n_past | vec<i32> history | vec<f32> logits
//   u64 KV bytes before / after compression | u32 n_layer | n_layer layer records (kv/layer_io.h)
//   u32 CRC-32 (zlib) of every byte before it
// A str / vec is a u64 count, then the elements. Loading checks the magic, version and checksum
// first, then every field against the model it is loaded for; a foreign, corrupt or truncated
// file fails with one line naming it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kv/layer_cache.h"
#include "model/model.h"
#include "quant/kv_types.h"
#include "runtime/session.h"

namespace sparkv {

inline constexpr uint32_t kCacheFileVersion = 1;

struct CacheImage {
  std::string fingerprint, model_name, recipe;
  KvTypes types;
  int64_t n_past = 0;
  std::vector<int32_t> history;
  std::vector<float> logits;
  uint64_t kv_before = 0, kv_after = 0;
  std::vector<std::unique_ptr<LayerCache>> caches;
};

// What a file holds, from its header alone (through the history; the checksum covers the whole
// file and is checked when it is loaded): for indexing a directory of files without reading
// their caches. Throws one line for a file that is not a prompt cache, another version, or a
// header cut short.
struct CacheHeader {
  std::string fingerprint, model_name, recipe;
  std::vector<int32_t> history;
};
CacheHeader read_cache_header(const std::string& path);

// Serialises a session's state under its model's fingerprint (Model::fingerprint); throws for a
// cache form that cannot be saved.
std::vector<uint8_t> save_cache_image(const Session& s, const std::string& recipe,
                                      uint64_t kv_before, uint64_t kv_after);
// Parses and checks a whole file's bytes; `what` names it in errors ("prompt cache FILE").
CacheImage load_cache_image(const uint8_t* data, size_t n, const std::string& what);
// The image's caches into a fresh session of `model`: checks that the fingerprint, layer shapes,
// cache types and context room match, then hands the caches over.
void restore_cache_image(CacheImage&& image, Session& s, const std::string& what);

// Whole-file helpers: the write goes to FILE.tmp and is renamed, so a reader never sees half a
// file; the read fails with one line for a missing or unreadable file.
void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes);
std::vector<uint8_t> read_file_bytes(const std::string& path);

}  // namespace sparkv

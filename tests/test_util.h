// Shared test helpers: a self-deleting temp folder, file read/write, a little-endian byte builder
// for hand-made (often malformed) binary files, and capture of sparkv::Error messages.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace sparkv::test {

// n token ids in [1, V) from an LCG: a reproducible prompt for any vocabulary.
inline std::vector<int32_t> pseudo_ids(int V, int n, uint32_t seed) {
  std::vector<int32_t> ids(n);
  for (auto& id : ids) {
    seed = seed * 1664525u + 1013904223u;
    id = static_cast<int32_t>(1 + (seed >> 8) % (V - 1));
  }
  return ids;
}

// The greedy token of a logits row.
inline int argmax(const std::vector<float>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

// gtest parameter names for golden model names ("llama3-f32" -> "llama3_f32").
struct GoldenName {
  template <typename Info>
  std::string operator()(const Info& info) const {
    std::string n = info.param;
    for (char& c : n)
      if (c == '-') c = '_';
    return n;
  }
};

// Path of the golden model `name` (tests/golden/forward_manifest.json) as the build made it.
inline std::string golden_model_path(const std::string& name) {
  std::ifstream in(std::string(SPARKV_SOURCE_DIR) + "/tests/golden/forward_manifest.json");
  const auto j = nlohmann::json::parse(in);
  for (const auto& e : j["models"])
    if (e["name"] == name)
      return std::string(SPARKV_GOLDEN_DIR) + "/" + e["path"].get<std::string>();
  throw std::runtime_error("no golden model " + name);
}

// A fresh folder under the system temp dir, removed (with its contents) on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sparkv-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + tmpl);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Full path of `name` inside the folder (not created).
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Corrupts 1..max_flips random positions of `bytes`: single-bit flips mixed with whole-byte
// overwrites (the latter hit the high bytes of lengths and counts). Shared by the format tests.
inline void mutate_bytes(std::vector<uint8_t>& bytes, std::mt19937& rng, int max_flips) {
  const int n_flips = 1 + static_cast<int>(rng() % max_flips);
  for (int k = 0; k < n_flips; ++k) {
    const size_t pos = rng() % bytes.size();
    if (rng() % 2)
      bytes[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
    else
      bytes[pos] = static_cast<uint8_t>(rng());
  }
}

inline void write_bytes(const std::string& path, const void* data, size_t n) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw std::runtime_error("cannot create " + path);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
  if (!f) throw std::runtime_error("cannot write " + path);
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  write_bytes(path, bytes.data(), bytes.size());
}

inline void write_text(const std::string& path, std::string_view text) {
  write_bytes(path, text.data(), text.size());
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// Appends little-endian scalars and raw bytes; chainable: Bytes().u32(1).str("x").
class Bytes {
 public:
  template <typename T>
  Bytes& put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    data_.insert(data_.end(), p, p + sizeof(T));
    return *this;
  }
  Bytes& u8(uint8_t v) { return put(v); }
  Bytes& u16(uint16_t v) { return put(v); }
  Bytes& u32(uint32_t v) { return put(v); }
  Bytes& u64(uint64_t v) { return put(v); }
  Bytes& i32(int32_t v) { return put(v); }
  Bytes& i64(int64_t v) { return put(v); }
  Bytes& f32(float v) { return put(v); }
  Bytes& raw(std::string_view s) {
    data_.insert(data_.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& raw(const std::vector<uint8_t>& b) {
    data_.insert(data_.end(), b.begin(), b.end());
    return *this;
  }
  // A u64 length prefix then the bytes (the GGUF string encoding).
  Bytes& str(std::string_view s) { return u64(s.size()).raw(s); }
  Bytes& zeros(size_t n) {
    data_.insert(data_.end(), n, 0);
    return *this;
  }
  Bytes& pad_to(size_t alignment) {
    return zeros((alignment - data_.size() % alignment) % alignment);
  }

  size_t size() const { return data_.size(); }
  const std::vector<uint8_t>& vec() const { return data_; }
  operator const std::vector<uint8_t>&() const { return data_; }

 private:
  std::vector<uint8_t> data_;
};

// Runs f and returns the message of the sparkv::Error it throws; records a test failure (and
// returns "") if it throws nothing or something else.
template <typename F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const sparkv::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected sparkv::Error, got another exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected sparkv::Error, nothing was thrown";
  return "";
}

}  // namespace sparkv::test

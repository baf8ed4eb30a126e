// Byte streams for saving and loading KV caches (the prompt-cache file, runtime/cache_file.h).
// Little-endian fixed-width fields, vectors as a u64 count then the elements. The reader checks
// every length against what is left, so a truncated or hostile stream fails with a one-line error
// instead of reading past its end or allocating what a corrupt count asks for.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace sparkv {

class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>& out) : out_(out) {}

  template <typename T>
  void put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    raw(&v, sizeof(T));
  }
  void raw(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  template <typename T>
  void vec(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    put<uint64_t>(v.size());
    if (!v.empty()) raw(v.data(), v.size() * sizeof(T));
  }
  void str(const std::string& s) {
    put<uint64_t>(s.size());
    raw(s.data(), s.size());
  }
  size_t size() const { return out_.size(); }

 private:
  std::vector<uint8_t>& out_;
};

class ByteReader {
 public:
  // what: names the stream in errors ("prompt cache FILE").
  ByteReader(const uint8_t* p, size_t n, std::string what) : p_(p), n_(n), what_(std::move(what)) {}

  template <typename T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    T v;
    raw(&v, sizeof(T));
    return v;
  }
  void raw(void* dst, size_t n) {
    need(n);
    std::memcpy(dst, p_ + pos_, n);
    pos_ += n;
  }
  template <typename T>
  std::vector<T> vec() {
    static_assert(std::is_trivially_copyable_v<T>);
    const uint64_t count = get<uint64_t>();
    if (count > (n_ - pos_) / sizeof(T))
      fail("{}: a field claims {} elements, more than the {} bytes left (truncated or corrupt)",
           what_, count, n_ - pos_);
    std::vector<T> v(count);
    if (count) raw(v.data(), count * sizeof(T));
    return v;
  }
  std::string str() {
    const auto b = vec<char>();
    return std::string(b.begin(), b.end());
  }
  // An integer field that must lie in [lo, hi]: corrupt shapes fail here, before any allocation.
  template <typename T>
  T get_in(T lo, T hi, const char* field) {
    const T v = get<T>();
    if (v < lo || v > hi) fail("{}: {} = {} is out of range [{}, {}]", what_, field, v, lo, hi);
    return v;
  }
  const uint8_t* here() const { return p_ + pos_; }
  void skip(size_t n) {
    need(n);
    pos_ += n;
  }
  size_t pos() const { return pos_; }
  size_t left() const { return n_ - pos_; }
  const std::string& what() const { return what_; }

 private:
  void need(size_t n) const {
    if (n > n_ - pos_)
      fail("{}: truncated ({} bytes needed at offset {}, {} left)", what_, n, pos_, n_ - pos_);
  }
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  std::string what_;
};

}  // namespace sparkv

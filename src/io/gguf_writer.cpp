#include "io/gguf_writer.h"

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include "core/error.h"

namespace sparkv {

namespace {

constexpr uint32_t kVersion = 3;
constexpr int kMaxArrayDepth = 8;  // the reader's limit; deeper files would not load

template <typename T>
void put(const std::function<void(const void*, size_t)>& sink, T v) {
  sink(&v, sizeof(T));
}

void put_string(const std::function<void(const void*, size_t)>& sink, const std::string& s) {
  put<uint64_t>(sink, s.size());
  sink(s.data(), s.size());
}

// Range-checks an integer alternative against the on-disk width and returns its bits.
template <typename T>
T int_as(const GgufValue& v, const std::string& key) {
  if (const auto* u = std::get_if<uint64_t>(&v.v)) {
    SPARKV_CHECK(*u <= static_cast<uint64_t>(std::numeric_limits<T>::max()),
                 "gguf writer: key '{}': value {} does not fit {}", key, *u,
                 gguf_value_type_name(v.type));
    return static_cast<T>(*u);
  }
  if (const auto* i = std::get_if<int64_t>(&v.v)) {
    const bool fits = std::cmp_greater_equal(*i, std::numeric_limits<T>::min()) &&
                      std::cmp_less_equal(*i, std::numeric_limits<T>::max());
    SPARKV_CHECK(fits, "gguf writer: key '{}': value {} does not fit {}", key, *i,
                 gguf_value_type_name(v.type));
    return static_cast<T>(*i);
  }
  fail("gguf writer: key '{}': type {} needs an integer value", key, gguf_value_type_name(v.type));
}

double float_of(const GgufValue& v, const std::string& key) {
  const auto* d = std::get_if<double>(&v.v);
  SPARKV_CHECK(d != nullptr, "gguf writer: key '{}': type {} needs a floating-point value", key,
               gguf_value_type_name(v.type));
  return *d;
}

// Writes the payload of `v` (no type tag: the caller wrote it, or the array header did).
void put_value(const std::function<void(const void*, size_t)>& sink, const GgufValue& v,
               const std::string& key, int depth) {
  switch (v.type) {
    case GgufValueType::kU8:
      put(sink, int_as<uint8_t>(v, key));
      return;
    case GgufValueType::kI8:
      put(sink, int_as<int8_t>(v, key));
      return;
    case GgufValueType::kU16:
      put(sink, int_as<uint16_t>(v, key));
      return;
    case GgufValueType::kI16:
      put(sink, int_as<int16_t>(v, key));
      return;
    case GgufValueType::kU32:
      put(sink, int_as<uint32_t>(v, key));
      return;
    case GgufValueType::kI32:
      put(sink, int_as<int32_t>(v, key));
      return;
    case GgufValueType::kU64:
      put(sink, int_as<uint64_t>(v, key));
      return;
    case GgufValueType::kI64:
      put(sink, int_as<int64_t>(v, key));
      return;
    case GgufValueType::kF32:
      put(sink, static_cast<float>(float_of(v, key)));
      return;
    case GgufValueType::kF64:
      put(sink, float_of(v, key));
      return;
    case GgufValueType::kBool: {
      const auto* b = std::get_if<bool>(&v.v);
      SPARKV_CHECK(b != nullptr, "gguf writer: key '{}': bool needs a bool value", key);
      put<uint8_t>(sink, *b ? 1 : 0);
      return;
    }
    case GgufValueType::kString: {
      const auto* s = std::get_if<std::string>(&v.v);
      SPARKV_CHECK(s != nullptr, "gguf writer: key '{}': string needs a string value", key);
      put_string(sink, *s);
      return;
    }
    case GgufValueType::kArray: {
      const auto* a = std::get_if<std::shared_ptr<GgufArray>>(&v.v);
      SPARKV_CHECK(a != nullptr && *a != nullptr, "gguf writer: key '{}': array has no items", key);
      SPARKV_CHECK(depth < kMaxArrayDepth, "gguf writer: key '{}': arrays nested deeper than {}",
                   key, kMaxArrayDepth);
      put<uint32_t>(sink, static_cast<uint32_t>((*a)->elem_type));
      put<uint64_t>(sink, (*a)->items.size());
      for (const GgufValue& item : (*a)->items) {
        SPARKV_CHECK(item.type == (*a)->elem_type,
                     "gguf writer: key '{}': array of {} holds an item of type {}", key,
                     gguf_value_type_name((*a)->elem_type), gguf_value_type_name(item.type));
        put_value(sink, item, key, depth + 1);
      }
      return;
    }
  }
  fail("gguf writer: key '{}': unknown value type {}", key, static_cast<uint32_t>(v.type));
}

uint64_t align_up(uint64_t x, uint64_t a) {
  return (x + a - 1) / a * a;
}

GgufValue array_value(GgufValueType elem, std::vector<GgufValue> items) {
  auto arr = std::make_shared<GgufArray>();
  arr->elem_type = elem;
  arr->items = std::move(items);
  return GgufValue{GgufValueType::kArray, std::move(arr)};
}

}  // namespace

void GgufWriter::add_value(const std::string& key, GgufValue v) {
  SPARKV_CHECK(!keys_.count(key), "gguf writer: duplicate metadata key '{}'", key);
  // Validate now (into a discarding sink) so a bad value fails at the call that added it.
  put_value([](const void*, size_t) {}, v, key, 0);
  if (key == "general.alignment") {
    SPARKV_CHECK(v.type == GgufValueType::kU32, "gguf writer: general.alignment must be u32");
    const uint64_t a = std::get<uint64_t>(v.v);
    SPARKV_CHECK(a != 0 && std::has_single_bit(a),
                 "gguf writer: general.alignment {} is not a nonzero power of two", a);
  }
  keys_.insert(key);
  kv_.emplace_back(key, std::move(v));
}

void GgufWriter::add_u32(const std::string& key, uint32_t v) {
  add_value(key, {GgufValueType::kU32, uint64_t{v}});
}
void GgufWriter::add_i32(const std::string& key, int32_t v) {
  add_value(key, {GgufValueType::kI32, int64_t{v}});
}
void GgufWriter::add_u64(const std::string& key, uint64_t v) {
  add_value(key, {GgufValueType::kU64, v});
}
void GgufWriter::add_i64(const std::string& key, int64_t v) {
  add_value(key, {GgufValueType::kI64, v});
}
void GgufWriter::add_f32(const std::string& key, float v) {
  add_value(key, {GgufValueType::kF32, double{v}});
}
void GgufWriter::add_f64(const std::string& key, double v) {
  add_value(key, {GgufValueType::kF64, v});
}
void GgufWriter::add_bool(const std::string& key, bool v) {
  add_value(key, {GgufValueType::kBool, v});
}
void GgufWriter::add_string(const std::string& key, const std::string& v) {
  add_value(key, {GgufValueType::kString, v});
}

void GgufWriter::add_string_array(const std::string& key, const std::vector<std::string>& v) {
  std::vector<GgufValue> items;
  items.reserve(v.size());
  for (const std::string& s : v) items.push_back({GgufValueType::kString, s});
  add_value(key, array_value(GgufValueType::kString, std::move(items)));
}

void GgufWriter::add_int_array(const std::string& key, const std::vector<int64_t>& v,
                               GgufValueType elem) {
  std::vector<GgufValue> items;
  items.reserve(v.size());
  const bool is_unsigned = elem == GgufValueType::kU8 || elem == GgufValueType::kU16 ||
                           elem == GgufValueType::kU32 || elem == GgufValueType::kU64;
  for (int64_t x : v) {
    if (is_unsigned) {
      SPARKV_CHECK(x >= 0, "gguf writer: key '{}': negative value {} in an array of {}", key, x,
                   gguf_value_type_name(elem));
      items.push_back({elem, static_cast<uint64_t>(x)});
    } else {
      items.push_back({elem, x});
    }
  }
  add_value(key, array_value(elem, std::move(items)));
}

void GgufWriter::add_float_array(const std::string& key, const std::vector<double>& v,
                                 GgufValueType elem) {
  SPARKV_CHECK(elem == GgufValueType::kF32 || elem == GgufValueType::kF64,
               "gguf writer: key '{}': float array element type must be f32 or f64", key);
  std::vector<GgufValue> items;
  items.reserve(v.size());
  for (double x : v) items.push_back({elem, x});
  add_value(key, array_value(elem, std::move(items)));
}

void GgufWriter::set_alignment(uint32_t alignment) {
  add_u32("general.alignment", alignment);
}

uint32_t GgufWriter::alignment() const {
  for (const auto& [key, v] : kv_)
    if (key == "general.alignment") return static_cast<uint32_t>(std::get<uint64_t>(v.v));
  return kGgufDefaultAlignment;
}

void GgufWriter::add_tensor_impl(Tensor t) {
  SPARKV_CHECK(!t.name.empty(), "gguf writer: empty tensor name");
  SPARKV_CHECK(!tensor_names_.count(t.name), "gguf writer: duplicate tensor name '{}'", t.name);
  SPARKV_CHECK(!t.ne.empty() && t.ne.size() <= 4, "gguf writer: tensor '{}' has {} dims (1..4)",
               t.name, t.ne.size());
  const GgmlTypeInfo& info = ggml_type_info(t.type);
  int64_t n = 1;
  for (int64_t d : t.ne) {
    SPARKV_CHECK(d >= 0, "gguf writer: tensor '{}' has a negative dimension {}", t.name, d);
    SPARKV_CHECK(!__builtin_mul_overflow(n, d, &n), "gguf writer: tensor '{}' is too large",
                 t.name);
  }
  SPARKV_CHECK(t.ne[0] % info.block_size == 0,
               "gguf writer: tensor '{}' ne[0] = {} is not a multiple of the {} block size {}",
               t.name, t.ne[0], info.name, info.block_size);
  const uint64_t expect = static_cast<uint64_t>(n / info.block_size) * info.block_bytes;
  SPARKV_CHECK(t.n_bytes == expect, "gguf writer: tensor '{}' has {} bytes, expected {}", t.name,
               t.n_bytes, expect);
  tensor_names_.insert(t.name);
  tensors_.push_back(std::move(t));
}

void GgufWriter::add_tensor(const std::string& name, GgmlType type, const std::vector<int64_t>& ne,
                            std::vector<uint8_t> bytes) {
  const size_t n = bytes.size();
  add_tensor_impl(Tensor{name, type, ne, std::move(bytes), nullptr, n});
}

void GgufWriter::add_tensor_view(const std::string& name, GgmlType type,
                                 const std::vector<int64_t>& ne, const void* data, size_t n_bytes) {
  add_tensor_impl(Tensor{name, type, ne, {}, static_cast<const uint8_t*>(data), n_bytes});
}

void GgufWriter::serialize(const Sink& sink) const {
  const uint64_t align = alignment();
  uint64_t pos = 0;
  const Sink counting = [&](const void* p, size_t n) {
    sink(p, n);
    pos += n;
  };
  const std::vector<uint8_t> zeros(align, 0);
  auto pad = [&] { counting(zeros.data(), align_up(pos, align) - pos); };

  put<uint32_t>(counting, kGgufMagic);
  put<uint32_t>(counting, kVersion);
  put<uint64_t>(counting, tensors_.size());
  put<uint64_t>(counting, kv_.size());
  for (const auto& [key, v] : kv_) {
    put_string(counting, key);
    put<uint32_t>(counting, static_cast<uint32_t>(v.type));
    put_value(counting, v, key, 0);
  }
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    put_string(counting, t.name);
    put<uint32_t>(counting, static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) put<uint64_t>(counting, static_cast<uint64_t>(d));
    put<uint32_t>(counting, static_cast<uint32_t>(t.type));
    put<uint64_t>(counting, offset);
    offset += align_up(t.n_bytes, align);
  }
  pad();
  for (const Tensor& t : tensors_) {
    counting(t.owned.empty() ? t.data : t.owned.data(), t.n_bytes);
    pad();
  }
}

std::vector<uint8_t> GgufWriter::to_bytes() const {
  std::vector<uint8_t> out;
  serialize([&](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  });
  return out;
}

void GgufWriter::write(const std::string& path) const {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  SPARKV_CHECK(f != nullptr, "{}: cannot create: {}", path, std::strerror(errno));
  serialize([&](const void* p, size_t n) {
    SPARKV_CHECK(n == 0 || std::fwrite(p, 1, n, f.get()) == n, "{}: write failed: {}", path,
                 std::strerror(errno));
  });
  FILE* raw = f.release();
  SPARKV_CHECK(std::fclose(raw) == 0, "{}: close failed: {}", path, std::strerror(errno));
}

}  // namespace sparkv

#include "io/gguf.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace sparkv {

static_assert(std::endian::native == std::endian::little, "the GGUF reader assumes a LE host");

namespace {

constexpr int kMaxArrayDepth = 8;
constexpr uint64_t kMaxKeyBytes = 65535;
// ggml's GGML_MAX_NAME is 64; some writers go beyond it, so allow headroom but keep a bound.
constexpr uint64_t kMaxTensorNameBytes = 256;
constexpr uint32_t kMaxDims = 4;
// Each metadata value costs ~50 bytes in memory versus 1 byte on disk for a u8; this cap keeps a
// hostile file from turning a 1 GB u8 array into 50 GB of GgufValue. Real vocabularies stay near
// 1M values (tokens + scores + types + merges).
constexpr uint64_t kMaxMetadataValues = uint64_t{1} << 24;
// Smallest on-disk footprint of a tensor info: empty name (u64 len) + n_dims + 1 dim + type + off.
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;
// Smallest KV: empty key (u64 len) + type + a 1-byte value.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;

bool is_valid_value_type(uint32_t t) {
  return t <= static_cast<uint32_t>(GgufValueType::kF64);
}

// Bytes an element of type t takes at least on disk: fixed for scalars, the length prefix for a
// string, the header for an array. Used to bound counts before reserving.
uint64_t min_elem_bytes(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8:
    case GgufValueType::kI8:
    case GgufValueType::kBool:
      return 1;
    case GgufValueType::kU16:
    case GgufValueType::kI16:
      return 2;
    case GgufValueType::kU32:
    case GgufValueType::kI32:
    case GgufValueType::kF32:
      return 4;
    case GgufValueType::kU64:
    case GgufValueType::kI64:
    case GgufValueType::kF64:
      return 8;
    case GgufValueType::kString:
      return 8;
    case GgufValueType::kArray:
      return 4 + 8;
  }
  return 1;
}

// Bounds-checked little-endian reader over the mapped bytes.
class Cursor {
 public:
  Cursor(const std::string& path, const uint8_t* data, size_t size)
      : path_(path), data_(data), size_(size) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  template <typename T>
  T read(std::string_view what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(std::string_view what, uint64_t max_len) {
    const size_t at = pos_;
    const uint64_t len = read<uint64_t>(what);
    SPARKV_CHECK(len <= max_len, "{}: {} at offset {} has length {} (limit {})", path_, what, at,
                 len, max_len);
    need(len, what);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return s;
  }

  void need(uint64_t n, std::string_view what) const {
    SPARKV_CHECK(n <= remaining(), "{}: truncated: {} needs {} bytes at offset {} (file size {})",
                 path_, what, n, pos_, size_);
  }

 private:
  const std::string& path_;
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

class MetadataParser {
 public:
  MetadataParser(const std::string& path, Cursor& cur) : path_(path), cur_(cur) {}

  GgufValue read_value(GgufValueType type, const std::string& key, int depth) {
    GgufValue out{type, uint64_t{0}};
    switch (type) {
      case GgufValueType::kU8:
        out.v = uint64_t{cur_.read<uint8_t>(key)};
        break;
      case GgufValueType::kU16:
        out.v = uint64_t{cur_.read<uint16_t>(key)};
        break;
      case GgufValueType::kU32:
        out.v = uint64_t{cur_.read<uint32_t>(key)};
        break;
      case GgufValueType::kU64:
        out.v = cur_.read<uint64_t>(key);
        break;
      case GgufValueType::kI8:
        out.v = int64_t{cur_.read<int8_t>(key)};
        break;
      case GgufValueType::kI16:
        out.v = int64_t{cur_.read<int16_t>(key)};
        break;
      case GgufValueType::kI32:
        out.v = int64_t{cur_.read<int32_t>(key)};
        break;
      case GgufValueType::kI64:
        out.v = cur_.read<int64_t>(key);
        break;
      case GgufValueType::kF32:
        out.v = double{cur_.read<float>(key)};
        break;
      case GgufValueType::kF64:
        out.v = cur_.read<double>(key);
        break;
      // ggml does not validate bool bytes either; any nonzero byte reads as true.
      case GgufValueType::kBool:
        out.v = cur_.read<uint8_t>(key) != 0;
        break;
      case GgufValueType::kString:
        out.v = cur_.read_string(key, cur_.remaining());
        break;
      case GgufValueType::kArray:
        out.v = read_array(key, depth + 1);
        break;
    }
    return out;
  }

 private:
  std::shared_ptr<GgufArray> read_array(const std::string& key, int depth) {
    SPARKV_CHECK(depth <= kMaxArrayDepth, "{}: key '{}': arrays nested deeper than {}", path_, key,
                 kMaxArrayDepth);
    const uint32_t elem = cur_.read<uint32_t>(key);
    SPARKV_CHECK(is_valid_value_type(elem), "{}: key '{}': unknown array element type {}", path_,
                 key, elem);
    const auto elem_type = static_cast<GgufValueType>(elem);
    const uint64_t count = cur_.read<uint64_t>(key);
    const uint64_t max_count = cur_.remaining() / min_elem_bytes(elem_type);
    SPARKV_CHECK(count <= max_count,
                 "{}: key '{}': array count {} exceeds what the remaining {} bytes can hold", path_,
                 key, count, cur_.remaining());
    n_values_ += count;
    SPARKV_CHECK(n_values_ <= kMaxMetadataValues,
                 "{}: key '{}': too many metadata values in total (limit {})", path_, key,
                 kMaxMetadataValues);
    auto arr = std::make_shared<GgufArray>();
    arr->elem_type = elem_type;
    arr->items.reserve(static_cast<size_t>(count));
    for (uint64_t i = 0; i < count; ++i) arr->items.push_back(read_value(elem_type, key, depth));
    return arr;
  }

  const std::string& path_;
  Cursor& cur_;
  uint64_t n_values_ = 0;
};

// x * y for non-negative operands, false on int64 overflow.
bool mul_ok(int64_t x, int64_t y, int64_t* out) {
  return !__builtin_mul_overflow(x, y, out);
}

}  // namespace

std::string_view gguf_value_type_name(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8:
      return "u8";
    case GgufValueType::kI8:
      return "i8";
    case GgufValueType::kU16:
      return "u16";
    case GgufValueType::kI16:
      return "i16";
    case GgufValueType::kU32:
      return "u32";
    case GgufValueType::kI32:
      return "i32";
    case GgufValueType::kF32:
      return "f32";
    case GgufValueType::kBool:
      return "bool";
    case GgufValueType::kString:
      return "string";
    case GgufValueType::kArray:
      return "array";
    case GgufValueType::kU64:
      return "u64";
    case GgufValueType::kI64:
      return "i64";
    case GgufValueType::kF64:
      return "f64";
  }
  return "?";
}

int64_t GgufTensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;  // validated against overflow at load time
  return n;
}

void GgufFile::populate() const {
  file_->populate();
}

GgufFile::GgufFile(const std::string& path) : path_(path) {
  file_ = std::make_unique<MmapFile>(path);
  const size_t file_size = file_->size();
  Cursor cur(path_, file_->data(), file_size);

  const uint32_t magic = cur.read<uint32_t>("magic");
  SPARKV_CHECK(magic == kGgufMagic, "{}: not a GGUF file (magic 0x{:08x}, expected 0x{:08x})",
               path_, magic, kGgufMagic);
  version_ = cur.read<uint32_t>("version");
  // A byte-swapped small version (0x03000000) is the only hint a big-endian file gives.
  SPARKV_CHECK(!(version_ != 0 && (version_ & 0xffff) == 0),
               "{}: version 0x{:08x} looks byte-swapped: big-endian GGUF files are not supported",
               path_, version_);
  SPARKV_CHECK(version_ != 1, "{}: GGUF version 1 is not supported (re-convert to v3)", path_);
  SPARKV_CHECK(version_ == 2 || version_ == 3, "{}: unsupported GGUF version {} (expected 2 or 3)",
               path_, version_);

  const uint64_t n_tensors = cur.read<uint64_t>("tensor count");
  const uint64_t n_kv = cur.read<uint64_t>("metadata count");
  SPARKV_CHECK(n_kv <= cur.remaining() / kMinKvBytes,
               "{}: metadata count {} exceeds what the file can hold ({} bytes left)", path_, n_kv,
               cur.remaining());
  SPARKV_CHECK(n_tensors <= cur.remaining() / kMinTensorInfoBytes,
               "{}: tensor count {} exceeds what the file can hold ({} bytes left)", path_,
               n_tensors, cur.remaining());

  MetadataParser meta(path_, cur);
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = cur.read_string(fmt::format("key of metadata #{}", i), kMaxKeyBytes);
    const uint32_t type = cur.read<uint32_t>(key);
    SPARKV_CHECK(is_valid_value_type(type), "{}: key '{}': unknown metadata value type {}", path_,
                 key, type);
    GgufValue value = meta.read_value(static_cast<GgufValueType>(type), key, 0);
    SPARKV_CHECK(!kv_.count(key), "{}: duplicate metadata key '{}'", path_, key);
    kv_.emplace(std::move(key), std::move(value));
  }

  if (const GgufValue* a = get("general.alignment")) {
    SPARKV_CHECK(a->type == GgufValueType::kU32, "{}: general.alignment has type {}, expected u32",
                 path_, gguf_value_type_name(a->type));
    const uint64_t align = std::get<uint64_t>(a->v);
    SPARKV_CHECK(align != 0 && std::has_single_bit(align),
                 "{}: general.alignment {} is not a nonzero power of two", path_, align);
    alignment_ = static_cast<uint32_t>(align);
  }

  tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t{};
    t.name = cur.read_string(fmt::format("name of tensor #{}", i), kMaxTensorNameBytes);
    SPARKV_CHECK(!t.name.empty(), "{}: tensor #{} has an empty name", path_, i);
    SPARKV_CHECK(!tensor_index_.count(t.name), "{}: duplicate tensor name '{}'", path_, t.name);
    const uint32_t n_dims = cur.read<uint32_t>(t.name);
    SPARKV_CHECK(n_dims >= 1 && n_dims <= kMaxDims,
                 "{}: tensor '{}' has n_dims {} (expected 1..{})", path_, t.name, n_dims, kMaxDims);
    int64_t n_elems = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne = cur.read<uint64_t>(t.name);
      SPARKV_CHECK(ne <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
                   "{}: tensor '{}' has negative dimension ne[{}] = {}", path_, t.name, d,
                   static_cast<int64_t>(ne));
      t.ne.push_back(static_cast<int64_t>(ne));
      SPARKV_CHECK(mul_ok(n_elems, static_cast<int64_t>(ne), &n_elems),
                   "{}: tensor '{}' element count overflows int64", path_, t.name);
    }
    const uint32_t type_id = cur.read<uint32_t>(t.name);
    const GgmlTypeInfo* info = ggml_type_info(type_id);
    SPARKV_CHECK(info != nullptr, "{}: tensor '{}' has unknown or unsupported ggml type id {}",
                 path_, t.name, type_id);
    t.type = static_cast<GgmlType>(type_id);
    SPARKV_CHECK(t.ne[0] % info->block_size == 0,
                 "{}: tensor '{}' ne[0] = {} is not a multiple of the {} block size {}", path_,
                 t.name, t.ne[0], info->name, info->block_size);
    // bytes = n_elems / block_size * block_bytes; the division is exact since ne[0] is aligned.
    int64_t n_bytes = 0;
    SPARKV_CHECK(mul_ok(n_elems / info->block_size, info->block_bytes, &n_bytes),
                 "{}: tensor '{}' byte size overflows int64", path_, t.name);
    t.n_bytes = static_cast<uint64_t>(n_bytes);
    t.offset = cur.read<uint64_t>(t.name);
    SPARKV_CHECK(t.offset % alignment_ == 0,
                 "{}: tensor '{}' offset {} is not a multiple of the alignment {}", path_, t.name,
                 t.offset, alignment_);
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  // pos <= file_size and alignment <= 2^31, so this cannot overflow size_t.
  const uint64_t data_start = (cur.pos() + alignment_ - 1) / alignment_ * alignment_;
  for (GgufTensorInfo& t : tensors_) {
    const bool fits = data_start <= file_size && t.offset <= file_size - data_start &&
                      t.n_bytes <= file_size - data_start - t.offset;
    SPARKV_CHECK(fits,
                 "{}: tensor '{}' data [offset {}+{}, {} bytes] runs past end of file (size {})",
                 path_, t.name, data_start, t.offset, t.n_bytes, file_size);
    t.data = file_->data() + data_start + t.offset;
  }

  // Overlapping tensors mean a corrupt index: a writer never shares bytes between tensors.
  std::vector<const GgufTensorInfo*> by_offset;
  for (const GgufTensorInfo& t : tensors_)
    if (t.n_bytes > 0) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensorInfo& a = *by_offset[i - 1];
    const GgufTensorInfo& b = *by_offset[i];
    SPARKV_CHECK(a.offset + a.n_bytes <= b.offset,
                 "{}: tensors '{}' [offset {}, {} bytes] and '{}' [offset {}] overlap", path_,
                 a.name, a.offset, a.n_bytes, b.name, b.offset);
  }
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufValue* GgufFile::get(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

namespace {

bool is_integer(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8:
    case GgufValueType::kI8:
    case GgufValueType::kU16:
    case GgufValueType::kI16:
    case GgufValueType::kU32:
    case GgufValueType::kI32:
    case GgufValueType::kU64:
    case GgufValueType::kI64:
      return true;
    default:
      return false;
  }
}

// Names a key or one item of an array key in messages; built only when a check fails.
std::string describe(const std::string& key, int64_t index) {
  return index < 0 ? fmt::format("key '{}'", key) : fmt::format("key '{}'[{}]", key, index);
}

int64_t value_to_int(const std::string& path, const GgufValue& v, const std::string& key,
                     int64_t index = -1) {
  if (!is_integer(v.type))
    fail("{}: {} has type {}, expected an integer", path, describe(key, index),
         gguf_value_type_name(v.type));
  if (const auto* i = std::get_if<int64_t>(&v.v)) return *i;
  const uint64_t u = std::get<uint64_t>(v.v);
  SPARKV_CHECK(u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
               "{}: {} = {} does not fit in int64", path, describe(key, index), u);
  return static_cast<int64_t>(u);
}

double value_to_float(const std::string& path, const GgufValue& v, const std::string& key) {
  if (v.type == GgufValueType::kF32 || v.type == GgufValueType::kF64) return std::get<double>(v.v);
  if (!is_integer(v.type))
    fail("{}: key '{}' has type {}, expected a number", path, key, gguf_value_type_name(v.type));
  if (const auto* i = std::get_if<int64_t>(&v.v)) return static_cast<double>(*i);
  return static_cast<double>(std::get<uint64_t>(v.v));
}

const GgufArray& value_to_array(const std::string& path, const GgufValue& v,
                                const std::string& key) {
  const auto* a = std::get_if<std::shared_ptr<GgufArray>>(&v.v);
  SPARKV_CHECK(v.type == GgufValueType::kArray && a != nullptr && *a != nullptr,
               "{}: key '{}' has type {}, expected an array", path, key,
               gguf_value_type_name(v.type));
  return **a;
}

}  // namespace

std::optional<int64_t> GgufFile::get_int(const std::string& key) const {
  const GgufValue* v = get(key);
  if (v == nullptr) return std::nullopt;
  return value_to_int(path_, *v, key);
}

std::optional<double> GgufFile::get_float(const std::string& key) const {
  const GgufValue* v = get(key);
  if (v == nullptr) return std::nullopt;
  return value_to_float(path_, *v, key);
}

std::optional<bool> GgufFile::get_bool(const std::string& key) const {
  const GgufValue* v = get(key);
  if (v == nullptr) return std::nullopt;
  SPARKV_CHECK(v->type == GgufValueType::kBool, "{}: key '{}' has type {}, expected bool", path_,
               key, gguf_value_type_name(v->type));
  return std::get<bool>(v->v);
}

std::optional<std::string> GgufFile::get_string(const std::string& key) const {
  const GgufValue* v = get(key);
  if (v == nullptr) return std::nullopt;
  SPARKV_CHECK(v->type == GgufValueType::kString, "{}: key '{}' has type {}, expected string",
               path_, key, gguf_value_type_name(v->type));
  return std::get<std::string>(v->v);
}

std::vector<std::string> GgufFile::get_string_array(const std::string& key) const {
  const GgufValue* v = get(key);
  if (v == nullptr) return {};
  const GgufArray& a = value_to_array(path_, *v, key);
  SPARKV_CHECK(a.elem_type == GgufValueType::kString,
               "{}: key '{}' is an array of {}, expected an array of string", path_, key,
               gguf_value_type_name(a.elem_type));
  std::vector<std::string> out;
  out.reserve(a.items.size());
  for (const GgufValue& item : a.items) out.push_back(std::get<std::string>(item.v));
  return out;
}

std::vector<double> GgufFile::get_float_array(const std::string& key) const {
  const GgufValue* v = get(key);
  if (v == nullptr) return {};
  const GgufArray& a = value_to_array(path_, *v, key);
  const bool numeric = a.elem_type == GgufValueType::kF32 || a.elem_type == GgufValueType::kF64 ||
                       is_integer(a.elem_type);
  SPARKV_CHECK(numeric, "{}: key '{}' is an array of {}, expected numbers", path_, key,
               gguf_value_type_name(a.elem_type));
  std::vector<double> out;
  out.reserve(a.items.size());
  for (const GgufValue& item : a.items) out.push_back(value_to_float(path_, item, key));
  return out;
}

std::vector<int64_t> GgufFile::get_int_array(const std::string& key) const {
  const GgufValue* v = get(key);
  if (v == nullptr) return {};
  const GgufArray& a = value_to_array(path_, *v, key);
  SPARKV_CHECK(is_integer(a.elem_type), "{}: key '{}' is an array of {}, expected integers", path_,
               key, gguf_value_type_name(a.elem_type));
  std::vector<int64_t> out;
  out.reserve(a.items.size());
  for (size_t i = 0; i < a.items.size(); ++i)
    out.push_back(value_to_int(path_, a.items[i], key, static_cast<int64_t>(i)));
  return out;
}

}  // namespace sparkv

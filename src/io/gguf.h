// GGUF v2/v3 reader over a read-only mmap. Every count, length, offset and size is validated
// against the file size before use; failures throw sparkv::Error naming the file and the field.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "io/mmap_file.h"
#include "quant/ggml_type.h"

namespace sparkv {

enum class GgufValueType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
inline constexpr uint32_t kGgufDefaultAlignment = 32;

// "u8", "string", "array", ...; "?" for ids outside the enum.
std::string_view gguf_value_type_name(GgufValueType t);

struct GgufValue;
struct GgufArray {
  GgufValueType elem_type;
  std::vector<GgufValue> items;
};

// One metadata value. Integers of every width are kept in their own alternative so `inspect` can
// print the on-disk type; the accessors below accept any integer width.
struct GgufValue {
  GgufValueType type;
  std::variant<uint64_t, int64_t, double, bool, std::string, std::shared_ptr<GgufArray>> v;
};

struct GgufTensorInfo {
  std::string name;
  GgmlType type;
  std::vector<int64_t> ne;  // ne[0] innermost (contiguous), as in ggml
  uint64_t offset;          // relative to the data section
  uint64_t n_bytes;
  const uint8_t* data;  // points into the mmap
  int64_t n_elements() const;
};

class GgufFile {
 public:
  // Opens and fully validates. Throws sparkv::Error("<path>: <problem>") on any defect.
  explicit GgufFile(const std::string& path);

  const std::string& path() const { return path_; }
  // Prefaults the whole mapping (MmapFile::populate): for a model about to run, not for a look.
  void populate() const;
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }

  const std::map<std::string, GgufValue>& metadata() const { return kv_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;  // nullptr if absent

  bool has(const std::string& key) const { return kv_.count(key) != 0; }
  const GgufValue* get(const std::string& key) const;  // nullptr if absent
  // Typed accessors: throw naming the key if present with the wrong type.
  std::optional<int64_t> get_int(const std::string& key) const;   // any integer type
  std::optional<double> get_float(const std::string& key) const;  // f32/f64 (or integer)
  std::optional<bool> get_bool(const std::string& key) const;
  std::optional<std::string> get_string(const std::string& key) const;
  std::vector<std::string> get_string_array(const std::string& key) const;  // empty if absent
  std::vector<double> get_float_array(const std::string& key) const;        // numeric arrays
  std::vector<int64_t> get_int_array(const std::string& key) const;

 private:
  std::string path_;
  std::unique_ptr<MmapFile> file_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  std::map<std::string, GgufValue> kv_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace sparkv

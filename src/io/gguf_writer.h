// GGUF v3 writer: metadata in insertion order, tensor infos, then the data section with every
// tensor padded to the alignment (general.alignment when set, else 32), as ggml lays it out.
// Used by the tests to build fixtures and by `sparkv convert`.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "io/gguf.h"
#include "quant/ggml_type.h"

namespace sparkv {

class GgufWriter {
 public:
  // Scalars. A repeated key throws.
  void add_u32(const std::string& key, uint32_t v);
  void add_i32(const std::string& key, int32_t v);
  void add_u64(const std::string& key, uint64_t v);
  void add_i64(const std::string& key, int64_t v);
  void add_f32(const std::string& key, float v);
  void add_f64(const std::string& key, double v);
  void add_bool(const std::string& key, bool v);
  void add_string(const std::string& key, const std::string& v);
  // Arrays; `elem` picks the on-disk element type (values must fit it).
  void add_string_array(const std::string& key, const std::vector<std::string>& v);
  void add_int_array(const std::string& key, const std::vector<int64_t>& v,
                     GgufValueType elem = GgufValueType::kI32);
  void add_float_array(const std::string& key, const std::vector<double>& v,
                       GgufValueType elem = GgufValueType::kF32);
  // Any value, nested arrays included (the reader's own representation).
  void add_value(const std::string& key, GgufValue v);
  // Writes general.alignment (u32); must be a nonzero power of two.
  void set_alignment(uint32_t alignment);

  // `ne[0]` innermost, as in ggml. `bytes` must hold exactly the tensor's byte size. The data is
  // copied; add_tensor_view keeps a pointer instead (the caller keeps it alive until write()).
  void add_tensor(const std::string& name, GgmlType type, const std::vector<int64_t>& ne,
                  std::vector<uint8_t> bytes);
  void add_tensor_view(const std::string& name, GgmlType type, const std::vector<int64_t>& ne,
                       const void* data, size_t n_bytes);

  std::vector<uint8_t> to_bytes() const;
  void write(const std::string& path) const;  // throws sparkv::Error naming the path

 private:
  struct Tensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> ne;
    std::vector<uint8_t> owned;
    const uint8_t* data;
    size_t n_bytes;
  };
  using Sink = std::function<void(const void*, size_t)>;

  void add_tensor_impl(Tensor t);
  void serialize(const Sink& sink) const;
  uint32_t alignment() const;

  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::set<std::string> keys_;
  std::vector<Tensor> tensors_;
  std::set<std::string> tensor_names_;
};

}  // namespace sparkv

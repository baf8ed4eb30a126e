// safetensors reader (single file, or a sharded folder via model.safetensors.index.json), mmapped.
// Shapes are row-major, outermost first (HF order), unlike GGUF's ne[].
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/mmap_file.h"

namespace sparkv {

// kOther covers the unsigned widths (U16 U32 U64): valid files, but no model weight uses them.
// FP8/FP4 and unknown dtypes are rejected at load time.
enum class StDtype { kF32, kF16, kBF16, kF64, kI64, kI32, kI16, kI8, kU8, kBool, kOther };

struct StTensor {
  std::string name;
  StDtype dtype;
  std::string dtype_name;       // as written in the header ("BF16", ...)
  std::vector<int64_t> shape;   // outermost first
  const uint8_t* data;          // into the owning shard's mmap
  uint64_t n_bytes;
  std::string file;             // shard path, for error messages
  int64_t numel() const;
};

class SafetensorsModel {
 public:
  // `path` is a .safetensors file or a folder holding model.safetensors or an index + shards.
  // Validates headers (size limits, dtype sizes, offsets within the buffer, no overlaps, every
  // index entry present in its shard). Throws sparkv::Error naming the file and the problem.
  explicit SafetensorsModel(const std::string& path);

  const std::map<std::string, StTensor>& tensors() const { return tensors_; }
  const StTensor* find(const std::string& name) const;  // nullptr if absent
  // __metadata__ of the first shard (string -> string).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  void load_index(const std::string& index_path);
  // Maps and validates one file, then merges its tensors (a name seen in another shard throws).
  void add_shard(const std::string& shard_path);

  std::vector<std::unique_ptr<MmapFile>> shards_;
  std::map<std::string, StTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace sparkv

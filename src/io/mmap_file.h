// Read-only memory map of a whole file (RAII).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sparkv {

class MmapFile {
 public:
  explicit MmapFile(const std::string& path);  // throws sparkv::Error naming the path
  ~MmapFile();
  MmapFile(const MmapFile&) = delete;
  MmapFile& operator=(const MmapFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Maps every page now (page tables filled from the page cache, reading the file where it is not
  // cached) instead of at first touch. For weights a forward pass reads in full: the first prompt
  // would otherwise pay one page fault per 4 KiB of the file inside its timing (measured on the
  // Qwen3-0.6B-shaped GGUF, 604 MiB: ~150k faults, the first 16-token prompt at 37 t/s instead
  // of ~190). llama.cpp prefaults its mapping the same way by default. Best effort: a failure
  // leaves the mapping to fault lazily as before.
  void populate() const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace sparkv

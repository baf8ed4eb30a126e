// Shared pieces of the libFuzzer harnesses: the parsers under test read files by path (they mmap
// them), so inputs are handed over as in-memory files (memfd) or as files in a scratch folder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace sparkv::fuzz {

// Separates the files of a multi-file input ("index.json\n--8<--\nshard bytes..."). Textual so
// seeds stay readable and libFuzzer's dictionary (tests/fuzz/*.dict) can insert it.
inline constexpr std::string_view kFileSeparator = "\n--8<--\n";

// Splits `data` at every kFileSeparator; at most max_parts parts (the last one keeps the rest).
std::vector<std::string_view> split_files(const uint8_t* data, size_t size, size_t max_parts);

// An anonymous in-memory file holding `bytes`, reachable as /proc/self/fd/N (no disk traffic,
// nothing to clean up after a crash).
class MemFile {
 public:
  explicit MemFile(std::string_view bytes);
  ~MemFile();
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

// A per-process folder ($TMPDIR, else /dev/shm) emptied before each input; removed at normal exit.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  const std::filesystem::path& path() const { return path_; }
  void clear();
  void write(const std::string& name, std::string_view bytes) const;

 private:
  std::filesystem::path path_;
};

// Prints a rejection's message when SPARKV_FUZZ_VERBOSE is set (to check what seeds reach).
void note(const std::exception& e);

// The committed Qwen2.5 vocabulary folder (unpacked from tests/fixtures once per machine).
std::filesystem::path qwen_vocab_dir();

}  // namespace sparkv::fuzz

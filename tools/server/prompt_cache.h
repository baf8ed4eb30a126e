// The server's prompt cache (issue 21): compressed caches of prompts prefilled before, as
// prompt-cache file bytes (api::Session::save_cache), keyed by recipe and token sequence. A
// request under the same recipe whose prompt begins with an entry's tokens restores that entry
// instead of prefilling (the rest of its prompt is appended uncompressed, as a next turn is);
// the longest such entry wins. Least recently used entries go first when the capacity — or the
// scheduler's KV budget, which entries share with the slots — needs the room.
//
// With a directory (--cache-dir) every entry is also written there as a file named by a hash of
// its recipe and tokens, which `sparkv run --prompt-cache` reads too. The files found there at
// start-up are indexed by their headers (recipe and tokens, api::read_cache_file_info), so after
// a restart a prompt that begins with a file's tokens restores it like an entry in memory; a
// file another replica writes later is found when a prompt matches it whole (by its name). A
// corrupt or foreign file is set aside (renamed .bad, reported on stderr), never served and
// never fatal.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sparkv::server {

class PromptCache {
 public:
  // capacity: most bytes held in memory (0 = the cache is off); dir: "" = memory only.
  PromptCache(uint64_t capacity, std::string dir);

  struct Hit {
    std::shared_ptr<const std::vector<uint8_t>> bytes;
    size_t n_tokens = 0;
    bool from_disk = false;
    std::string path;  // the file it was read from (from_disk)
  };
  // The longest entry under `recipe` whose tokens begin `prompt`, in memory or among the files of
  // the directory (then a file for the whole prompt by its name).
  std::optional<Hit> lookup(const std::string& recipe, const std::vector<int32_t>& prompt);
  // Keeps `bytes` for the prompt `tokens` (replacing an entry of the same key), evicting least
  // recently used entries beyond the capacity; writes the file when a directory is set.
  void store(const std::string& recipe, const std::vector<int32_t>& tokens,
             std::vector<uint8_t> bytes);
  // An entry of exactly this recipe and token sequence is held: marks it most recently used and
  // returns true (its bytes would be the same: the forward pass is deterministic), so the caller
  // need not serialise the session again.
  bool touch(const std::string& recipe, const std::vector<int32_t>& tokens);
  // Evicts least recently used entries until at most `bytes` remain; returns what was freed.
  uint64_t shrink_to(uint64_t bytes);
  // A file of the directory that failed to load: renamed .bad and dropped from the index.
  void forget_file(const std::string& path);
  size_t files_indexed() const;

  bool enabled() const { return capacity_ > 0; }
  uint64_t bytes() const;
  uint64_t hits() const;
  uint64_t misses() const;
  size_t entries() const;
  // The file an entry of this recipe and prompt has under the directory.
  std::string file_for(const std::string& recipe, const std::vector<int32_t>& tokens) const;

 private:
  struct Entry {
    std::string recipe;
    std::vector<int32_t> tokens;
    std::shared_ptr<const std::vector<uint8_t>> bytes;
  };
  struct FileEntry {
    std::string recipe;
    std::vector<int32_t> tokens;
    std::string path;
  };
  void evict_to(uint64_t bytes);  // mu_ held
  void index_dir();

  uint64_t capacity_;
  std::string dir_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;          // front = most recently used
  std::vector<FileEntry> files_;  // the directory's files by header
  uint64_t bytes_ = 0, hits_ = 0, misses_ = 0;
};

}  // namespace sparkv::server

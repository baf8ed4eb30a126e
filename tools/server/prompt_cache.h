// The server's prompt cache (issue 21): compressed caches of prompts prefilled before, as
// prompt-cache file bytes (api::Session::save_cache), keyed by recipe and token sequence. A
// request under the same recipe whose prompt begins with an entry's tokens restores that entry
// instead of prefilling (the rest of its prompt is appended uncompressed, as a next turn is);
// the longest such entry wins. Least recently used entries go first when the capacity — or the
// scheduler's KV budget, which entries share with the slots — needs the room.
//
// With a directory (--cache-dir) every entry is also written there as a file named by a hash of
// its recipe and tokens, which `sparkv run --prompt-cache` reads too; a request whose whole
// prompt matches such a file restores it after a restart. A corrupt or foreign file in the
// directory is skipped (and reported on stderr), never served and never fatal.
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
  };
  // The longest entry under `recipe` whose tokens begin `prompt` (memory, then the directory for
  // the whole prompt).
  std::optional<Hit> lookup(const std::string& recipe, const std::vector<int32_t>& prompt);
  // Keeps `bytes` for the prompt `tokens` (replacing an entry of the same key), evicting least
  // recently used entries beyond the capacity; writes the file when a directory is set.
  void store(const std::string& recipe, const std::vector<int32_t>& tokens,
             std::vector<uint8_t> bytes);
  // Evicts least recently used entries until at most `bytes` remain; returns what was freed.
  uint64_t shrink_to(uint64_t bytes);
  // A file of the directory that failed to load: removed from the directory's index of names.
  void forget_file(const std::string& recipe, const std::vector<int32_t>& tokens);

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
  void evict_to(uint64_t bytes);  // mu_ held

  uint64_t capacity_;
  std::string dir_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // front = most recently used
  uint64_t bytes_ = 0, hits_ = 0, misses_ = 0;
};

}  // namespace sparkv::server

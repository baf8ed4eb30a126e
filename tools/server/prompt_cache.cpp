#include "prompt_cache.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "sparkv/session.h"

namespace sparkv::server {

namespace {

bool begins(const std::vector<int32_t>& prompt, const std::vector<int32_t>& prefix) {
  return prefix.size() <= prompt.size() && std::equal(prefix.begin(), prefix.end(), prompt.begin());
}

uint64_t fnv1a(uint64_t h, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

}  // namespace

PromptCache::PromptCache(uint64_t capacity, std::string dir)
    : capacity_(capacity), dir_(std::move(dir)) {
  if (!dir_.empty()) std::filesystem::create_directories(dir_);
  if (!dir_.empty() && enabled()) index_dir();
}

void PromptCache::index_dir() {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    if (!e.is_regular_file(ec) || e.path().extension() != ".sparkv") continue;
    const std::string path = e.path().string();
    try {
      api::CacheFileInfo info = api::read_cache_file_info(path);
      files_.push_back(FileEntry{std::move(info.recipe), std::move(info.tokens), path});
    } catch (const std::exception& err) {
      std::fprintf(stderr, "[sparkv] prompt cache: %s; set aside\n", err.what());
      fs::rename(path, path + ".bad", ec);
    }
  }
}

size_t PromptCache::files_indexed() const {
  std::lock_guard<std::mutex> lk(mu_);
  return files_.size();
}

std::string PromptCache::file_for(const std::string& recipe,
                                  const std::vector<int32_t>& tokens) const {
  uint64_t h = fnv1a(0xCBF29CE484222325ull, recipe.data(), recipe.size());
  h = fnv1a(h, tokens.data(), tokens.size() * sizeof(int32_t));
  return fmt::format("{}/{:016x}-{}.sparkv", dir_, h, tokens.size());
}

std::optional<PromptCache::Hit> PromptCache::lookup(const std::string& recipe,
                                                    const std::vector<int32_t>& prompt) {
  if (!enabled()) return std::nullopt;
  // Files to try, best first: the longest indexed file beyond the best memory entry, then a file
  // for the whole prompt by its name (written since start-up, by another replica). Read outside
  // the lock: a file can be hundreds of MiB.
  std::vector<std::pair<std::string, size_t>> files;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto best = lru_.end();
    for (auto it = lru_.begin(); it != lru_.end(); ++it)
      if (it->recipe == recipe && begins(prompt, it->tokens) &&
          (best == lru_.end() || it->tokens.size() > best->tokens.size()))
        best = it;
    const size_t in_memory = best != lru_.end() ? best->tokens.size() : 0;
    const FileEntry* file = nullptr;
    for (const FileEntry& f : files_)
      if (f.recipe == recipe && f.tokens.size() > in_memory && begins(prompt, f.tokens) &&
          (file == nullptr || f.tokens.size() > file->tokens.size()))
        file = &f;
    if (file == nullptr && best != lru_.end()) {
      lru_.splice(lru_.begin(), lru_, best);
      ++hits_;
      return Hit{best->bytes, best->tokens.size(), false, ""};
    }
    if (file != nullptr) files.emplace_back(file->path, file->tokens.size());
  }
  if (!dir_.empty()) files.emplace_back(file_for(recipe, prompt), prompt.size());
  for (const auto& [path, n_tokens] : files) {
    std::ifstream f(path, std::ios::binary);
    if (!f) continue;
    auto bytes = std::make_shared<std::vector<uint8_t>>(std::istreambuf_iterator<char>(f),
                                                        std::istreambuf_iterator<char>());
    std::lock_guard<std::mutex> lk(mu_);
    ++hits_;
    return Hit{std::move(bytes), n_tokens, true, path};
  }
  std::lock_guard<std::mutex> lk(mu_);
  ++misses_;
  return std::nullopt;
}

bool PromptCache::touch(const std::string& recipe, const std::vector<int32_t>& tokens) {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto it = lru_.begin(); it != lru_.end(); ++it)
    if (it->recipe == recipe && it->tokens == tokens) {
      lru_.splice(lru_.begin(), lru_, it);
      return true;
    }
  return false;
}

void PromptCache::store(const std::string& recipe, const std::vector<int32_t>& tokens,
                        std::vector<uint8_t> bytes) {
  if (!enabled() || bytes.size() > capacity_) return;
  auto shared = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
  if (!dir_.empty()) {
    // Written beside, then renamed: a reader (another replica, `sparkv run`) never sees half.
    const std::string path = file_for(recipe, tokens), tmp = path + ".tmp";
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(shared->data()),
            static_cast<std::streamsize>(shared->size()));
    f.close();
    std::error_code ec;
    if (f) std::filesystem::rename(tmp, path, ec);
    if (!f || ec) {
      std::fprintf(stderr, "[sparkv] prompt cache: cannot write %s\n", path.c_str());
      std::filesystem::remove(tmp, ec);
    } else {
      std::lock_guard<std::mutex> lk(mu_);
      std::erase_if(files_, [&](const FileEntry& e) { return e.path == path; });
      files_.push_back(FileEntry{recipe, tokens, path});
    }
  }
  std::lock_guard<std::mutex> lk(mu_);
  for (auto it = lru_.begin(); it != lru_.end(); ++it)
    if (it->recipe == recipe && it->tokens == tokens) {
      bytes_ -= it->bytes->size();
      lru_.erase(it);
      break;
    }
  evict_to(capacity_ - shared->size());
  bytes_ += shared->size();
  lru_.push_front(Entry{recipe, tokens, std::move(shared)});
}

void PromptCache::forget_file(const std::string& path) {
  if (dir_.empty() || path.empty()) return;
  std::error_code ec;
  std::filesystem::rename(path, path + ".bad", ec);  // kept for inspection, never read again
  std::lock_guard<std::mutex> lk(mu_);
  std::erase_if(files_, [&](const FileEntry& e) { return e.path == path; });
}

void PromptCache::evict_to(uint64_t bytes) {
  while (bytes_ > bytes && !lru_.empty()) {
    bytes_ -= lru_.back().bytes->size();
    lru_.pop_back();
  }
}

uint64_t PromptCache::shrink_to(uint64_t bytes) {
  std::lock_guard<std::mutex> lk(mu_);
  const uint64_t before = bytes_;
  evict_to(bytes);
  return before - bytes_;
}

uint64_t PromptCache::bytes() const {
  std::lock_guard<std::mutex> lk(mu_);
  return bytes_;
}
uint64_t PromptCache::hits() const {
  std::lock_guard<std::mutex> lk(mu_);
  return hits_;
}
uint64_t PromptCache::misses() const {
  std::lock_guard<std::mutex> lk(mu_);
  return misses_;
}
size_t PromptCache::entries() const {
  std::lock_guard<std::mutex> lk(mu_);
  return lru_.size();
}

}  // namespace sparkv::server

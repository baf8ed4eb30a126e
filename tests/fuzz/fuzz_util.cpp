#include "fuzz_util.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include <sys/mman.h>
#include <unistd.h>

namespace sparkv::fuzz {

namespace fs = std::filesystem;

std::vector<std::string_view> split_files(const uint8_t* data, size_t size, size_t max_parts) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const size_t at = rest.find(kFileSeparator);
    if (at == std::string_view::npos) break;
    parts.push_back(rest.substr(0, at));
    rest.remove_prefix(at + kFileSeparator.size());
  }
  parts.push_back(rest);
  return parts;
}

MemFile::MemFile(std::string_view bytes) {
  fd_ = ::memfd_create("sparkv-fuzz", MFD_CLOEXEC);
  if (fd_ < 0) std::abort();  // the harness cannot run at all: not a finding
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n <= 0) std::abort();
    done += static_cast<size_t>(n);
  }
  path_ = "/proc/self/fd/" + std::to_string(fd_);
}

MemFile::~MemFile() {
  ::close(fd_);
}

ScratchDir::ScratchDir() {
  // $TMPDIR when set (CI points it at a folder it deletes: libFuzzer may leave with _Exit, skipping
  // this destructor), else /dev/shm to keep per-input file traffic off the disk.
  const char* tmpdir = std::getenv("TMPDIR");
  const fs::path base = tmpdir && *tmpdir              ? fs::path(tmpdir)
                        : fs::is_directory("/dev/shm") ? fs::path("/dev/shm")
                                                       : fs::temp_directory_path();
  std::string tmpl = (base / "sparkv-fuzz-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void ScratchDir::clear() {
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(path_, ec))
    fs::remove_all(e.path(), ec);
}

void ScratchDir::write(const std::string& name, std::string_view bytes) const {
  std::ofstream f(path_ / name, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) std::abort();
}

void note(const std::exception& e) {
  static const bool verbose = std::getenv("SPARKV_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "rejected: %s\n", e.what());
}

fs::path qwen_vocab_dir() {
  const fs::path tarball =
      fs::path(SPARKV_SOURCE_DIR) / "tests/fixtures/tokenizer/qwen_vocab.tar.xz";
  // Same folder name as the unit tests' helper, so a machine unpacks the archive once.
  const fs::path dir =
      fs::temp_directory_path() / ("sparkv_qwen_vocab_" + std::to_string(fs::file_size(tarball)));
  if (!fs::exists(dir / "qwen2_5" / "tokenizer.json")) {
    const fs::path tmp = dir.string() + ".tmp" + std::to_string(::getpid());
    fs::create_directories(tmp);
    const std::string cmd =
        "cd '" + tmp.string() + "' && cmake -E tar xf '" + tarball.string() + "'";
    if (std::system(cmd.c_str()) != 0) std::abort();
    std::error_code ec;
    fs::rename(tmp, dir, ec);
    if (ec) fs::remove_all(tmp, ec);
  }
  return dir / "qwen2_5";
}

}  // namespace sparkv::fuzz

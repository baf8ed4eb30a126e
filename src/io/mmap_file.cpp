#include "io/mmap_file.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

namespace sparkv {

namespace {

// Closes the descriptor on every path out of the constructor; the mapping outlives it.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

MmapFile::MmapFile(const std::string& path) : path_(path) {
  FdGuard fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  SPARKV_CHECK(fd.fd >= 0, "{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  SPARKV_CHECK(::fstat(fd.fd, &st) == 0, "{}: cannot stat: {}", path, std::strerror(errno));
  SPARKV_CHECK(S_ISREG(st.st_mode), "{}: not a regular file", path);
  size_ = static_cast<size_t>(st.st_size);
  // mmap rejects length 0, and an empty file has nothing to map anyway.
  if (size_ == 0) return;
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd.fd, 0);
  SPARKV_CHECK(p != MAP_FAILED, "{}: cannot mmap {} bytes: {}", path, size_, std::strerror(errno));
  data_ = static_cast<const uint8_t*>(p);
}

void MmapFile::populate() const {
  if (data_ == nullptr) return;
  void* p = const_cast<uint8_t*>(data_);
#ifdef MADV_POPULATE_READ
  if (::madvise(p, size_, MADV_POPULATE_READ) == 0) return;
#endif
  // Kernels before 5.14: read ahead, then touch one byte per page.
  ::madvise(p, size_, MADV_WILLNEED);
  const long page = ::sysconf(_SC_PAGESIZE);
  volatile uint8_t sink = 0;
  for (size_t i = 0; i < size_; i += static_cast<size_t>(page > 0 ? page : 4096)) sink ^= data_[i];
  (void)sink;
}

MmapFile::~MmapFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace sparkv

#include "core/big_alloc.h"

#include <sys/mman.h>

#include <cstdlib>

#include "core/error.h"

namespace sparkv {

void BigFree::operator()(uint8_t* p) const {
  std::free(p);
}

BigBuffer big_alloc(size_t bytes, bool want_huge) {
  const bool huge = want_huge && bytes >= kHugePageBytes;
  const size_t align = huge ? kHugePageBytes : 64;
  const size_t size = (bytes + align - 1) / align * align;
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(align, size == 0 ? align : size));
  SPARKV_CHECK(p != nullptr, "out of memory: cannot allocate {} bytes for the KV cache", bytes);
#ifdef MADV_HUGEPAGE
  if (huge) madvise(p, size, MADV_HUGEPAGE);  // advice; failure leaves 4 KiB pages
#endif
  return BigBuffer(p);
}

}  // namespace sparkv

// Allocation of large streamed buffers (KV cache chunks): 2 MiB-aligned and marked for
// transparent huge pages when at least one huge page long. Decode attention streams the whole
// cache every token; with 4 KiB pages that is a TLB miss and a hardware-prefetcher restart every
// 4 KiB (8 tokens of an f16 row of D = 128 — K and V), which costs a large share of the achieved
// bandwidth (docs/results/performance.md). Debian's default THP mode is `madvise`, so buffers get
// huge pages only when they ask.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace sparkv {

struct BigFree {
  void operator()(uint8_t* p) const;
};
using BigBuffer = std::unique_ptr<uint8_t, BigFree>;

constexpr size_t kHugePageBytes = size_t{2} << 20;

// `bytes` bytes, 64-byte aligned. With `huge`, buffers of >= kHugePageBytes are 2 MiB aligned,
// rounded up to whole huge pages and madvise(MADV_HUGEPAGE)'d (advice only: the kernel may still
// use 4 KiB pages). Ask for huge pages only for a buffer that will be filled soon: the first touch
// of a huge page makes all 2 MiB of it resident, so a reservation touched at one row costs a whole
// huge page (per KV head and layer, that was 0.9 GiB on a 28-layer model). Throws sparkv::Error
// naming the size when the allocation fails.
BigBuffer big_alloc(size_t bytes, bool huge = true);

}  // namespace sparkv

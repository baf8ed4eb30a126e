// Saving and loading one layer's KV cache in any storage form (dense in any cache type, SparK,
// ThinK), bit for bit: a loaded cache attends exactly as the saved one did. The prompt-cache file
// (runtime/cache_file.h) is a sequence of these behind a checked header.
#pragma once

#include <memory>

#include "kv/cache_io.h"
#include "kv/layer_cache.h"

namespace sparkv {

// Throws for a form that cannot be saved (a SparK cache that still compresses decode blocks).
void save_layer_cache(const LayerCache& c, ByteWriter& w);
// Throws a one-line error naming the stream for a truncated, corrupt or inconsistent record; a
// record that loads is safe for the attention kernels (sizes and offsets are checked).
std::unique_ptr<LayerCache> load_layer_cache(ByteReader& r);

}  // namespace sparkv

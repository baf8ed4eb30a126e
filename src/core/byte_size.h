// Byte counts as users type them (--kv-mem-limit 512MiB) and as messages print them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sparkv {

// "1048576", "512MiB", "1.5GiB", "800MB", "64k" -> bytes. Binary suffixes (KiB MiB GiB TiB, and
// the bare K M G T) are powers of 1024, decimal ones (KB MB GB TB) powers of 1000; case does not
// matter and a trailing "B" alone means bytes. Throws naming `what` and the text otherwise.
uint64_t parse_byte_size(std::string_view text, std::string_view what);

// "1.50 GiB", "512.00 MiB", "100 bytes": for messages.
std::string format_bytes(uint64_t n);

}  // namespace sparkv

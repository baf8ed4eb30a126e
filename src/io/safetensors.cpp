#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>
#include <string_view>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace sparkv {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The reference implementation's MAX_HEADER_SIZE; larger headers are treated as hostile.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr uint64_t kMaxIndexBytes = 100'000'000;
constexpr const char* kIndexName = "model.safetensors.index.json";
constexpr const char* kSingleName = "model.safetensors";

struct DtypeInfo {
  std::string_view name;
  StDtype dtype;
  int bytes;
};

constexpr DtypeInfo kDtypes[] = {
    {"F32", StDtype::kF32, 4},   {"F16", StDtype::kF16, 2},   {"BF16", StDtype::kBF16, 2},
    {"F64", StDtype::kF64, 8},   {"I64", StDtype::kI64, 8},   {"I32", StDtype::kI32, 4},
    {"I16", StDtype::kI16, 2},   {"I8", StDtype::kI8, 1},     {"U8", StDtype::kU8, 1},
    {"BOOL", StDtype::kBool, 1}, {"U16", StDtype::kOther, 2}, {"U32", StDtype::kOther, 4},
    {"U64", StDtype::kOther, 8},
};

const DtypeInfo* find_dtype(std::string_view name) {
  for (const DtypeInfo& d : kDtypes)
    if (d.name == name) return &d;
  return nullptr;
}

// Parses JSON, rejecting duplicate top-level keys (nlohmann would silently keep the last one).
json parse_json_object(const std::string& path, const char* what, const char* first,
                       const char* last) {
  std::set<std::string> seen;
  std::string dup;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key && dup.empty()) {
      std::string key = parsed.get<std::string>();
      if (!seen.insert(key).second) dup = std::move(key);
    }
    return true;
  };
  json j;
  try {
    j = json::parse(first, last, cb);
  } catch (const json::exception& e) {
    fail("{}: {} is not valid JSON: {}", path, what, e.what());
  }
  SPARKV_CHECK(dup.empty(), "{}: {} has duplicate key '{}'", path, what, dup);
  SPARKV_CHECK(j.is_object(), "{}: {} is not a JSON object", path, what);
  return j;
}

uint64_t json_u64(const std::string& path, const std::string& name, const char* field,
                  const json& v) {
  // Names the JSON type rather than dumping the value: it may be huge or deeply nested.
  SPARKV_CHECK(v.is_number_unsigned(),
               "{}: tensor '{}' {} has an entry of type {}, expected an integer >= 0", path, name,
               field, v.is_number() ? "negative or fractional number" : v.type_name());
  return v.get<uint64_t>();
}

struct ParsedShard {
  std::vector<StTensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Validates one mapped safetensors file; tensors point into `file`.
ParsedShard parse_shard(const MmapFile& file) {
  const std::string& path = file.path();
  const uint64_t size = file.size();
  SPARKV_CHECK(size >= 8, "{}: truncated: {} bytes, a safetensors file needs at least 8", path,
               size);
  uint64_t header_len = 0;
  std::memcpy(&header_len, file.data(), 8);
  SPARKV_CHECK(header_len <= kMaxHeaderBytes, "{}: header length {} exceeds the {} byte limit",
               path, header_len, kMaxHeaderBytes);
  SPARKV_CHECK(header_len <= size - 8,
               "{}: truncated: header length {} runs past end of file (size {})", path, header_len,
               size);
  const char* hdr = reinterpret_cast<const char*>(file.data() + 8);
  SPARKV_CHECK(header_len > 0 && hdr[0] == '{', "{}: header does not start with '{{'", path);
  const json j = parse_json_object(path, "header", hdr, hdr + header_len);

  const uint64_t buffer_size = size - 8 - header_len;
  const uint8_t* buffer = file.data() + 8 + header_len;

  ParsedShard out;
  struct Span {
    uint64_t begin, end;
    const std::string* name;
  };
  std::vector<Span> spans;
  for (const auto& [name, entry] : j.items()) {
    if (name == "__metadata__") {
      SPARKV_CHECK(entry.is_object(), "{}: __metadata__ is not an object", path);
      for (const auto& [k, v] : entry.items()) {
        SPARKV_CHECK(v.is_string(), "{}: __metadata__ value of '{}' is not a string", path, k);
        out.metadata.emplace(k, v.get<std::string>());
      }
      continue;
    }
    SPARKV_CHECK(entry.is_object(), "{}: tensor '{}' entry is not an object", path, name);
    for (const char* field : {"dtype", "shape", "data_offsets"})
      SPARKV_CHECK(entry.contains(field), "{}: tensor '{}' has no '{}' field", path, name, field);
    const json& jdtype = entry["dtype"];
    const json& jshape = entry["shape"];
    const json& joffs = entry["data_offsets"];
    SPARKV_CHECK(jdtype.is_string(), "{}: tensor '{}' dtype is not a string", path, name);
    SPARKV_CHECK(jshape.is_array(), "{}: tensor '{}' shape is not an array", path, name);
    SPARKV_CHECK(joffs.is_array() && joffs.size() == 2,
                 "{}: tensor '{}' data_offsets is not a [begin, end] pair", path, name);

    StTensor t{};
    t.name = name;
    t.file = path;
    t.dtype_name = jdtype.get<std::string>();
    const DtypeInfo* dt = find_dtype(t.dtype_name);
    SPARKV_CHECK(dt != nullptr, "{}: tensor '{}' has unsupported dtype '{}'", path, name,
                 t.dtype_name);
    t.dtype = dt->dtype;

    for (const json& d : jshape) {
      const uint64_t dim = json_u64(path, name, "shape", d);
      SPARKV_CHECK(dim <= static_cast<uint64_t>(INT64_MAX),
                   "{}: tensor '{}' shape dim {} is too large", path, name, dim);
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    uint64_t numel = 1;
    uint64_t n_bytes = 0;
    bool ok = true;
    for (int64_t d : t.shape)
      ok = ok && !__builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel);
    ok = ok && numel <= static_cast<uint64_t>(INT64_MAX) &&
         !__builtin_mul_overflow(numel, static_cast<uint64_t>(dt->bytes), &n_bytes);
    SPARKV_CHECK(ok, "{}: tensor '{}' shape [{}] overflows the byte size", path, name,
                 fmt::join(t.shape, ", "));
    const uint64_t begin = json_u64(path, name, "data_offsets", joffs[0]);
    const uint64_t end = json_u64(path, name, "data_offsets", joffs[1]);
    SPARKV_CHECK(begin <= end, "{}: tensor '{}' data_offsets [{}, {}) are reversed", path, name,
                 begin, end);
    SPARKV_CHECK(end - begin == n_bytes,
                 "{}: tensor '{}' data_offsets [{}, {}) hold {} bytes, but {} [{}] needs {}", path,
                 name, begin, end, end - begin, t.dtype_name, fmt::join(t.shape, ", "), n_bytes);
    SPARKV_CHECK(end <= buffer_size,
                 "{}: tensor '{}' data_offsets [{}, {}) run past end of the data buffer ({} bytes)",
                 path, name, begin, end, buffer_size);
    t.data = buffer + begin;
    t.n_bytes = n_bytes;
    out.tensors.push_back(std::move(t));
  }
  for (const StTensor& t : out.tensors) {
    const uint64_t begin = static_cast<uint64_t>(t.data - buffer);
    spans.push_back({begin, begin + t.n_bytes, &t.name});
  }

  // As in the reference: tensors tile the buffer exactly, in offset order, with no gaps.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expected = 0;
  const std::string* prev = nullptr;
  for (const Span& s : spans) {
    SPARKV_CHECK(s.begin >= expected, "{}: tensor '{}' at offset {} overlaps tensor '{}'", path,
                 *s.name, s.begin, prev ? *prev : std::string());
    SPARKV_CHECK(s.begin == expected,
                 "{}: gap in data buffer: tensor '{}' starts at offset {}, expected {}", path,
                 *s.name, s.begin, expected);
    expected = s.end;
    prev = s.name;
  }
  SPARKV_CHECK(expected == buffer_size,
               "{}: data buffer has {} bytes but tensors cover only {} (trailing gap)", path,
               buffer_size, expected);
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

int64_t StTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // validated against overflow at load time
  return n;
}

SafetensorsModel::SafetensorsModel(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const fs::path dir(path);
    if (fs::exists(dir / kIndexName, ec)) {
      load_index((dir / kIndexName).string());
    } else if (fs::exists(dir / kSingleName, ec)) {
      add_shard((dir / kSingleName).string());
    } else {
      std::vector<fs::path> found;
      for (const fs::directory_entry& e : fs::directory_iterator(dir, ec))
        if (e.path().extension() == ".safetensors") found.push_back(e.path());
      SPARKV_CHECK(!ec, "{}: cannot list folder: {}", path, ec.message());
      SPARKV_CHECK(!found.empty(), "{}: no .safetensors file in folder", path);
      SPARKV_CHECK(found.size() == 1,
                   "{}: {} .safetensors files in folder but no {} to say which to load", path,
                   found.size(), kIndexName);
      add_shard(found[0].string());
    }
  } else if (ends_with(path, ".index.json")) {
    load_index(path);
  } else {
    add_shard(path);
  }
}

void SafetensorsModel::add_shard(const std::string& shard_path) {
  auto file = std::make_unique<MmapFile>(shard_path);
  ParsedShard parsed = parse_shard(*file);
  // A map so the error names both files; the shard count is small.
  for (StTensor& t : parsed.tensors) {
    auto it = tensors_.find(t.name);
    SPARKV_CHECK(it == tensors_.end(), "{}: duplicate tensor '{}' (also in {})", shard_path, t.name,
                 it == tensors_.end() ? std::string() : it->second.file);
    std::string name = t.name;
    tensors_.emplace(std::move(name), std::move(t));
  }
  if (shards_.empty()) metadata_ = std::move(parsed.metadata);
  shards_.push_back(std::move(file));
}

void SafetensorsModel::load_index(const std::string& index_path) {
  std::map<std::string, std::vector<std::string>> by_shard;  // shard file -> tensor names
  {
    const MmapFile index(index_path);
    SPARKV_CHECK(index.size() <= kMaxIndexBytes, "{}: index is {} bytes (limit {})", index_path,
                 index.size(), kMaxIndexBytes);
    const char* text = reinterpret_cast<const char*>(index.data());
    const json j = parse_json_object(index_path, "index", text, text + index.size());
    SPARKV_CHECK(j.contains("weight_map") && j["weight_map"].is_object(),
                 "{}: index has no 'weight_map' object", index_path);
    for (const auto& [name, shard] : j["weight_map"].items()) {
      SPARKV_CHECK(shard.is_string(), "{}: weight_map entry '{}' is not a string", index_path,
                   name);
      const std::string file = shard.get<std::string>();
      const fs::path rel(file);
      // Shards live beside the index; refuse paths that would escape the model folder.
      bool safe = !file.empty() && rel.is_relative();
      for (const fs::path& part : rel) safe = safe && part != "..";
      SPARKV_CHECK(safe, "{}: weight_map entry '{}' names shard '{}' outside the model folder",
                   index_path, name, file);
      by_shard[file].push_back(name);
    }
  }
  const fs::path dir = fs::path(index_path).parent_path();
  for (const auto& [file, names] : by_shard) {
    const std::string shard_path = (dir / file).string();
    std::error_code ec;
    SPARKV_CHECK(fs::exists(shard_path, ec), "{}: shard '{}' listed in the index does not exist",
                 index_path, shard_path);
    add_shard(shard_path);
    for (const std::string& name : names) {
      auto it = tensors_.find(name);
      SPARKV_CHECK(it != tensors_.end() && it->second.file == shard_path,
                   "{}: index maps tensor '{}' to {}, but that shard does not contain it",
                   index_path, name, shard_path);
    }
  }
}

const StTensor* SafetensorsModel::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

}  // namespace sparkv

// safetensors reader: single files, folders, sharded indexes, and one test per class of malformed
// input, each asserting a sparkv::Error that names the file and the problem.
#include <cstring>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "test_util.h"

namespace sparkv {
namespace {

using nlohmann::json;
using test::Bytes;
using test::error_message;
using test::TempDir;

constexpr const char* kBadName = "bad.safetensors";

struct Spec {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

std::vector<uint8_t> iota_bytes(size_t n, uint8_t start = 0) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(start + i * 3);
  return v;
}

// u64 header length, the header text, then the data buffer.
std::vector<uint8_t> raw_file(const std::string& header, const std::vector<uint8_t>& data) {
  Bytes b;
  b.u64(header.size()).raw(header).raw(data);
  return b.vec();
}

// A valid file: tensors laid out in the given order, header right-padded with spaces to 8 bytes
// as the reference writer does.
std::vector<uint8_t> st_file(const std::vector<Spec>& specs, const json& metadata = nullptr) {
  json h = json::object();
  std::vector<uint8_t> data;
  for (const Spec& s : specs) {
    h[s.name] = {{"dtype", s.dtype},
                 {"shape", s.shape},
                 {"data_offsets", {data.size(), data.size() + s.data.size()}}};
    data.insert(data.end(), s.data.begin(), s.data.end());
  }
  if (!metadata.is_null()) h["__metadata__"] = metadata;
  std::string text = h.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return raw_file(text, data);
}

// The header of a one-tensor file with the given entry (data_offsets etc. set by the caller).
std::vector<uint8_t> one_entry(const json& entry, size_t data_bytes) {
  json h = {{"w", entry}};
  return raw_file(h.dump(), iota_bytes(data_bytes));
}

class SafetensorsTest : public ::testing::Test {
 protected:
  std::string write(const std::vector<uint8_t>& bytes, const std::string& name = kBadName) {
    const std::string path = dir_.file(name);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    test::write_bytes(path, bytes);
    return path;
  }

  void expect_path_fails(const std::string& path, const std::string& file_word,
                         std::initializer_list<std::string> words) {
    const std::string msg = error_message([&] { SafetensorsModel m(path); });
    EXPECT_NE(msg.find(file_word), std::string::npos) << msg;
    for (const std::string& w : words) EXPECT_NE(msg.find(w), std::string::npos) << msg;
  }

  void expect_fails(const std::vector<uint8_t>& bytes, std::initializer_list<std::string> words) {
    expect_path_fails(write(bytes), kBadName, words);
  }

  std::vector<uint8_t> small_valid_file() {
    return st_file({{"model.embed_tokens.weight", "BF16", {4, 2}, iota_bytes(16)},
                    {"model.norm.weight", "F32", {2}, iota_bytes(8, 1)}},
                   {{"format", "pt"}});
  }

  TempDir dir_;
};

// ---- valid files ----------------------------------------------------------------------------

TEST_F(SafetensorsTest, RoundTripEveryDtype) {
  struct D {
    const char* name;
    StDtype dtype;
    size_t bytes;
  };
  const D dtypes[] = {
      {"F32", StDtype::kF32, 4},   {"F16", StDtype::kF16, 2},   {"BF16", StDtype::kBF16, 2},
      {"F64", StDtype::kF64, 8},   {"I64", StDtype::kI64, 8},   {"I32", StDtype::kI32, 4},
      {"I16", StDtype::kI16, 2},   {"I8", StDtype::kI8, 1},     {"U8", StDtype::kU8, 1},
      {"BOOL", StDtype::kBool, 1}, {"U16", StDtype::kOther, 2}, {"U32", StDtype::kOther, 4},
      {"U64", StDtype::kOther, 8}};
  std::vector<Spec> specs;
  for (const D& d : dtypes)
    specs.push_back({std::string("t_") + d.name, d.name, {2, 3}, iota_bytes(6 * d.bytes, d.bytes)});
  const std::string path =
      write(st_file(specs, {{"format", "pt"}, {"note", "x"}}), "all.safetensors");

  SafetensorsModel m(path);
  EXPECT_EQ(m.tensors().size(), std::size(dtypes));
  EXPECT_EQ(m.metadata().at("format"), "pt");
  EXPECT_EQ(m.metadata().at("note"), "x");
  for (const D& d : dtypes) {
    SCOPED_TRACE(d.name);
    const StTensor* t = m.find(std::string("t_") + d.name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->dtype, d.dtype);
    EXPECT_EQ(t->dtype_name, d.name);
    EXPECT_EQ(t->shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(t->numel(), 6);
    EXPECT_EQ(t->n_bytes, 6 * d.bytes);
    EXPECT_EQ(t->file, path);
    EXPECT_EQ(std::memcmp(t->data, iota_bytes(6 * d.bytes, d.bytes).data(), t->n_bytes), 0);
  }
  EXPECT_EQ(m.find("absent"), nullptr);
}

TEST_F(SafetensorsTest, ScalarAndZeroSizedTensors) {
  const std::string path = write(st_file({{"empty", "F32", {0, 4}, {}},
                                          {"scalar", "F32", {}, iota_bytes(4)},
                                          {"empty2", "BF16", {3, 0}, {}}}),
                                 "scalar.safetensors");
  SafetensorsModel m(path);
  EXPECT_EQ(m.find("scalar")->numel(), 1);
  EXPECT_EQ(m.find("scalar")->n_bytes, 4u);
  EXPECT_EQ(m.find("empty")->n_bytes, 0u);
  EXPECT_TRUE(m.metadata().empty());
}

TEST_F(SafetensorsTest, EmptyHeaderObject) {
  SafetensorsModel m(write(raw_file("{}      ", {}), "none.safetensors"));
  EXPECT_TRUE(m.tensors().empty());
}

TEST_F(SafetensorsTest, FolderWithModelSafetensors) {
  write(small_valid_file(), "m/model.safetensors");
  write(small_valid_file(), "m/other.safetensors");  // ignored: model.safetensors wins
  SafetensorsModel m(dir_.file("m"));
  EXPECT_EQ(m.tensors().size(), 2u);
  EXPECT_EQ(m.find("model.norm.weight")->file, dir_.file("m/model.safetensors"));
}

TEST_F(SafetensorsTest, FolderWithExactlyOneFile) {
  write(small_valid_file(), "m/weights.safetensors");
  write({'x'}, "m/config.json");
  SafetensorsModel m(dir_.file("m"));
  EXPECT_NE(m.find("model.embed_tokens.weight"), nullptr);
}

TEST_F(SafetensorsTest, FolderWithTwoFilesAndNoIndex) {
  write(small_valid_file(), "m/a.safetensors");
  write(small_valid_file(), "m/b.safetensors");
  expect_path_fails(dir_.file("m"), "/m", {"2 .safetensors files", "index"});
}

TEST_F(SafetensorsTest, EmptyFolder) {
  std::filesystem::create_directories(dir_.file("empty"));
  expect_path_fails(dir_.file("empty"), "empty", {"no .safetensors"});
}

TEST_F(SafetensorsTest, MissingFile) {
  expect_path_fails(dir_.file("absent.safetensors"), "absent.safetensors", {"cannot open"});
}

// ---- sharded ----------------------------------------------------------------------------------

class SafetensorsShardedTest : public SafetensorsTest {
 protected:
  void write_shards() {
    write(st_file({{"a", "F32", {2}, iota_bytes(8)}, {"b", "F16", {3}, iota_bytes(6)}},
                  {{"format", "pt"}, {"shard", "1"}}),
          "m/model-00001-of-00002.safetensors");
    write(st_file({{"c", "BF16", {1, 2}, iota_bytes(4, 9)}}, {{"shard", "2"}}),
          "m/model-00002-of-00002.safetensors");
  }
  void write_index(const json& weight_map) {
    json index = {{"metadata", {{"total_size", 18}}}, {"weight_map", weight_map}};
    test::write_text(dir_.file("m/model.safetensors.index.json"), index.dump(2));
  }
  const json kGoodMap = {{"a", "model-00001-of-00002.safetensors"},
                         {"b", "model-00001-of-00002.safetensors"},
                         {"c", "model-00002-of-00002.safetensors"}};
};

TEST_F(SafetensorsShardedTest, LoadsEveryShard) {
  write_shards();
  write_index(kGoodMap);
  for (const std::string& path : {dir_.file("m"), dir_.file("m/model.safetensors.index.json")}) {
    SCOPED_TRACE(path);
    SafetensorsModel m(path);
    ASSERT_EQ(m.tensors().size(), 3u);
    EXPECT_EQ(m.find("c")->file, dir_.file("m/model-00002-of-00002.safetensors"));
    EXPECT_EQ(m.find("c")->dtype, StDtype::kBF16);
    EXPECT_EQ(std::memcmp(m.find("c")->data, iota_bytes(4, 9).data(), 4), 0);
    EXPECT_EQ(m.metadata().at("shard"), "1");  // the first shard's metadata
  }
}

TEST_F(SafetensorsShardedTest, MissingShard) {
  write_shards();
  json map = kGoodMap;
  map["c"] = "model-00003-of-00002.safetensors";
  write_index(map);
  expect_path_fails(dir_.file("m"), "model.safetensors.index.json",
                    {"model-00003-of-00002.safetensors", "does not exist"});
}

TEST_F(SafetensorsShardedTest, TensorNotInItsShard) {
  write_shards();
  json map = kGoodMap;
  map["c"] = "model-00001-of-00002.safetensors";
  write_index(map);
  expect_path_fails(dir_.file("m"), "model.safetensors.index.json", {"'c'", "does not contain"});
}

TEST_F(SafetensorsShardedTest, IndexNamesAbsentTensor) {
  write_shards();
  json map = kGoodMap;
  map["ghost"] = "model-00002-of-00002.safetensors";
  write_index(map);
  expect_path_fails(dir_.file("m"), "index.json", {"'ghost'", "does not contain"});
}

TEST_F(SafetensorsShardedTest, DuplicateTensorAcrossShards) {
  write_shards();
  write(st_file({{"a", "F32", {2}, iota_bytes(8)}}), "m/model-00002-of-00002.safetensors");
  json map = {{"a", "model-00001-of-00002.safetensors"}, {"b", "model-00002-of-00002.safetensors"}};
  write_index(map);
  expect_path_fails(dir_.file("m"), "model-00002-of-00002.safetensors", {"duplicate", "'a'"});
}

TEST_F(SafetensorsShardedTest, ShardPathEscapesFolder) {
  write_shards();
  json map = kGoodMap;
  map["c"] = "../model-00002-of-00002.safetensors";
  write_index(map);
  expect_path_fails(dir_.file("m"), "index.json", {"outside"});
}

TEST_F(SafetensorsShardedTest, IndexWithoutWeightMap) {
  write_shards();
  test::write_text(dir_.file("m/model.safetensors.index.json"), R"({"metadata": {}})");
  expect_path_fails(dir_.file("m"), "index.json", {"weight_map"});
}

TEST_F(SafetensorsShardedTest, IndexNotJson) {
  write_shards();
  test::write_text(dir_.file("m/model.safetensors.index.json"), "{\"weight_map\": ");
  expect_path_fails(dir_.file("m"), "index.json", {"JSON"});
}

TEST_F(SafetensorsShardedTest, BadShardIsNamed) {
  write_shards();
  write({1, 2, 3}, "m/model-00002-of-00002.safetensors");
  write_index(kGoodMap);
  expect_path_fails(dir_.file("m"), "model-00002-of-00002.safetensors", {"truncated"});
}

// ---- malformed files --------------------------------------------------------------------------

TEST_F(SafetensorsTest, ShorterThanEightBytes) {
  expect_fails({1, 0, 0}, {"truncated"});
}

TEST_F(SafetensorsTest, EmptyFile) {
  expect_fails({}, {"truncated"});
}

TEST_F(SafetensorsTest, HeaderLengthOverLimit) {
  Bytes b;
  b.u64(100'000'001).raw("{}");
  expect_fails(b, {"header length 100000001", "limit"});
}

TEST_F(SafetensorsTest, HeaderLengthPastEndOfFile) {
  Bytes b;
  b.u64(1000).raw("{}");
  expect_fails(b, {"header length 1000", "past end"});
}

TEST_F(SafetensorsTest, ZeroHeaderLength) {
  expect_fails(raw_file("", {}), {"header"});
}

TEST_F(SafetensorsTest, HeaderNotJson) {
  expect_fails(raw_file("{\"w\": [1,", {}), {"JSON"});
}

TEST_F(SafetensorsTest, HeaderNotAnObject) {
  expect_fails(raw_file("[1, 2]", {}), {"header"});
}

TEST_F(SafetensorsTest, HeaderInvalidUtf8) {
  expect_fails(raw_file("{\"w\xff\": {}}", {}), {"JSON"});
}

TEST_F(SafetensorsTest, DuplicateTensorInHeader) {
  const std::string h = R"({"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},)"
                        R"( "w": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}})";
  expect_fails(raw_file(h, iota_bytes(2)), {"duplicate", "'w'"});
}

TEST_F(SafetensorsTest, EntryNotAnObject) {
  expect_fails(raw_file(R"({"w": 5})", {}), {"'w'", "not an object"});
}

TEST_F(SafetensorsTest, MissingDtype) {
  expect_fails(one_entry({{"shape", {2}}, {"data_offsets", {0, 8}}}, 8), {"'w'", "dtype"});
}

TEST_F(SafetensorsTest, MissingShape) {
  expect_fails(one_entry({{"dtype", "F32"}, {"data_offsets", {0, 8}}}, 8), {"'w'", "shape"});
}

TEST_F(SafetensorsTest, MissingDataOffsets) {
  expect_fails(one_entry({{"dtype", "F32"}, {"shape", {2}}}, 8), {"'w'", "data_offsets"});
}

TEST_F(SafetensorsTest, DataOffsetsNotAPair) {
  expect_fails(one_entry({{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 4, 8}}}, 8),
               {"'w'", "data_offsets"});
}

TEST_F(SafetensorsTest, Fp8DtypeRejected) {
  expect_fails(one_entry({{"dtype", "F8_E4M3"}, {"shape", {2}}, {"data_offsets", {0, 2}}}, 2),
               {"'w'", "dtype 'F8_E4M3'"});
}

TEST_F(SafetensorsTest, UnknownDtypeRejected) {
  expect_fails(one_entry({{"dtype", "Q4"}, {"shape", {2}}, {"data_offsets", {0, 2}}}, 2),
               {"'w'", "dtype 'Q4'"});
}

TEST_F(SafetensorsTest, NegativeShape) {
  expect_fails(one_entry({{"dtype", "F32"}, {"shape", {-2}}, {"data_offsets", {0, 8}}}, 8),
               {"'w'", "shape", "negative"});
}

TEST_F(SafetensorsTest, ShapeOverflow) {
  const uint64_t big = uint64_t{1} << 40;
  expect_fails(one_entry({{"dtype", "F32"}, {"shape", {big, big}}, {"data_offsets", {0, 8}}}, 8),
               {"'w'", "overflow"});
}

TEST_F(SafetensorsTest, ByteCountMismatch) {
  expect_fails(one_entry({{"dtype", "F32"}, {"shape", {3}}, {"data_offsets", {0, 8}}}, 8),
               {"'w'", "hold 8 bytes", "needs 12"});
}

TEST_F(SafetensorsTest, ReversedOffsets) {
  expect_fails(one_entry({{"dtype", "U8"}, {"shape", {0}}, {"data_offsets", {8, 0}}}, 8),
               {"'w'", "reversed"});
}

TEST_F(SafetensorsTest, OffsetsPastBuffer) {
  expect_fails(one_entry({{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {0, 16}}}, 8),
               {"'w'", "past end"});
}

TEST_F(SafetensorsTest, OverlappingTensors) {
  const json h = {{"a", {{"dtype", "U8"}, {"shape", {4}}, {"data_offsets", {0, 4}}}},
                  {"b", {{"dtype", "U8"}, {"shape", {4}}, {"data_offsets", {2, 6}}}}};
  expect_fails(raw_file(h.dump(), iota_bytes(6)), {"'b'", "overlaps", "'a'"});
}

TEST_F(SafetensorsTest, GapBetweenTensors) {
  const json h = {{"a", {{"dtype", "U8"}, {"shape", {4}}, {"data_offsets", {0, 4}}}},
                  {"b", {{"dtype", "U8"}, {"shape", {4}}, {"data_offsets", {6, 10}}}}};
  expect_fails(raw_file(h.dump(), iota_bytes(10)), {"gap", "'b'"});
}

TEST_F(SafetensorsTest, TrailingBytesAfterLastTensor) {
  expect_fails(one_entry({{"dtype", "U8"}, {"shape", {4}}, {"data_offsets", {0, 4}}}, 6),
               {"trailing"});
}

TEST_F(SafetensorsTest, MetadataNotStrings) {
  const json h = {{"__metadata__", {{"format", 1}}}};
  expect_fails(raw_file(h.dump(), {}), {"__metadata__", "'format'"});
}

TEST_F(SafetensorsTest, MetadataNotAnObject) {
  expect_fails(raw_file(R"({"__metadata__": "pt"})", {}), {"__metadata__"});
}

TEST_F(SafetensorsTest, DeeplyNestedJsonIsRejectedNotCrashed) {
  std::string h = "{\"w\": {\"dtype\": \"F32\", \"shape\": [";
  h += std::string(200000, '[') + std::string(200000, ']');
  h += "], \"data_offsets\": [0, 4]}}";
  expect_fails(raw_file(h, iota_bytes(4)), {"'w'"});
}

// ---- robustness -------------------------------------------------------------------------------

TEST_F(SafetensorsTest, EveryTruncationThrows) {
  const std::vector<uint8_t> full = small_valid_file();
  const std::string path = dir_.file("trunc.safetensors");
  for (size_t n = 0; n <= full.size(); ++n) {
    test::write_bytes(path, full.data(), n);
    if (n == full.size()) {
      EXPECT_NO_THROW(SafetensorsModel m(path));
      continue;
    }
    const std::string msg = error_message([&] { SafetensorsModel m(path); });
    EXPECT_NE(msg.find("trunc.safetensors"), std::string::npos) << "prefix " << n << ": " << msg;
  }
}

TEST_F(SafetensorsTest, RandomByteFlipsThrowOrOpen) {
  const std::vector<uint8_t> full = small_valid_file();
  const std::string path = dir_.file("flip.safetensors");
  std::mt19937 rng(4321);
  int opened = 0, rejected = 0;
  for (int iter = 0; iter < 500; ++iter) {
    std::vector<uint8_t> bytes = full;
    test::mutate_bytes(bytes, rng, 3);
    test::write_bytes(path, bytes);
    try {
      SafetensorsModel m(path);
      for (const auto& [name, t] : m.tensors()) {
        volatile uint8_t sink = 0;
        for (uint64_t i = 0; i < t.n_bytes; ++i) sink = sink ^ t.data[i];
        (void)sink;
      }
      ++opened;
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(opened, 0);
}

}  // namespace
}  // namespace sparkv

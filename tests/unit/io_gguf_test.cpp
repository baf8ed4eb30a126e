// GGUF reader and writer: round trips built with GgufWriter, and one test per class of malformed
// input built byte by byte, each asserting a sparkv::Error that names the file and the problem.
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "test_util.h"

namespace sparkv {
namespace {

using test::Bytes;
using test::error_message;
using test::TempDir;

constexpr const char* kBadName = "bad.gguf";

Bytes header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
  Bytes b;
  b.u32(kGgufMagic).u32(version).u64(n_tensors).u64(n_kv);
  return b;
}

struct RawTensor {
  std::string name;
  std::vector<uint64_t> ne;
  uint32_t type = 0;
  uint64_t offset = 0;
};

void put_info(Bytes& b, const RawTensor& t) {
  b.str(t.name).u32(static_cast<uint32_t>(t.ne.size()));
  for (uint64_t d : t.ne) b.u64(d);
  b.u32(t.type).u64(t.offset);
}

// A file with no metadata, the given tensor infos and `data_bytes` of zeroed data after padding.
std::vector<uint8_t> raw_tensor_file(const std::vector<RawTensor>& ts, size_t data_bytes) {
  Bytes b = header(ts.size(), 0);
  for (const RawTensor& t : ts) put_info(b, t);
  b.pad_to(32).zeros(data_bytes);
  return b.vec();
}

std::vector<uint8_t> iota_bytes(size_t n, uint8_t start = 0) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(start + i * 7);
  return v;
}

class GgufTest : public ::testing::Test {
 protected:
  std::string write(const std::vector<uint8_t>& bytes, const std::string& name = kBadName) {
    const std::string path = dir_.file(name);
    test::write_bytes(path, bytes);
    return path;
  }

  // Opening `bytes` must fail with a message naming the file and containing every word.
  void expect_fails(const std::vector<uint8_t>& bytes, std::initializer_list<std::string> words) {
    const std::string path = write(bytes);
    const std::string msg = error_message([&] { GgufFile f(path); });
    EXPECT_NE(msg.find(kBadName), std::string::npos) << msg;
    for (const std::string& w : words) EXPECT_NE(msg.find(w), std::string::npos) << msg;
  }

  // A small valid file exercising metadata, strings, arrays and two tensors.
  std::vector<uint8_t> small_valid_file() {
    GgufWriter w;
    w.add_string("general.architecture", "llama");
    w.add_u32("llama.block_count", 2);
    w.add_f32("llama.rope.freq_base", 10000.0f);
    w.add_string_array("tokenizer.ggml.tokens", {"a", "bc", ""});
    w.add_int_array("tokenizer.ggml.token_type", {1, 3, 6});
    w.add_tensor("b", GgmlType::kQ8_0, {32}, iota_bytes(34, 5));
    // Last, and a multiple of the alignment: the file ends exactly where its data ends, so every
    // shorter prefix is invalid.
    w.add_tensor("a", GgmlType::kF32, {4, 2}, iota_bytes(32));
    return w.to_bytes();
  }

  TempDir dir_;
};

GgufValue arr(GgufValueType elem, std::vector<GgufValue> items) {
  auto a = std::make_shared<GgufArray>();
  a->elem_type = elem;
  a->items = std::move(items);
  return {GgufValueType::kArray, a};
}

// ---- valid files ----------------------------------------------------------------------------

TEST_F(GgufTest, RoundTripEveryMetadataType) {
  GgufWriter w;
  w.add_value("t.u8", {GgufValueType::kU8, uint64_t{255}});
  w.add_value("t.i8", {GgufValueType::kI8, int64_t{-128}});
  w.add_value("t.u16", {GgufValueType::kU16, uint64_t{65535}});
  w.add_value("t.i16", {GgufValueType::kI16, int64_t{-32768}});
  w.add_u32("t.u32", 4000000000u);
  w.add_i32("t.i32", -2000000000);
  w.add_f32("t.f32", 1.5f);
  w.add_bool("t.bool", true);
  w.add_bool("t.false", false);
  w.add_string("t.string", "h\xC3\xA9llo \xE2\x80\x94 world");
  w.add_string("t.empty", "");
  w.add_u64("t.u64", std::numeric_limits<uint64_t>::max());
  w.add_i64("t.i64", std::numeric_limits<int64_t>::min());
  w.add_f64("t.f64", 3.141592653589793);
  w.add_string_array("t.strs", {"x", "", "\xC4\xA0the"});
  w.add_int_array("t.ints", {-1, 0, 7});
  w.add_int_array("t.u8s", {0, 255}, GgufValueType::kU8);
  w.add_int_array("t.i64s", {std::numeric_limits<int64_t>::min(), 5}, GgufValueType::kI64);
  w.add_float_array("t.floats", {0.25, -2.0});
  w.add_float_array("t.doubles", {0.1}, GgufValueType::kF64);
  w.add_value("t.empty_arr", arr(GgufValueType::kU32, {}));
  w.add_value("t.bools", arr(GgufValueType::kBool,
                             {{GgufValueType::kBool, true}, {GgufValueType::kBool, false}}));
  // [[1, 2], [], [[ "deep" ]]-style nesting: arrays of arrays, and an array of string arrays.
  w.add_value("t.nested", arr(GgufValueType::kArray,
                              {arr(GgufValueType::kI32, {{GgufValueType::kI32, int64_t{1}},
                                                         {GgufValueType::kI32, int64_t{2}}}),
                               arr(GgufValueType::kI32, {})}));
  w.add_value(
      "t.nested_strs",
      arr(GgufValueType::kArray,
          {arr(GgufValueType::kArray,
               {arr(GgufValueType::kString, {{GgufValueType::kString, std::string("deep")}})})}));
  const std::string path = write(w.to_bytes(), "meta.gguf");

  GgufFile f(path);
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.metadata().size(), 24u);
  EXPECT_TRUE(f.tensors().empty());
  EXPECT_EQ(f.get_int("t.u8"), 255);
  EXPECT_EQ(f.get_int("t.i8"), -128);
  EXPECT_EQ(f.get_int("t.u16"), 65535);
  EXPECT_EQ(f.get_int("t.i16"), -32768);
  EXPECT_EQ(f.get_int("t.u32"), 4000000000LL);
  EXPECT_EQ(f.get_int("t.i32"), -2000000000);
  EXPECT_EQ(f.get_float("t.f32"), 1.5);
  EXPECT_EQ(f.get_bool("t.bool"), true);
  EXPECT_EQ(f.get_bool("t.false"), false);
  EXPECT_EQ(f.get_string("t.string"), "h\xC3\xA9llo \xE2\x80\x94 world");
  EXPECT_EQ(f.get_string("t.empty"), "");
  EXPECT_EQ(std::get<uint64_t>(f.get("t.u64")->v), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(f.get_int("t.i64"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(f.get_float("t.f64"), 3.141592653589793);
  EXPECT_EQ(f.get_string_array("t.strs"), (std::vector<std::string>{"x", "", "\xC4\xA0the"}));
  EXPECT_EQ(f.get_int_array("t.ints"), (std::vector<int64_t>{-1, 0, 7}));
  EXPECT_EQ(f.get_int_array("t.u8s"), (std::vector<int64_t>{0, 255}));
  EXPECT_EQ(f.get_int_array("t.i64s"),
            (std::vector<int64_t>{std::numeric_limits<int64_t>::min(), 5}));
  EXPECT_EQ(f.get_float_array("t.floats"), (std::vector<double>{0.25, -2.0}));
  EXPECT_EQ(f.get_float_array("t.doubles"), (std::vector<double>{0.1}));
  EXPECT_EQ(f.get_float_array("t.ints"), (std::vector<double>{-1, 0, 7}));
  EXPECT_TRUE(f.get_int_array("t.empty_arr").empty());

  // On-disk types survive, so `inspect` can print them.
  EXPECT_EQ(f.get("t.u16")->type, GgufValueType::kU16);
  EXPECT_EQ(f.get("t.i64")->type, GgufValueType::kI64);
  const auto& bools = *std::get<std::shared_ptr<GgufArray>>(f.get("t.bools")->v);
  ASSERT_EQ(bools.elem_type, GgufValueType::kBool);
  ASSERT_EQ(bools.items.size(), 2u);
  EXPECT_TRUE(std::get<bool>(bools.items[0].v));
  EXPECT_FALSE(std::get<bool>(bools.items[1].v));

  const auto& nested = *std::get<std::shared_ptr<GgufArray>>(f.get("t.nested")->v);
  ASSERT_EQ(nested.elem_type, GgufValueType::kArray);
  ASSERT_EQ(nested.items.size(), 2u);
  const auto& inner0 = *std::get<std::shared_ptr<GgufArray>>(nested.items[0].v);
  EXPECT_EQ(inner0.elem_type, GgufValueType::kI32);
  ASSERT_EQ(inner0.items.size(), 2u);
  EXPECT_EQ(std::get<int64_t>(inner0.items[1].v), 2);
  EXPECT_TRUE(std::get<std::shared_ptr<GgufArray>>(nested.items[1].v)->items.empty());
  const auto& lvl1 = *std::get<std::shared_ptr<GgufArray>>(f.get("t.nested_strs")->v);
  const auto& lvl2 = *std::get<std::shared_ptr<GgufArray>>(lvl1.items[0].v);
  const auto& lvl3 = *std::get<std::shared_ptr<GgufArray>>(lvl2.items[0].v);
  EXPECT_EQ(lvl3.elem_type, GgufValueType::kString);
  EXPECT_EQ(std::get<std::string>(lvl3.items[0].v), "deep");
}

TEST_F(GgufTest, AccessorsConvertAndRejectWrongTypes) {
  GgufWriter w;
  w.add_u64("big", std::numeric_limits<uint64_t>::max());
  w.add_u64("small", 42);
  w.add_i32("neg", -3);
  w.add_string("s", "x");
  w.add_f32("f", 0.5f);
  w.add_int_array("ints", {1});
  w.add_value("bigs", arr(GgufValueType::kU64, {{GgufValueType::kU64, ~uint64_t{0}}}));
  const std::string path = write(w.to_bytes(), "acc.gguf");
  GgufFile f(path);

  EXPECT_EQ(f.get_int("small"), 42);
  EXPECT_EQ(f.get_float("neg"), -3.0);
  EXPECT_EQ(f.get_float("small"), 42.0);
  EXPECT_FALSE(f.get_int("absent").has_value());
  EXPECT_FALSE(f.get_float("absent").has_value());
  EXPECT_FALSE(f.get_bool("absent").has_value());
  EXPECT_FALSE(f.get_string("absent").has_value());
  EXPECT_TRUE(f.get_string_array("absent").empty());
  EXPECT_TRUE(f.has("s"));
  EXPECT_EQ(f.get("absent"), nullptr);

  auto expect_msg = [](auto fn, const std::string& word) {
    const std::string msg = error_message(fn);
    EXPECT_NE(msg.find("acc.gguf"), std::string::npos) << msg;
    EXPECT_NE(msg.find(word), std::string::npos) << msg;
  };
  expect_msg([&] { f.get_int("big"); }, "'big'");
  expect_msg([&] { f.get_int("s"); }, "expected an integer");
  expect_msg([&] { f.get_int("f"); }, "'f'");
  expect_msg([&] { f.get_float("s"); }, "expected a number");
  expect_msg([&] { f.get_bool("small"); }, "expected bool");
  expect_msg([&] { f.get_string("small"); }, "expected string");
  expect_msg([&] { f.get_string_array("ints"); }, "expected an array of string");
  expect_msg([&] { f.get_int_array("s"); }, "expected an array");
  expect_msg([&] { f.get_int_array("bigs"); }, "'bigs'[0]");
}

TEST_F(GgufTest, AlignmentValues) {
  for (uint32_t align : {1u, 2u, 8u, 16u, 32u, 64u, 256u, 4096u}) {
    SCOPED_TRACE(align);
    GgufWriter w;
    w.set_alignment(align);
    w.add_string("general.name", "abc");  // shifts the end of the header off any alignment
    w.add_tensor("x", GgmlType::kF32, {3}, iota_bytes(12));
    w.add_tensor("y", GgmlType::kF16, {5}, iota_bytes(10, 9));
    w.add_tensor("z", GgmlType::kQ4_0, {32, 1}, iota_bytes(18, 3));
    const std::string path = write(w.to_bytes(), "align.gguf");
    GgufFile f(path);
    EXPECT_EQ(f.alignment(), align);
    EXPECT_EQ(f.get_int("general.alignment"), align);
    const std::vector<uint8_t> bytes = test::read_bytes(path);
    const uint8_t* base = f.tensors()[0].data - (f.tensors()[0].offset);
    for (const GgufTensorInfo& t : f.tensors()) {
      EXPECT_EQ(t.offset % align, 0u) << t.name;
      EXPECT_EQ(t.data, base + t.offset);
    }
    EXPECT_EQ(std::memcmp(f.find_tensor("x")->data, iota_bytes(12).data(), 12), 0);
    EXPECT_EQ(std::memcmp(f.find_tensor("y")->data, iota_bytes(10, 9).data(), 10), 0);
    EXPECT_EQ(std::memcmp(f.find_tensor("z")->data, iota_bytes(18, 3).data(), 18), 0);
    EXPECT_EQ(f.find_tensor("nope"), nullptr);
  }
}

TEST_F(GgufTest, DataStartIsAlignedFromFileStart) {
  GgufWriter w;
  w.set_alignment(64);
  w.add_tensor("x", GgmlType::kF32, {1}, iota_bytes(4));
  const std::string path = write(w.to_bytes(), "start.gguf");
  const std::vector<uint8_t> bytes = test::read_bytes(path);
  GgufFile f(path);
  // The tensor is the last 64-byte block of the file (4 data bytes + 60 padding).
  EXPECT_EQ(bytes.size() % 64, 0u);
  EXPECT_EQ(std::memcmp(bytes.data() + bytes.size() - 64, iota_bytes(4).data(), 4), 0);
  EXPECT_EQ(f.tensors()[0].n_bytes, 4u);
}

TEST_F(GgufTest, EveryTensorTypeInTheTable) {
  int n_types = 0;
  for (uint32_t id = 0; id < 64; ++id) {
    const GgmlTypeInfo* info = ggml_type_info(id);
    if (info == nullptr) continue;
    ++n_types;
    SCOPED_TRACE(info->name);
    const auto type = static_cast<GgmlType>(id);
    const std::vector<int64_t> ne = {2 * info->block_size, 3};
    const size_t n_bytes = 2 * 3 * static_cast<size_t>(info->block_bytes);
    GgufWriter w;
    w.add_tensor("w", type, ne, iota_bytes(n_bytes, static_cast<uint8_t>(id)));
    w.add_tensor("norm", GgmlType::kF32, {7}, iota_bytes(28));
    const std::string path = write(w.to_bytes(), "types.gguf");
    GgufFile f(path);
    const GgufTensorInfo* t = f.find_tensor("w");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->type, type);
    EXPECT_EQ(t->ne, ne);
    EXPECT_EQ(t->n_elements(), 6 * info->block_size);
    EXPECT_EQ(t->n_bytes, n_bytes);
    EXPECT_EQ(std::memcmp(t->data, iota_bytes(n_bytes, static_cast<uint8_t>(id)).data(), n_bytes),
              0);
  }
  EXPECT_GE(n_types, 7);
}

TEST_F(GgufTest, FourDimsAndZeroSizedTensor) {
  GgufWriter w;
  w.add_tensor("four", GgmlType::kF32, {2, 3, 1, 2}, iota_bytes(48));
  w.add_tensor("empty", GgmlType::kF32, {4, 0}, {});
  const std::string path = write(w.to_bytes(), "dims.gguf");
  GgufFile f(path);
  EXPECT_EQ(f.find_tensor("four")->n_elements(), 12);
  EXPECT_EQ(f.find_tensor("empty")->n_bytes, 0u);
  EXPECT_EQ(f.tensors()[0].name, "four");  // file order is kept
}

TEST_F(GgufTest, Version2IsAccepted) {
  std::vector<uint8_t> bytes = small_valid_file();
  bytes[4] = 2;
  GgufFile f(write(bytes, "v2.gguf"));
  EXPECT_EQ(f.version(), 2u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
}

TEST_F(GgufTest, WriteToPathMatchesToBytes) {
  GgufWriter w;
  w.add_string("general.architecture", "qwen3");
  std::vector<float> data = {1, 2, 3, 4};
  w.add_tensor_view("v", GgmlType::kF32, {4}, data.data(), 16);
  const std::string path = dir_.file("w.gguf");
  w.write(path);
  EXPECT_EQ(test::read_bytes(path), w.to_bytes());
  GgufFile f(path);
  float back[4];
  std::memcpy(back, f.find_tensor("v")->data, 16);
  EXPECT_EQ(back[3], 4.0f);
  const std::string msg = error_message([&] { w.write(dir_.file("no/such/dir.gguf")); });
  EXPECT_NE(msg.find("dir.gguf"), std::string::npos) << msg;
}

TEST_F(GgufTest, WriterRejectsBadInput) {
  GgufWriter w;
  w.add_u32("k", 1);
  EXPECT_THROW(w.add_u32("k", 2), Error);
  EXPECT_THROW(w.set_alignment(24), Error);
  EXPECT_THROW(w.set_alignment(0), Error);
  EXPECT_THROW(w.add_int_array("u", {-1}, GgufValueType::kU8), Error);
  EXPECT_THROW(w.add_int_array("u", {300}, GgufValueType::kU8), Error);
  EXPECT_THROW(w.add_value("mixed", arr(GgufValueType::kI32, {{GgufValueType::kU8, uint64_t{1}}})),
               Error);
  EXPECT_THROW(w.add_tensor("t", GgmlType::kF32, {4}, iota_bytes(15)), Error);
  EXPECT_THROW(w.add_tensor("t", GgmlType::kQ8_0, {16}, iota_bytes(17)), Error);
  EXPECT_THROW(w.add_tensor("t", GgmlType::kF32, {-1}, {}), Error);
  EXPECT_THROW(w.add_tensor("t", GgmlType::kF32, {1, 1, 1, 1, 1}, iota_bytes(4)), Error);
  w.add_tensor("t", GgmlType::kF32, {1}, iota_bytes(4));
  EXPECT_THROW(w.add_tensor("t", GgmlType::kF32, {1}, iota_bytes(4)), Error);
}

// ---- malformed headers ----------------------------------------------------------------------

TEST_F(GgufTest, EmptyFile) {
  expect_fails({}, {"truncated", "magic"});
}

TEST_F(GgufTest, MissingFile) {
  const std::string msg = error_message([&] { GgufFile f(dir_.file("absent.gguf")); });
  EXPECT_NE(msg.find("absent.gguf"), std::string::npos) << msg;
}

TEST_F(GgufTest, BadMagic) {
  std::vector<uint8_t> bytes = small_valid_file();
  bytes[0] = 'X';
  expect_fails(bytes, {"magic"});
}

TEST_F(GgufTest, Version1Rejected) {
  expect_fails(header(0, 0, 1), {"version 1"});
}

TEST_F(GgufTest, UnknownVersionRejected) {
  expect_fails(header(0, 0, 4), {"version 4"});
}

TEST_F(GgufTest, BigEndianVersionRejected) {
  expect_fails(header(0, 0, 0x03000000), {"big-endian"});
}

TEST_F(GgufTest, HugeTensorCountFailsFast) {
  expect_fails(header(uint64_t{1} << 60, 0), {"tensor count"});
}

TEST_F(GgufTest, HugeMetadataCountFailsFast) {
  expect_fails(header(0, uint64_t{1} << 60), {"metadata count"});
}

TEST_F(GgufTest, HugeKeyLengthFailsFast) {
  Bytes b = header(0, 1);
  b.u64(uint64_t{1} << 60).raw("key").u32(4).u32(1);
  expect_fails(b, {"length"});
}

TEST_F(GgufTest, HugeStringValueLengthFailsFast) {
  Bytes b = header(0, 1);
  b.str("general.name").u32(8).u64(uint64_t{1} << 60).raw("abc");
  expect_fails(b, {"length", "general.name"});
}

TEST_F(GgufTest, HugeArrayCountFailsFast) {
  Bytes b = header(0, 1);
  b.str("tokenizer.ggml.tokens").u32(9).u32(8).u64(uint64_t{1} << 60).str("a");
  expect_fails(b, {"array count", "tokenizer.ggml.tokens"});
}

TEST_F(GgufTest, HugeNestedArrayCountFailsFast) {
  Bytes b = header(0, 1);
  b.str("k").u32(9).u32(9).u64(1).u32(4).u64(uint64_t{1} << 62).u32(0);
  expect_fails(b, {"array count"});
}

TEST_F(GgufTest, UnknownValueType) {
  Bytes b = header(0, 1);
  b.str("general.thing").u32(13).u32(0);
  expect_fails(b, {"value type 13", "general.thing"});
}

TEST_F(GgufTest, UnknownArrayElementType) {
  Bytes b = header(0, 1);
  b.str("general.thing").u32(9).u32(99).u64(0);
  expect_fails(b, {"element type 99"});
}

TEST_F(GgufTest, NestingTooDeep) {
  Bytes b = header(0, 1);
  b.str("deep").u32(9);
  for (int i = 0; i < 20; ++i) b.u32(9).u64(1);
  b.u32(4).u64(0);
  expect_fails(b, {"nested", "deep"});
}

TEST_F(GgufTest, NestingAtTheLimitIsAccepted) {
  GgufValue v = arr(GgufValueType::kU8, {{GgufValueType::kU8, uint64_t{7}}});
  for (int i = 1; i < 8; ++i) v = arr(GgufValueType::kArray, {v});
  GgufWriter w;
  w.add_value("deep", v);
  GgufFile f(write(w.to_bytes(), "deep.gguf"));
  EXPECT_TRUE(f.has("deep"));
}

TEST_F(GgufTest, DuplicateKey) {
  Bytes b = header(0, 2);
  b.str("general.name").u32(8).str("a");
  b.str("general.name").u32(8).str("b");
  expect_fails(b, {"duplicate", "general.name"});
}

TEST_F(GgufTest, TruncatedValue) {
  Bytes b = header(0, 1);
  b.str("llama.block_count").u32(4).u16(1);
  expect_fails(b, {"truncated", "llama.block_count"});
}

TEST_F(GgufTest, AlignmentWrongType) {
  Bytes b = header(0, 1);
  b.str("general.alignment").u32(5).i32(32);
  expect_fails(b, {"general.alignment", "i32"});
}

TEST_F(GgufTest, AlignmentZero) {
  Bytes b = header(0, 1);
  b.str("general.alignment").u32(4).u32(0);
  expect_fails(b, {"general.alignment", "power of two"});
}

TEST_F(GgufTest, AlignmentNotPowerOfTwo) {
  Bytes b = header(0, 1);
  b.str("general.alignment").u32(4).u32(24);
  expect_fails(b, {"general.alignment 24", "power of two"});
}

// ---- malformed tensor infos -----------------------------------------------------------------

TEST_F(GgufTest, TensorNameTooLong) {
  expect_fails(raw_tensor_file({{std::string(300, 'n'), {4}, 0, 0}}, 16), {"length 300"});
}

TEST_F(GgufTest, TensorNameAtLimitIsAccepted) {
  const std::string name(256, 'n');
  GgufFile f(write(raw_tensor_file({{name, {4}, 0, 0}}, 16), "long.gguf"));
  EXPECT_NE(f.find_tensor(name), nullptr);
}

TEST_F(GgufTest, EmptyTensorName) {
  expect_fails(raw_tensor_file({{"", {4}, 0, 0}}, 16), {"empty"});
}

TEST_F(GgufTest, ZeroDims) {
  expect_fails(raw_tensor_file({{"t.weight", {}, 0, 0}}, 16), {"t.weight", "n_dims 0"});
}

TEST_F(GgufTest, TooManyDims) {
  expect_fails(raw_tensor_file({{"t.weight", {1, 1, 1, 1, 1}, 0, 0}}, 16),
               {"t.weight", "n_dims 5"});
}

TEST_F(GgufTest, NegativeDimension) {
  expect_fails(raw_tensor_file({{"t.weight", {4, ~uint64_t{0}}, 0, 0}}, 16),
               {"t.weight", "negative", "ne[1] = -1"});
}

TEST_F(GgufTest, ElementCountOverflow) {
  expect_fails(raw_tensor_file({{"t.weight", {uint64_t{1} << 32, uint64_t{1} << 32}, 0, 0}}, 16),
               {"t.weight", "overflow"});
}

TEST_F(GgufTest, ByteSizeOverflow) {
  // 2^61 f32 elements fit int64 as a count but not as bytes.
  expect_fails(raw_tensor_file({{"t.weight", {uint64_t{1} << 61}, 0, 0}}, 16),
               {"t.weight", "overflow"});
}

TEST_F(GgufTest, NotBlockMultiple) {
  expect_fails(raw_tensor_file({{"blk.0.attn_q.weight", {48, 2}, 8, 0}}, 256),
               {"blk.0.attn_q.weight", "ne[0] = 48", "block size 32"});
}

TEST_F(GgufTest, UnknownTypeId) {
  expect_fails(raw_tensor_file({{"blk.0.ffn_up.weight", {256}, 99, 0}}, 1024),
               {"blk.0.ffn_up.weight", "type id 99"});
}

TEST_F(GgufTest, UnsupportedRealTypeId) {
  // Q5_K (13) is a real ggml type that sparkv does not load yet.
  expect_fails(raw_tensor_file({{"w", {256}, 13, 0}}, 1024), {"'w'", "type id 13"});
}

TEST_F(GgufTest, MisalignedOffset) {
  expect_fails(raw_tensor_file({{"a", {4}, 0, 0}, {"b", {4}, 0, 20}}, 64),
               {"'b'", "offset 20", "alignment 32"});
}

TEST_F(GgufTest, DataPastEndOfFile) {
  expect_fails(raw_tensor_file({{"blk.0.attn_q.weight", {1024}, 0, 0}}, 2000),
               {"blk.0.attn_q.weight", "4096 bytes", "past end of file"});
}

TEST_F(GgufTest, HugeOffsetPastEndOfFile) {
  expect_fails(raw_tensor_file({{"t", {4}, 0, ~uint64_t{0} - 31}}, 64), {"'t'", "past end"});
}

TEST_F(GgufTest, MissingPaddingBeforeData) {
  // A zero-byte tensor still needs the aligned data section start to lie within the file.
  Bytes b = header(1, 0);
  put_info(b, {"t", {0}, 0, 0});
  ASSERT_NE(b.size() % 32, 0u);
  expect_fails(b, {"'t'", "past end"});
}

TEST_F(GgufTest, DuplicateTensorName) {
  expect_fails(raw_tensor_file({{"same", {4}, 0, 0}, {"same", {4}, 0, 32}}, 64),
               {"duplicate", "same"});
}

TEST_F(GgufTest, OverlappingTensors) {
  expect_fails(raw_tensor_file({{"a", {16}, 0, 0}, {"b", {4}, 0, 32}}, 128),
               {"overlap", "'a'", "'b'"});
}

TEST_F(GgufTest, TruncatedTensorInfo) {
  Bytes b = header(1, 0);
  b.str("tensor_with_a_longer_name").u32(2).u64(4);  // ne[1], type and offset missing
  expect_fails(b, {"truncated", "tensor_with_a_longer_name"});
}

// ---- robustness -----------------------------------------------------------------------------

TEST_F(GgufTest, EveryTruncationThrows) {
  const std::vector<uint8_t> full = small_valid_file();
  const std::string path = dir_.file("trunc.gguf");
  for (size_t n = 0; n <= full.size(); ++n) {
    test::write_bytes(path, full.data(), n);
    if (n == full.size()) {
      EXPECT_NO_THROW(GgufFile f(path));
      continue;
    }
    const std::string msg = error_message([&] { GgufFile f(path); });
    EXPECT_NE(msg.find("trunc.gguf"), std::string::npos) << "prefix " << n << ": " << msg;
  }
}

TEST_F(GgufTest, RandomByteFlipsThrowOrOpen) {
  const std::vector<uint8_t> full = small_valid_file();
  const std::string path = dir_.file("flip.gguf");
  std::mt19937 rng(1234);
  int opened = 0, rejected = 0;
  for (int iter = 0; iter < 500; ++iter) {
    std::vector<uint8_t> bytes = full;
    test::mutate_bytes(bytes, rng, 4);
    test::write_bytes(path, bytes);
    try {
      GgufFile f(path);
      // Whatever opened must be internally consistent: every tensor lies inside the file.
      for (const GgufTensorInfo& t : f.tensors()) {
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

// Limits that must fail cleanly (issue 10): the context size and its --truncate mode, the
// --kv-mem-limit budget (checked before any cache page is allocated), files whose headers claim
// sizes far beyond the bytes present (rejected before allocating), and non-finite logits.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <numeric>

#include <nlohmann/json.hpp>

#include "core/byte_size.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "io/safetensors.h"
#include "kv/dense_cache.h"
#include "model/model.h"
#include "press/press_spec.h"
#include "runtime/generate.h"
#include "runtime/memory_plan.h"
#include "runtime/prefill.h"
#include "runtime/session.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace sparkv {
namespace {

using test::Bytes;
using test::error_message;
using test::TempDir;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// ---------------------------------------------------------------------------- tiny models

enum class Poison { kNone, kNaNEmbedding, kHugeLmHead };

// A llama GGUF (width 32, 2 heads of 16, 1 KV head, vocab 40; 1 layer unless told) with f32
// weights. `width` / `heads` shrink it (head_dim stays 16).
std::string write_tiny_model(const TempDir& dir, Poison poison = Poison::kNone, int ctx = 64,
                             int layers = 1, int width = 32, int heads = 2) {
  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_u32("llama.block_count", layers);
  w.add_u32("llama.embedding_length", width);
  w.add_u32("llama.feed_forward_length", 2 * width);
  w.add_u32("llama.attention.head_count", heads);
  w.add_u32("llama.attention.head_count_kv", 1);
  w.add_u32("llama.attention.key_length", 16);
  w.add_u32("llama.attention.value_length", 16);
  w.add_u32("llama.context_length", ctx);
  w.add_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  uint32_t state = 1;
  auto tensor = [&](const std::string& name, std::vector<int64_t> ne, float scale = 0.2f) {
    const int64_t n = std::accumulate(ne.begin(), ne.end(), int64_t{1}, std::multiplies<>());
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) {
      state = state * 1664525u + 1013904223u;
      x = scale * (static_cast<float>(state >> 8) / 16777216.0f * 2 - 1);
    }
    if (poison == Poison::kNaNEmbedding && name == "token_embd.weight")
      for (int i = 0; i < 32; ++i) v[7 * 32 + i] = std::numeric_limits<float>::quiet_NaN();
    std::vector<uint8_t> b(v.size() * 4);
    std::memcpy(b.data(), v.data(), b.size());
    w.add_tensor(name, GgmlType::kF32, ne, std::move(b));
  };
  const int64_t E = width, Q = 16 * heads;
  tensor("token_embd.weight", {E, 40});
  tensor("output_norm.weight", {E}, 1.0f);
  tensor("output.weight", {E, 40}, poison == Poison::kHugeLmHead ? 3e38f : 0.2f);
  for (int l = 0; l < layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    tensor(b + "attn_norm.weight", {E}, 1.0f);
    tensor(b + "attn_q.weight", {E, Q});
    tensor(b + "attn_k.weight", {E, 16});
    tensor(b + "attn_v.weight", {E, 16});
    tensor(b + "attn_output.weight", {Q, E});
    tensor(b + "ffn_norm.weight", {E}, 1.0f);
    tensor(b + "ffn_gate.weight", {E, 2 * E});
    tensor(b + "ffn_up.weight", {E, 2 * E});
    tensor(b + "ffn_down.weight", {2 * E, E});
  }
  const std::string path = dir.file("tiny.gguf");
  w.write(path);
  return path;
}

// ---------------------------------------------------------------------------- byte sizes

TEST(ReliabilityLimits, ParsesByteSizes) {
  EXPECT_EQ(parse_byte_size("1048576", "x"), 1048576u);
  EXPECT_EQ(parse_byte_size("512MiB", "x"), 512ull << 20);
  EXPECT_EQ(parse_byte_size("2GiB", "x"), 2ull << 30);
  EXPECT_EQ(parse_byte_size("1.5gib", "x"), 3ull << 29);
  EXPECT_EQ(parse_byte_size("64k", "x"), 65536u);
  EXPECT_EQ(parse_byte_size("800MB", "x"), 800'000'000u);
  EXPECT_EQ(parse_byte_size("10B", "x"), 10u);
  EXPECT_TRUE(contains(error_message([] { parse_byte_size("lots", "--kv-mem-limit"); }),
                       "--kv-mem-limit 'lots' is not a byte size"));
  EXPECT_TRUE(contains(error_message([] { parse_byte_size("-1GiB", "--kv-mem-limit"); }),
                       "is not a byte size"));
  EXPECT_TRUE(contains(error_message([] { parse_byte_size("3 parsecs", "--kv-mem-limit"); }),
                       "unknown unit ' parsecs'"));
  EXPECT_TRUE(
      contains(error_message([] { parse_byte_size("1e30", "--kv-mem-limit"); }), "too large"));
  EXPECT_EQ(format_bytes(100), "100 bytes");
  EXPECT_EQ(format_bytes(3ull << 29), "1.50 GiB");
}

// ---------------------------------------------------------------------------- KV budget

TEST(ReliabilityLimits, DenseKvBytesCountsWholePages) {
  ModelConfig c;
  c.n_layer = 3;
  c.n_head_kv = 2;
  c.head_dim = 64;
  const uint64_t page = DenseLayerCache::kPageTokens;
  auto pages = [&](uint64_t tokens) { return (tokens + page - 1) / page * page; };
  // f16 K + f16 V: 256 bytes per token and head.
  EXPECT_EQ(dense_kv_bytes(c, 300, {}), 3u * 2 * pages(300) * 256);
  EXPECT_EQ(dense_kv_bytes(c, page, {}), 3u * 2 * page * 256);
  EXPECT_EQ(dense_kv_bytes(c, page + 1, {}), 3u * 2 * 2 * page * 256);
  // q8_0 K (2 blocks of 34 bytes) + q4_0 V (2 blocks of 18 bytes).
  EXPECT_EQ(dense_kv_bytes(c, 1, {KvDtype::kQ8_0, KvDtype::kQ4_0}), 3u * 2 * page * (68 + 36));
}

TEST(ReliabilityLimits, KvMemLimitFailsBeforeAllocating) {
  TempDir dir;
  auto model = Model::load(write_tiny_model(dir), false);
  const ModelConfig& cfg = model->config();
  const uint64_t need = dense_kv_bytes(cfg, 1000, {});
  const uint64_t page = DenseLayerCache::kPageTokens;
  EXPECT_EQ(need, (1000 + page - 1) / page * page * (32 + 32));  // 1 layer, 1 KV head, D = 16
  SessionOptions so;
  so.n_ctx = 1000;
  const PressPipeline full;
  const MemoryPlan plan = plan_memory(cfg, {}, full, 3, 1000, so.prefill_chunk);
  EXPECT_EQ(plan.decode, need);  // full: the dense cache of the whole context
  EXPECT_EQ(plan.peak(), need + plan.scratch);
  EXPECT_EQ(plan.scratch, prefill_scratch_bytes(cfg, 3, so.prefill_chunk, false));
  so.kv_mem_limit = plan.peak() - 1;
  Session s(*model, so);  // the prefill checks, before any page is allocated
  const std::string msg = error_message([&] { Prefill p(s, {1, 2, 3}, PressNeeds{}); });
  EXPECT_TRUE(contains(msg, fmt::format("KV cache for a context of 1000 tokens needs {} ({} bytes",
                                        format_bytes(need), need)))
      << msg;
  EXPECT_TRUE(contains(msg, fmt::format("over the --kv-mem-limit of {} ({} bytes)",
                                        format_bytes(plan.peak() - 1), plan.peak() - 1)))
      << msg;
  EXPECT_EQ(s.kv_bytes(), 0u);
  EXPECT_EQ(s.n_past(), 0);
  so.kv_mem_limit = plan.peak();
  Session ok(*model, so);
  Prefill p(ok, {1, 2, 3}, PressNeeds{});
  EXPECT_LE(ok.kv_bytes(), need);
  // A context of 2^40 tokens is refused by the budget without touching memory.
  so.n_ctx = int64_t{1} << 40;
  so.kv_mem_limit = uint64_t{64} << 30;
  Session huge(*model, so);
  EXPECT_TRUE(contains(error_message([&] {
                         Prefill q(huge, {1, 2, 3}, PressNeeds{});
                       }),
                       "over the --kv-mem-limit"));
}

// Issue 20: a context the budget refuses with the full cache runs compressed, because the
// prefill holds the compressed layers + one dense layer; the error for full names that recipe.
// 64k tokens on a 4-layer model of width 16 and one head of 16 (its residual stream, which a
// layer-major prefill holds for every token, is as large as one layer's cache).
TEST(ReliabilityLimits, CompressedRecipeFitsWhereFullDoesNot) {
  TempDir dir;
  constexpr int64_t kN = 65536;
  auto model = Model::load(write_tiny_model(dir, Poison::kNone, kN + 64, 4, 16, 1), false);
  const ModelConfig& cfg = model->config();
  std::vector<int32_t> ids(kN);
  for (int64_t i = 0; i < kN; ++i) ids[i] = static_cast<int32_t>(1 + (i * 7919) % 39);
  const PressPipeline full, packed = parse_press_spec("snapkv:budget=2048+spark:ratio=0.8");
  SessionOptions so;
  so.n_ctx = kN + 64;
  const MemoryPlan pf = plan_memory(cfg, {}, full, kN, so.n_ctx, so.prefill_chunk);
  const MemoryPlan pc = plan_memory(cfg, {}, packed, kN, so.n_ctx, so.prefill_chunk);
  ASSERT_LT(pc.peak(), pf.peak() * 3 / 4);
  so.kv_mem_limit = (pc.peak() + pf.peak()) / 2;
  Session refused(*model, so);
  const std::string msg = error_message([&] { Prefill p(refused, ids, PressNeeds{}); });
  EXPECT_TRUE(contains(msg, "KV cache for a context of 65600 tokens needs")) << msg;
  EXPECT_TRUE(contains(msg, "recipe 'snapkv:budget=")) << msg;
  EXPECT_EQ(refused.kv_bytes(), 0u);
  Session s(*model, so);
  size_t peak = 0;
  {
    Prefill p(s, ids, packed, 0);
    peak = p.dense_bytes() / cfg.n_layer;  // every layer's dense cache had the same size
  }
  EXPECT_EQ(s.n_past(), kN);
  EXPECT_LE(s.kv_bytes(), pc.compressed);
  EXPECT_LE(peak, pc.dense_layer);
  EXPECT_LE(s.kv_bytes() + peak + pc.scratch, so.kv_mem_limit);
  s.feed({1});  // and it decodes
  EXPECT_EQ(s.n_past(), kN + 1);
}

// ---------------------------------------------------------------------------- context size

TEST(ReliabilityLimits, ContextOverflowIsAnError) {
  TempDir dir;
  auto model = Model::load(write_tiny_model(dir, Poison::kNone, /*ctx=*/8), false);
  Session s(*model);
  EXPECT_EQ(s.n_ctx(), 8);
  std::vector<int32_t> nine(9, 1);
  EXPECT_EQ(error_message([&] { s.feed(nine); }),
            "context full: 0 tokens already + 9 new exceeds the context size of 8 tokens (raise "
            "--ctx-size, up to what the model supports)");
  Sampler sampler(SamplerParams{});
  GenerateOptions go;
  EXPECT_EQ(error_message([&] {
              generate(s, nine, sampler, go);
            }).rfind("prompt of 9 tokens exceeds the context size of 8 tokens", 0),
            0u);
  // Generation that reaches the end of the context stops with a reason, not an error.
  go.n_predict = 100;
  const GenerateResult r = generate(s, {1, 2, 3}, sampler, go);
  EXPECT_EQ(r.stop_reason, "context_full");
  EXPECT_EQ(s.n_past(), 8);
}

TEST(ReliabilityLimits, FitPromptKeepsBothEnds) {
  std::vector<int32_t> p(10);
  std::iota(p.begin(), p.end(), 0);
  std::vector<int32_t> q = p;
  EXPECT_EQ(fit_prompt(q, 10, TruncateMode::kMiddle), 0u);
  EXPECT_EQ(q, p);
  EXPECT_EQ(fit_prompt(q, 5, TruncateMode::kMiddle), 6u);  // int(5/2) from each end
  EXPECT_EQ(q, (std::vector<int32_t>{0, 1, 8, 9}));
  q = p;
  EXPECT_EQ(fit_prompt(q, 6, TruncateMode::kMiddle), 4u);
  EXPECT_EQ(q, (std::vector<int32_t>{0, 1, 2, 7, 8, 9}));
  q = p;
  EXPECT_EQ(fit_prompt(q, 4, TruncateMode::kMiddle), 6u);
  EXPECT_EQ(q, (std::vector<int32_t>{0, 1, 8, 9}));
  q = p;
  EXPECT_EQ(error_message([&] { fit_prompt(q, 4, TruncateMode::kError); }),
            "prompt of 10 tokens exceeds the 4 tokens of room in the context (raise --ctx-size or "
            "pass --truncate middle)");
  EXPECT_TRUE(contains(error_message([&] { fit_prompt(q, 1, TruncateMode::kMiddle); }),
                       "no room for the prompt"));
  EXPECT_EQ(truncate_mode_from_name("middle"), TruncateMode::kMiddle);
  EXPECT_EQ(error_message([] { truncate_mode_from_name("left"); }),
            "unknown --truncate mode 'left' (valid: error, middle)");
}

// ---------------------------------------------------------------------------- NaN / Inf

TEST(ReliabilityLimits, NonFiniteLogitsAreAnError) {
  TempDir dir;
  {
    auto model = Model::load(write_tiny_model(dir, Poison::kNaNEmbedding), false);
    Session s(*model);
    s.feed({1, 2});  // rows without NaN are fine
    const std::string msg = error_message([&] { s.feed({7}); });
    EXPECT_TRUE(contains(msg, "tiny.gguf: the forward pass produced a non-finite logit (nan"))
        << msg;
    EXPECT_TRUE(contains(msg, "at position 2")) << msg;
    Session all(*model);
    EXPECT_TRUE(contains(error_message([&] { all.feed_all_logits({1, 7, 2}); }), "at position 1"));
  }
  {
    auto model = Model::load(write_tiny_model(dir, Poison::kHugeLmHead), false);
    Session s(*model);
    const std::string msg = error_message([&] { s.feed({1}); });
    EXPECT_TRUE(contains(msg, "non-finite logit (")) << msg;
    EXPECT_TRUE(contains(msg, "inf") || contains(msg, "nan")) << msg;
  }
}

// ---------------------------------------------------------------------------- file sizes

std::string open_gguf(const TempDir& dir, const Bytes& bytes) {
  const std::string path = dir.file("claims.gguf");
  test::write_bytes(path, bytes);
  return error_message([&] { GgufFile g(path); });
}

TEST(ReliabilityLimits, GgufHugeClaimsAreRejectedBeforeAllocation) {
  TempDir dir;
  // Counts far beyond what the 24-byte header's remainder can hold.
  EXPECT_TRUE(contains(open_gguf(dir, Bytes().u32(kGgufMagic).u32(3).u64(uint64_t{1} << 40).u64(0)),
                       "tensor count 1099511627776 exceeds what the file can hold"));
  EXPECT_TRUE(contains(open_gguf(dir, Bytes().u32(kGgufMagic).u32(3).u64(0).u64(uint64_t{1} << 62)),
                       "metadata count 4611686018427387904 exceeds what the file can hold"));
  // A string claiming 2^62 bytes.
  EXPECT_TRUE(contains(
      open_gguf(dir, Bytes().u32(kGgufMagic).u32(3).u64(0).u64(1).u64(uint64_t{1} << 62).zeros(64)),
      "has length 4611686018427387904 (limit 65535)"));
  // An array claiming 2^60 u64 elements.
  EXPECT_TRUE(contains(open_gguf(dir, Bytes()
                                          .u32(kGgufMagic)
                                          .u32(3)
                                          .u64(0)
                                          .u64(1)
                                          .str("big")
                                          .u32(9)
                                          .u32(10)
                                          .u64(uint64_t{1} << 60)
                                          .zeros(64)),
                       "array count 1152921504606846976 exceeds what the remaining"));
  // A tensor of 2^40 x 2^20 f32 in a file of a few dozen bytes.
  EXPECT_TRUE(contains(open_gguf(dir, Bytes()
                                          .u32(kGgufMagic)
                                          .u32(3)
                                          .u64(1)
                                          .u64(0)
                                          .str("w")
                                          .u32(2)
                                          .u64(uint64_t{1} << 40)
                                          .u64(1 << 20)
                                          .u32(0)
                                          .u64(0)
                                          .zeros(64)),
                       "runs past end of file"));
  // ... and one whose byte size overflows int64.
  EXPECT_TRUE(contains(open_gguf(dir, Bytes()
                                          .u32(kGgufMagic)
                                          .u32(3)
                                          .u64(1)
                                          .u64(0)
                                          .str("w")
                                          .u32(2)
                                          .u64(uint64_t{1} << 62)
                                          .u64(8)
                                          .u32(0)
                                          .u64(0)
                                          .zeros(64)),
                       "overflows int64"));
}

std::string open_safetensors(const TempDir& dir, const std::string& header, size_t data_bytes = 0,
                             uint64_t claimed_len = 0) {
  const std::string path = dir.file("claims.safetensors");
  Bytes b;
  b.u64(claimed_len ? claimed_len : header.size()).raw(header).zeros(data_bytes);
  test::write_bytes(path, b);
  return error_message([&] { SafetensorsModel st(path); });
}

TEST(ReliabilityLimits, SafetensorsHugeClaimsAreRejectedBeforeAllocation) {
  TempDir dir;
  EXPECT_TRUE(contains(open_safetensors(dir, "{}", 0, uint64_t{1} << 60),
                       "header length 1152921504606846976 exceeds the 100000000 byte limit"));
  EXPECT_TRUE(contains(open_safetensors(dir, "{}", 0, 50'000'000),
                       "header length 50000000 runs past end of file"));
  EXPECT_TRUE(contains(
      open_safetensors(
          dir, R"({"w":{"dtype":"F32","shape":[1099511627776,1048576],"data_offsets":[0,16]}})",
          16),
      "hold 16 bytes, but F32 [1099511627776, 1048576] needs"));
  EXPECT_TRUE(contains(
      open_safetensors(
          dir, R"({"w":{"dtype":"F32","shape":[4611686018427387904,16],"data_offsets":[0,16]}})",
          16),
      "overflows the byte size"));
  EXPECT_TRUE(contains(
      open_safetensors(
          dir, R"({"w":{"dtype":"U8","shape":[1073741824],"data_offsets":[0,1073741824]}})", 16),
      "run past end of the data buffer"));
}

TEST(ReliabilityLimits, JsonHugeClaimsAreRejected) {
  TempDir dir;
  // A token id of 2^40 would size the id table to 2^40 entries.
  test::write_text(
      dir.file("tokenizer.json"),
      R"({"model": {"type": "BPE", "vocab": {"a": 1099511627776}, "merges": ["a a"]}})");
  EXPECT_TRUE(contains(error_message([&] { Tokenizer::from_hf(dir.path().string()); }),
                       "token id 1099511627776 is implausibly large"));
  // A config.json of 65 MiB (sparse) is refused by size before it is read.
  TempDir model_dir;
  const std::string cfg = model_dir.file("config.json");
  { std::ofstream(cfg) << "{}"; }
  std::filesystem::resize_file(cfg, 65ull << 20);
  EXPECT_TRUE(contains(error_message([&] { Model::load(model_dir.path().string()); }),
                       "implausible size for a JSON config"));
}

// ---------------------------------------------------------------------------- CLI

// Runs the CLI, returns {exit status, stdout, stderr}.
struct CliResult {
  int rc;
  std::string out, err;
};

CliResult run_cli(const std::string& args) {
  TempDir dir;
  const std::string out = dir.file("out.txt"), err = dir.file("err.txt");
  const std::string cmd = std::string(SPARKV_CLI_PATH) + " " + args + " >" + out + " 2>" + err;
  const int rc = std::system(cmd.c_str());
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(out), slurp(err)};
}

#ifdef SPARKV_GOLDEN_DIR
TEST(ReliabilityLimits, CliContextTruncationAndKvBudget) {
  const std::string model = std::string(SPARKV_GOLDEN_DIR) + "/qwen3-f32.gguf";
  const std::string prompt =
      "'one two three four five six seven eight nine ten eleven twelve thirteen fourteen'";
  CliResult r = run_cli("run -m " + model + " -p " + prompt + " -c 12 -n 2 --temp 0");
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, "sparkv: error: prompt of ")) << r.err;
  EXPECT_TRUE(contains(r.err, "tokens exceeds the context size of 12 tokens")) << r.err;

  r = run_cli("run -m " + model + " -p " + prompt +
              " -c 12 -n 2 --temp 0 --truncate middle --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["prompt_tokens"], 10);  // 12 - 2 kept for the answer
  EXPECT_GT(j["prompt_tokens_before_truncation"].get<int>(), 12);
  EXPECT_TRUE(contains(r.err, "prompt truncated (middle)")) << r.err;

  r = run_cli("run -m " + model + " -p hi --truncate left");
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, "unknown --truncate mode 'left'")) << r.err;

  r = run_cli("run -m " + model + " -p hi -c 4096 --kv-mem-limit 1KiB");
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, "sparkv: error: KV cache for a context of 4096 tokens needs"))
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = run_cli("run -m " + model + " -p hi -c 64 -n 1 --kv-mem-limit 64MiB");
  EXPECT_EQ(r.rc, 0) << r.err;
  r = run_cli("run -m " + model + " -p hi --kv-mem-limit lots");
  EXPECT_TRUE(contains(r.err, "--kv-mem-limit 'lots' is not a byte size")) << r.err;
  r = run_cli("bench -m " + model + " -d 0,100000 -p 8 -n 2 --kv-mem-limit 8MiB");
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, "KV cache for a context of 100011 tokens")) << r.err;
}
#endif

}  // namespace
}  // namespace sparkv

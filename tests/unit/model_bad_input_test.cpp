// Bad models and bad command lines: every case must end in one sparkv::Error (library) or one
// "sparkv: error: ..." line and exit status 1 (CLI) that names the file and the problem.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <random>

#include "io/gguf_writer.h"
#include "model/model.h"
#include "runtime/session.h"
#include "test_util.h"

namespace sparkv {
namespace {

using test::error_message;
using test::TempDir;

struct TinySpec {
  std::string arch = "llama";
  int n_embd = 32, n_layer = 1, n_head = 2, n_head_kv = 1, head_dim = 16, n_ff = 64, vocab = 40;
  std::string skip_tensor;         // leave this tensor out
  std::string bad_shape_tensor;    // give this tensor a wrong shape
  std::string skip_key;            // leave this metadata key out
  bool nan_weights = false;
};

std::vector<uint8_t> f32_bytes(size_t n, uint32_t seed, bool nan = false) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-0.2f, 0.2f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  if (nan) v[n / 2] = std::numeric_limits<float>::quiet_NaN();
  std::vector<uint8_t> b(n * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

std::string write_tiny_gguf(const TempDir& dir, const TinySpec& s, const std::string& name = "m.gguf") {
  GgufWriter w;
  const std::string a = s.arch;
  auto key = [&](const std::string& k) { return k != s.skip_key; };
  w.add_string("general.architecture", a);
  if (key(a + ".block_count")) w.add_u32(a + ".block_count", s.n_layer);
  w.add_u32(a + ".embedding_length", s.n_embd);
  w.add_u32(a + ".feed_forward_length", s.n_ff);
  w.add_u32(a + ".attention.head_count", s.n_head);
  w.add_u32(a + ".attention.head_count_kv", s.n_head_kv);
  w.add_u32(a + ".attention.key_length", s.head_dim);
  w.add_f32(a + ".attention.layer_norm_rms_epsilon", 1e-5f);
  uint32_t seed = 1;
  auto tensor = [&](const std::string& name, std::vector<int64_t> ne) {
    if (name == s.skip_tensor) return;
    if (name == s.bad_shape_tensor) ne[0] += 1;
    size_t n = 1;
    for (int64_t x : ne) n *= x;
    w.add_tensor(name, GgmlType::kF32, ne, f32_bytes(n, seed++, s.nan_weights));
  };
  const int q = s.n_head * s.head_dim, kv = s.n_head_kv * s.head_dim;
  tensor("token_embd.weight", {s.n_embd, s.vocab});
  tensor("output_norm.weight", {s.n_embd});
  for (int l = 0; l < s.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    tensor(p + "attn_norm.weight", {s.n_embd});
    tensor(p + "attn_q.weight", {s.n_embd, q});
    tensor(p + "attn_k.weight", {s.n_embd, kv});
    tensor(p + "attn_v.weight", {s.n_embd, kv});
    tensor(p + "attn_output.weight", {q, s.n_embd});
    tensor(p + "ffn_norm.weight", {s.n_embd});
    tensor(p + "ffn_gate.weight", {s.n_embd, s.n_ff});
    tensor(p + "ffn_up.weight", {s.n_embd, s.n_ff});
    tensor(p + "ffn_down.weight", {s.n_ff, s.n_embd});
  }
  const std::string path = dir.file(name);
  w.write(path);
  return path;
}

TEST(ModelBadInput, ValidTinyModelLoadsAndRuns) {
  TempDir dir;
  auto m = Model::load(write_tiny_gguf(dir, {}), false);
  Session s(*m);
  const auto& logits = s.feed({1, 2, 3});
  EXPECT_EQ(static_cast<int>(logits.size()), 40);
}

TEST(ModelBadInput, GgufModelDefects) {
  TempDir dir;
  auto load = [&](const TinySpec& s) {
    return error_message([&] { Model::load(write_tiny_gguf(dir, s), false); });
  };
  TinySpec s;
  s.arch = "gptj";
  EXPECT_NE(load(s).find("unknown architecture 'gptj'"), std::string::npos);
  s = {};
  s.skip_tensor = "blk.0.ffn_up.weight";
  EXPECT_NE(load(s).find("missing tensor 'blk.0.ffn_up.weight'"), std::string::npos);
  s = {};
  s.bad_shape_tensor = "blk.0.attn_q.weight";
  EXPECT_NE(load(s).find("'blk.0.attn_q.weight' has shape"), std::string::npos);
  s = {};
  s.skip_key = "llama.block_count";
  EXPECT_NE(load(s).find("missing metadata key 'llama.block_count'"), std::string::npos);
  s = {};
  s.n_head = 3;
  s.n_head_kv = 2;
  EXPECT_NE(load(s).find("not a multiple"), std::string::npos);
  s = {};
  s.skip_tensor = "token_embd.weight";
  EXPECT_NE(load(s).find("token_embd.weight"), std::string::npos);
  for (const std::string& msg : {load(TinySpec{.arch = "x"})}) EXPECT_NE(msg.find("m.gguf"), std::string::npos);
}

void write_file(const std::string& path, const std::string& text) { test::write_text(path, text); }

TEST(ModelBadInput, HfFolderDefects) {
  TempDir dir;
  const std::string d = dir.path().string();
  EXPECT_NE(error_message([&] { Model::load(d); }).find("no config.json"), std::string::npos);
  write_file(d + "/config.json", "{ not json");
  EXPECT_NE(error_message([&] { Model::load(d); }).find("invalid JSON"), std::string::npos);
  write_file(d + "/config.json", R"({"architectures": ["GPTNeoXForCausalLM"]})");
  EXPECT_NE(error_message([&] { Model::load(d); }).find("unknown architecture 'GPTNeoXForCausalLM'"),
            std::string::npos);
  write_file(d + "/config.json", R"({"architectures": ["LlamaForCausalLM"], "num_hidden_layers": 1})");
  EXPECT_NE(error_message([&] { Model::load(d); }).find("missing field 'hidden_size'"), std::string::npos);
  write_file(d + "/config.json",
             R"({"architectures": ["LlamaForCausalLM"], "num_hidden_layers": 1, "hidden_size": 32,
                 "intermediate_size": 64, "num_attention_heads": 2, "vocab_size": 40,
                 "rope_scaling": {"rope_type": "yarn", "factor": 4}})");
  EXPECT_NE(error_message([&] { Model::load(d); }).find("rope_scaling type 'yarn'"), std::string::npos);
  write_file(d + "/config.json",
             R"({"architectures": ["LlamaForCausalLM"], "num_hidden_layers": -1, "hidden_size": 32,
                 "intermediate_size": 64, "num_attention_heads": 2, "vocab_size": 40})");
  EXPECT_NE(error_message([&] { Model::load(d); }).find("out of range"), std::string::npos);
  EXPECT_NE(error_message([&] { Model::load(d + "/nope.gguf"); }).find("no such file"), std::string::npos);
}

// Runs the CLI, returns {exit status, stderr}.
std::pair<int, std::string> run_cli(const std::string& args) {
  TempDir dir;
  const std::string err = dir.file("err.txt");
  const std::string cmd = std::string(SPARKV_CLI_PATH) + " " + args + " >/dev/null 2>" + err;
  const int rc = std::system(cmd.c_str());
  std::ifstream in(err);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, text};
}

TEST(CliBadInput, OneLineErrorAndExitStatusOne) {
  TempDir dir;
  const std::string good = std::string(SPARKV_GOLDEN_DIR) + "/qwen3-f32.gguf";
  // Truncated copy of a real model file.
  std::ifstream in(good, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string trunc = dir.file("truncated.gguf");
  test::write_bytes(trunc, bytes.data(), bytes.size() / 2);
  const std::string garbage = dir.file("garbage.gguf");
  test::write_text(garbage, "this is not a model file at all");
  struct Case {
    std::string args, want;
  };
  const std::vector<Case> cases = {
      {"run -m " + trunc + " -p hi", "truncated.gguf"},
      {"run -m " + garbage + " -p hi", "garbage.gguf"},
      {"run -m " + dir.file("missing.gguf") + " -p hi", "no such file"},
      {"run -m " + good + " -p hi --press bogus", "unknown method 'bogus'"},
      {"run -m " + good + " -p hi --press snapkv:budget=0", "budget"},
      {"run -m " + good + " -p 'a long prompt that will not fit' -c 4", "exceeds the context"},
      {"run -m " + good + " -p hi --top-p 0", "--top-p"},
      {"run -m " + good, "exactly one of -p TEXT or -f FILE"},
      {"run -m " + good + " -f " + dir.file("nofile.txt"), "cannot open"},
      {"inspect -m " + garbage, "garbage.gguf"},
      {"inspect -m no-such-shipped-model", "no-such-shipped-model: no such file"},
      {"bench -m " + good + " -d x", "--depth"},
  };
  for (const Case& c : cases) {
    const auto [rc, err] = run_cli(c.args);
    EXPECT_EQ(rc, 1) << c.args << "\n" << err;
    EXPECT_EQ(err.rfind("sparkv: error: ", 0), 0u) << c.args << "\n" << err;
    EXPECT_NE(err.find(c.want), std::string::npos) << c.args << "\n" << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << "one line: " << err;
  }
}

// -m also takes the name of a model shipped in models/ (NAME.gguf, NAME-f16.gguf, folder NAME).
TEST(CliModelName, ShippedNamesResolve) {
  const std::string models = std::string(SPARKV_SOURCE_DIR) + "/models/";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"sparkv-tiny", "sparkv-tiny-f16.gguf (gguf)"},
      {"sparkv-tiny-q8_0", "sparkv-tiny-q8_0.gguf (gguf)"},
      {"sparkv-tiny-hf", "sparkv-tiny-hf (hf)"}};
  for (const auto& [name, want] : cases) {
    TempDir dir;
    const std::string out = dir.file("out.txt");
    const std::string cmd = std::string(SPARKV_CLI_PATH) + " inspect --no-tensors -m " + name + " >" + out;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream in(out);
    std::string first;
    std::getline(in, first);
    EXPECT_NE(first.find(models + want), std::string::npos) << name << ": " << first;
  }
}

}  // namespace
}  // namespace sparkv

// One Model shared by several Sessions in concurrent threads (issue 10): a Model is immutable after
// load and a Session owns all of its mutable state, so every thread's output must equal the output
// of the same work run alone. Built under ThreadSanitizer by scripts/ci-extra.sh (build-tsan) to
// catch data races that happen not to change the numbers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "io/gguf_writer.h"
#include "model/model.h"
#include "press/capture.h"
#include "press/press_spec.h"
#include "runtime/compress.h"
#include "runtime/generate.h"
#include "runtime/session.h"
#include "test_util.h"

namespace sparkv {
namespace {

using test::TempDir;

// 2-layer qwen2-style model (biases, GQA 4:2, head_dim 32, vocab 96) with small random weights.
std::string write_model(const TempDir& dir) {
  constexpr int E = 64, H = 4, Hkv = 2, D = 32, F = 128, V = 96, L = 2;
  GgufWriter w;
  w.add_string("general.architecture", "qwen2");
  w.add_u32("qwen2.block_count", L);
  w.add_u32("qwen2.embedding_length", E);
  w.add_u32("qwen2.feed_forward_length", F);
  w.add_u32("qwen2.attention.head_count", H);
  w.add_u32("qwen2.attention.head_count_kv", Hkv);
  w.add_u32("qwen2.attention.key_length", D);
  w.add_u32("qwen2.context_length", 2048);
  w.add_f32("qwen2.attention.layer_norm_rms_epsilon", 1e-6f);
  w.add_f32("qwen2.rope.freq_base", 1e6f);
  uint32_t state = 42;
  auto tensor = [&](const std::string& name, std::vector<int64_t> ne, float scale, float bias = 0) {
    const int64_t n = std::accumulate(ne.begin(), ne.end(), int64_t{1}, std::multiplies<>());
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) {
      state = state * 1664525u + 1013904223u;
      x = bias + scale * (static_cast<float>(state >> 8) / 16777216.0f * 2 - 1);
    }
    std::vector<uint8_t> b(v.size() * 4);
    std::memcpy(b.data(), v.data(), b.size());
    w.add_tensor(name, GgmlType::kF32, ne, std::move(b));
  };
  tensor("token_embd.weight", {E, V}, 1.0f);
  tensor("output_norm.weight", {E}, 0.1f, 1.0f);
  tensor("output.weight", {E, V}, 0.3f);
  for (int l = 0; l < L; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    tensor(p + "attn_norm.weight", {E}, 0.1f, 1.0f);
    tensor(p + "attn_q.weight", {E, H * D}, 0.3f);
    tensor(p + "attn_k.weight", {E, Hkv * D}, 0.3f);
    tensor(p + "attn_v.weight", {E, Hkv * D}, 0.3f);
    tensor(p + "attn_q.bias", {H * D}, 0.1f);
    tensor(p + "attn_k.bias", {Hkv * D}, 0.1f);
    tensor(p + "attn_v.bias", {Hkv * D}, 0.1f);
    tensor(p + "attn_output.weight", {H * D, E}, 0.2f);
    tensor(p + "ffn_norm.weight", {E}, 0.1f, 1.0f);
    tensor(p + "ffn_gate.weight", {E, F}, 0.2f);
    tensor(p + "ffn_up.weight", {E, F}, 0.2f);
    tensor(p + "ffn_down.weight", {F, E}, 0.2f);
  }
  const std::string path = dir.file("shared.gguf");
  w.write(path);
  return path;
}

struct Job {
  std::vector<int32_t> prompt;
  std::string press;  // "full" or a recipe applied after prefill
  uint64_t seed;
};

struct Output {
  std::vector<int32_t> ids;
  std::vector<float> last_logits;
  size_t kv_bytes = 0;
};

// Prefill (crossing a 256-token page), optional press, then sampled decoding.
Output run_job(const Model& model, const Job& job) {
  SessionOptions so;
  so.n_ctx = 1024;
  so.prefill_chunk = 128;
  Session s(model, so);
  const PressPipeline pipe = parse_press_spec(job.press);
  std::unique_ptr<PrefillCapture> cap;
  GenerateOptions go;
  go.n_predict = 24;
  if (!pipe.empty()) {
    cap = std::make_unique<PrefillCapture>(model.config(), pipe.needs(), 0,
                                           static_cast<int64_t>(job.prompt.size()));
    go.prefill_observer = cap.get();
    go.after_prefill = [&](Session& sess) {
      compress_session(sess, pipe, *cap, static_cast<int64_t>(job.prompt.size()), job.seed);
    };
  }
  SamplerParams sp;
  sp.temperature = 0.8f;
  sp.seed = job.seed;
  Sampler sampler(sp);
  Output out;
  out.ids = generate(s, job.prompt, sampler, go).ids;
  out.last_logits = s.logits();
  out.kv_bytes = s.kv_bytes();
  return out;
}

std::vector<Job> make_jobs() {
  const char* const presses[] = {
      "full", "snapkv:budget=64", "spark:ratio=0.5", "streamingllm:budget=96+spark:ratio=0.25",
      "full", "h2o:ratio=0.5"};
  std::vector<Job> jobs;
  for (int i = 0; i < 6; ++i) {
    Job j;
    j.press = presses[i];
    j.seed = 100 + i;
    const int n = 200 + 40 * i;  // 200..400 tokens: some jobs span two cache pages
    uint32_t st = 7 + i;
    for (int t = 0; t < n; ++t) {
      st = st * 1103515245u + 12345u;
      j.prompt.push_back(static_cast<int32_t>((st >> 16) % 96));
    }
    jobs.push_back(std::move(j));
  }
  return jobs;
}

TEST(ReliabilityConcurrency, SessionsSharingOneModelMatchSequentialRuns) {
  TempDir dir;
  const std::unique_ptr<Model> model = Model::load(write_model(dir), false);
  const std::vector<Job> jobs = make_jobs();
  std::vector<Output> sequential;
  for (const Job& j : jobs) sequential.push_back(run_job(*model, j));

  // Each job twice at once: 12 threads over one Model.
  std::vector<Output> parallel(jobs.size() * 2);
  std::vector<std::string> errors(parallel.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < parallel.size(); ++i)
    threads.emplace_back([&, i] {
      try {
        parallel[i] = run_job(*model, jobs[i % jobs.size()]);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (std::thread& t : threads) t.join();

  for (size_t i = 0; i < parallel.size(); ++i) {
    const Output& want = sequential[i % jobs.size()];
    const Output& got = parallel[i];
    ASSERT_EQ(errors[i], "") << "thread " << i;
    EXPECT_EQ(got.ids, want.ids) << "thread " << i << " (" << jobs[i % jobs.size()].press << ")";
    EXPECT_EQ(got.kv_bytes, want.kv_bytes) << "thread " << i;
    ASSERT_EQ(got.last_logits.size(), want.last_logits.size());
    EXPECT_EQ(std::memcmp(got.last_logits.data(), want.last_logits.data(),
                          want.last_logits.size() * sizeof(float)),
              0)
        << "thread " << i << ": logits differ bitwise";
  }
}

// Forks of one prefill (Session::fork_with_caches, as the evaluation runner uses them) decoding
// concurrently from one parent.
TEST(ReliabilityConcurrency, ForksOfOnePrefillDecodeConcurrently) {
  TempDir dir;
  const std::unique_ptr<Model> model = Model::load(write_model(dir), false);
  const std::vector<Job> jobs = make_jobs();
  const std::vector<int32_t>& prompt = jobs[3].prompt;
  SessionOptions so;
  so.n_ctx = 1024;
  Session parent(*model, so);
  const PressPipeline pipe = parse_press_spec("snapkv:budget=64");
  PrefillCapture cap(model->config(), pipe.needs(), 0, static_cast<int64_t>(prompt.size()));
  parent.feed(prompt, &cap);

  auto decode = [&](Session& s) {
    std::vector<int32_t> ids;
    for (int i = 0; i < 16; ++i) {
      const auto& logits = s.logits();
      const int32_t id =
          static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      ids.push_back(id);
      s.feed({id});
    }
    return ids;
  };
  auto fork = [&] {
    return parent.fork_with_caches(compress_caches(parent, pipe, cap, prompt.size()));
  };
  const std::vector<int32_t> want = decode(*fork());
  std::vector<std::vector<int32_t>> got(6);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i)
    threads.emplace_back([&, i] {
      std::unique_ptr<Session> s = fork();
      got[i] = decode(*s);
    });
  for (std::thread& t : threads) t.join();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], want) << "fork " << i;
}

}  // namespace
}  // namespace sparkv

// Prefill at the shape of Qwen3-0.6B (issue 20, item 4): the two halves of a prefill's time.
//
// BM_ProjGemm: one projection of a 512-token chunk through matmul() (model/matmul.h), the
// layer's seven shapes (q 2048x1024, k/v 1024x1024, o 1024x2048, gate/up 3072x1024, down
// 1024x3072), Q8_0 weights. GFLOP/s = 2 * rows * cols * tokens / time; BM_FmaPeak in the same
// binary gives the peak the "share of the FMA peak" is taken against.
//
// BM_PrefillAttn: one layer's causal attention for a 512-query chunk on top of a cache of
// `depth` tokens (16 query heads, 8 KV heads, D 128, f16 cache): DenseLayerCache::attend, the
// call the forward pass makes. GFLOP/s counts 4 * D flops per (query head, visible token).
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "bench_common.h"
#include "kv/dense_cache.h"
#include "model/matmul.h"
#include "quant/quant.h"

namespace sparkv {
namespace {

using bench::randn;

constexpr int kChunk = 512;

// range(2): tokens (default the 512-token chunk); range(3): 0 = matmul (what the forward pass
// calls), 1 = matmul_decode_batch (the batched GEMV on the quantized rows), 2 = matmul_gemm (the
// SGEMM path at any T) — the small-T crossover that sets kGemmMinTokens.
void BM_ProjGemm(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = state.range(1);
  const int T = state.range(2) > 0 ? static_cast<int>(state.range(2)) : kChunk;
  const int64_t path = state.range(3);
  Weight w;
  w.type = GgmlType::kQ8_0;
  w.rows = rows;
  w.cols = cols;
  w.owned.resize(ggml_row_bytes(w.type, cols) * rows);
  const auto src = randn(static_cast<size_t>(cols) * 8, 3);
  for (int64_t r = 0; r < rows; ++r)
    quantize_row_ref(w.type, src.data() + (r % 8) * cols, w.owned.data() + r * w.row_bytes(), cols);
  w.data = w.owned.data();
  const auto x = randn(static_cast<size_t>(T) * cols, 4);
  std::vector<float> y(static_cast<size_t>(T) * rows);
  for (auto _ : state) {
    if (path == 1)
      matmul_decode_batch(w, x.data(), T, y.data());
    else if (path == 2)
      matmul_gemm(w, x.data(), T, y.data());
    else
      matmul(w, x.data(), T, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * rows * cols * T * state.iterations(), benchmark::Counter::kIsRate,
                         benchmark::Counter::kIs1000);
}

void BM_PrefillAttn(benchmark::State& state) {
  constexpr int kHead = 16, kKv = 8, kD = 128;
  const int64_t depth = state.range(0);
  DenseLayerCache cache(kKv, kD, kHead / kKv, KvDtype::kF16);
  for (int64_t t = 0; t < depth + kChunk; t += kChunk) {
    const auto k = randn(static_cast<size_t>(kChunk) * kKv * kD, static_cast<uint32_t>(t));
    const auto v = randn(static_cast<size_t>(kChunk) * kKv * kD, static_cast<uint32_t>(t + 1));
    cache.append(k.data(), v.data(), kChunk);
  }
  const auto q = randn(static_cast<size_t>(kChunk) * kHead * kD, 9);
  std::vector<float> out(q.size());
  for (auto _ : state) {
    cache.attend(q.data(), kChunk, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  // query i sees depth + i + 1 tokens
  const double visible = static_cast<double>(kChunk) * depth + kChunk * (kChunk + 1) / 2.0;
  state.counters["GFLOP/s"] =
      benchmark::Counter(4.0 * kD * kHead * visible * state.iterations(),
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

BENCHMARK(BM_ProjGemm)
    ->Args({2048, 1024, 0, 0})
    ->Args({1024, 1024, 0, 0})
    ->Args({1024, 2048, 0, 0})
    ->Args({3072, 1024, 0, 0})
    ->Args({1024, 3072, 0, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
// The crossover: a few tokens (a short prompt, a chat turn) through both paths.
BENCHMARK(BM_ProjGemm)
    ->ArgsProduct({{3072}, {1024}, {4, 8, 16, 32, 64}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_PrefillAttn)
    ->Arg(0)
    ->Arg(2048)
    ->Arg(7680)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace sparkv

// Decode attention over the dense f16 cache vs the SparK cache, at 4k/16k/32k cached tokens, for
// one layer shaped like Llama-3-8B's attention (8 KV heads, GQA group 4, head_dim 128) — well past
// the last-level cache, so the rates are memory-bound. Counters: GB/s of cache bytes read per
// step, next to BM_StreamTriad (gemv_bench.cpp) measured by the same binary.
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <random>
#include <vector>

#include "kv/dense_cache.h"
#include "kv/spark_cache.h"

namespace sparkv {
namespace {

constexpr int kKv = 8, kGroup = 4, kD = 128;

std::vector<float> randn(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

const DenseLayerCache& dense_cache(int64_t n) {
  static std::map<int64_t, std::unique_ptr<DenseLayerCache>> cache;
  auto& c = cache[n];
  if (!c) {
    c = std::make_unique<DenseLayerCache>(kKv, kD, kGroup, KvDtype::kF16);
    const int chunk = 1024;
    for (int64_t t = 0; t < n; t += chunk) {
      auto k = randn(static_cast<size_t>(chunk) * kKv * kD, static_cast<uint32_t>(t));
      auto v = randn(static_cast<size_t>(chunk) * kKv * kD, static_cast<uint32_t>(t + 1));
      c->append(k.data(), v.data(), chunk);
    }
  }
  return *c;
}

const SparkLayerCache& spark_cache(int64_t n, double ratio) {
  static std::map<std::pair<int64_t, double>, std::unique_ptr<SparkLayerCache>> cache;
  auto& c = cache[{n, ratio}];
  if (!c) {
    SparkOptions o;
    o.ratio = ratio;
    c = std::make_unique<SparkLayerCache>(kKv, kD, kGroup, o);
    std::vector<float> norms = randn(static_cast<size_t>(kKv) * kD, 99);
    for (auto& x : norms) x = std::abs(x) + 0.1f;
    std::vector<std::vector<int32_t>> kept(kKv, std::vector<int32_t>(n));
    for (auto& k : kept)
      for (int64_t i = 0; i < n; ++i) k[i] = static_cast<int32_t>(i);
    c->build(dense_cache(n), kept, norms.data(), 0);
  }
  return *c;
}

void run(benchmark::State& state, const LayerCache& cache) {
  const auto q = randn(static_cast<size_t>(kKv) * kGroup * kD, 7);
  std::vector<float> out(q.size());
  for (auto _ : state) {
    cache.attend(q.data(), 1, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(cache.bytes()) * state.iterations(),
                                              benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.counters["KV_MiB"] = static_cast<double>(cache.bytes()) / 1048576.0;
}

void BM_DecodeAttnDenseF16(benchmark::State& state) { run(state, dense_cache(state.range(0))); }
void BM_DecodeAttnSpark50(benchmark::State& state) { run(state, spark_cache(state.range(0), 0.5)); }
void BM_DecodeAttnSpark80(benchmark::State& state) { run(state, spark_cache(state.range(0), 0.8)); }

// Interleaved registration so each context length's three kernels run next to each other.
BENCHMARK(BM_DecodeAttnDenseF16)->Arg(4096)->Arg(16384)->Arg(32768)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DecodeAttnSpark50)->Arg(4096)->Arg(16384)->Arg(32768)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DecodeAttnSpark80)->Arg(4096)->Arg(16384)->Arg(32768)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace sparkv

// Decode attention over the dense f16 cache vs the SparK cache, at 4k/16k/32k cached tokens, for
// one layer shaped like Llama-3-8B's attention (8 KV heads, GQA group 4, head_dim 128) — well past
// the last-level cache, so the rates are memory-bound. Counters: GB/s of cache bytes read per
// step, next to BM_StreamTriad (gemv_bench.cpp) measured by the same binary. The second argument
// picks the kernel set (isa:1 AVX2, isa:2 AVX-512; limit_simd_level), so both run side by side in
// one process; a set the CPU lacks is reported as an error row.
#include <benchmark/benchmark.h>

#include "bench_common.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "attn/attn_state.h"
#include "core/bandwidth.h"
#include "core/cpu_features.h"
#include "kv/dense_cache.h"
#include "kv/spark_cache.h"
#include "press/spark_plan.h"

namespace sparkv {
namespace {

constexpr int kKv = 8, kGroup = 4, kD = 128;

using bench::randn;

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
    std::vector<float> norms = randn(static_cast<size_t>(kKv) * kD, 99);
    for (auto& x : norms) x = std::abs(x) + 0.1f;
    std::vector<std::vector<int32_t>> kept(kKv, std::vector<int32_t>(n));
    for (auto& k : kept)
      for (int64_t i = 0; i < n; ++i) k[i] = static_cast<int32_t>(i);
    c = spark_compress(dense_cache(n), kept, norms.data(), 0, o);
  }
  return *c;
}

// Caps the process at one kernel set for a benchmark's lifetime; `ok` is false (and the
// benchmark is marked skipped) when this CPU or the environment does not offer that set.
struct ScopedSimdLevel {
  bool ok;
  ScopedSimdLevel(benchmark::State& state, SimdLevel level) {
    limit_simd_level(level);
    ok = simd_level() == level;
    if (!ok)
      state.SkipWithError("kernel set not supported by this CPU (or disabled by the environment)");
  }
  ~ScopedSimdLevel() { limit_simd_level(SimdLevel::kAvx512); }
};

void run(benchmark::State& state, const LayerCache& cache) {
  const auto level = static_cast<SimdLevel>(state.range(1));
  const ScopedSimdLevel scope(state, level);
  if (!scope.ok) return;
  state.SetLabel(level == SimdLevel::kAvx512 ? "avx512"
                 : level == SimdLevel::kAvx2 ? "avx2"
                                             : "scalar");
  const auto q = randn(static_cast<size_t>(kKv) * kGroup * kD, 7);
  std::vector<float> out(q.size());
  for (auto _ : state) {
    cache.attend(q.data(), 1, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GB/s"] =
      benchmark::Counter(static_cast<double>(cache.bytes()) * state.iterations(),
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.counters["KV_MiB"] = static_cast<double>(cache.bytes()) / 1048576.0;
  // The kernels' FMA work: a D-wide FMA per query head and token for the score and one for the
  // value sum (SparK rebuilds k̂ to D channels, so it does the same), 2 FLOP each. Compare with
  // BM_FmaPeak's GFLOP/s from the same binary.
  const double flop = 4.0 * static_cast<double>(cache.n_tokens(0)) * kKv * kGroup * kD;
  state.counters["GFLOP/s"] = benchmark::Counter(
      flop * state.iterations(), benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

void BM_DecodeAttnDenseF16(benchmark::State& state) {
  run(state, dense_cache(state.range(0)));
}
void BM_DecodeAttnSpark50(benchmark::State& state) {
  run(state, spark_cache(state.range(0), 0.5));
}
void BM_DecodeAttnSpark80(benchmark::State& state) {
  run(state, spark_cache(state.range(0), 0.8));
}

// Each context length's AVX2 and AVX-512 runs are registered next to each other.
void args(benchmark::internal::Benchmark* b) {
  b->ArgsProduct({{4096, 16384, 32768},
                  {static_cast<int>(SimdLevel::kAvx2), static_cast<int>(SimdLevel::kAvx512)}})
      ->ArgNames({"tokens", "isa"})
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}
BENCHMARK(BM_DecodeAttnDenseF16)->Apply(args);
BENCHMARK(BM_DecodeAttnSpark50)->Apply(args);
BENCHMARK(BM_DecodeAttnSpark80)->Apply(args);

// The ratios measured pairwise. This VM's bandwidth moves between two levels (~48 and
// ~75 GB/s) over minutes, whatever the process does, so a ratio of two figures taken a minute
// apart can mix levels (one run of perf-tables.sh put the same dense kernel at 3.50 and 2.46 ms).
// Each round here runs back to back (~25 ms): one triad pass over kTriadBytes, dense f16
// attention at all threads and at one thread, SparK λ=0.5 and λ=0.8 (order reversed every other
// round). The counters are medians over rounds of the per-round ratios — each ratio taken within
// one round, where both sides see the same machine — plus the medians of the raw figures.
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

void BM_DecodeAttnPaired(benchmark::State& state) {
  const int64_t n = state.range(0);
  const LayerCache& dense = dense_cache(n);
  const LayerCache& s50 = spark_cache(n, 0.5);
  const LayerCache& s80 = spark_cache(n, 0.8);
  const size_t ne = bench::kTriadBytes / (3 * sizeof(double));
  std::vector<double> ta(ne, 0.0), tb(ne, 1.0), tc(ne, 2.0);
  const int threads = omp_get_max_threads();
  const auto q = randn(static_cast<size_t>(kKv) * kGroup * kD, 7);
  std::vector<float> out(q.size());
  using Clock = std::chrono::steady_clock;
  auto secs = [](auto&& f) {
    const auto t0 = Clock::now();
    f();
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  auto attend = [&](const LayerCache& c) {
    return secs([&] {
      c.attend(q.data(), 1, out.data());
      benchmark::DoNotOptimize(out.data());
    });
  };
  std::vector<double> triad, d_gbs, of_triad, x50, x80, t2;
  int round = 0;
  for (auto _ : state) {
    const double tt =
        secs([&] { stream_triad(ta.data(), tb.data(), tc.data(), 3.0, ne, threads); });
    double td, t50, t80;
    if (round++ % 2 == 0) {
      td = attend(dense), t50 = attend(s50), t80 = attend(s80);
    } else {
      t80 = attend(s80), t50 = attend(s50), td = attend(dense);
    }
    omp_set_num_threads(1);
    const double td1 = attend(dense);
    omp_set_num_threads(threads);
    const double tri = 3.0 * static_cast<double>(ne) * sizeof(double) / tt / 1e9;
    const double dg = static_cast<double>(dense.bytes()) / td / 1e9;
    triad.push_back(tri);
    d_gbs.push_back(dg);
    of_triad.push_back(dg / tri);
    x50.push_back(t50 / td);
    x80.push_back(t80 / td);
    t2.push_back(td1 / td);
  }
  state.counters["triad_GBps"] = median(triad);
  state.counters["dense_GBps"] = median(d_gbs);
  state.counters["dense_of_triad"] = median(of_triad);
  // Against the best triad pass of the run (STREAM's convention; the conservative figure when
  // the machine stayed in one level throughout).
  state.counters["dense_of_best_triad"] =
      median(d_gbs) / *std::max_element(triad.begin(), triad.end());
  state.counters["spark50_x_dense"] = median(x50);
  state.counters["spark80_x_dense"] = median(x80);
  state.counters["threads_speedup"] = median(t2);
  state.counters["threads"] = threads;
  state.counters["rounds"] = static_cast<double>(triad.size());
}
BENCHMARK(BM_DecodeAttnPaired)
    ->Arg(32768)
    ->ArgName("tokens")
    ->Iterations(31)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The kernels alone on one thread over 1024 tokens of one KV head (512 KiB of f16 K+V, resident in
// L2): their compute ceiling. A kernel whose rate here is not well above the per-thread share of
// the triad bandwidth is compute-bound in the tables above.
void in_cache(benchmark::State& state, const LayerCache& cache, bool spark) {
  constexpr int64_t kTokens = 1024;
  const auto level = static_cast<SimdLevel>(state.range(0));
  const ScopedSimdLevel scope(state, level);
  if (!scope.ok) return;
  state.SetLabel(level == SimdLevel::kAvx512 ? "avx512" : "avx2");
  auto q = randn(static_cast<size_t>(kGroup) * kD, 7);
  for (auto& x : q) x /= std::sqrt(static_cast<float>(kD));  // the kernels take scaled queries
  std::vector<float> m(kGroup), l(kGroup), o(kGroup * kD);
  const auto* dense = dynamic_cast<const DenseLayerCache*>(&cache);
  const auto* sp = dynamic_cast<const SparkLayerCache*>(&cache);
  const SparkView view = spark ? sp->view(0) : SparkView{};
  size_t bytes = 0;
  for (auto _ : state) {
    attn_state_init(kGroup, kD, m.data(), l.data(), o.data());
    if (spark) {
      attn_spark_update(q.data(), kGroup, view, 0, kTokens, m.data(), l.data(), o.data());
    } else {
      dense->attend_range(0, 0, kTokens, q.data(), m.data(), l.data(), o.data());
    }
    benchmark::DoNotOptimize(o.data());
  }
  bytes = static_cast<size_t>(cache.bytes() / kKv * kTokens / cache.n_tokens(0));
  state.counters["GB/s"] =
      benchmark::Counter(static_cast<double>(bytes) * state.iterations(),
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

void BM_DecodeAttnInCacheDenseF16(benchmark::State& state) {
  in_cache(state, dense_cache(4096), false);
}
void BM_DecodeAttnInCacheSpark50(benchmark::State& state) {
  in_cache(state, spark_cache(4096, 0.5), true);
}
void BM_DecodeAttnInCacheSpark80(benchmark::State& state) {
  in_cache(state, spark_cache(4096, 0.8), true);
}

void in_cache_args(benchmark::internal::Benchmark* b) {
  b->Arg(static_cast<int>(SimdLevel::kAvx2))
      ->Arg(static_cast<int>(SimdLevel::kAvx512))
      ->ArgNames({"isa"});
}
BENCHMARK(BM_DecodeAttnInCacheDenseF16)->Apply(in_cache_args);
BENCHMARK(BM_DecodeAttnInCacheSpark50)->Apply(in_cache_args);
BENCHMARK(BM_DecodeAttnInCacheSpark80)->Apply(in_cache_args);

}  // namespace
}  // namespace sparkv

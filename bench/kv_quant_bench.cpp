// Decode attention time per KV cache type (llama.cpp's -ctk/-ctv set, K and V of the same type,
// plus q8_0 K with q4_0 V) and SparK with int8 kept keys, against dense f16, at 4k/16k/32k cached
// tokens, for one layer shaped like attention_bench.cpp's (8 KV heads, GQA group 4, head_dim 128).
// Counters: GB/s of cache bytes read per step (compare with BM_StreamTriad from the same binary)
// and KV MiB. Ratios vs f16: divide the times of one run (interleaved by context length).
//   sparkv_bench --benchmark_filter='KvQuant|StreamTriad'
#include <benchmark/benchmark.h>

#include "bench_common.h"

#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <tuple>
#include <vector>

#include "kv/dense_cache.h"
#include "kv/spark_cache.h"
#include "press/spark_plan.h"

namespace sparkv {
namespace {

constexpr int kKv = 8, kGroup = 4, kD = 128;

using bench::randn;

std::unique_ptr<DenseLayerCache> make_dense(int64_t n, KvDtype kt, KvDtype vt) {
  auto c = std::make_unique<DenseLayerCache>(kKv, kD, kGroup, kt, vt);
  const int chunk = 1024;
  for (int64_t t = 0; t < n; t += chunk) {
    auto k = randn(static_cast<size_t>(chunk) * kKv * kD, static_cast<uint32_t>(t));
    auto v = randn(static_cast<size_t>(chunk) * kKv * kD, static_cast<uint32_t>(t + 1));
    c->append(k.data(), v.data(), chunk);
  }
  return c;
}

// Drops the entries built for another context length: runs are grouped by length, so this keeps
// memory to one length's caches.
template <typename Map>
void keep_only_length(Map& m, int64_t n) {
  for (auto it = m.begin(); it != m.end();)
    it = std::get<0>(it->first) == n ? std::next(it) : m.erase(it);
}

// One cache per (n, K type, V type).
const DenseLayerCache& dense_cache(int64_t n, KvDtype kt, KvDtype vt) {
  static std::map<std::tuple<int64_t, KvDtype, KvDtype>, std::unique_ptr<DenseLayerCache>> cache;
  keep_only_length(cache, n);
  auto& c = cache[{n, kt, vt}];
  if (!c) c = make_dense(n, kt, vt);
  return *c;
}

const SparkLayerCache& spark_cache(int64_t n, double ratio, SparkKeyQuant kq, KvDtype vt) {
  static std::map<std::tuple<int64_t, double, SparkKeyQuant, KvDtype>,
                  std::unique_ptr<SparkLayerCache>>
      cache;
  keep_only_length(cache, n);
  auto& c = cache[{n, ratio, kq, vt}];
  if (!c) {
    SparkOptions o;
    o.ratio = ratio;
    SparkStorage st;
    st.kq = kq;
    st.v_type = vt;
    std::vector<float> norms = randn(static_cast<size_t>(kKv) * kD, 99);
    for (auto& x : norms) x = std::abs(x) + 0.1f;
    std::vector<std::vector<int32_t>> kept(kKv, std::vector<int32_t>(n));
    for (auto& k : kept)
      for (int64_t i = 0; i < n; ++i) k[i] = static_cast<int32_t>(i);
    c = spark_compress(dense_cache(n, KvDtype::kF32, KvDtype::kF32), kept, norms.data(), 0, o, st);
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

void BM_KvQuantDense(benchmark::State& state, KvDtype kt, KvDtype vt) {
  run(state, dense_cache(state.range(0), kt, vt));
}
void BM_KvQuantSpark(benchmark::State& state, double ratio, SparkKeyQuant kq, KvDtype vt) {
  run(state, spark_cache(state.range(0), ratio, kq, vt));
}

void register_all() {
  struct Dense {
    const char* name;
    KvDtype k, v;
  };
  const Dense dense[] = {
      {"f16", KvDtype::kF16, KvDtype::kF16},          {"f32", KvDtype::kF32, KvDtype::kF32},
      {"bf16", KvDtype::kBF16, KvDtype::kBF16},       {"q8_0", KvDtype::kQ8_0, KvDtype::kQ8_0},
      {"q4_0", KvDtype::kQ4_0, KvDtype::kQ4_0},       {"q4_1", KvDtype::kQ4_1, KvDtype::kQ4_1},
      {"q5_0", KvDtype::kQ5_0, KvDtype::kQ5_0},       {"q5_1", KvDtype::kQ5_1, KvDtype::kQ5_1},
      {"iq4_nl", KvDtype::kIQ4_NL, KvDtype::kIQ4_NL}, {"q8_0+q4_0", KvDtype::kQ8_0, KvDtype::kQ4_0},
      {"q8_0+f16", KvDtype::kQ8_0, KvDtype::kF16},    {"f16+q8_0", KvDtype::kF16, KvDtype::kQ8_0}};
  // Interleaved by context length so that each length's kernels run next to each other.
  for (int64_t n : {4096, 16384, 32768}) {
    for (const Dense& d : dense)
      benchmark::RegisterBenchmark((std::string("BM_KvQuantDense/") + d.name).c_str(),
                                   BM_KvQuantDense, d.k, d.v)
          ->Arg(n)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    struct Spark {
      const char* name;
      double ratio;
      SparkKeyQuant kq;
      KvDtype v;
    };
    const Spark spark[] = {{"0.5/kq=f16", 0.5, SparkKeyQuant::kF16, KvDtype::kF16},
                           {"0.5/kq=q8", 0.5, SparkKeyQuant::kQ8, KvDtype::kF16},
                           {"0.5/kq=q8,v=q8_0", 0.5, SparkKeyQuant::kQ8, KvDtype::kQ8_0},
                           {"0.5/kq=q4,v=q4_0", 0.5, SparkKeyQuant::kQ4, KvDtype::kQ4_0},
                           {"0.8/kq=f16", 0.8, SparkKeyQuant::kF16, KvDtype::kF16},
                           {"0.8/kq=f16,v=q8_0", 0.8, SparkKeyQuant::kF16, KvDtype::kQ8_0},
                           {"0.8/kq=q8,v=q8_0", 0.8, SparkKeyQuant::kQ8, KvDtype::kQ8_0},
                           {"0.8/kq=q4,v=q4_0", 0.8, SparkKeyQuant::kQ4, KvDtype::kQ4_0}};
    for (const Spark& sp : spark)
      benchmark::RegisterBenchmark((std::string("BM_KvQuantSpark/") + sp.name).c_str(),
                                   BM_KvQuantSpark, sp.ratio, sp.kq, sp.v)
          ->Arg(n)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
  }
}

// Registration at static-initialisation time, like BENCHMARK().
const int kRegistered = (register_all(), 0);

}  // namespace
}  // namespace sparkv

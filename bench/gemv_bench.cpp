// Decode GEMV throughput per weight type, next to a STREAM triad measured in the same run.
// Decode is memory-bound, so the figure of merit is weight bytes streamed per second and its
// fraction of the triad bandwidth, not FLOP/s. Every weight matrix is sized to 128 MiB (4x the
// 32 MiB L3 of the reference machine), so no iteration is served from cache.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "bench_common.h"
#include "core/bandwidth.h"
#include "core/compute_peak.h"
#include "quant/quant.h"

namespace sparkv {

double bench::triad_reference_gbs() {
  static const double gbs = measure_bandwidth_gbs(kTriadBytes);
  return gbs;
}

namespace {

using bench::kTriadBytes;
using bench::triad_reference_gbs;

constexpr int64_t kCols = 4096;
constexpr size_t kWeightBytes = size_t{128} << 20;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<uint8_t, FreeDeleter>;

Buffer alloc_bytes(size_t bytes) {
  const size_t rounded = (bytes + 4095) / 4096 * 4096;
  return Buffer(static_cast<uint8_t*>(std::aligned_alloc(4096, rounded)));
}

// K-quants have no quantizer: random code bytes with a fixed, sane fp16 scale in every block.
void fill_k_quant(GgmlType type, uint8_t* row, std::mt19937& rng) {
  const size_t bytes = ggml_row_bytes(type, kCols);
  for (size_t i = 0; i < bytes; ++i) row[i] = static_cast<uint8_t>(rng());
  const uint16_t d = 0x2000;  // 2^-7
  const bool q4k = type == GgmlType::kQ4_K;
  const size_t block = q4k ? 144 : 210;
  for (size_t at = 0; at < bytes; at += block) {
    std::memcpy(row + at + (q4k ? 0 : 208), &d, 2);
    if (q4k) std::memcpy(row + at + 2, &d, 2);
  }
}

// One weight matrix at a time stays resident: Google Benchmark calls each benchmark function
// several times while it sizes the iteration count, and rebuilding 128 MiB each time would
// dominate the run.
struct Weights {
  GgmlType type = GgmlType::kF32;
  int64_t rows = 0;
  Buffer data;
};

const Weights& weights_for(GgmlType type) {
  static Weights w;
  if (w.data && w.type == type) return w;
  w.data.reset();
  const size_t row_bytes = ggml_row_bytes(type, kCols);
  w.type = type;
  w.rows = static_cast<int64_t>((kWeightBytes + row_bytes - 1) / row_bytes);
  w.data = alloc_bytes(w.rows * row_bytes);
  // A few distinct random rows, replicated: the values do not change the timing (no NaNs or
  // subnormals), and generating 128 MiB of fresh randomness would take seconds.
  constexpr int kDistinct = 64;
  std::vector<uint8_t> templ(kDistinct * row_bytes);
  std::mt19937 rng(1234);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> src(kCols);
  for (int r = 0; r < kDistinct; ++r) {
    uint8_t* row = templ.data() + r * row_bytes;
    if (type == GgmlType::kQ4_K || type == GgmlType::kQ6_K) {
      fill_k_quant(type, row, rng);
    } else {
      for (float& v : src) v = dist(rng);
      quantize_row_ref(type, src.data(), row, kCols);
    }
  }
  uint8_t* dst = w.data.get();
  const int64_t rows = w.rows;
  // Same static split as gemv, so each thread first-touches the rows it will stream.
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(dst + r * row_bytes, templ.data() + (r % kDistinct) * row_bytes, row_bytes);
  return w;
}

void BM_Gemv(benchmark::State& state, GgmlType type) {
  const Weights& w = weights_for(type);
  std::vector<float> x(kCols), y(w.rows);
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (float& v : x) v = dist(rng);
  const double bytes = static_cast<double>(ggml_row_bytes(type, kCols)) * w.rows;
  const double triad = triad_reference_gbs();
  for (auto _ : state) {
    gemv(type, w.data.get(), w.rows, kCols, x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["GB/s"] = benchmark::Counter(bytes * iters / 1e9, benchmark::Counter::kIsRate);
  // A rate of (bytes / triad bytes-per-second) per second is the fraction of triad bandwidth.
  state.counters["of_triad"] =
      benchmark::Counter(bytes * iters / (triad * 1e9), benchmark::Counter::kIsRate);
  state.counters["rows"] = static_cast<double>(w.rows);
  state.counters["threads"] = omp_get_max_threads();
}

// The same kernels on one thread over a matrix that stays in L2 (512 KiB): the compute ceiling of
// each type, which shows whether a type's GEMV can be memory-bound at all on this machine.
void BM_DotInCache(benchmark::State& state, GgmlType type) {
  const Weights& big = weights_for(type);
  const size_t row_bytes = ggml_row_bytes(type, kCols);
  const int64_t rows = std::max<int64_t>(1, (size_t{512} << 10) / row_bytes);
  // 64-byte aligned activations, as gemv hands them to the kernels.
  const Buffer x_buf = alloc_bytes(kCols * sizeof(float));
  float* x = reinterpret_cast<float*>(x_buf.get());
  std::fill(x, x + kCols, 0.5f);
  float sink = 0.0f;
  for (auto _ : state) {
    for (int64_t r = 0; r < rows; ++r)
      sink += dot_row(type, big.data.get() + r * row_bytes, x, kCols);
    benchmark::DoNotOptimize(sink);
  }
  state.counters["GB/s"] =
      benchmark::Counter(static_cast<double>(rows * row_bytes) * state.iterations() / 1e9,
                         benchmark::Counter::kIsRate);
}

void BM_StreamTriad(benchmark::State& state) {
  const size_t n = kTriadBytes / (3 * sizeof(double));
  std::vector<double> a(n, 0.0), b(n, 1.0), c(n, 2.0);
  for (auto _ : state) {
    stream_triad(a.data(), b.data(), c.data(), 3.0, n, 0);
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = benchmark::Counter(3.0 * n * sizeof(double) * state.iterations() / 1e9,
                                              benchmark::Counter::kIsRate);
  state.counters["best_of_5_GB/s"] = triad_reference_gbs();
  state.counters["threads"] = omp_get_max_threads();
}

BENCHMARK(BM_StreamTriad)->UseRealTime()->Unit(benchmark::kMillisecond);

// The FMA rate with operands in registers (core/compute_peak.h): the compute side of the roofline
// that the attention benchmarks' FLOP counters are compared with.
void BM_FmaPeak(benchmark::State& state) {
  double g = 0.0;
  for (auto _ : state) g = measure_fma_gflops(0);
  state.counters["GFLOP/s"] = g;
  state.counters["threads"] = omp_get_max_threads();
}
BENCHMARK(BM_FmaPeak)->Iterations(3)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Gemv, f32, GgmlType::kF32)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Gemv, f16, GgmlType::kF16)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Gemv, bf16, GgmlType::kBF16)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Gemv, q8_0, GgmlType::kQ8_0)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Gemv, q4_0, GgmlType::kQ4_0)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Gemv, q4_K, GgmlType::kQ4_K)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Gemv, q6_K, GgmlType::kQ6_K)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_DotInCache, f32, GgmlType::kF32);
BENCHMARK_CAPTURE(BM_DotInCache, f16, GgmlType::kF16);
BENCHMARK_CAPTURE(BM_DotInCache, bf16, GgmlType::kBF16);
BENCHMARK_CAPTURE(BM_DotInCache, q8_0, GgmlType::kQ8_0);
BENCHMARK_CAPTURE(BM_DotInCache, q4_0, GgmlType::kQ4_0);
BENCHMARK_CAPTURE(BM_DotInCache, q4_K, GgmlType::kQ4_K);
BENCHMARK_CAPTURE(BM_DotInCache, q6_K, GgmlType::kQ6_K);

}  // namespace
}  // namespace sparkv

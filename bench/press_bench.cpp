// The cost of compressing one layer's KV cache at the end of prefill, and the prefill GEMM it is
// weighed against. One layer shaped like Llama-3-8B's attention (32 query heads, 8 KV heads,
// head_dim 128) with an 8,192-token f16 cache and a 64-query observation window (SnapKV's; SparK
// and ThinK use its last 32), through the same PressPipeline::apply that `sparkv run --press` uses:
// SparK (score, select, pack), ThinK (channel scores, packed copy), SnapKV (window attention
// scores, pooling, top-k, gather) and their stack. Counter ns/token: per cached token of the layer
// (all KV heads). BM_PrefillGemm is the matmul of one 4096 x 4096 projection over a 512-token
// prefill chunk (OpenBLAS SGEMM on dequantized tiles): Llama-3-8B's prefill runs 7 such products
// per layer (q, k, v, o at 4096 / 1024 rows and the FFN's three at 14336), so compression is cheap
// when its ns/token is far below ~7x this GEMM's.
#include <benchmark/benchmark.h>

#include "bench_common.h"

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kv/dense_cache.h"
#include "model/config.h"
#include "model/matmul.h"
#include "press/press.h"
#include "press/press_spec.h"
#include "quant/quant.h"

namespace sparkv {
namespace {

constexpr int kHead = 32, kKv = 8, kD = 128, kWindow = 64;  // SnapKV's default window
constexpr int64_t kTokens = 8192;

using bench::randn;

struct Layer {
  ModelConfig cfg;
  std::unique_ptr<DenseLayerCache> cache;
  std::vector<float> window_q;  // [kWindow, kHead, kD]
  PressContext ctx() const {
    PressContext c;
    c.config = &cfg;
    c.cache = cache.get();
    c.n_prompt = kTokens;
    c.window = kWindow;
    c.window_q = window_q.data();
    return c;
  }
};

const Layer& layer() {
  static const Layer l = [] {
    Layer x;
    x.cfg.n_layer = 1;
    x.cfg.n_embd = kHead * kD;
    x.cfg.n_head = kHead;
    x.cfg.n_head_kv = kKv;
    x.cfg.head_dim = kD;
    x.cache = std::make_unique<DenseLayerCache>(kKv, kD, kHead / kKv, KvDtype::kF16);
    for (int64_t t = 0; t < kTokens; t += 1024) {
      const auto k = randn(size_t{1024} * kKv * kD, static_cast<uint32_t>(t));
      const auto v = randn(size_t{1024} * kKv * kD, static_cast<uint32_t>(t + 1));
      x.cache->append(k.data(), v.data(), 1024);
    }
    x.window_q = randn(static_cast<size_t>(kWindow) * kHead * kD, 77);
    return x;
  }();
  return l;
}

void BM_Compress(benchmark::State& state, const std::string& spec) {
  const Layer& l = layer();
  const PressPipeline pipe = parse_press_spec(spec);
  const PressContext ctx = l.ctx();
  for (auto _ : state) {
    auto out = pipe.apply(ctx);
    benchmark::DoNotOptimize(out.get());
  }
  state.counters["ns/token"] =
      benchmark::Counter(static_cast<double>(kTokens) * state.iterations(),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetLabel(pipe.spec());
}

void BM_PrefillGemm(benchmark::State& state, GgmlType type) {
  constexpr int64_t kRows = 4096, kCols = 4096;
  constexpr int kChunk = 512;
  static Weight w;
  if (w.type != type || w.empty()) {
    w = Weight{};
    w.type = type;
    w.rows = kRows;
    w.cols = kCols;
    w.owned.resize(ggml_row_bytes(type, kCols) * kRows);
    const auto src = randn(kCols * 8, 3);
    for (int64_t r = 0; r < kRows; ++r)
      quantize_row_ref(type, src.data() + (r % 8) * kCols, w.owned.data() + r * w.row_bytes(),
                       kCols);
    w.data = w.owned.data();
  }
  const auto x = randn(static_cast<size_t>(kChunk) * kCols, 4);
  std::vector<float> y(static_cast<size_t>(kChunk) * kRows);
  for (auto _ : state) {
    matmul(w, x.data(), kChunk, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * kRows * kCols * kChunk * state.iterations(),
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.counters["ns/token"] =
      benchmark::Counter(static_cast<double>(kChunk) * state.iterations(),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

BENCHMARK_CAPTURE(BM_Compress, spark50, std::string("spark:ratio=0.5"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Compress, spark80, std::string("spark:ratio=0.8"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Compress, spark80_kq8, std::string("spark:ratio=0.8,kq=q8"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Compress, think50, std::string("think:ratio=0.5"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Compress, snapkv2048, std::string("snapkv:budget=2048"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Compress, snapkv2048_spark80,
                  std::string("snapkv:budget=2048+spark:ratio=0.8"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_PrefillGemm, f16, GgmlType::kF16)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_PrefillGemm, q8_0, GgmlType::kQ8_0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace sparkv

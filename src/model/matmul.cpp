#include "model/matmul.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <vector>

#include "core/blas_threads.h"
#include "quant/quant.h"

namespace sparkv {

std::string blas_core_name() {
  const char* name = openblas_get_corename();
  return name ? name : "";
}

void matmul(const Weight& w, const float* x, int T, float* y) {
  const int64_t rows = w.rows, cols = w.cols;
  if (T == 1) {
    gemv(w.type, w.data, rows, cols, x, y);
    return;
  }
  // A few tokens: the batched GEMV on the quantized rows beats dequantizing the matrix for
  // SGEMM (bench/prefill_bench.cpp, 3072 x 1024 Q8_0: 4 tokens 0.19 vs 0.71 ms, 8: 0.40 vs
  // 0.73, 16: even, 32: 1.52 vs 1.00).
  if (T < kGemmMinTokens) {
    gemv_batch(w.type, w.data, rows, cols, x, T, y);
    return;
  }
  matmul_gemm(w, x, T, y);
}

void matmul_gemm(const Weight& w, const float* x, int T, float* y) {
  const int64_t rows = w.rows, cols = w.cols;
  ensure_single_threaded_blas();
  // Tiles of up to 4 MiB of f32 (SGEMM repacks its blocks itself, so the tile need not fit L2;
  // each call repacks x too, so fewer, larger tiles: the 1 MiB tiles of before cost 15-20% on
  // Qwen3-0.6B's 1024 x 3072 down projection). At least two tiles per thread so the dynamic
  // schedule can balance them.
  const int64_t per_thread = (rows + 2 * omp_get_max_threads() - 1) / (2 * omp_get_max_threads());
  const int64_t tile =
      std::max<int64_t>(16, std::min<int64_t>({rows, (1 << 20) / cols, per_thread}));
  const int64_t n_tiles = (rows + tile - 1) / tile;
#pragma omp parallel
  {
    // Kept per thread across calls: large blocks are mmap'd (runtime/session.cpp), so a fresh
    // 4 MiB tile per call cost ~1,000 page faults and an munmap each, 392 per token set on the
    // Qwen3-0.6B shape — most of a 16-token prompt's time.
    thread_local std::vector<float> buf;
#pragma omp for schedule(dynamic, 1)
    for (int64_t ti = 0; ti < n_tiles; ++ti) {
      const int64_t r0 = ti * tile;
      const int64_t nr = std::min(tile, rows - r0);
      const float* wt;
      if (w.type == GgmlType::kF32) {
        wt = reinterpret_cast<const float*>(w.row(r0));
      } else {
        buf.resize(static_cast<size_t>(nr) * cols);
        for (int64_t r = 0; r < nr; ++r)
          dequantize_row(w.type, w.row(r0 + r), buf.data() + r * cols, cols);
        wt = buf.data();
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, static_cast<int>(nr),
                  static_cast<int>(cols), 1.0f, x, static_cast<int>(cols), wt,
                  static_cast<int>(cols), 0.0f, y + r0, static_cast<int>(rows));
    }
  }
}

void matmul_decode_batch(const Weight& w, const float* x, int T, float* y) {
  gemv_batch(w.type, w.data, w.rows, w.cols, x, T, y);
}

}  // namespace sparkv

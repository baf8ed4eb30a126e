// Attention column sums for H2O (spec §2.4), accumulated chunk by chunk during prefill without
// ever holding the T x T attention matrix: for a tile of queries the logits [tile, N] come from
// one SGEMM, the row max / sum are taken per row, and the normalised probabilities are folded
// into the per-head column sums column block by column block (so threads never share a column).
// Memory is O(tile * N) per call, at most 64 MiB of logits.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "press/capture.h"

namespace sparkv {

namespace {
// Logit tiles are capped at this many floats (64 MiB): big enough that a typical prefill chunk is
// one SGEMM per query head, so OpenBLAS's threads and the OpenMP region alternate rarely (each
// switch costs a spin-wait hand-over on a busy machine).
constexpr int64_t kTileFloats = int64_t{1} << 24;
constexpr int64_t kColumnBlock = 1024;
}  // namespace

void accumulate_attention_colsum(const LayerCache& cache, const float* q, int n, int n_head,
                                 float* colsum, int64_t colsum_stride) {
  const int n_kv = cache.n_kv(), g = cache.group(), D = cache.head_dim();
  const int64_t N = cache.n_tokens(0);  // tokens cached so far; the chunk's own are the last n
  SPARKV_CHECK(n_head == n_kv * g, "h2o column sums: {} query heads for {} KV heads x group {}",
               n_head, n_kv, g);
  SPARKV_CHECK(n >= 0 && n <= N && N <= colsum_stride,
               "h2o column sums: chunk of {} queries over {} cached tokens, room for {}", n, N,
               colsum_stride);
  if (n == 0) return;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const int tile_rows = static_cast<int>(std::clamp<int64_t>(kTileFloats / N, 1, n));
  std::vector<float> k(static_cast<size_t>(N) * D);               // [N, D] of one KV head
  std::vector<float> logits(static_cast<size_t>(tile_rows) * N);  // [tile, N]
  std::vector<double> row_max(tile_rows), row_sum(tile_rows);
  for (int h = 0; h < n_kv; ++h) {
    cache.read(h, 0, N, k.data(), nullptr);
    for (int gi = 0; gi < g; ++gi) {
      const int qh = h * g + gi;
      float* cs = colsum + static_cast<size_t>(qh) * colsum_stride;
      for (int i0 = 0; i0 < n; i0 += tile_rows) {
        const int tile = std::min(tile_rows, n - i0);
        // Query rows of head qh are strided by n_head * D in q ([n, n_head, D]).
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, tile, static_cast<int>(N), D, scale,
                    q + (static_cast<size_t>(i0) * n_head + qh) * D, n_head * D, k.data(), D, 0.0f,
                    logits.data(), static_cast<int>(N));
        const int64_t n_blocks = (N + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel
        {
          // Row max / sum: query i0+r sits at cache position N - n + i0 + r and sees keys up to it.
#pragma omp for schedule(static)
          for (int r = 0; r < tile; ++r) {
            const int64_t visible = N - n + i0 + r + 1;
            const float* lr = logits.data() + static_cast<size_t>(r) * N;
            double mx = lr[0];
            for (int64_t j = 1; j < visible; ++j) mx = std::max(mx, static_cast<double>(lr[j]));
            double sum = 0.0;
            for (int64_t j = 0; j < visible; ++j) sum += std::exp(lr[j] - mx);
            row_max[r] = mx;
            row_sum[r] = sum;
          }
          // Column sums, one column block per thread at a time (no two threads share a column).
#pragma omp for schedule(static)
          for (int64_t b = 0; b < n_blocks; ++b) {
            const int64_t j0 = b * kColumnBlock, j1 = std::min(N, j0 + kColumnBlock);
            for (int64_t j = j0; j < j1; ++j) {
              double acc = 0.0;
              for (int r = 0; r < tile; ++r) {
                if (j >= N - n + i0 + r + 1) continue;  // causal: key j is after query r
                acc += std::exp(logits[static_cast<size_t>(r) * N + j] - row_max[r]) / row_sum[r];
              }
              cs[j] += static_cast<float>(acc);
            }
          }
        }
      }
    }
  }
}

}  // namespace sparkv

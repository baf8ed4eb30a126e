#include "model/matmul.h"

#include <cblas.h>

#include <algorithm>
#include <vector>

#include "quant/quant.h"

namespace sparkv {

void matmul(const Weight& w, const float* x, int T, float* y) {
  const int64_t rows = w.rows, cols = w.cols;
  if (T == 1) {
    gemv(w.type, w.data, rows, cols, x, y);
    return;
  }
  if (w.type == GgmlType::kF32) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, rows, cols, 1.0f, x, cols,
                reinterpret_cast<const float*>(w.data), cols, 0.0f, y, rows);
    return;
  }
  // Tiles of ~4 MiB of f32 keep the dequantized block in L3 while SGEMM consumes it.
  const int64_t tile = std::max<int64_t>(16, std::min<int64_t>(rows, (1 << 20) / cols));
  std::vector<float> buf(static_cast<size_t>(tile) * cols);
  for (int64_t r0 = 0; r0 < rows; r0 += tile) {
    const int64_t nr = std::min(tile, rows - r0);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < nr; ++r) dequantize_row(w.type, w.row(r0 + r), buf.data() + r * cols, cols);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, nr, cols, 1.0f, x, cols, buf.data(),
                cols, 0.0f, y + r0, rows);
  }
}

}  // namespace sparkv

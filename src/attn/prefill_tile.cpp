#include "attn/prefill_tile.h"

#include <cblas.h>

#include "attn/attn_kernels.h"
#include "core/blas_threads.h"

namespace sparkv {

void attn_prefill_tile(const float* q, int nq, int g, const float* k, const float* v, int nk, int D,
                       const int* lim, float* s, float* m, float* l, float* o) {
  const int rows = nq * g;
  ensure_single_threaded_blas();  // we are inside an OpenMP loop
  // S = Q·Kᵀ: [rows, D] x [D, nk].
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, nk, D, 1.0f, q, D, k, D, 0.0f, s, nk);
  attn_tile_softmax(s, nq, g, nk, lim, D, m, l, o);
  // O += P·V: [rows, nk] x [nk, D], onto the rows the softmax step rescaled.
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, D, nk, 1.0f, s, nk, v, D, 1.0f, o,
              D);
}

void attn_tile_softmax(float* s, int nq, int g, int nk, const int* lim, int D, float* m, float* l,
                       float* o) {
  attn_kernels().tile_softmax(s, nq, g, nk, lim, D, m, l, o);
}

}  // namespace sparkv

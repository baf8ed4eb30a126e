// The backend seam of attn/: the decode-attention kernel of each storage form (dense rows of any
// cache type, SparK's packed keys, ThinK's pruned channels) as one table of function pointers per
// kernel set, picked from simd_level() (the CPU, detected once, capped only by tests and benches).
// The attn_*_update entry points index the table; a new backend (a CUDA twin) is a new table, not
// a branch in every kernel. Each SIMD entry runs the shapes its kernel supports and hands the rest
// to the set below it (written out in attn_kernels.cpp), so every entry accepts every shape.
#pragma once

#include "attn/prefill_tile.h"
#include "attn/spark_decode.h"
#include "attn/think_decode.h"
#include "core/cpu_features.h"

namespace sparkv {

using DenseUpdateFn = void (*)(const float* q, int g, const void* k, const void* v, KvDtype kt,
                               KvDtype vt, int64_t n, int D, float* m, float* l, float* o);
using SparkUpdateFn = void (*)(const float* q, int g, const SparkView& s, int64_t t0, int64_t t1,
                               float* m, float* l, float* o);
using ThinkUpdateFn = void (*)(const float* q, int g, const void* k, int dk, const void* v, int D,
                               KvDtype dtype, int64_t n, float* m, float* l, float* o);
using TileSoftmaxFn = void (*)(float* s, int nq, int g, int nk, const int* lim, int D, float* m,
                               float* l, float* o);

struct AttnKernels {
  const char* name;  // "ref", "avx2", "avx512"
  DenseUpdateFn dense;
  SparkUpdateFn spark;
  ThinkUpdateFn think;
  TileSoftmaxFn tile_softmax;  // prefill_tile.h: the step between a prefill tile's GEMMs
};

// The set for simd_level().
const AttnKernels& attn_kernels();
// A given set (tests and benches run them side by side); levels above simd_level() are clamped.
const AttnKernels& attn_kernels(SimdLevel level);

}  // namespace sparkv

// The backend seam of quant/: its kernel families (the GEMV row dot product, row dequantization,
// f32 <-> f16 row conversion) as one table of function pointers per kernel set. The set is picked
// from simd_level() (the CPU, detected once, capped only by tests and benches), so callers index a
// table instead of walking an if-ladder, and another backend is another table.
#pragma once

#include <cstdint>

#include "core/cpu_features.h"
#include "quant/ggml_type.h"

namespace sparkv {

using DotRowFn = float (*)(GgmlType type, const void* w, const float* x, int64_t n);
using DequantRowFn = void (*)(GgmlType type, const void* src, float* dst, int64_t n);

struct QuantKernels {
  const char* name;  // "ref", "avx2", "avx512"
  // The dot-product kernel for rows of `type` (chosen once per GEMV, not per row). A set returns
  // the next set's kernel for the types it does not implement.
  DotRowFn (*dot_for)(GgmlType type);
  DequantRowFn dequantize_row;
  void (*f32_to_f16_row)(const float* src, uint16_t* dst, int n);
  void (*f16_to_f32_row)(const uint16_t* src, float* dst, int n);
};

// The set for simd_level().
const QuantKernels& quant_kernels();
// A given set (tests and benches run them side by side); levels above the CPU's are clamped.
const QuantKernels& quant_kernels(SimdLevel level);

}  // namespace sparkv

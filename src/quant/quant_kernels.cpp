#include "quant/quant_kernels.h"

#include "quant/quant.h"
#include "quant/quant_impl.h"

namespace sparkv {

namespace kv_detail {
void f32_to_f16_row_avx2(const float* src, uint16_t* dst, int n);
void f16_to_f32_row_avx2(const uint16_t* src, float* dst, int n);
}  // namespace kv_detail

namespace {

using namespace quant_detail;

void f32_to_f16_row_ref(const float* src, uint16_t* dst, int n) {
  quantize_row_ref(GgmlType::kF16, src, dst, n);
}
void f16_to_f32_row_ref(const uint16_t* src, float* dst, int n) {
  dequantize_row_ref(GgmlType::kF16, src, dst, n);
}

DotRowFn dot_for_ref(GgmlType) {
  return dot_row_ref;
}
DotRowFn dot_for_avx2(GgmlType type) {
  return avx2_supports(type) ? dot_row_avx2 : dot_row_ref;
}
DotRowFn dot_for_avx512(GgmlType type) {
  return avx512_supports(type) ? dot_row_avx512 : dot_for_avx2(type);
}

void dequantize_row_avx2_or_ref(GgmlType type, const void* src, float* dst, int64_t n) {
  if (avx2_supports(type)) return dequantize_row_avx2(type, src, dst, n);
  dequantize_row_ref(type, src, dst, n);
}

// Indexed by SimdLevel. AVX-512 has no dequantization or conversion kernels of its own.
constexpr QuantKernels kSets[] = {
    {"ref", dot_for_ref, dequantize_row_ref, f32_to_f16_row_ref, f16_to_f32_row_ref},
    {"avx2", dot_for_avx2, dequantize_row_avx2_or_ref, kv_detail::f32_to_f16_row_avx2,
     kv_detail::f16_to_f32_row_avx2},
    {"avx512", dot_for_avx512, dequantize_row_avx2_or_ref, kv_detail::f32_to_f16_row_avx2,
     kv_detail::f16_to_f32_row_avx2},
};

}  // namespace

const QuantKernels& quant_kernels(SimdLevel level) {
  const SimdLevel cpu = simd_level();
  return kSets[static_cast<int>(level < cpu ? level : cpu)];
}

const QuantKernels& quant_kernels() {
  return kSets[static_cast<int>(simd_level())];
}

}  // namespace sparkv

// F16C row conversions for the f16 KV cache: every prefill token's K and V rows are written
// through kv_quantize_row and every press reads them back through kv_dequantize_row, so at 8k
// tokens the scalar conversions were ~10% of SparK's compression time. Bit-identical to the
// scalar f32_to_fp16 / fp16_to_f32 (round to nearest even; NaNs stay NaNs).
#include <immintrin.h>

#include <cstdint>

#include "core/fp16.h"

namespace sparkv::kv_detail {

void f32_to_f16_row_avx2(const float* src, uint16_t* dst, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) dst[i] = f32_to_fp16(src[i]);
}

void f16_to_f32_row_avx2(const uint16_t* src, float* dst, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i,
                     _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  for (; i < n; ++i) dst[i] = fp16_to_f32(src[i]);
}

}  // namespace sparkv::kv_detail

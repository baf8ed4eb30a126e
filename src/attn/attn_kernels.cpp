#include "attn/attn_kernels.h"

namespace sparkv {

namespace {

bool plain(KvDtype t) {
  return t == KvDtype::kF32 || t == KvDtype::kF16;
}

// AVX2: f32 / f16 rows need D % 8 == 0, block types D % 32 == 0.
void dense_avx2(const float* q, int g, const void* k, const void* v, KvDtype kt, KvDtype vt,
                int64_t n, int D, float* m, float* l, float* o) {
  if (D % (plain(kt) && plain(vt) ? 8 : 32) == 0)
    return attn_dense_update_avx2(q, g, k, v, kt, vt, n, D, m, l, o);
  attn_dense_update_ref(q, g, k, v, kt, vt, n, D, m, l, o);
}
void dense_avx512(const float* q, int g, const void* k, const void* v, KvDtype kt, KvDtype vt,
                  int64_t n, int D, float* m, float* l, float* o) {
  if (D % 16 == 0) return attn_dense_update_avx512(q, g, k, v, kt, vt, n, D, m, l, o);
  dense_avx2(q, g, k, v, kt, vt, n, D, m, l, o);
}

// The sampled recoveries regenerate magnitudes per channel and run on the scalar path only.
void spark_avx2(const float* q, int g, const SparkView& s, int64_t t0, int64_t t1, float* m,
                float* l, float* o) {
  if (!s.sampled && g <= 8) return attn_spark_update_avx2(q, g, s, t0, t1, m, l, o);
  attn_spark_update_ref(q, g, s, t0, t1, m, l, o);
}
void spark_avx512(const float* q, int g, const SparkView& s, int64_t t0, int64_t t1, float* m,
                  float* l, float* o) {
  if (!s.sampled && s.D % 16 == 0) return attn_spark_update_avx512(q, g, s, t0, t1, m, l, o);
  spark_avx2(q, g, s, t0, t1, m, l, o);
}

void think_avx2(const float* q, int g, const void* k, int dk, const void* v, int D, KvDtype dtype,
                int64_t n, float* m, float* l, float* o) {
  if (D % 8 == 0) return attn_think_update_avx2(q, g, k, dk, v, D, dtype, n, m, l, o);
  attn_think_update_ref(q, g, k, dk, v, D, dtype, n, m, l, o);
}

// Indexed by SimdLevel. ThinK has no AVX-512 kernel of its own.
constexpr AttnKernels kSets[] = {
    {"ref", attn_dense_update_ref, attn_spark_update_ref, attn_think_update_ref,
     attn_tile_softmax_ref},
    {"avx2", dense_avx2, spark_avx2, think_avx2, attn_tile_softmax_avx2},
    {"avx512", dense_avx512, spark_avx512, think_avx2, attn_tile_softmax_avx512},
};

}  // namespace

const AttnKernels& attn_kernels(SimdLevel level) {
  const SimdLevel cpu = simd_level();
  return kSets[static_cast<int>(level < cpu ? level : cpu)];
}

const AttnKernels& attn_kernels() {
  return kSets[static_cast<int>(simd_level())];
}

void attn_dense_update(const float* q, int g, const void* k, const void* v, KvDtype kt, KvDtype vt,
                       int64_t n, int D, float* m, float* l, float* o) {
  attn_kernels().dense(q, g, k, v, kt, vt, n, D, m, l, o);
}

void attn_spark_update(const float* q, int g, const SparkView& s, int64_t t0, int64_t t1, float* m,
                       float* l, float* o) {
  attn_kernels().spark(q, g, s, t0, t1, m, l, o);
}

void attn_think_update(const float* q, int g, const void* k, int dk, const void* v, int D,
                       KvDtype dtype, int64_t n, float* m, float* l, float* o) {
  attn_kernels().think(q, g, k, dk, v, D, dtype, n, m, l, o);
}

}  // namespace sparkv

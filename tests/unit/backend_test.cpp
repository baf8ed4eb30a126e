// The backend seam (issue 19, item 5): kernel families are tables of function pointers, one per
// kernel set, and every entry of every set accepts every shape (a SIMD entry hands the shapes its
// kernel cannot run to the set below). Storage forms are reached through LayerCache only.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "attn/attn_kernels.h"
#include "attn/attn_state.h"
#include "attn_test_util.h"
#include "core/fp16.h"
#include "kv/dense_cache.h"
#include "kv/think_cache.h"
#include "press/press.h"
#include "press/spark_plan.h"
#include "quant/quant.h"
#include "quant/quant_kernels.h"

namespace sparkv {
namespace {

using test::randn;

constexpr SimdLevel kLevels[] = {SimdLevel::kScalar, SimdLevel::kAvx2, SimdLevel::kAvx512};

TEST(Backend, TablesAreIndexedByLevelAndClampedToTheCpu) {
  EXPECT_STREQ(attn_kernels(SimdLevel::kScalar).name, "ref");
  EXPECT_STREQ(quant_kernels(SimdLevel::kScalar).name, "ref");
  EXPECT_EQ(&attn_kernels(), &attn_kernels(simd_level()));
  EXPECT_EQ(&quant_kernels(), &quant_kernels(simd_level()));
  {
    test::SimdCap cap(SimdLevel::kScalar);
    EXPECT_STREQ(attn_kernels().name, "ref");
    EXPECT_STREQ(attn_kernels(SimdLevel::kAvx512).name, "ref");  // never above the cap
    EXPECT_STREQ(quant_kernels().name, "ref");
  }
  const char* names[] = {"ref", "avx2", "avx512"};
  EXPECT_STREQ(attn_kernels().name, names[static_cast<int>(simd_level())]);
}

// Dense attention of every set on shapes each SIMD kernel does and does not support (D = 40 is no
// multiple of 16 or 32; q8_0 needs D % 32) equals the scalar oracle.
TEST(Backend, EveryAttentionSetRunsEveryDenseShape) {
  for (int D : {40, 64, 96})
    for (KvDtype t : {KvDtype::kF32, KvDtype::kF16, KvDtype::kQ8_0}) {
      if (t == KvDtype::kQ8_0 && D % 32 != 0) continue;
      const int g = 3;
      const int64_t n = 70;
      auto kf = randn(static_cast<size_t>(n) * D, 1), vf = randn(kf.size(), 2);
      const size_t row = kv_row_bytes(t, D);
      std::vector<uint8_t> k(n * row), v(n * row);
      for (int64_t i = 0; i < n; ++i) {
        kv_quantize_row(t, kf.data() + i * D, k.data() + i * row, D);
        kv_quantize_row(t, vf.data() + i * D, v.data() + i * row, D);
      }
      auto q = randn(static_cast<size_t>(g) * D, 3, 0.3f);
      std::vector<float> m0(g), l0(g), o0(static_cast<size_t>(g) * D);
      attn_state_init(g, D, m0.data(), l0.data(), o0.data());
      attn_dense_update_ref(q.data(), g, k.data(), v.data(), t, t, n, D, m0.data(), l0.data(),
                            o0.data());
      for (SimdLevel level : kLevels) {
        std::vector<float> m(g), l(g), o(static_cast<size_t>(g) * D);
        attn_state_init(g, D, m.data(), l.data(), o.data());
        attn_kernels(level).dense(q.data(), g, k.data(), v.data(), t, t, n, D, m.data(), l.data(),
                                  o.data());
        EXPECT_LT(test::max_state_diff(g, D, m0, l0, o0, m, l, o), 1e-4f)
            << attn_kernels(level).name << " D=" << D << " " << kv_dtype_name(t);
      }
    }
}

// GEMV rows of every set and type equal the reference dot product; conversions round-trip.
TEST(Backend, EveryQuantSetRunsEveryRowType) {
  const int64_t n = 256;
  auto x = randn(n, 4), w = randn(n, 5);
  for (GgmlType type : {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0,
                        GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1}) {
    std::vector<uint8_t> row(ggml_row_bytes(type, n));
    quantize_row_ref(type, w.data(), row.data(), n);
    const float ref = dot_row_ref(type, row.data(), x.data(), n);
    std::vector<float> deq_ref(n), deq(n);
    dequantize_row_ref(type, row.data(), deq_ref.data(), n);
    for (SimdLevel level : kLevels) {
      const QuantKernels& qk = quant_kernels(level);
      EXPECT_NEAR(qk.dot_for(type)(type, row.data(), x.data(), n), ref, 1e-3f * (1 + std::abs(ref)))
          << qk.name << " " << static_cast<int>(type);
      qk.dequantize_row(type, row.data(), deq.data(), n);
      EXPECT_EQ(0, std::memcmp(deq.data(), deq_ref.data(), n * sizeof(float))) << qk.name;
      std::vector<uint16_t> h(n), h_ref(n);
      qk.f32_to_f16_row(w.data(), h.data(), static_cast<int>(n));
      quant_kernels(SimdLevel::kScalar).f32_to_f16_row(w.data(), h_ref.data(), static_cast<int>(n));
      EXPECT_EQ(h, h_ref) << qk.name;
    }
  }
}

// Every storage form answers the LayerCache questions the press, the capture and the reports ask:
// shape, what attention sees per token, bytes held, and whether it is the uncompressed form.
TEST(Backend, StorageFormsAnswerThroughLayerCacheAlone) {
  const int n_kv = 2, D = 64, g = 2;
  const int64_t T = 150;
  DenseLayerCache dense(n_kv, D, g, KvDtype::kF32);
  auto k = randn(static_cast<size_t>(T) * n_kv * D, 6), v = randn(k.size(), 7);
  dense.append(k.data(), v.data(), static_cast<int>(T));
  auto norms = randn(static_cast<size_t>(n_kv) * D, 8);
  for (auto& x : norms) x = std::abs(x) + 0.1f;
  SparkOptions o;
  o.ratio = 0.5;
  o.recent = 10;
  auto spark = spark_compress(dense, TokenSelection::all(n_kv, T).kept, norms.data(), 0, o);
  ThinkLayerCache think(n_kv, D, g, KvDtype::kF32,
                        {std::vector<int32_t>{0, 5, 9, 33}, std::vector<int32_t>{1, 2, 3, 63}});
  for (int h = 0; h < n_kv; ++h) {
    std::vector<float> kh(static_cast<size_t>(T) * D), vh(kh.size());
    for (int64_t t = 0; t < T; ++t)
      for (int d = 0; d < D; ++d) {
        kh[t * D + d] = k[(t * n_kv + h) * D + d];
        vh[t * D + d] = v[(t * n_kv + h) * D + d];
      }
    think.set_pruned(h, kh.data(), vh.data(), T);
  }
  const LayerCache* forms[] = {&dense, spark.get(), &think};
  for (const LayerCache* c : forms) {
    EXPECT_EQ(c->n_kv(), n_kv);
    EXPECT_EQ(c->head_dim(), D);
    EXPECT_EQ(c->group(), g);
    EXPECT_EQ(c->uncompressed() != nullptr, c == &dense) << c->kind();
    EXPECT_LE(c->bytes_held(), c->bytes());
    // Values are never pruned here, so every form reads back the values it was given (SparK
    // stores them as f16 by default).
    const float tol = c == spark.get() ? 2e-3f : 0.0f;
    std::vector<float> kr(static_cast<size_t>(T) * D), vr(kr.size());
    c->read(1, 0, T, kr.data(), vr.data());
    for (int64_t t = 0; t < T; ++t)
      for (int d = 0; d < D; ++d)
        ASSERT_NEAR(vr[t * D + d], v[(t * n_kv + 1) * D + d], tol) << c->kind() << " t=" << t;
  }
  // The last `recent` SparK tokens are dense; ThinK keeps its channels only.
  std::vector<float> kr(D);
  spark->read(0, T - 1, 1, kr.data(), nullptr);
  for (int d = 0; d < D; ++d)  // the tail's default type is f16
    EXPECT_EQ(kr[d], fp16_to_f32(f32_to_fp16(k[((T - 1) * n_kv + 0) * D + d])));
  think.read(1, 7, 1, kr.data(), nullptr);
  for (int d = 0; d < D; ++d) {
    const bool kept = d == 1 || d == 2 || d == 3 || d == 63;
    EXPECT_FLOAT_EQ(kr[d], kept ? k[(7 * n_kv + 1) * D + d] : 0.0f) << d;
  }
  // A SparK token read back is what its kernel attends over: the reconstruction.
  spark->read(1, 3, 1, kr.data(), nullptr);
  std::vector<float> rec(D);
  spark_reconstruct_key(spark->view(1), 3, rec.data());
  EXPECT_EQ(kr, rec);
  // The dense form holds 150 of its 192 page rows.
  EXPECT_EQ(dense.bytes_held(), dense.bytes() * 150 / 192);
}

}  // namespace
}  // namespace sparkv

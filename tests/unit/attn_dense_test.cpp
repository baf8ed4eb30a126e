// Dense attention: the SIMD kernel against the scalar twin, the paged/split cache against a naive
// softmax attention written out in the test, and the {m, l, o} merge.
#include <gtest/gtest.h>

#include "attn_test_util.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "attn/attn_state.h"
#include "attn/dense_decode.h"
#include "core/cpu_features.h"
#include "core/fp16.h"
#include "kv/dense_cache.h"

namespace sparkv {
namespace {

using test::naive_attention;
using test::randn;

// Plain softmax attention for one query head over n keys, in double.

TEST(AttnDense, Avx2MatchesReference) {
  if (!cpu_features().has_avx2_set()) GTEST_SKIP() << "no AVX2";
  for (KvDtype dt : {KvDtype::kF32, KvDtype::kF16}) {
    for (int g : {1, 2, 4, 8, 12}) {
      for (int D : {64, 128}) {
        const int64_t n = 333;
        auto q = randn(g * D, 1, 0.3f);
        auto kf = randn(n * D, 2), vf = randn(n * D, 3);
        std::vector<uint16_t> kh(n * D), vh(n * D);
        for (int64_t i = 0; i < n * D; ++i) {
          kh[i] = f32_to_fp16(kf[i]);
          vh[i] = f32_to_fp16(vf[i]);
        }
        const void* k = dt == KvDtype::kF32 ? static_cast<const void*>(kf.data()) : kh.data();
        const void* v = dt == KvDtype::kF32 ? static_cast<const void*>(vf.data()) : vh.data();
        std::vector<float> m1(g), l1(g), o1(g * D), m2(g), l2(g), o2(g * D);
        attn_state_init(g, D, m1.data(), l1.data(), o1.data());
        attn_state_init(g, D, m2.data(), l2.data(), o2.data());
        attn_dense_update_ref(q.data(), g, k, v, dt, n, D, m1.data(), l1.data(), o1.data());
        attn_dense_update_avx2(q.data(), g, k, v, dt, n, D, m2.data(), l2.data(), o2.data());
        std::vector<float> a(g * D), b(g * D);
        attn_state_finish(g, D, l1.data(), o1.data(), a.data());
        attn_state_finish(g, D, l2.data(), o2.data(), b.data());
        for (int i = 0; i < g * D; ++i) ASSERT_NEAR(a[i], b[i], 1e-5f) << "g=" << g << " D=" << D;
      }
    }
  }
}

// Runs `kernel` and the scalar twin from the same non-trivial state (a first pass already folded
// in, so the rescale of o and l is exercised) over n rows of types kt / vt; returns max |diff|.
template <typename Kernel>
float max_diff_vs_ref(Kernel kernel, KvDtype kt, KvDtype vt, int g, int D, int64_t n,
                      uint32_t seed) {
  auto q = randn(g * D, seed, 0.3f);
  auto kf = randn(n * D, seed + 1), vf = randn(n * D, seed + 2);
  std::vector<uint8_t> kb(n * kv_row_bytes(kt, D)), vb(n * kv_row_bytes(vt, D));
  for (int64_t t = 0; t < n; ++t) {
    kv_quantize_row(kt, kf.data() + t * D, kb.data() + t * kv_row_bytes(kt, D), D);
    kv_quantize_row(vt, vf.data() + t * D, vb.data() + t * kv_row_bytes(vt, D), D);
  }
  std::vector<float> m1(g), l1(g), o1(g * D), m2(g), l2(g), o2(g * D);
  attn_state_init(g, D, m1.data(), l1.data(), o1.data());
  const int64_t n0 = n / 3;  // the first third through the reference for both
  attn_dense_update_ref(q.data(), g, kb.data(), vb.data(), kt, vt, n0, D, m1.data(), l1.data(),
                        o1.data());
  m2 = m1, l2 = l1, o2 = o1;
  const uint8_t* k1 = kb.data() + n0 * kv_row_bytes(kt, D);
  const uint8_t* v1 = vb.data() + n0 * kv_row_bytes(vt, D);
  attn_dense_update_ref(q.data(), g, k1, v1, kt, vt, n - n0, D, m1.data(), l1.data(), o1.data());
  kernel(q.data(), g, k1, v1, kt, vt, n - n0, D, m2.data(), l2.data(), o2.data());
  return test::max_state_diff(g, D, m1, l1, o1, m2, l2, o2);
}

// The 16-lane kernel on every group size (1..8 take the register paths, 12 loops over 8 + 4),
// token counts around the 16-token score batches and the 64-token softmax blocks, both D.
TEST(AttnDense, Avx512MatchesReference) {
  if (!cpu_features().has_avx512_set()) GTEST_SKIP() << "no AVX-512 (F/BW/VL/DQ)";
  const std::pair<KvDtype, KvDtype> types[] = {{KvDtype::kF32, KvDtype::kF32},
                                               {KvDtype::kF16, KvDtype::kF16},
                                               {KvDtype::kBF16, KvDtype::kBF16},
                                               {KvDtype::kF16, KvDtype::kF32},
                                               {KvDtype::kF32, KvDtype::kBF16}};
  uint32_t seed = 100;
  for (const auto& [kt, vt] : types)
    for (int g : {1, 2, 3, 4, 5, 6, 7, 8, 12})
      for (int D : {64, 128})
        for (int64_t n : {1, 2, 15, 17, 63, 64, 65, 97, 333}) {
          const float d = max_diff_vs_ref([](auto... a) { attn_dense_update_avx512(a...); }, kt, vt,
                                          g, D, n, seed++);
          ASSERT_LT(d, 1e-5f) << kv_dtype_name(kt) << "/" << kv_dtype_name(vt) << " g=" << g
                              << " D=" << D << " n=" << n;
        }
}

// Every block type through the 16-lane loaders (half a block per load), as K and as V, mixed
// with each other and with f16; D 96 is an odd number of 32-channel blocks. The reference
// dequantizes with kv_dequantize_row (llama.cpp's rules).
TEST(AttnDense, Avx512BlockTypesMatchReference) {
  if (!cpu_features().has_avx512_set()) GTEST_SKIP() << "no AVX-512 (F/BW/VL/DQ)";
  const KvDtype blocks[] = {KvDtype::kQ8_0, KvDtype::kQ4_0, KvDtype::kQ4_1,
                            KvDtype::kQ5_0, KvDtype::kQ5_1, KvDtype::kIQ4_NL};
  uint32_t seed = 500;
  for (KvDtype bt : blocks)
    for (auto [kt, vt] : {std::pair{bt, bt}, std::pair{bt, KvDtype::kF16},
                          std::pair{KvDtype::kF16, bt}, std::pair{bt, KvDtype::kQ8_0}})
      for (int g : {1, 4, 5})
        for (int D : {64, 96, 128})
          for (int64_t n : {1, 17, 65, 150}) {
            const float d = max_diff_vs_ref([](auto... a) { attn_dense_update_avx512(a...); }, kt,
                                            vt, g, D, n, seed++);
            ASSERT_LT(d, 1e-5f) << kv_dtype_name(kt) << "/" << kv_dtype_name(vt) << " g=" << g
                                << " D=" << D << " n=" << n;
          }
}

// The paged cache gives the same answer at every dispatch level (limit_simd_level).
TEST(AttnDense, DispatchLevelsAgree) {
  const int n_kv = 2, g = 4, D = 128, H = n_kv * g;
  const int64_t n = 1500;  // long enough for the split-KV path
  DenseLayerCache cache(n_kv, D, g, KvDtype::kF16);
  auto k = randn(n * n_kv * D, 31), v = randn(n * n_kv * D, 32);
  cache.append(k.data(), v.data(), static_cast<int>(n));
  auto q = randn(H * D, 33, 0.3f);
  std::vector<float> ref(H * D), out(H * D);
  {
    test::SimdCap cap(SimdLevel::kScalar);
    cache.attend(q.data(), 1, ref.data());
  }
  for (SimdLevel level : {SimdLevel::kAvx2, SimdLevel::kAvx512}) {
    test::SimdCap cap(level);
    cache.attend(q.data(), 1, out.data());
    for (int i = 0; i < H * D; ++i)
      ASSERT_NEAR(out[i], ref[i], 1e-5f) << "level " << static_cast<int>(level);
  }
}

// simd_level() is what the CPU supports (SPARKV_FORCE_SCALAR / SPARKV_NO_AVX512 lower it at
// startup), capped by limit_simd_level, and a raised cap never exceeds the detection.
TEST(CpuFeatures, SimdLevelFollowsDetectionAndCap) {
  const CpuFeatures& f = cpu_features();
  const SimdLevel full = f.has_avx512_set() ? SimdLevel::kAvx512
                         : f.has_avx2_set() ? SimdLevel::kAvx2
                                            : SimdLevel::kScalar;
  EXPECT_EQ(simd_level(), full);
  if (f.has_avx512_set()) {
    EXPECT_TRUE(f.os_zmm && f.os_ymm && f.avx512bw && f.has_avx2_set());
  }
  {
    test::SimdCap cap(SimdLevel::kAvx2);
    EXPECT_EQ(simd_level(), std::min(full, SimdLevel::kAvx2));
  }
  {
    test::SimdCap cap(SimdLevel::kScalar);
    EXPECT_EQ(simd_level(), SimdLevel::kScalar);
  }
  EXPECT_EQ(simd_level(), full);
}

TEST(AttnDense, MergeOfSplitsEqualsWhole) {
  const int g = 2, D = 64;
  const int64_t n = 1000;
  auto q = randn(g * D, 4, 0.2f);
  auto k = randn(n * D, 5), v = randn(n * D, 6);
  std::vector<float> m(g), l(g), o(g * D), m2(g), l2(g), o2(g * D);
  attn_state_init(g, D, m.data(), l.data(), o.data());
  attn_dense_update_ref(q.data(), g, k.data(), v.data(), KvDtype::kF32, n, D, m.data(), l.data(),
                        o.data());
  // Three uneven pieces merged in order.
  std::vector<float> mm(g), lm(g), om(g * D);
  attn_state_init(g, D, mm.data(), lm.data(), om.data());
  for (auto [t0, t1] : std::vector<std::pair<int64_t, int64_t>>{{0, 7}, {7, 640}, {640, 1000}}) {
    attn_state_init(g, D, m2.data(), l2.data(), o2.data());
    attn_dense_update_ref(q.data(), g, k.data() + t0 * D, v.data() + t0 * D, KvDtype::kF32, t1 - t0,
                          D, m2.data(), l2.data(), o2.data());
    attn_state_merge(g, D, mm.data(), lm.data(), om.data(), m2.data(), l2.data(), o2.data());
  }
  std::vector<float> a(g * D), b(g * D);
  attn_state_finish(g, D, l.data(), o.data(), a.data());
  attn_state_finish(g, D, lm.data(), om.data(), b.data());
  for (int i = 0; i < g * D; ++i) EXPECT_NEAR(a[i], b[i], 1e-5f);
}

// The paged cache (pages of 64 tokens, split across threads for decode, causal for chunks) against
// naive attention per query.
TEST(AttnDense, PagedCacheCausalChunkMatchesNaive) {
  const int n_kv = 2, g = 2, D = 64, H = n_kv * g;
  // 700 cached, then a chunk of 9 appended and attended causally (two stacked blocks of 4 queries
  // at g = 2, and a partial one)
  const int n0 = 700, n_q = 9;
  DenseLayerCache cache(n_kv, D, g, KvDtype::kF32);
  auto k0 = randn(static_cast<size_t>(n0) * n_kv * D, 7),
       v0 = randn(static_cast<size_t>(n0) * n_kv * D, 8);
  cache.append(k0.data(), v0.data(), n0);
  auto k1 = randn(n_q * n_kv * D, 9), v1 = randn(n_q * n_kv * D, 10);
  cache.append(k1.data(), v1.data(), n_q);
  auto q = randn(n_q * H * D, 11, 0.3f);
  std::vector<float> out(n_q * H * D);
  cache.attend(q.data(), n_q, out.data());
  const int64_t n = n0 + n_q;
  for (int h = 0; h < n_kv; ++h) {
    std::vector<float> kh(n * D), vh(n * D);
    cache.read(h, 0, n, kh.data(), vh.data());
    for (int i = 0; i < n_q; ++i)
      for (int j = 0; j < g; ++j) {
        const int qh = h * g + j;
        auto ref =
            naive_attention(q.data() + (i * H + qh) * D, kh.data(), vh.data(), n0 + i + 1, D);
        for (int d = 0; d < D; ++d)
          ASSERT_NEAR(out[(i * H + qh) * D + d], ref[d], 2e-5) << "query " << i << " head " << qh;
      }
  }
  // Decode (one query) over the long context goes through the split-KV path.
  std::vector<float> q1 = randn(H * D, 12, 0.3f), o1(H * D);
  auto k2 = randn(n_kv * D, 13), v2 = randn(n_kv * D, 14);
  cache.append(k2.data(), v2.data(), 1);
  cache.attend(q1.data(), 1, o1.data());
  for (int h = 0; h < n_kv; ++h) {
    std::vector<float> kh((n + 1) * D), vh((n + 1) * D);
    cache.read(h, 0, n + 1, kh.data(), vh.data());
    for (int j = 0; j < g; ++j) {
      auto ref = naive_attention(q1.data() + (h * g + j) * D, kh.data(), vh.data(), n + 1, D);
      for (int d = 0; d < D; ++d) ASSERT_NEAR(o1[(h * g + j) * D + d], ref[d], 2e-5);
    }
  }
  EXPECT_EQ(cache.n_tokens(0), n + 1);
  EXPECT_EQ(cache.bytes(), static_cast<size_t>(n_kv) * 12 * 2 * DenseLayerCache::kPageTokens * D *
                               4);  // 12 pages of K+V
}

TEST(AttnDense, F16CacheRoundsToHalf) {
  DenseLayerCache cache(1, 64, 1, KvDtype::kF16);
  auto k = randn(64, 15), v = randn(64, 16);
  cache.append(k.data(), v.data(), 1);
  std::vector<float> kr(64), vr(64);
  cache.read(0, 0, 1, kr.data(), vr.data());
  for (int d = 0; d < 64; ++d) {
    EXPECT_EQ(kr[d], fp16_to_f32(f32_to_fp16(k[d])));
    EXPECT_EQ(vr[d], fp16_to_f32(f32_to_fp16(v[d])));
  }
  EXPECT_EQ(cache.bytes(), 2u * DenseLayerCache::kPageTokens * 64 * 2);
}

}  // namespace
}  // namespace sparkv

namespace sparkv {

// Reservations (a prefill's exact chunk, and one that abandons the free rest of a growth chunk)
// change where rows live, never what attention reads: the same rows, runs and outputs as a cache
// that only ever grew token by token.
TEST(AttnDense, ReservedChunksHoldTheSameRowsAsGrowth) {
  const int n_kv = 2, D = 64, g = 2, T = 3000;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  std::vector<float> k(static_cast<size_t>(T) * n_kv * D), v(k.size());
  for (auto& x : k) x = nd(rng);
  for (auto& x : v) x = nd(rng);
  DenseLayerCache grown(n_kv, D, g, KvDtype::kF16), reserved(n_kv, D, g, KvDtype::kF16);
  const size_t row = static_cast<size_t>(n_kv) * D;
  for (int t = 0; t < T; ++t) grown.append(k.data() + t * row, v.data() + t * row, 1);
  // 100 tokens by growth, a reservation to 2112 tokens (33 pages) filled in odd pieces, 3 decode
  // tokens (a growth chunk of 33 / 16 = 2 pages, one left free), then a reservation that
  // abandons that free page, then growth again.
  int t = 0;
  auto feed = [&](int n) {
    reserved.append(k.data() + t * row, v.data() + t * row, n);
    t += n;
  };
  for (int i = 0; i < 100; ++i) feed(1);
  reserved.reserve(2112);
  feed(1333), feed(679);
  for (int i = 0; i < 3; ++i) feed(1);
  reserved.reserve(2900);
  feed(785);
  while (t < T) feed(1);
  EXPECT_EQ(reserved.bytes(), grown.bytes());
  std::vector<float> ka(static_cast<size_t>(T) * D), kb(ka.size()), va(ka.size()), vb(ka.size());
  for (int h = 0; h < n_kv; ++h) {
    grown.read(h, 0, T, ka.data(), va.data());
    reserved.read(h, 0, T, kb.data(), vb.data());
    ASSERT_EQ(ka, kb) << h;
    ASSERT_EQ(va, vb) << h;
  }
  std::vector<float> q(static_cast<size_t>(4) * n_kv * g * D);
  for (auto& x : q) x = nd(rng);
  std::vector<float> oa(q.size()), ob(q.size());
  grown.attend(q.data(), 4, oa.data());
  reserved.attend(q.data(), 4, ob.data());
  for (size_t i = 0; i < oa.size(); ++i) ASSERT_NEAR(oa[i], ob[i], 1e-5f * (1 + std::fabs(oa[i])));
}

}  // namespace sparkv

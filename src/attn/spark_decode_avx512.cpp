// AVX-512 attention over SparK-compressed keys. Each 16-channel group of a token is rebuilt in
// registers from the 16-bit slice of its kept-channel mask, used directly as an opmask: the next 16
// values of the packed stream are converted to f32 and vexpandps places the group's kept values at
// their channels over a vector holding σ·r_t·w_j (w or −w picked by the sign slice, times r_t).
// That is 4 vector instructions per group besides the FMAs — no index tables, no permutes — and
// the rebuilt vector feeds every head of the GQA group, so K streams once. Scores, softmax and
// the value accumulation are the dense kernel's (attn_block_avx512_inl.h): 16-token batched score
// reductions, 64-token softmax blocks, register-resident output rows read front to back, for every
// dense value type (block types dequantized 16 lanes at a time); pruned values (values=λv) are
// rebuilt like the keys. Only AVX-512 F/BW/VL/DQ: no VBMI2 (its 16-bit vpexpandw is the slower
// expand anyway).
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "attn/attn_block_avx512_inl.h"
#include "attn/spark_decode.h"

namespace sparkv {

namespace {

using attn_avx512::kBlock;
using attn_avx512::kLanes;
using attn_avx512::kMaxHeads;
using attn_avx512::ScoreBatch;
using attn_avx512::Scores;

inline unsigned mask16(const uint8_t* bits, int p) {
  uint16_t m;
  std::memcpy(&m, bits + 2 * p, 2);
  return m;
}

// The next 16 values of the kept-value stream from element e on, as floats in stream order (codes
// for q8 / q4, not yet scaled): the popcount(km) kept values of the group come first. The int8 and
// int4 reads (16 bytes) stay within the stream's 16 bytes of padding; a 32-byte f16 read can pass
// it only for the last tokens of the stream, which take a masked load of just the values needed
// (kSafe = false).
template <SparkKeyQuant KQ, bool kSafe>
inline __m512 load_packed16(const void* base, int64_t e, unsigned km) {
  if constexpr (KQ == SparkKeyQuant::kF16) {
    const uint16_t* p = static_cast<const uint16_t*>(base) + e;
    if constexpr (kSafe)
      return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    const __mmask16 first = static_cast<__mmask16>(_bzhi_u32(0xFFFF, __builtin_popcount(km)));
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(first, p));
  } else if constexpr (KQ == SparkKeyQuant::kQ8) {
    const __m128i c =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const int8_t*>(base) + e));
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(c));
  } else {
    // 16 codes from element e (which may sit in a high nibble): shift the 128-bit window by
    // 4·(e&1).
    unsigned __int128 x;
    std::memcpy(&x, static_cast<const uint8_t*>(base) + e / 2, 16);
    const uint64_t w = static_cast<uint64_t>(x >> (4 * (e & 1)));
    const __m128i b = _mm_cvtsi64_si128(static_cast<long long>(w));
    const __m128i nib = _mm_set1_epi8(0x0F);
    const __m128i codes =
        _mm_unpacklo_epi8(_mm_and_si128(b, nib), _mm_and_si128(_mm_srli_epi16(b, 4), nib));
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_sub_epi8(codes, _mm_set1_epi8(8))));
  }
}

// Channel group p of token i's k̂: σ_j·r_t·w_j in every lane (w or −w picked by the sign slice),
// then the group's kept values expanded over it (vexpandps with the kept-mask slice as opmask;
// on registers it is cheap on Zen 5, where the 16-bit vpexpandw costs 2-3x as much). e: the
// token's stream cursor, advanced past the group's kept values.
template <SparkKeyQuant KQ, bool kSafe>
inline __m512 rebuild(const uint8_t* mask, const uint8_t* pos, int p, int64_t& e, const float& r,
                      const float& d, const float* w, const float* wneg, const void* kvals) {
  const unsigned km = mask16(mask, p);
  // set only on pruned channels; no stored signs (chmean, zero): every pruned entry is +w_j
  const unsigned pm = pos ? mask16(pos, p) : ~km & 0xFFFFu;
  const __m512 sw =
      _mm512_mask_blend_ps(static_cast<__mmask16>(pm), _mm512_loadu_ps(wneg + kLanes * p),
                           _mm512_loadu_ps(w + kLanes * p));
  __m512 kept = load_packed16<KQ, kSafe>(kvals, e, km);
  if constexpr (KQ != SparkKeyQuant::kF16) kept = _mm512_mul_ps(kept, _mm512_set1_ps(d));
  e += __builtin_popcount(km);
  return _mm512_mask_expand_ps(_mm512_mul_ps(_mm512_set1_ps(r), sw), static_cast<__mmask16>(km),
                               kept);
}

// Scores P consecutive tokens from t on into slots [slot, slot + P) of the batch. kD: the head
// dimension when it is 64 or 128 (0: s.D at run time) — as a constant it lets the compiler
// unroll the channel loop and address every token's masks, w and q from one base register each
// (with a run-time D the P token cursors spill).
template <SparkKeyQuant KQ, bool kSafe, int kD, int G, int P>
inline void score_tokens(const float* q, const SparkView& s, const float* wneg, int64_t t,
                         ScoreBatch<G>& batch, int slot) {
  const int D = kD ? kD : s.D;
  const int nb = D / 8;
  const uint8_t* mask = s.kmask + t * nb;  // token t + i at mask + i·nb
  const uint8_t* pos = s.kpos ? s.kpos + t * nb : nullptr;
  int64_t e[P];
  float r[P], d[P];  // scalars: the multiplies take them as {1to16} memory operands, no registers
  __m512 a[P][G];
  for (int i = 0; i < P; ++i) {
    e[i] = s.kval_offset(t + i);
    r[i] = s.r ? _cvtsh_ss(s.r[t + i]) : 1.0f;
    d[i] = KQ == SparkKeyQuant::kF16 ? 1.0f : _cvtsh_ss(s.kscale[t + i]);
    for (int h = 0; h < G; ++h) a[i][h] = _mm512_setzero_ps();
  }
  for (int p = 0; p < D / kLanes; ++p) {
    __m512 k[P];
    for (int i = 0; i < P; ++i)
      k[i] = rebuild<KQ, kSafe>(mask + i * nb, pos ? pos + i * nb : nullptr, p, e[i], r[i], d[i],
                                s.w, wneg, s.kvals);
    for (int h = 0; h < G; ++h) {
      const __m512 qv = _mm512_loadu_ps(q + h * D + kLanes * p);
      for (int i = 0; i < P; ++i) a[i][h] = _mm512_fmadd_ps(qv, k[i], a[i][h]);
    }
  }
  for (int i = 0; i < P; ++i)
    for (int h = 0; h < G; ++h) batch.acc[h][slot + i] = a[i][h];
}

// Bytes of n stream elements (n even for int4 when it spans whole tokens; rounded up otherwise).
template <SparkKeyQuant KQ>
constexpr int64_t stream_bytes(int64_t n) {
  return KQ == SparkKeyQuant::kF16 ? 2 * n : KQ == SparkKeyQuant::kQ8 ? n : (n + 1) / 2;
}

// Tokens [0, result) may read 16 f16 values (32 bytes) from anywhere in their kept run: their
// run ends at least 8 values before the stream's end, so the read stays in the 16-byte padding.
inline int64_t f16_safe_tokens(const SparkView& s) {
  const int64_t end = s.kval_offset(s.n);
  int64_t t = s.n;
  while (t > 0 && s.kval_offset(t) + 8 > end) --t;
  return t;
}

// Pruned values (values=λv): v̂ of token t rebuilt like the keys (fill in the pruned lanes) and
// folded into the G output rows.
template <int G>
void accumulate_pruned_values(const SparkView& s, int64_t b0, int nb, const uint16_t*& vv,
                              const Scores& sc, float* o) {
  const int D = s.D;
  for (int i = 0; i < nb; ++i) {
    const int64_t t = b0 + i;
    const uint8_t* vm = s.vmask + t * (D / 8);
    const __m512 fill = _mm512_set1_ps(_cvtsh_ss(s.vfill[t]));
    for (int p = 0; p < D / kLanes; ++p) {
      const unsigned km = mask16(vm, p);
      const __mmask16 first = static_cast<__mmask16>(_bzhi_u32(0xFFFF, __builtin_popcount(km)));
      const __m512 kept = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(first, vv));
      vv += __builtin_popcount(km);
      const __m512 v = _mm512_mask_expand_ps(fill, static_cast<__mmask16>(km), kept);
      for (int h = 0; h < G; ++h) {
        float* oh = o + h * D + kLanes * p;
        _mm512_storeu_ps(oh, _mm512_fmadd_ps(_mm512_set1_ps(sc[h][i]), v, _mm512_loadu_ps(oh)));
      }
    }
  }
}

template <SparkKeyQuant KQ, int kD, int G>
void update(const float* q, const SparkView& s, int64_t t0, int64_t t1, float* m, float* l,
            float* o) {
  // Tokens per step: enough for ~8 independent FMA chains, as in the dense kernel.
  constexpr int P = G <= 2 ? 8 : G <= 4 ? 4 : 2;
  constexpr int kValuePrefetch = 32, kKeyPrefetch = 64;  // tokens
  const int D = kD ? kD : s.D;
  alignas(64) Scores sc;
  ScoreBatch<G> batch;
  alignas(64) float wneg[1024];  // −w_j (D <= 1024)
  for (int j = 0; j < D; ++j) wneg[j] = -s.w[j];
  const int64_t t_safe = KQ == SparkKeyQuant::kF16 ? f16_safe_tokens(s) : s.n;
  const size_t v_row_bytes = kv_row_bytes(s.v_type, D);
  const auto* vrows = static_cast<const uint8_t*>(s.v);
  const attn_avx512::AccumulateFn accumulate = attn_avx512::accumulate_fn<G>(s.v_type);
  const uint16_t* vv = s.vvals ? s.vvals + t0 * s.v_fixed : nullptr;

  for (int64_t b0 = t0; b0 < t1; b0 += kBlock) {
    const int nblk = static_cast<int>(std::min<int64_t>(kBlock, t1 - b0));
    for (int j0 = 0; j0 < nblk; j0 += kLanes) {
      const int cnt = std::min(kLanes, nblk - j0);
      int j = 0;
      for (; j + P <= cnt; j += P) {
        const int64_t t = b0 + j0 + j;
        // Prefetch evenly while scoring: the value rows kValuePrefetch tokens ahead and the key
        // streams (kept values, masks, signs) kKeyPrefetch tokens ahead. Measured on one Zen 5
        // core at 32k tokens, λ = 0.5: 7.6 ms with neither, 6.6 with the values, 5.6-5.8 with both.
        if (vrows && t + kValuePrefetch + P <= t1) {
          const char* vp =
              reinterpret_cast<const char*>(vrows + (t + kValuePrefetch) * v_row_bytes);
          for (size_t b = 0; b < P * v_row_bytes; b += 64) _mm_prefetch(vp + b, _MM_HINT_T0);
        }
        if (t + kKeyPrefetch + P <= t1) {
          const int64_t e0 = s.kval_offset(t + kKeyPrefetch),
                        e1 = s.kval_offset(t + kKeyPrefetch + P);
          const char* kp = static_cast<const char*>(s.kvals) + stream_bytes<KQ>(e0);
          for (int64_t b = 0; b < stream_bytes<KQ>(e1 - e0); b += 64)
            _mm_prefetch(kp + b, _MM_HINT_T0);
          // P tokens of masks and signs are P·D/8 bytes: one line each for P·D <= 512.
          for (int b = 0; b < P * D / 8; b += 64) {
            _mm_prefetch(reinterpret_cast<const char*>(s.kmask + (t + kKeyPrefetch) * (D / 8) + b),
                         _MM_HINT_T0);
            if (s.kpos)
              _mm_prefetch(reinterpret_cast<const char*>(s.kpos + (t + kKeyPrefetch) * (D / 8) + b),
                           _MM_HINT_T0);
          }
        }
        if (t + P <= t_safe)
          score_tokens<KQ, true, kD, G, P>(q, s, wneg, t, batch, j);
        else
          score_tokens<KQ, false, kD, G, P>(q, s, wneg, t, batch, j);
      }
      for (; j < cnt; ++j) score_tokens<KQ, false, kD, G, 1>(q, s, wneg, b0 + j0 + j, batch, j);
      batch.flush(cnt, j0, sc);
    }
    attn_avx512::block_softmax(sc, G, nblk, D, m, l, o);
    if (vrows)
      accumulate(vrows + b0 * v_row_bytes, v_row_bytes, nblk, D, sc, o);
    else
      accumulate_pruned_values<G>(s, b0, nblk, vv, sc, o);
  }
}

template <SparkKeyQuant KQ>
void update_group(const float* q, int g, const SparkView& s, int64_t t0, int64_t t1, float* m,
                  float* l, float* o) {
  const int D = s.D;
  for (int h0 = 0; h0 < g; h0 += kMaxHeads) {
    const int gh = std::min(kMaxHeads, g - h0);
    attn_avx2::dispatch_group(gh, [&]<int G>() {
      const float* qh = q + h0 * D;
      if (D == 128)
        update<KQ, 128, G>(qh, s, t0, t1, m + h0, l + h0, o + h0 * D);
      else if (D == 64)
        update<KQ, 64, G>(qh, s, t0, t1, m + h0, l + h0, o + h0 * D);
      else
        update<KQ, 0, G>(qh, s, t0, t1, m + h0, l + h0, o + h0 * D);
    });
  }
}

}  // namespace

void attn_spark_update_avx512(const float* q, int g, const SparkView& s, int64_t t0, int64_t t1,
                              float* m, float* l, float* o) {
  if (s.sampled || s.D % kLanes != 0) return attn_spark_update_ref(q, g, s, t0, t1, m, l, o);
  switch (s.kq) {
    case SparkKeyQuant::kF16:
      return update_group<SparkKeyQuant::kF16>(q, g, s, t0, t1, m, l, o);
    case SparkKeyQuant::kQ8:
      return update_group<SparkKeyQuant::kQ8>(q, g, s, t0, t1, m, l, o);
    case SparkKeyQuant::kQ4:
      return update_group<SparkKeyQuant::kQ4>(q, g, s, t0, t1, m, l, o);
  }
}

}  // namespace sparkv

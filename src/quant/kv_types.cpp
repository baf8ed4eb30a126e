#include "quant/kv_types.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/fp16.h"
#include "quant/quant.h"
#include "quant/quant_kernels.h"

namespace sparkv {

const int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                 1,    13,   25,  38,  53,  69,  89,  113};

namespace {

struct TypeRow {
  KvDtype type;
  const char* name;
  int elems, bytes;
};

constexpr TypeRow kTypes[] = {
    {KvDtype::kF32, "f32", 1, 4},         {KvDtype::kF16, "f16", 1, 2},
    {KvDtype::kBF16, "bf16", 1, 2},       {KvDtype::kQ8_0, "q8_0", 32, 34},
    {KvDtype::kQ4_0, "q4_0", 32, 18},     {KvDtype::kQ4_1, "q4_1", 32, 20},
    {KvDtype::kIQ4_NL, "iq4_nl", 32, 18}, {KvDtype::kQ5_0, "q5_0", 32, 22},
    {KvDtype::kQ5_1, "q5_1", 32, 24},
};

const TypeRow& row(KvDtype t) {
  for (const TypeRow& r : kTypes)
    if (r.type == t) return r;
  fail("unknown KV cache type id {}", static_cast<int>(t));
}

// The ggml type with the same block layout; iq4_nl is not in src/quant and is handled here.
GgmlType ggml_of(KvDtype t) {
  switch (t) {
    case KvDtype::kF32:
      return GgmlType::kF32;
    case KvDtype::kF16:
      return GgmlType::kF16;
    case KvDtype::kBF16:
      return GgmlType::kBF16;
    case KvDtype::kQ8_0:
      return GgmlType::kQ8_0;
    case KvDtype::kQ4_0:
      return GgmlType::kQ4_0;
    case KvDtype::kQ4_1:
      return GgmlType::kQ4_1;
    case KvDtype::kQ5_0:
      return GgmlType::kQ5_0;
    case KvDtype::kQ5_1:
      return GgmlType::kQ5_1;
    case KvDtype::kIQ4_NL:
      break;
  }
  fail("KV cache type {} has no ggml twin in src/quant", kv_dtype_name(t));
}

// iq4_nl block: d (fp16) then 16 bytes of codes, low nibble element j, high nibble j + 16.
constexpr int kQK = 32;

// Index of the table entry nearest to x (binary search; an exact tie goes to the upper entry).
int iq4nl_best_index(float x) {
  if (x <= kIq4nlValues[0]) return 0;
  if (x >= kIq4nlValues[15]) return 15;
  int lo = 0, hi = 15;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (x < kIq4nlValues[mid])
      hi = mid;
    else
      lo = mid;
  }
  return x - kIq4nlValues[hi - 1] < kIq4nlValues[hi] - x ? hi - 1 : hi;
}

// llama.cpp's reference iq4_nl quantizer (no importance weights, no extra scale tries): codes
// from d0 = max/T[0] (max = signed value of largest |x|), then d refit by weighted least squares
// with w = x², and the codes are kept.
void quantize_iq4nl_block(const float* x, uint8_t* out) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < kQK; ++j) {
    const float ax = std::fabs(x[j]);
    if (ax > amax) {
      amax = ax;
      max = x[j];
    }
  }
  uint8_t code[kQK] = {};
  float d = 0.0f;
  // ggml leaves the codes of an all-zero block to whatever its scratch held; with d = 0 every
  // element decodes to 0 either way, and we write code 0.
  if (amax >= 1e-15f) {
    d = max / kIq4nlValues[0];
    const float id = 1.0f / d;
    float sumqx = 0.0f, sumq2 = 0.0f;
    for (int j = 0; j < kQK; ++j) {
      const int l = iq4nl_best_index(id * x[j]);
      code[j] = static_cast<uint8_t>(l);
      const float q = kIq4nlValues[l];
      const float w = x[j] * x[j];
      sumqx += w * q * x[j];
      sumq2 += w * q * q;
    }
    d = sumqx / sumq2;
  }
  const uint16_t dh = f32_to_fp16(d);
  std::memcpy(out, &dh, 2);
  for (int j = 0; j < kQK / 2; ++j)
    out[2 + j] = static_cast<uint8_t>(code[j] | (code[j + 16] << 4));
}

void dequantize_iq4nl_block(const uint8_t* b, float* y) {
  uint16_t dh;
  std::memcpy(&dh, b, 2);
  const float d = fp16_to_f32(dh);
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = d * kIq4nlValues[b[2 + j] & 0xF];
    y[j + kQK / 2] = d * kIq4nlValues[b[2 + j] >> 4];
  }
}

}  // namespace

const char* kv_dtype_name(KvDtype t) {
  return row(t).name;
}

std::string kv_dtype_names() {
  std::string s;
  for (const TypeRow& r : kTypes) {
    if (!s.empty()) s += ", ";
    s += r.name;
  }
  return s;
}

KvDtype kv_dtype_from_name(std::string_view name) {
  for (const TypeRow& r : kTypes)
    if (name == r.name) return r.type;
  fail("unknown KV cache type '{}' (expected one of: {})", name, kv_dtype_names());
}

int kv_block_elems(KvDtype t) {
  return row(t).elems;
}
int kv_block_bytes(KvDtype t) {
  return row(t).bytes;
}

size_t kv_row_bytes(KvDtype t, int D) {
  const TypeRow& r = row(t);
  return static_cast<size_t>(D / r.elems) * r.bytes;
}

void kv_check_head_dim(KvDtype t, int D, const char* what) {
  const int b = kv_block_elems(t);
  SPARKV_CHECK(D > 0 && D % b == 0,
               "{}: type {} stores {}-channel blocks, but head_dim {} is not a multiple of {}",
               what, kv_dtype_name(t), b, D, b);
}

void kv_quantize_row(KvDtype t, const float* src, void* dst, int D) {
  if (t == KvDtype::kF16)
    return quant_kernels().f32_to_f16_row(src, static_cast<uint16_t*>(dst), D);
  if (t == KvDtype::kIQ4_NL) {
    auto* out = static_cast<uint8_t*>(dst);
    for (int b = 0; b < D / kQK; ++b) quantize_iq4nl_block(src + b * kQK, out + b * 18);
    return;
  }
  quantize_row_ref(ggml_of(t), src, dst, D);
}

void kv_dequantize_row(KvDtype t, const void* src, float* dst, int D) {
  // f16 widens exactly, so the F16C path is the scalar one bit for bit (the kernels' oracles
  // still see identical values).
  if (t == KvDtype::kF16)
    return quant_kernels().f16_to_f32_row(static_cast<const uint16_t*>(src), dst, D);
  if (t == KvDtype::kIQ4_NL) {
    const auto* in = static_cast<const uint8_t*>(src);
    for (int b = 0; b < D / kQK; ++b) dequantize_iq4nl_block(in + b * 18, dst + b * kQK);
    return;
  }
  dequantize_row_ref(ggml_of(t), src, dst, D);
}

}  // namespace sparkv

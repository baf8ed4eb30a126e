#include "model/load_util.h"

#include <cstring>

#include "core/error.h"
#include "quant/quant.h"

namespace sparkv {

void unpermute_rope_rows(Weight* w, int n_heads, int head_dim) {
  SPARKV_CHECK(w->rows == static_cast<int64_t>(n_heads) * head_dim,
               "{}: {} rows, expected {} heads x {} for the RoPE un-permute", w->name, w->rows,
               n_heads, head_dim);
  const size_t rb = w->row_bytes();
  std::vector<uint8_t> out(w->bytes());
  const int half = head_dim / 2;
  for (int h = 0; h < n_heads; ++h)
    for (int i = 0; i < half; ++i)
      for (int j = 0; j < 2; ++j) {
        const size_t src = static_cast<size_t>(h) * head_dim + 2 * i + j;
        const size_t dst = static_cast<size_t>(h) * head_dim + j * half + i;
        std::memcpy(out.data() + dst * rb, w->data + src * rb, rb);
      }
  w->owned = std::move(out);
  w->data = w->owned.data();
}

void unpermute_rope_vec(std::vector<float>* v, int n_heads, int head_dim) {
  std::vector<float> out(v->size());
  const int half = head_dim / 2;
  for (int h = 0; h < n_heads; ++h)
    for (int i = 0; i < half; ++i)
      for (int j = 0; j < 2; ++j)
        out[static_cast<size_t>(h) * head_dim + j * half + i] =
            (*v)[static_cast<size_t>(h) * head_dim + 2 * i + j];
  *v = std::move(out);
}

std::vector<float> to_f32(GgmlType type, const void* data, int64_t n) {
  std::vector<float> out(n);
  dequantize_row_ref(type, data, out.data(), n);
  return out;
}

}  // namespace sparkv

#include "quant/ggml_type.h"

#include "core/error.h"

namespace sparkv {

namespace {

struct Entry {
  GgmlType type;
  GgmlTypeInfo info;
};

constexpr Entry kTypes[] = {
    {GgmlType::kF32, {"f32", 1, 4}},       {GgmlType::kF16, {"f16", 1, 2}},
    {GgmlType::kBF16, {"bf16", 1, 2}},     {GgmlType::kQ8_0, {"q8_0", 32, 34}},
    {GgmlType::kQ4_0, {"q4_0", 32, 18}},   {GgmlType::kQ4_1, {"q4_1", 32, 20}},
    {GgmlType::kQ5_0, {"q5_0", 32, 22}},   {GgmlType::kQ5_1, {"q5_1", 32, 24}},
    {GgmlType::kQ4_K, {"q4_K", 256, 144}}, {GgmlType::kQ6_K, {"q6_K", 256, 210}},
};

}  // namespace

const GgmlTypeInfo* ggml_type_info(uint32_t id) {
  for (const Entry& e : kTypes)
    if (static_cast<uint32_t>(e.type) == id) return &e.info;
  return nullptr;
}

const GgmlTypeInfo& ggml_type_info(GgmlType t) {
  const GgmlTypeInfo* info = ggml_type_info(static_cast<uint32_t>(t));
  SPARKV_CHECK(info != nullptr, "unsupported ggml type id {}", static_cast<uint32_t>(t));
  return *info;
}

size_t ggml_row_bytes(GgmlType t, int64_t n) {
  const GgmlTypeInfo& info = ggml_type_info(t);
  return static_cast<size_t>(n / info.block_size) * static_cast<size_t>(info.block_bytes);
}

bool ggml_type_from_name(std::string_view name, GgmlType* out) {
  for (const Entry& e : kTypes) {
    // Accept both "q4_K" (llama.cpp) and "q4_k".
    if (e.info.name.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i)
      same = (e.info.name[i] | 0x20) == (name[i] | 0x20);
    if (same) {
      *out = e.type;
      return true;
    }
  }
  return false;
}

}  // namespace sparkv

// Hugging Face config.json (+ generation_config.json) parsing through Model::load, over a folder
// whose safetensors file holds a tiny valid model (width 8, 1 layer, vocab 16, with the extra
// tensors Qwen2 / Qwen3 need), so configs that match it go on to a forward pass.
// Input: config.json [kFileSeparator generation_config.json].
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "fuzz_util.h"
#include "model/model.h"
#include "runtime/session.h"

using namespace sparkv;

namespace {

// A safetensors file of F32 tensors with small deterministic values.
std::string tiny_model_safetensors() {
  const std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
      {"model.embed_tokens.weight", {16, 8}},
      {"model.norm.weight", {8}},
      {"lm_head.weight", {16, 8}},
      {"model.layers.0.input_layernorm.weight", {8}},
      {"model.layers.0.self_attn.q_proj.weight", {8, 8}},
      {"model.layers.0.self_attn.k_proj.weight", {4, 8}},
      {"model.layers.0.self_attn.v_proj.weight", {4, 8}},
      {"model.layers.0.self_attn.o_proj.weight", {8, 8}},
      {"model.layers.0.self_attn.q_proj.bias", {8}},
      {"model.layers.0.self_attn.k_proj.bias", {4}},
      {"model.layers.0.self_attn.v_proj.bias", {4}},
      {"model.layers.0.self_attn.q_norm.weight", {4}},
      {"model.layers.0.self_attn.k_norm.weight", {4}},
      {"model.layers.0.post_attention_layernorm.weight", {8}},
      {"model.layers.0.mlp.gate_proj.weight", {16, 8}},
      {"model.layers.0.mlp.up_proj.weight", {16, 8}},
      {"model.layers.0.mlp.down_proj.weight", {8, 16}},
  };
  nlohmann::json header = nlohmann::json::object();
  std::string buffer;
  uint32_t state = 12345;
  for (const auto& [name, shape] : shapes) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    const size_t begin = buffer.size();
    for (int64_t i = 0; i < n; ++i) {
      state = state * 1664525u + 1013904223u;
      const float v = static_cast<float>(static_cast<int>(state >> 9) % 2001 - 1000) / 4000.0f;
      buffer.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    header[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {begin, buffer.size()}}};
  }
  const std::string h = header.dump();
  const uint64_t len = h.size();
  std::string out(reinterpret_cast<const char*>(&len), 8);
  return out + h + buffer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::ScratchDir dir;
  static const std::string weights = tiny_model_safetensors();
  dir.clear();
  dir.write("model.safetensors", weights);
  const auto parts = fuzz::split_files(data, size, 2);
  dir.write("config.json", parts[0]);
  if (parts.size() > 1) dir.write("generation_config.json", parts[1]);
  try {
    std::unique_ptr<Model> model = Model::load(dir.path().string(), /*load_tokenizer=*/false);
    SessionOptions so;
    so.n_ctx = 8;
    Session session(*model, so);
    (void)session.feed({0, 1, 2});
    (void)session.feed({3});
  } catch (const Error& e) {
    fuzz::note(e);
  }
  return 0;
}

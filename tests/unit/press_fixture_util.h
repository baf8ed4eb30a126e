// Loads the press fixtures written by tests/golden/press_ref.py (random K/V/Q inputs as base64
// float32, plus the numpy reference's kept indices and channel masks) and by
// tests/golden/make_press_model_case.py (the same format on the embedded model's real prefill
// state, storing only the last q_rows queries) into an f32 dense cache and a PressContext, so
// each press can be compared index for index with the reference.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kv/dense_cache.h"
#include "model/config.h"
#include "press/capture.h"
#include "press/press.h"

namespace sparkv::test {

inline std::vector<float> decode_f32(const std::string& b64) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::vector<uint8_t> bytes;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : b64) {
    const int v = val(c);
    if (v < 0) continue;  // '=' padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
    }
  }
  if (bytes.size() % 4 != 0) throw std::runtime_error("base64 float blob has a partial float");
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

inline const nlohmann::json& press_fixture(const std::string& name) {
  static std::map<std::string, nlohmann::json> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    std::ifstream in(std::string(SPARKV_SOURCE_DIR) + "/tests/golden/press/" + name + ".json");
    if (!in) throw std::runtime_error("missing press fixture " + name);
    it = cache.emplace(name, nlohmann::json::parse(in)).first;
  }
  return it->second;
}

// One fixture case: its inputs in a dense f32 cache, and a context builder.
struct PressCase {
  const nlohmann::json* j = nullptr;
  int T = 0, n_kv = 0, group = 0, D = 0, window = 0;
  int q_rows = 0;  // queries stored: the last q_rows prompt positions (T for the random cases)
  // k, v: [n_kv, T, D]; q: [q_rows, n_head, D]; colsum: [n_head, T]
  std::vector<float> k, v, q, colsum;
  std::unique_ptr<DenseLayerCache> cache;
  ModelConfig cfg;

  explicit PressCase(const std::string& name, KvDtype dtype = KvDtype::kF32) {
    j = &press_fixture(name);
    T = (*j)["T"];
    n_kv = (*j)["n_kv"];
    group = (*j)["group"];
    D = (*j)["D"];
    window = (*j)["window"];
    q_rows = j->value("q_rows", T);
    k = decode_f32((*j)["k"]);
    v = decode_f32((*j)["v"]);
    q = decode_f32((*j)["q"]);
    colsum = decode_f32((*j)["colsum"]);
    cache = make_cache(dtype);
    cfg.n_layer = 1;
    cfg.n_head = n_kv * group;
    cfg.n_head_kv = n_kv;
    cfg.head_dim = D;
  }

  std::unique_ptr<DenseLayerCache> make_cache(KvDtype dtype) const {
    auto c = std::make_unique<DenseLayerCache>(n_kv, D, group, dtype);
    // Token-major staging for append: [T, n_kv, D].
    std::vector<float> kt(static_cast<size_t>(T) * n_kv * D), vt(kt.size());
    for (int h = 0; h < n_kv; ++h)
      for (int t = 0; t < T; ++t)
        for (int d = 0; d < D; ++d) {
          kt[(static_cast<size_t>(t) * n_kv + h) * D + d] = k[(static_cast<size_t>(h) * T + t) * D + d];
          vt[(static_cast<size_t>(t) * n_kv + h) * D + d] = v[(static_cast<size_t>(h) * T + t) * D + d];
        }
    c->append(kt.data(), vt.data(), T);
    return c;
  }

  // A context for `layer` of `n_layer` layers, with the last `window` queries as the capture.
  PressContext context(int layer = 0, int n_layer = 1, uint64_t seed = 0) {
    cfg.n_layer = n_layer;
    PressContext ctx;
    ctx.config = &cfg;
    ctx.layer = layer;
    ctx.cache = cache.get();
    ctx.n_prompt = T;
    ctx.window = window;
    ctx.window_q = q.data() + static_cast<size_t>(q_rows - window) * cfg.n_head * D;
    ctx.attn_colsum = colsum.data();
    ctx.seed = seed;
    return ctx;
  }
};

// Runs the eviction presses of a pipeline (all but a final storage press) and returns the selection.
inline TokenSelection run_selection(const PressPipeline& p, const PressContext& ctx) {
  TokenSelection sel = TokenSelection::all(ctx.cache->n_kv(), ctx.cache->n_tokens(0));
  for (const auto& press : p.presses())
    if (!press->is_storage()) press->select_tokens(ctx, sel);
  return sel;
}

inline std::vector<std::vector<int32_t>> kept_of(const nlohmann::json& e) {
  return e["kept"].get<std::vector<std::vector<int32_t>>>();
}

}  // namespace sparkv::test

#include "model/forward.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include "core/error.h"
#include "model/matmul.h"
#include "model/rope.h"
#include "quant/quant.h"

namespace sparkv {

struct ForwardScratch {
  int cap = 0;
  std::vector<float> x;       // [n, n_embd] residual stream
  std::vector<float> xn;      // [n, n_embd] normalised
  std::vector<float> q;       // [n, n_head, D]
  std::vector<float> k;       // [n, n_kv, D]
  std::vector<float> v;       // [n, n_kv, D]
  std::vector<float> att;     // [n, n_head, D]
  std::vector<float> proj;    // [n, n_embd]
  std::vector<float> gate;    // [n, n_ff]
  std::vector<float> up;      // [n, n_ff]
  std::vector<float> logits;  // [B, n_vocab] of a decode batch

  void ensure(int n, const ModelConfig& c) {
    if (n <= cap) return;
    cap = n;
    const size_t N = static_cast<size_t>(n);
    x.resize(N * c.n_embd);
    xn.resize(N * c.n_embd);
    q.resize(N * c.q_dim());
    k.resize(N * c.kv_dim());
    v.resize(N * c.kv_dim());
    att.resize(N * c.q_dim());
    proj.resize(N * c.n_embd);
    gate.resize(N * c.n_ff);
    up.resize(N * c.n_ff);
  }
};

namespace {

void rms_norm(const float* x, const float* w, int dim, float eps, float* out) {
  double ss = 0.0;
  for (int i = 0; i < dim; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float inv = static_cast<float>(1.0 / std::sqrt(ss / dim + eps));
  for (int i = 0; i < dim; ++i) out[i] = x[i] * inv * w[i];
}

void add_bias(float* y, const std::vector<float>& b, int n) {
  if (b.empty()) return;
  const int dim = static_cast<int>(b.size());
  for (int t = 0; t < n; ++t)
    for (int i = 0; i < dim; ++i) y[static_cast<size_t>(t) * dim + i] += b[i];
}

// Non-finite logits mean overflowed or corrupt weights; sampling from them would silently emit
// garbage (argmax of NaN is arbitrary), so fail here, naming the position. One pass over
// [n, n_vocab] floats is noise next to the lm_head GEMV that produced them.
template <typename PosOf>
void check_logits(const Model& m, const float* logits, int n, PosOf pos_of) {
  const int V = m.config().n_vocab;
  const size_t n_logits = static_cast<size_t>(n) * V;
  for (size_t i = 0; i < n_logits; ++i) {
    if (!std::isfinite(logits[i])) {
      fail(
          "{}: the forward pass produced a non-finite logit ({} for token id {}) at position {}: "
          "the model's weights or activations contain NaN/Inf",
          m.path(), logits[i], i % V, pos_of(static_cast<int>(i / V)));
    }
  }
}

}  // namespace

Forward::Forward(const Model& model) : model_(model), s_(std::make_unique<ForwardScratch>()) {}
Forward::~Forward() = default;

void Forward::layer_step(int li, float* x, int n, int64_t pos0, LayerCache& cache,
                         ForwardObserver* observer) {
  const ModelConfig& c = model_.config();
  const ModelWeights& W = model_.weights();
  const LayerWeights& L = W.layers[li];
  ForwardScratch& s = *s_;
  const int E = c.n_embd, D = c.head_dim, H = c.n_head, Hkv = c.n_head_kv;
#pragma omp parallel for schedule(static)
  for (int t = 0; t < n; ++t)
    rms_norm(x + static_cast<size_t>(t) * E, L.attn_norm.data(), E, c.norm_eps,
             s.xn.data() + static_cast<size_t>(t) * E);
  if (observer) observer->on_layer_input(li, s.xn.data(), n, pos0);

  matmul(L.wq, s.xn.data(), n, s.q.data());
  matmul(L.wk, s.xn.data(), n, s.k.data());
  matmul(L.wv, s.xn.data(), n, s.v.data());
  add_bias(s.q.data(), L.bq, n);
  add_bias(s.k.data(), L.bk, n);
  add_bias(s.v.data(), L.bv, n);

#pragma omp parallel for schedule(static)
  for (int t = 0; t < n; ++t) {
    float* qt = s.q.data() + static_cast<size_t>(t) * H * D;
    float* kt = s.k.data() + static_cast<size_t>(t) * Hkv * D;
    if (c.qk_norm) {
      for (int h = 0; h < H; ++h) rms_norm(qt + h * D, L.q_norm.data(), D, c.norm_eps, qt + h * D);
      for (int h = 0; h < Hkv; ++h)
        rms_norm(kt + h * D, L.k_norm.data(), D, c.norm_eps, kt + h * D);
    }
    rope_apply(qt, H, D, pos0 + t, W.rope_inv_freq.data());
    rope_apply(kt, Hkv, D, pos0 + t, W.rope_inv_freq.data());
  }
  if (observer) observer->on_queries(li, s.q.data(), n, pos0);

  cache.append(s.k.data(), s.v.data(), n);
  cache.attend(s.q.data(), n, s.att.data());
  if (observer) observer->on_attended(li, s.q.data(), s.att.data(), n, pos0, cache);

  matmul(L.wo, s.att.data(), n, s.proj.data());
  for (size_t i = 0; i < static_cast<size_t>(n) * E; ++i) x[i] += s.proj[i];

#pragma omp parallel for schedule(static)
  for (int t = 0; t < n; ++t)
    rms_norm(x + static_cast<size_t>(t) * E, L.ffn_norm.data(), E, c.norm_eps,
             s.xn.data() + static_cast<size_t>(t) * E);
  matmul(L.w_gate, s.xn.data(), n, s.gate.data());
  matmul(L.w_up, s.xn.data(), n, s.up.data());
  const size_t nf = static_cast<size_t>(n) * c.n_ff;
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < nf; ++i) {
    const float g = s.gate[i];
    s.gate[i] = g / (1.0f + std::exp(-g)) * s.up[i];  // SwiGLU
  }
  matmul(L.w_down, s.gate.data(), n, s.proj.data());
  for (size_t i = 0; i < static_cast<size_t>(n) * E; ++i) x[i] += s.proj[i];
}

void Forward::embed(const int32_t* ids, int n, float* x) const {
  const ModelConfig& c = model_.config();
  const ModelWeights& W = model_.weights();
  const int E = c.n_embd;
  for (int t = 0; t < n; ++t) {
    SPARKV_CHECK(ids[t] >= 0 && ids[t] < c.n_vocab, "token id {} out of range [0, {})", ids[t],
                 c.n_vocab);
    dequantize_row(W.tok_embd.type, W.tok_embd.row(ids[t]), x + static_cast<size_t>(t) * E, E);
  }
}

void Forward::head(const float* x, int n, int64_t pos_first, float* logits) {
  const ModelConfig& c = model_.config();
  const ModelWeights& W = model_.weights();
  ForwardScratch& s = *s_;
  const int E = c.n_embd;
  for (int t = 0; t < n; ++t)
    rms_norm(x + static_cast<size_t>(t) * E, W.output_norm.data(), E, c.norm_eps,
             s.xn.data() + static_cast<size_t>(t) * E);
  matmul(W.lm_head(), s.xn.data(), n, logits);
  check_logits(model_, logits, n, [&](int t) { return pos_first + t; });
}

void Forward::run(const int32_t* ids, int n, int64_t pos0,
                  std::vector<std::unique_ptr<LayerCache>>& caches, float* logits, bool all_logits,
                  ForwardObserver* observer) {
  const ModelConfig& c = model_.config();
  SPARKV_CHECK(static_cast<int>(caches.size()) == c.n_layer, "forward: {} caches for {} layers",
               caches.size(), c.n_layer);
  ForwardScratch& s = *s_;
  s.ensure(n, c);
  embed(ids, n, s.x.data());
  for (int li = 0; li < c.n_layer; ++li) layer_step(li, s.x.data(), n, pos0, *caches[li], observer);
  const int first = all_logits ? 0 : n - 1;
  head(s.x.data() + static_cast<size_t>(first) * c.n_embd, n - first, pos0 + first, logits);
}

void Forward::run_layer_major(const int32_t* ids, int n, int64_t pos0, int chunk,
                              std::vector<std::unique_ptr<LayerCache>>& caches, float* logits,
                              ForwardObserver* observer,
                              const std::function<void(int)>& layer_done) {
  const ModelConfig& c = model_.config();
  SPARKV_CHECK(static_cast<int>(caches.size()) == c.n_layer, "forward: {} caches for {} layers",
               caches.size(), c.n_layer);
  SPARKV_CHECK(n >= 1 && chunk >= 1, "forward: {} tokens in chunks of {}", n, chunk);
  chunk = std::min(chunk, n);
  s_->ensure(chunk, c);
  const size_t E = static_cast<size_t>(c.n_embd);
  // The residual stream of every prompt token lives across layers; everything else is per chunk.
  std::vector<float> x(static_cast<size_t>(n) * E);  // [n, n_embd]
  embed(ids, n, x.data());
  for (int li = 0; li < c.n_layer; ++li) {
    caches[li]->reserve(caches[li]->n_tokens(0) + n);
    for (int c0 = 0; c0 < n; c0 += chunk) {
      const int nc = std::min(chunk, n - c0);
      layer_step(li, x.data() + static_cast<size_t>(c0) * E, nc, pos0 + c0, *caches[li], observer);
    }
    if (layer_done) layer_done(li);
  }
  head(x.data() + static_cast<size_t>(n - 1) * E, 1, pos0 + n - 1, logits);
}

void Forward::run_decode_batch(const int32_t* ids, int B, const int64_t* pos,
                               std::vector<std::unique_ptr<LayerCache>>* const* caches,
                               float* const* logits) {
  const ModelConfig& c = model_.config();
  const ModelWeights& W = model_.weights();
  SPARKV_CHECK(B >= 1, "decode batch: no sequences");
  for (int b = 0; b < B; ++b)
    SPARKV_CHECK(static_cast<int>(caches[b]->size()) == c.n_layer,
                 "forward: {} caches for {} layers", caches[b]->size(), c.n_layer);
  ForwardScratch& s = *s_;
  s.ensure(B, c);
  const int E = c.n_embd, D = c.head_dim, H = c.n_head, Hkv = c.n_head_kv;
  const size_t qd = static_cast<size_t>(c.q_dim()), kvd = static_cast<size_t>(c.kv_dim());

  embed(ids, B, s.x.data());
  // Everything but the projections and attention is per token, exactly as run() does it for one.
  for (int li = 0; li < c.n_layer; ++li) {
    const LayerWeights& L = W.layers[li];
    for (int b = 0; b < B; ++b)
      rms_norm(s.x.data() + static_cast<size_t>(b) * E, L.attn_norm.data(), E, c.norm_eps,
               s.xn.data() + static_cast<size_t>(b) * E);
    matmul_decode_batch(L.wq, s.xn.data(), B, s.q.data());
    matmul_decode_batch(L.wk, s.xn.data(), B, s.k.data());
    matmul_decode_batch(L.wv, s.xn.data(), B, s.v.data());
    add_bias(s.q.data(), L.bq, B);
    add_bias(s.k.data(), L.bk, B);
    add_bias(s.v.data(), L.bv, B);
    for (int b = 0; b < B; ++b) {
      float* qt = s.q.data() + b * qd;
      float* kt = s.k.data() + b * kvd;
      if (c.qk_norm) {
        for (int h = 0; h < H; ++h)
          rms_norm(qt + h * D, L.q_norm.data(), D, c.norm_eps, qt + h * D);
        for (int h = 0; h < Hkv; ++h)
          rms_norm(kt + h * D, L.k_norm.data(), D, c.norm_eps, kt + h * D);
      }
      rope_apply(qt, H, D, pos[b], W.rope_inv_freq.data());
      rope_apply(kt, Hkv, D, pos[b], W.rope_inv_freq.data());
      (*caches[b])[li]->append(kt, s.v.data() + b * kvd, 1);
      (*caches[b])[li]->attend(qt, 1, s.att.data() + b * qd);
    }
    matmul_decode_batch(L.wo, s.att.data(), B, s.proj.data());
    for (size_t i = 0; i < static_cast<size_t>(B) * E; ++i) s.x[i] += s.proj[i];
    for (int b = 0; b < B; ++b)
      rms_norm(s.x.data() + static_cast<size_t>(b) * E, L.ffn_norm.data(), E, c.norm_eps,
               s.xn.data() + static_cast<size_t>(b) * E);
    matmul_decode_batch(L.w_gate, s.xn.data(), B, s.gate.data());
    matmul_decode_batch(L.w_up, s.xn.data(), B, s.up.data());
    const size_t nf = static_cast<size_t>(B) * c.n_ff;
    for (size_t i = 0; i < nf; ++i) {
      const float g = s.gate[i];
      s.gate[i] = g / (1.0f + std::exp(-g)) * s.up[i];
    }
    matmul_decode_batch(L.w_down, s.gate.data(), B, s.proj.data());
    for (size_t i = 0; i < static_cast<size_t>(B) * E; ++i) s.x[i] += s.proj[i];
  }
  for (int b = 0; b < B; ++b)
    rms_norm(s.x.data() + static_cast<size_t>(b) * E, W.output_norm.data(), E, c.norm_eps,
             s.xn.data() + static_cast<size_t>(b) * E);
  // [B, n_vocab] into scratch, then out to each sequence's logits.
  const size_t V = static_cast<size_t>(c.n_vocab);
  if (s.logits.size() < B * V) s.logits.resize(B * V);
  matmul_decode_batch(W.lm_head(), s.xn.data(), B, s.logits.data());
  for (int b = 0; b < B; ++b) {
    std::copy(s.logits.begin() + b * V, s.logits.begin() + (b + 1) * V, logits[b]);
    check_logits(model_, logits[b], 1, [&](int) { return pos[b]; });
  }
}

}  // namespace sparkv

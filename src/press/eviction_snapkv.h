// SnapKV and PyramidKV (spec §2.1, §2.2). PyramidKV scores exactly like SnapKV; only the number of
// tokens each layer keeps changes, so both live here, with the per-layer budget schedules exposed
// for the table tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "press/eviction_common.h"

namespace sparkv {

// kvpress SnapKV: window w (default 64) queries attend (softmax over every surviving key, causal
// inside the window), mean over the window queries, avg-pool (kernel 5, zero padding counted),
// mean over the GQA group, window tokens protected. The budget includes the window.
class SnapKvPress : public ScorerPress {
 public:
  SnapKvPress(Budget budget, int window, int kernel);
  std::string spec() const override;
  PressNeeds needs() const override { return {.window = window_}; }

 protected:
  std::vector<std::vector<double>> score(const PressContext& ctx,
                                         const TokenSelection& sel) const override;
  std::string name() const override { return "snapkv"; }

  int window_, kernel_;
};

// Tokens (window included) a PyramidKV layer keeps out of n, KVF's integer schedule
// (KVCache-Factory PyramidKVCluster): prefix budget max_num - layer*steps plus the window;
// n < B keeps everything; n < 2(B-w) keeps the uniform SnapKV budget B.
int64_t pyramidkv_kept_kvf(int64_t n, int64_t budget, int64_t window, int64_t beta, int n_layer,
                           int layer);
// kvpress's float schedule, with B = w + n(1-ratio) (ratio mode). When !(n >= max >= min >= w)
// it falls back to uniform SnapKV round(n(1-ratio)). Python's round (half to even).
int64_t pyramidkv_kept_kvpress(int64_t n, double ratio, int64_t window, int64_t beta, int n_layer,
                               int layer);
// The SparK fork's budget mode (spec hazard 1): kvpress's float schedule with B given; its
// fallback keeps round(n(1 - 0.1)), 0.1 being the fork's default compression_ratio.
int64_t pyramidkv_kept_fork(int64_t n, int64_t budget, int64_t window, int64_t beta, int n_layer,
                            int layer);

class PyramidKvPress : public SnapKvPress {
 public:
  PyramidKvPress(Budget budget, int window, int kernel, int beta, bool compat);
  std::string spec() const override;

 protected:
  int64_t n_kept(const PressContext& ctx, int64_t n) const override;
  std::string name() const override { return "pyramidkv"; }

  int beta_;
  bool compat_;
};

}  // namespace sparkv

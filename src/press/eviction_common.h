// Shared machinery of the token-eviction presses (kvpress "ScorerPress" semantics, spec §1–§2):
// a press scores the tokens that survived the previous presses of the pipeline, one score per
// (KV head, surviving token), and every KV head keeps its own top-n_kept tokens. Scores of +inf
// mark protected tokens (SnapKV's window, TOVA's last token, Expected Attention's sinks): they are
// always kept, and a budget smaller than the protected set is an error rather than a silent
// arbitrary choice. Ties break deterministically: the lower token index wins.
//
// Scoring runs in double precision: the scores feed a top-k whose boundary must not depend on
// summation order, which is what lets the tests compare kept indices one for one with the numpy
// reference (tests/golden/press_ref.py).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "press/press.h"
#include "press/press_spec.h"

namespace sparkv {

constexpr double kProtected = std::numeric_limits<double>::infinity();

// Base of every scoring eviction press.
class ScorerPress : public Press {
 public:
  explicit ScorerPress(Budget budget) : budget_(budget) {}
  void select_tokens(const PressContext& ctx, TokenSelection& sel) const override;
  int64_t kept_bound(const ModelConfig& cfg, int layer, int64_t n) const override;

 protected:
  // scores[h][j] scores token sel.kept[h][j]; kProtected = always kept.
  virtual std::vector<std::vector<double>> score(const PressContext& ctx,
                                                 const TokenSelection& sel) const = 0;
  // Tokens each KV head keeps out of n survivors (budget=/ratio= by default; PyramidKV overrides).
  virtual int64_t n_kept(const PressContext& ctx, int64_t n) const { return budget_.kept(n); }
  // The method name for messages.
  virtual std::string name() const = 0;

  Budget budget_;
};

// The n_kept highest-scoring entries of idx (scores parallel to idx), returned ascending.
// Ties: the lower token index wins.
std::vector<int32_t> top_k_tokens(const std::vector<int32_t>& idx, const std::vector<double>& score,
                                  int64_t n_kept);

// Keys (and values) of tokens idx of KV head h, as double rows [idx.size(), D]. Either output may
// be null.
void read_rows(const DenseLayerCache& cache, int h, const std::vector<int32_t>& idx,
               std::vector<double>* k, std::vector<double>* v);

// L2 norm of each row of tokens idx of KV head h: of the keys, or of the values when `values`.
std::vector<double> row_norms(const DenseLayerCache& cache, int h, const std::vector<int32_t>& idx,
                              bool values);

// The observation window a press with window size `want` uses: min(want, prompt), checked
// against what the capture recorded.
int effective_window(const PressContext& ctx, int want, const std::string& method);

// Window attention, kvpress SnapKV style: for query head qh (absolute index, its KV head is
// qh / group) and the last w prompt queries (rows of ctx.window_q), softmax over the survivors
// `idx` of that KV head (k: their keys, [n, D], double) with the causal rule by original position
// (window query r at position T-w+r sees tokens <= T-w+r). Returns the probabilities averaged
// over the w queries, [n].
std::vector<double> window_attention_mean(const PressContext& ctx, int qh, int w,
                                          const std::vector<int32_t>& idx,
                                          const std::vector<double>& k);

// 1-D average pool, kernel k, stride 1, zero padding k/2, dividing by k everywhere
// (torch avg_pool1d with count_include_pad=True), so the output has the input's length.
std::vector<double> avg_pool_include_pad(const std::vector<double>& x, int kernel);

// Checks that every KV head holds the same number of survivors and returns it.
int64_t uniform_count(const TokenSelection& sel, const std::string& method);

}  // namespace sparkv

// Causal prefill attention by tiles, as two GEMMs: a block of consecutive queries (their heads of
// one GQA group stacked as rows) against a tile of cached tokens converted to f32. The decode
// kernels (dense_decode.h) compute one dot product per (row, token) with horizontal reductions and
// reach ~35% of the FMA peak however many rows they stack; a prefill has hundreds of rows per KV
// head, enough to make scores and values matrix products (S = Q·Kᵀ, O += P·V) at the GEMM's rate.
// Between them, one online-softmax step per row (the kernel-set member below). Same {m, l, o}
// states as every attention kernel (attn_state.h), so tiles, pages and threads combine as before.
#pragma once

#include <cstdint>

namespace sparkv {

// Rows of one block (query heads) and tokens of one tile: S [rows, tokens] and the f32 K and V
// tiles stay within the L2 of a core (128 x 256 x 4 B = 128 KiB each).
constexpr int kTileRows = 128;
constexpr int kTileTokens = 256;

// q: [nq * g, D], already multiplied by the softmax scale; rows j·g .. j·g + g - 1 are query j's
// heads. k, v: [nk, D] f32. lim[j] (0..nk): tokens of this tile query j sees (the causal mask: it
// sees tokens [0, lim[j])). s: scratch [nq * g, nk]. m, l: [nq * g], o: [nq * g, D], updated.
void attn_prefill_tile(const float* q, int nq, int g, const float* k, const float* v, int nk, int D,
                       const int* lim, float* s, float* m, float* l, float* o);

// The step between the GEMMs, for rows = nq·g rows of scores s [rows, nk]: per row, the running
// max m takes the visible scores' max, s becomes exp(s - m) on the visible tokens and 0 past
// them, l is rescaled and takes their sum, and o's row is rescaled by exp(m_old - m). A row whose
// query sees nothing of the tile is zeroed and its state left alone. Runs the member of the set
// attn_kernels() picked; _ref / _avx2 / _avx512 are the set members (the AVX ones any nk, D).
void attn_tile_softmax(float* s, int nq, int g, int nk, const int* lim, int D, float* m, float* l,
                       float* o);
void attn_tile_softmax_ref(float* s, int nq, int g, int nk, const int* lim, int D, float* m,
                           float* l, float* o);
void attn_tile_softmax_avx2(float* s, int nq, int g, int nk, const int* lim, int D, float* m,
                            float* l, float* o);
void attn_tile_softmax_avx512(float* s, int nq, int g, int nk, const int* lim, int D, float* m,
                              float* l, float* o);

}  // namespace sparkv

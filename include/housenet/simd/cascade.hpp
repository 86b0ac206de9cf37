// housenet/simd/cascade.hpp: the cascade detector's window kernels, per ISA (part of the one
// SIMD place: simd.hpp's CPU detection and ISA switch decide, nothing else uses intrinsics).
//
// WHAT THIS IS
//   The inner loop of cascade/scan_simd.hpp: one row of windows of one pyramid level, eight (AVX2)
//   or four (SIMD128) neighbouring windows at a time, on Haar (upright or tilted) or LBP cascades
//   whose trees have at most cascade_lanes_max_nodes nodes (all of Debian's).
//
//   cascade_lanes_available()   whether the active ISA (simd.hpp's active_isa()) has the kernel:
//                               AVX2 and AVX-512 CPUs run the AVX2 one (8 windows at a time),
//                               WebAssembly SIMD128 its own (4 windows at a time); scalar has
//                               none (the portable scan, cascade/scan.hpp, runs instead)
//   cascade_lanes_row<Haar>(S, y, weak, nodes, stage_n, stage_thr, nstages, hits)
//       appends to hits the k (window x = k * S.step, k < S.nk) of every window of row y that
//       passes all nstages stages; stage s has stage_n[s] weak classifiers (consecutive in weak)
//       and threshold stage_thr[s].
//
//   Input layout (built by cascade/scan_simd.hpp): the integral images split into S.step column
//   planes (plane j holds columns j, j + step, ...), so that the windows x = step*k,
//   k = k0..k0+7, read each rectangle corner with one contiguous load; every node's corners are
//   offsets into that layout (the tilted plane's at S.tilt_base).
//
//   Every lane does exactly the portable scan's arithmetic (int32 wrap-around sums, float feature
//   values, double stage sums, double variance), with separate multiply and add instructions (the
//   target has no FMA, and an empty asm keeps each product rounded), so the windows are
//   bit-identical to cascade/scan.hpp's; the stage-0 skip rule is applied lane by lane, in order.
//   Trees are walked in all lanes at once: node j's decision is computed only when some lane
//   stands on it, and a lane moves to its child with a blend (children always have higher indices
//   than their parent, checked on load, so one pass over the nodes suffices).
//
//   Not API (detail): may change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../error.hpp"
#include "../simd.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace detail {

// The widest tree the kernels walk: its 8 leaves are one register.
constexpr int cascade_lanes_max_nodes = 7;

// The kernels' inputs: one tree node, one weak classifier (tree), one level's planes.
struct simd_node {
  int ofs[16];   // Haar: 4 corners x up to 3 rectangles; LBP: the 4x4 grid corners
  float w[3];    // Haar weights
  float thr;     // Haar threshold
  int three;     // Haar: third rectangle present (weight != 0)
  int left, right;  // tree walk state of the children: node index > 0, or -1 - leaf
  std::int32_t subset[8];  // LBP category mask
};
struct simd_weak {
  int first_node = 0, n = 1;
  float leaves[8] = {0, 0, 0, 0, 0, 0, 0, 0};
};
struct simd_level {
  std::vector<std::uint32_t> sum, sq;  // step planes of pstride x (sh + 1); tilted planes follow the sum's
  int pstride = 0;
  std::size_t plane = 0, tilt_base = 0;
  int nk = 0, step = 1;
  int nofs[4] = {0, 0, 0, 0};
  double area = 0;
};

// The stage-0 skip rule, lane by lane, for the block of windows k0 .. k0 + lanes - 1: the lanes
// the scan visits (from `next` on) that pass stage 0 (pass0); a window that passes the variance
// gate but not stage 0 makes the scan skip the next position. Updates next.
inline int cascade_visit(int k0, int lanes, int valid, int gate, int pass0, int& next) {
  int active = 0;
  for (int i = 0; i < lanes; ++i) {
    const int k = k0 + i;
    if (!((valid >> i) & 1)) break;
    if (k < next) continue;
    const bool g = (gate >> i) & 1, s0 = (pass0 >> i) & 1;
    if (g && !s0) {
      next = k + 2;
    } else {
      next = k + 1;
      if (s0) active |= 1 << i;
    }
  }
  return active;
}

#if HOUSENET_X86
namespace avx2 {

__attribute__((target("avx2"))) inline __m256i cascade_sum4(const std::uint32_t* p, const int* o) {
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + o[0]));
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + o[1]));
  const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + o[2]));
  const __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + o[3]));
  return _mm256_add_epi32(_mm256_sub_epi32(_mm256_sub_epi32(a, b), c), d);
}

__attribute__((target("avx2"))) inline __m256d cascade_u32_to_pd(__m128i v) {
  const __m256d d = _mm256_cvtepi32_pd(v);  // as signed
  const __m256d neg = _mm256_cmp_pd(d, _mm256_setzero_pd(), _CMP_LT_OQ);
  return _mm256_add_pd(d, _mm256_and_pd(neg, _mm256_set1_pd(4294967296.0)));
}

// Haar node decision per lane: all-ones where (feature value * inv) < threshold.
__attribute__((target("avx2"))) inline __m256 cascade_haar_left(const std::uint32_t* p, __m256 inv, const simd_node& nd) {
  const __m256 f0 = _mm256_cvtepi32_ps(cascade_sum4(p, nd.ofs));
  const __m256 f1 = _mm256_cvtepi32_ps(cascade_sum4(p, nd.ofs + 4));
  // each product rounded on its own (no FMA contraction, see fp_round)
  __m256 a = _mm256_mul_ps(_mm256_set1_ps(nd.w[0]), f0), b = _mm256_mul_ps(_mm256_set1_ps(nd.w[1]), f1);
  __asm__("" : "+x"(a), "+x"(b));
  __m256 v = _mm256_add_ps(a, b);
  if (nd.three) {
    const __m256 f2 = _mm256_cvtepi32_ps(cascade_sum4(p, nd.ofs + 8));
    __m256 c = _mm256_mul_ps(_mm256_set1_ps(nd.w[2]), f2);
    __asm__("" : "+x"(c));
    v = _mm256_add_ps(v, c);
  }
  v = _mm256_mul_ps(v, inv);
  return _mm256_cmp_ps(v, _mm256_set1_ps(nd.thr), _CMP_LT_OQ);
}

__attribute__((target("avx2"))) inline __m256i cascade_blk(const __m256i* L, int a, int b, int c, int d) {
  return _mm256_add_epi32(_mm256_sub_epi32(_mm256_sub_epi32(L[a], L[b]), L[c]), L[d]);
}
// (x >= c) ? v : 0, per lane
__attribute__((target("avx2"))) inline __m256i cascade_ge(__m256i x, __m256i c, int v) {
  return _mm256_andnot_si256(_mm256_cmpgt_epi32(c, x), _mm256_set1_epi32(v));
}

// LBP node decision per lane: all-ones where the code's bit is set in the node's mask.
__attribute__((target("avx2"))) inline __m256 cascade_lbp_left(const std::uint32_t* p, const simd_node& nd) {
  __m256i L[16];
  for (int k = 0; k < 16; ++k) L[k] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + nd.ofs[k]));
  const __m256i c = cascade_blk(L, 5, 6, 9, 10);
  const __m256i code = _mm256_or_si256(
      _mm256_or_si256(_mm256_or_si256(cascade_ge(cascade_blk(L, 0, 1, 4, 5), c, 128), cascade_ge(cascade_blk(L, 1, 2, 5, 6), c, 64)),
                      _mm256_or_si256(cascade_ge(cascade_blk(L, 2, 3, 6, 7), c, 32), cascade_ge(cascade_blk(L, 6, 7, 10, 11), c, 16))),
      _mm256_or_si256(_mm256_or_si256(cascade_ge(cascade_blk(L, 10, 11, 14, 15), c, 8), cascade_ge(cascade_blk(L, 9, 10, 13, 14), c, 4)),
                      _mm256_or_si256(cascade_ge(cascade_blk(L, 8, 9, 12, 13), c, 2), cascade_ge(cascade_blk(L, 4, 5, 8, 9), c, 1))));
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i subset = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(nd.subset));
  const __m256i word = _mm256_permutevar8x32_epi32(subset, _mm256_srli_epi32(code, 5));
  const __m256i b = _mm256_and_si256(_mm256_srlv_epi32(word, _mm256_and_si256(code, _mm256_set1_epi32(31))), one);
  return _mm256_castsi256_ps(_mm256_cmpeq_epi32(b, one));
}

template <bool Haar>
__attribute__((target("avx2"))) inline __m256 cascade_left(const std::uint32_t* p, __m256 inv, const simd_node& nd) {
  if (Haar) return cascade_haar_left(p, inv, nd);
  return cascade_lbp_left(p, nd);
}

// Sum of one stage's weak classifiers in 8 lanes; returns the lanes whose sum is NOT below the
// threshold.
template <bool Haar>
__attribute__((target("avx2"))) inline int cascade_stage(const std::uint32_t* p, __m256 inv, const simd_weak* wk, int n,
                                                         const simd_node* nodes, double thr) {
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  for (int i = 0; i < n; ++i, ++wk) {
    __m256 leaf;
    if (wk->n == 1) {
      const __m256 m = cascade_left<Haar>(p, inv, nodes[wk->first_node]);
      leaf = _mm256_blendv_ps(_mm256_set1_ps(wk->leaves[1]), _mm256_set1_ps(wk->leaves[0]), m);
    } else {
      __m256i state = _mm256_setzero_si256();
      const simd_node* nd = nodes + wk->first_node;
      for (int j = 0; j < wk->n; ++j) {
        const __m256 at = _mm256_castsi256_ps(_mm256_cmpeq_epi32(state, _mm256_set1_epi32(j)));
        if (!_mm256_movemask_ps(at)) continue;
        const __m256 m = cascade_left<Haar>(p, inv, nd[j]);
        const __m256 child = _mm256_blendv_ps(_mm256_castsi256_ps(_mm256_set1_epi32(nd[j].right)),
                                              _mm256_castsi256_ps(_mm256_set1_epi32(nd[j].left)), m);
        state = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(state), child, at));
      }
      // every lane is on a leaf now: state = -1 - leaf
      const __m256i leaf_idx = _mm256_sub_epi32(_mm256_set1_epi32(-1), state);
      leaf = _mm256_permutevar8x32_ps(_mm256_loadu_ps(wk->leaves), leaf_idx);
    }
    lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(leaf)));
    hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(leaf, 1)));
  }
  const __m256d t = _mm256_set1_pd(thr);
  return _mm256_movemask_pd(_mm256_cmp_pd(lo, t, _CMP_NLT_UQ)) |
         (_mm256_movemask_pd(_mm256_cmp_pd(hi, t, _CMP_NLT_UQ)) << 4);
}

// One row of windows (k = 0..nk-1); appends the k of every face window to hits.
template <bool Haar>
__attribute__((target("avx2"))) inline void cascade_row(const simd_level& S, int y, const simd_weak* weak,
                                                        const simd_node* nodes, const int* stage_n,
                                                        const double* stage_thr, int nstages, std::vector<int>& hits) {
  const std::size_t rowbase = std::size_t(y) * S.pstride;
  const std::uint32_t* sum = S.sum.data() + rowbase;
  const std::uint32_t* sq = Haar ? S.sq.data() + rowbase : nullptr;
  int next = 0;  // next position the scan visits (skip rule)
  const __m256d area = _mm256_set1_pd(S.area);
  for (int k0 = 0; k0 < S.nk; k0 += 8) {
    const int valid = S.nk - k0 >= 8 ? 0xff : ((1 << (S.nk - k0)) - 1);
    const std::uint32_t* p = sum + k0;
    __m256 inv = _mm256_set1_ps(1.f);
    int gate = valid;
    if (Haar) {
      const __m256i s1 = cascade_sum4(p, S.nofs);
      const __m256i s2 = cascade_sum4(sq + k0, S.nofs);
      const __m256d s1lo = _mm256_cvtepi32_pd(_mm256_castsi256_si128(s1));
      const __m256d s1hi = _mm256_cvtepi32_pd(_mm256_extracti128_si256(s1, 1));
      const __m256d s2lo = cascade_u32_to_pd(_mm256_castsi256_si128(s2));
      const __m256d s2hi = cascade_u32_to_pd(_mm256_extracti128_si256(s2, 1));
      __m256d alo = _mm256_mul_pd(area, s2lo), blo = _mm256_mul_pd(s1lo, s1lo);
      __m256d ahi = _mm256_mul_pd(area, s2hi), bhi = _mm256_mul_pd(s1hi, s1hi);
      __asm__("" : "+x"(alo), "+x"(blo), "+x"(ahi), "+x"(bhi));  // no FMA contraction
      const __m256d nflo = _mm256_sub_pd(alo, blo);
      const __m256d nfhi = _mm256_sub_pd(ahi, bhi);
      const __m256d one = _mm256_set1_pd(1.0);
      const __m128 ilo = _mm256_cvtpd_ps(_mm256_div_pd(one, _mm256_sqrt_pd(nflo)));
      const __m128 ihi = _mm256_cvtpd_ps(_mm256_div_pd(one, _mm256_sqrt_pd(nfhi)));
      inv = _mm256_set_m128(ihi, ilo);
      const __m256d tenth = _mm256_set1_pd(1e-1), zero = _mm256_setzero_pd();
      const __m256d oklo = _mm256_and_pd(_mm256_cmp_pd(nflo, zero, _CMP_GT_OQ),
                                         _mm256_cmp_pd(_mm256_mul_pd(area, _mm256_cvtps_pd(ilo)), tenth, _CMP_LT_OQ));
      const __m256d okhi = _mm256_and_pd(_mm256_cmp_pd(nfhi, zero, _CMP_GT_OQ),
                                         _mm256_cmp_pd(_mm256_mul_pd(area, _mm256_cvtps_pd(ihi)), tenth, _CMP_LT_OQ));
      gate &= _mm256_movemask_pd(oklo) | (_mm256_movemask_pd(okhi) << 4);
    }
    int pass0 = 0;
    if (gate) pass0 = cascade_stage<Haar>(p, inv, weak, stage_n[0], nodes, stage_thr[0]) & gate;
    int active = cascade_visit(k0, 8, valid, gate, pass0, next);
    if (!active) continue;
    std::size_t first = std::size_t(stage_n[0]);
    for (int si = 1; si < nstages && active; ++si) {
      active &= cascade_stage<Haar>(p, inv, weak + first, stage_n[si], nodes, stage_thr[si]);
      first += std::size_t(stage_n[si]);
    }
    for (int i = 0; i < 8; ++i)
      if ((active >> i) & 1) hits.push_back(k0 + i);
  }
}

}  // namespace avx2
#endif  // HOUSENET_X86

#if HOUSENET_WASM_SIMD128
// WebAssembly SIMD128: the same kernel on 4 windows at a time (two f64x2 halves for the double
// sums). Every lane does the portable scan's arithmetic; SIMD128 has no FMA to contract into.
namespace simd128 {

inline v128_t cascade_sum4(const std::uint32_t* p, const int* o) {
  const v128_t a = wasm_v128_load(p + o[0]), b = wasm_v128_load(p + o[1]);
  const v128_t c = wasm_v128_load(p + o[2]), d = wasm_v128_load(p + o[3]);
  return wasm_i32x4_add(wasm_i32x4_sub(wasm_i32x4_sub(a, b), c), d);
}

// Haar node decision per lane: all-ones where (feature value * inv) < threshold.
inline v128_t cascade_haar_left(const std::uint32_t* p, v128_t inv, const simd_node& nd) {
  const v128_t f0 = wasm_f32x4_convert_i32x4(cascade_sum4(p, nd.ofs));
  const v128_t f1 = wasm_f32x4_convert_i32x4(cascade_sum4(p, nd.ofs + 4));
  v128_t v = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_splat(nd.w[0]), f0), wasm_f32x4_mul(wasm_f32x4_splat(nd.w[1]), f1));
  if (nd.three) {
    const v128_t f2 = wasm_f32x4_convert_i32x4(cascade_sum4(p, nd.ofs + 8));
    v = wasm_f32x4_add(v, wasm_f32x4_mul(wasm_f32x4_splat(nd.w[2]), f2));
  }
  return wasm_f32x4_lt(wasm_f32x4_mul(v, inv), wasm_f32x4_splat(nd.thr));
}

inline v128_t cascade_blk(const v128_t* L, int a, int b, int c, int d) {
  return wasm_i32x4_add(wasm_i32x4_sub(wasm_i32x4_sub(L[a], L[b]), L[c]), L[d]);
}
// (x >= c) ? v : 0, per lane
inline v128_t cascade_ge(v128_t x, v128_t c, int v) { return wasm_v128_and(wasm_i32x4_ge(x, c), wasm_i32x4_splat(v)); }

// LBP node decision per lane: all-ones where the code's bit is set in the node's mask.
inline v128_t cascade_lbp_left(const std::uint32_t* p, const simd_node& nd) {
  v128_t L[16];
  for (int k = 0; k < 16; ++k) L[k] = wasm_v128_load(p + nd.ofs[k]);
  const v128_t c = cascade_blk(L, 5, 6, 9, 10);
  const v128_t code = wasm_v128_or(
      wasm_v128_or(wasm_v128_or(cascade_ge(cascade_blk(L, 0, 1, 4, 5), c, 128), cascade_ge(cascade_blk(L, 1, 2, 5, 6), c, 64)),
                   wasm_v128_or(cascade_ge(cascade_blk(L, 2, 3, 6, 7), c, 32), cascade_ge(cascade_blk(L, 6, 7, 10, 11), c, 16))),
      wasm_v128_or(wasm_v128_or(cascade_ge(cascade_blk(L, 10, 11, 14, 15), c, 8), cascade_ge(cascade_blk(L, 9, 10, 13, 14), c, 4)),
                   wasm_v128_or(cascade_ge(cascade_blk(L, 8, 9, 12, 13), c, 2), cascade_ge(cascade_blk(L, 4, 5, 8, 9), c, 1))));
  alignas(16) std::int32_t cd[4], bit[4];
  wasm_v128_store(cd, code);
  for (int l = 0; l < 4; ++l) bit[l] = -std::int32_t((std::uint32_t(nd.subset[cd[l] >> 5]) >> (cd[l] & 31)) & 1u);
  return wasm_v128_load(bit);
}

template <bool Haar>
inline v128_t cascade_left(const std::uint32_t* p, v128_t inv, const simd_node& nd) {
  if (Haar) return cascade_haar_left(p, inv, nd);
  return cascade_lbp_left(p, nd);
}

// Sum of one stage's weak classifiers in 4 lanes; returns the lanes whose sum is NOT below the
// threshold.
template <bool Haar>
inline int cascade_stage(const std::uint32_t* p, v128_t inv, const simd_weak* wk, int n, const simd_node* nodes,
                         double thr) {
  v128_t lo = wasm_f64x2_splat(0.0), hi = lo;
  for (int i = 0; i < n; ++i, ++wk) {
    v128_t leaf;
    if (wk->n == 1) {
      const v128_t m = cascade_left<Haar>(p, inv, nodes[wk->first_node]);
      leaf = wasm_v128_bitselect(wasm_f32x4_splat(wk->leaves[0]), wasm_f32x4_splat(wk->leaves[1]), m);
    } else {
      v128_t state = wasm_i32x4_splat(0);
      const simd_node* nd = nodes + wk->first_node;
      for (int j = 0; j < wk->n; ++j) {
        const v128_t at = wasm_i32x4_eq(state, wasm_i32x4_splat(j));
        if (!wasm_v128_any_true(at)) continue;
        const v128_t m = cascade_left<Haar>(p, inv, nd[j]);
        const v128_t child = wasm_v128_bitselect(wasm_i32x4_splat(nd[j].left), wasm_i32x4_splat(nd[j].right), m);
        state = wasm_v128_bitselect(child, state, at);
      }
      // every lane is on a leaf now: state = -1 - leaf
      alignas(16) std::int32_t st[4];
      alignas(16) float lv[4];
      wasm_v128_store(st, state);
      for (int l = 0; l < 4; ++l) lv[l] = wk->leaves[-1 - st[l]];
      leaf = wasm_v128_load(lv);
    }
    lo = wasm_f64x2_add(lo, wasm_f64x2_promote_low_f32x4(leaf));
    hi = wasm_f64x2_add(hi, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(leaf, leaf, 2, 3, 2, 3)));
  }
  const v128_t t = wasm_f64x2_splat(thr);
  return (~wasm_i64x2_bitmask(wasm_f64x2_lt(lo, t)) & 3) | ((~wasm_i64x2_bitmask(wasm_f64x2_lt(hi, t)) & 3) << 2);
}

// One row of windows (k = 0..nk-1); appends the k of every face window to hits.
template <bool Haar>
inline void cascade_row(const simd_level& S, int y, const simd_weak* weak, const simd_node* nodes, const int* stage_n,
                        const double* stage_thr, int nstages, std::vector<int>& hits) {
  const std::size_t rowbase = std::size_t(y) * S.pstride;
  const std::uint32_t* sum = S.sum.data() + rowbase;
  const std::uint32_t* sq = Haar ? S.sq.data() + rowbase : nullptr;
  int next = 0;  // next position the scan visits (skip rule)
  const v128_t area = wasm_f64x2_splat(S.area);
  for (int k0 = 0; k0 < S.nk; k0 += 4) {
    const int valid = S.nk - k0 >= 4 ? 0xf : ((1 << (S.nk - k0)) - 1);
    const std::uint32_t* p = sum + k0;
    v128_t inv = wasm_f32x4_splat(1.f);
    int gate = valid;
    if (Haar) {
      const v128_t s1 = cascade_sum4(p, S.nofs);
      const v128_t s2 = cascade_sum4(sq + k0, S.nofs);
      const v128_t s1lo = wasm_f64x2_convert_low_i32x4(s1);
      const v128_t s1hi = wasm_f64x2_convert_low_i32x4(wasm_i32x4_shuffle(s1, s1, 2, 3, 2, 3));
      const v128_t s2lo = wasm_f64x2_convert_low_u32x4(s2);
      const v128_t s2hi = wasm_f64x2_convert_low_u32x4(wasm_i32x4_shuffle(s2, s2, 2, 3, 2, 3));
      const v128_t nflo = wasm_f64x2_sub(wasm_f64x2_mul(area, s2lo), wasm_f64x2_mul(s1lo, s1lo));
      const v128_t nfhi = wasm_f64x2_sub(wasm_f64x2_mul(area, s2hi), wasm_f64x2_mul(s1hi, s1hi));
      const v128_t one = wasm_f64x2_splat(1.0);
      const v128_t ilo = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_div(one, wasm_f64x2_sqrt(nflo)));
      const v128_t ihi = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_div(one, wasm_f64x2_sqrt(nfhi)));
      inv = wasm_i32x4_shuffle(ilo, ihi, 0, 1, 4, 5);
      const v128_t tenth = wasm_f64x2_splat(1e-1), zero = wasm_f64x2_splat(0.0);
      const v128_t oklo = wasm_v128_and(wasm_f64x2_gt(nflo, zero),
                                        wasm_f64x2_lt(wasm_f64x2_mul(area, wasm_f64x2_promote_low_f32x4(ilo)), tenth));
      const v128_t okhi = wasm_v128_and(wasm_f64x2_gt(nfhi, zero),
                                        wasm_f64x2_lt(wasm_f64x2_mul(area, wasm_f64x2_promote_low_f32x4(ihi)), tenth));
      gate &= int(wasm_i64x2_bitmask(oklo) | (wasm_i64x2_bitmask(okhi) << 2));
    }
    int pass0 = 0;
    if (gate) pass0 = cascade_stage<Haar>(p, inv, weak, stage_n[0], nodes, stage_thr[0]) & gate;
    int active = cascade_visit(k0, 4, valid, gate, pass0, next);
    if (!active) continue;
    std::size_t first = std::size_t(stage_n[0]);
    for (int si = 1; si < nstages && active; ++si) {
      active &= cascade_stage<Haar>(p, inv, weak + first, stage_n[si], nodes, stage_thr[si]);
      first += std::size_t(stage_n[si]);
    }
    for (int i = 0; i < 4; ++i)
      if ((active >> i) & 1) hits.push_back(k0 + i);
  }
}

}  // namespace simd128
#endif  // HOUSENET_WASM_SIMD128

inline bool cascade_lanes_available() {
#if HOUSENET_X86
  return active_isa() == isa::avx2 || active_isa() == isa::avx512;
#elif HOUSENET_WASM_SIMD128
  return active_isa() == isa::simd128;
#else
  return false;
#endif
}

// One row of windows on the active ISA (only when cascade_lanes_available()).
template <bool Haar>
void cascade_lanes_row(const simd_level& S, int y, const simd_weak* weak, const simd_node* nodes,
                       const int* stage_n, const double* stage_thr, int nstages, std::vector<int>& hits) {
#if HOUSENET_X86
  switch (active_isa()) {
    case isa::avx512:
    case isa::avx2: return avx2::cascade_row<Haar>(S, y, weak, nodes, stage_n, stage_thr, nstages, hits);
    default: break;
  }
#elif HOUSENET_WASM_SIMD128
  if (active_isa() == isa::simd128) return simd128::cascade_row<Haar>(S, y, weak, nodes, stage_n, stage_thr, nstages, hits);
  (void)S, (void)y, (void)weak, (void)nodes, (void)stage_n, (void)stage_thr, (void)nstages, (void)hits;
#else
  (void)S, (void)y, (void)weak, (void)nodes, (void)stage_n, (void)stage_thr, (void)nstages, (void)hits;
#endif
  fail("internal: cascade_lanes_row on an ISA without the kernel");
}

}  // namespace detail
HOUSENET_END_NAMESPACE

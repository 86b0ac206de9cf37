// housenet/simd/cascade.hpp: the cascade detector's 8-window kernels, per ISA (part of the one
// SIMD place: simd.hpp's CPU detection and ISA switch decide, nothing else uses intrinsics).
//
// WHAT THIS IS
//   The inner loop of cascade/scan_simd.hpp: one row of windows of one pyramid level, eight
//   neighbouring windows at a time, on Haar (upright or tilted) or LBP cascades whose trees have
//   at most cascade_lanes_max_nodes nodes (all of Debian's).
//
//   cascade_lanes_available()   whether the active ISA (simd.hpp's active_isa()) has the kernel:
//                               AVX2 and AVX-512 CPUs run the AVX2 one; scalar has none (the
//                               portable scan, cascade/scan.hpp, runs instead)
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
    // the skip rule, lane by lane: a window rejected by stage 0 (gate passed, stage 0 failed)
    // makes the scan skip the next position
    int active = 0;
    for (int i = 0; i < 8; ++i) {
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

inline bool cascade_lanes_available() {
#if HOUSENET_X86
  return active_isa() != isa::scalar;
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
#else
  (void)S, (void)y, (void)weak, (void)nodes, (void)stage_n, (void)stage_thr, (void)nstages, (void)hits;
#endif
  fail("internal: cascade_lanes_row on an ISA without the kernel");
}

}  // namespace detail
HOUSENET_END_NAMESPACE

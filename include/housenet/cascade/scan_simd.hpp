// housenet/cascade/scan_simd.hpp: the window scan of one pyramid level, 8 windows at a time.
//
// WHAT THIS IS
//   detail::simd_usable(cascade)        whether this path can run the cascade on this CPU
//   detail::scan_level_simd(cascade, level, out)   the windows scan_level (cascade/scan.hpp)
//                                       appends, in the same order, bit for bit
//
//   Not API (detail): may change.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../image.hpp"
#include "../parallel.hpp"
#include "../simd.hpp"
#include "types.hpp"

HOUSENET_BEGIN_NAMESPACE

// ---------------------------------------------------------------------------------------------
// AVX2 path: every cascade whose trees have at most 7 nodes (all of Debian's), upright or tilted
// Haar features, or LBP. Eight neighbouring windows of a row are evaluated at once. The integral
// images are split into `step` column planes (plane j holds columns j, j + step, ...), so the
// windows x = step*k, k = k0..k0+7, read each rectangle corner with one contiguous load. Every
// lane does exactly the scalar arithmetic (int32 wrap-around sums, float feature values, double
// stage sums, double variance), with separate multiply and add instructions (the target has no
// FMA), so the results are bit-identical to the scalar path; the stage-0 skip rule is applied
// lane by lane, in order. Trees are walked in all lanes at once: node j's decision is computed
// only when some lane stands on it, and a lane moves to its child with a blend (children always
// have higher indices than their parent, checked on load, so one pass over the nodes suffices).
// ---------------------------------------------------------------------------------------------
namespace detail {


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

// (dx, dy) of a corner relative to the window -> offset in the plane layout
inline int simd_corner(const simd_level& S, int dx, int dy) {
  return int(std::size_t(dx % S.step) * S.plane) + dy * S.pstride + dx / S.step;
}

inline void simd_planes(const std::uint32_t* src, int stride, int sw, int sh, int step, int pstride, std::uint32_t* dst) {
  const std::size_t plane = std::size_t(pstride) * std::size_t(sh + 1);
  for (int j = 0; j < step; ++j)
    for (int y = 0; y <= sh; ++y) {
      const std::uint32_t* s = src + std::size_t(y) * stride;
      std::uint32_t* d = dst + std::size_t(j) * plane + std::size_t(y) * pstride;
      int c = 0;
      for (int x = j; x <= sw; x += step) d[c++] = s[x];
    }
}

#if HOUSENET_X86
__attribute__((target("avx2"))) inline __m256i simd_sum4(const std::uint32_t* p, const int* o) {
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + o[0]));
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + o[1]));
  const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + o[2]));
  const __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + o[3]));
  return _mm256_add_epi32(_mm256_sub_epi32(_mm256_sub_epi32(a, b), c), d);
}

__attribute__((target("avx2"))) inline __m256d simd_u32_to_pd(__m128i v) {
  const __m256d d = _mm256_cvtepi32_pd(v);  // as signed
  const __m256d neg = _mm256_cmp_pd(d, _mm256_setzero_pd(), _CMP_LT_OQ);
  return _mm256_add_pd(d, _mm256_and_pd(neg, _mm256_set1_pd(4294967296.0)));
}

// Haar node decision per lane: all-ones where (feature value * inv) < threshold.
__attribute__((target("avx2"))) inline __m256 simd_haar_left(const std::uint32_t* p, __m256 inv, const simd_node& nd) {
  const __m256 f0 = _mm256_cvtepi32_ps(simd_sum4(p, nd.ofs));
  const __m256 f1 = _mm256_cvtepi32_ps(simd_sum4(p, nd.ofs + 4));
  // each product rounded on its own (no FMA contraction, see fp_round)
  __m256 a = _mm256_mul_ps(_mm256_set1_ps(nd.w[0]), f0), b = _mm256_mul_ps(_mm256_set1_ps(nd.w[1]), f1);
  __asm__("" : "+x"(a), "+x"(b));
  __m256 v = _mm256_add_ps(a, b);
  if (nd.three) {
    const __m256 f2 = _mm256_cvtepi32_ps(simd_sum4(p, nd.ofs + 8));
    __m256 c = _mm256_mul_ps(_mm256_set1_ps(nd.w[2]), f2);
    __asm__("" : "+x"(c));
    v = _mm256_add_ps(v, c);
  }
  v = _mm256_mul_ps(v, inv);
  return _mm256_cmp_ps(v, _mm256_set1_ps(nd.thr), _CMP_LT_OQ);
}

__attribute__((target("avx2"))) inline __m256i simd_blk(const __m256i* L, int a, int b, int c, int d) {
  return _mm256_add_epi32(_mm256_sub_epi32(_mm256_sub_epi32(L[a], L[b]), L[c]), L[d]);
}
// (x >= c) ? v : 0, per lane
__attribute__((target("avx2"))) inline __m256i simd_ge(__m256i x, __m256i c, int v) {
  return _mm256_andnot_si256(_mm256_cmpgt_epi32(c, x), _mm256_set1_epi32(v));
}

// LBP node decision per lane: all-ones where the code's bit is set in the node's mask.
__attribute__((target("avx2"))) inline __m256 simd_lbp_left(const std::uint32_t* p, const simd_node& nd) {
  __m256i L[16];
  for (int k = 0; k < 16; ++k) L[k] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + nd.ofs[k]));
  const __m256i c = simd_blk(L, 5, 6, 9, 10);
  const __m256i code = _mm256_or_si256(
      _mm256_or_si256(_mm256_or_si256(simd_ge(simd_blk(L, 0, 1, 4, 5), c, 128), simd_ge(simd_blk(L, 1, 2, 5, 6), c, 64)),
                      _mm256_or_si256(simd_ge(simd_blk(L, 2, 3, 6, 7), c, 32), simd_ge(simd_blk(L, 6, 7, 10, 11), c, 16))),
      _mm256_or_si256(_mm256_or_si256(simd_ge(simd_blk(L, 10, 11, 14, 15), c, 8), simd_ge(simd_blk(L, 9, 10, 13, 14), c, 4)),
                      _mm256_or_si256(simd_ge(simd_blk(L, 8, 9, 12, 13), c, 2), simd_ge(simd_blk(L, 4, 5, 8, 9), c, 1))));
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i subset = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(nd.subset));
  const __m256i word = _mm256_permutevar8x32_epi32(subset, _mm256_srli_epi32(code, 5));
  const __m256i b = _mm256_and_si256(_mm256_srlv_epi32(word, _mm256_and_si256(code, _mm256_set1_epi32(31))), one);
  return _mm256_castsi256_ps(_mm256_cmpeq_epi32(b, one));
}

template <bool Haar>
__attribute__((target("avx2"))) inline __m256 simd_left(const std::uint32_t* p, __m256 inv, const simd_node& nd) {
  if (Haar) return simd_haar_left(p, inv, nd);
  return simd_lbp_left(p, nd);
}

// Sum of one stage's weak classifiers in 8 lanes; returns the lanes whose sum is NOT below the
// threshold.
template <bool Haar>
__attribute__((target("avx2"))) inline int simd_stage(const std::uint32_t* p, __m256 inv, const simd_weak* wk, int n,
                                                      const simd_node* nodes, double thr) {
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  for (int i = 0; i < n; ++i, ++wk) {
    __m256 leaf;
    if (wk->n == 1) {
      const __m256 m = simd_left<Haar>(p, inv, nodes[wk->first_node]);
      leaf = _mm256_blendv_ps(_mm256_set1_ps(wk->leaves[1]), _mm256_set1_ps(wk->leaves[0]), m);
    } else {
      __m256i state = _mm256_setzero_si256();
      const simd_node* nd = nodes + wk->first_node;
      for (int j = 0; j < wk->n; ++j) {
        const __m256 at = _mm256_castsi256_ps(_mm256_cmpeq_epi32(state, _mm256_set1_epi32(j)));
        if (!_mm256_movemask_ps(at)) continue;
        const __m256 m = simd_left<Haar>(p, inv, nd[j]);
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
__attribute__((target("avx2"))) inline void simd_row(const simd_level& S, int y, const simd_weak* weak,
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
      const __m256i s1 = simd_sum4(p, S.nofs);
      const __m256i s2 = simd_sum4(sq + k0, S.nofs);
      const __m256d s1lo = _mm256_cvtepi32_pd(_mm256_castsi256_si128(s1));
      const __m256d s1hi = _mm256_cvtepi32_pd(_mm256_extracti128_si256(s1, 1));
      const __m256d s2lo = simd_u32_to_pd(_mm256_castsi256_si128(s2));
      const __m256d s2hi = simd_u32_to_pd(_mm256_extracti128_si256(s2, 1));
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
    if (gate) pass0 = simd_stage<Haar>(p, inv, weak, stage_n[0], nodes, stage_thr[0]) & gate;
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
      active &= simd_stage<Haar>(p, inv, weak + first, stage_n[si], nodes, stage_thr[si]);
      first += std::size_t(stage_n[si]);
    }
    for (int i = 0; i < 8; ++i)
      if ((active >> i) & 1) hits.push_back(k0 + i);
  }
}
#endif

// Whether scan_level_simd can run this cascade on this CPU (trees of at most 7 nodes, an x86
// CPU with AVX2).
inline bool simd_usable(const cascade_data& cd) {
#if HOUSENET_X86
  return cd.max_nodes_per_tree <= 7 && active_isa() != isa::scalar;
#else
  (void)cd;
  return false;
#endif
}

// scan_level with 8 windows at a time: the same windows, in the same order.
inline void scan_level_simd(const cascade_data& cd, const level_data& L, std::vector<rect>& out) {
#if HOUSENET_X86
  const int W = cd.win_w, H = cd.win_h;
  const int nx = L.sw - W, ny = L.sh - H;
  if (nx < 0 || ny < 0) return;
  simd_level S;
  S.step = L.step;
  S.nk = nx / S.step + 1;
  S.pstride = (L.sw + 1 + S.step - 1) / S.step + 16;
  S.plane = std::size_t(S.pstride) * std::size_t(L.sh + 1);
  const std::size_t planes = S.plane * std::size_t(S.step);
  S.tilt_base = planes;
  S.sum.assign((cd.has_tilted ? 2 * planes : planes) + 16, 0u);
  simd_planes(L.sum.data(), L.stride, L.sw, L.sh, S.step, S.pstride, S.sum.data());
  if (cd.has_tilted) simd_planes(L.sum.data() + L.tofs, L.stride, L.sw, L.sh, S.step, S.pstride, S.sum.data() + planes);
  const bool haar = cd.type == cascade_feature_type::haar;
  if (haar) {
    S.sq.assign(planes + 16, 0u);
    simd_planes(L.sq.data(), L.stride, L.sw, L.sh, S.step, S.pstride, S.sq.data());
  }
  S.nofs[0] = simd_corner(S, 1, 1);
  S.nofs[1] = simd_corner(S, W - 1, 1);
  S.nofs[2] = simd_corner(S, 1, H - 1);
  S.nofs[3] = simd_corner(S, W - 1, H - 1);
  S.area = double(W - 2) * double(H - 2);

  std::vector<simd_weak> weak;
  std::vector<simd_node> nodes;
  std::vector<int> stage_n;
  std::vector<double> stage_thr;
  auto state = [](int child) { return child > 0 ? child : -1 + child; };
  for (const cascade_stage& stg : cd.stages) {
    stage_n.push_back(stg.ntrees);
    stage_thr.push_back(double(stg.threshold));
    for (int ti = 0; ti < stg.ntrees; ++ti) {
      const cascade_tree& t = cd.trees[std::size_t(stg.first_tree + ti)];
      simd_weak w;
      w.first_node = int(nodes.size());
      w.n = t.node_count;
      // OpenCV's stump path takes leafValues[0] / [1] as the left / right leaf
      for (int k = 0; k <= t.node_count; ++k) w.leaves[k] = cd.leaves[std::size_t(t.leaf_ofs + k)];
      for (int j = 0; j < t.node_count; ++j) {
        const cascade_node& nd = cd.nodes[std::size_t(t.node_ofs + j)];
        const cascade_feature& f = cd.features[std::size_t(nd.feature)];
        simd_node s{};
        s.left = state(nd.left);
        s.right = state(nd.right);
        if (haar) {
          const int base = f.tilted ? int(S.tilt_base) : 0;
          for (int k = 0; k < f.nrects; ++k) {
            const cascade_rect& r = f.r[k];
            s.w[k] = r.weight;
            if (!f.tilted) {
              s.ofs[4 * k + 0] = simd_corner(S, r.x, r.y);
              s.ofs[4 * k + 1] = simd_corner(S, r.x + r.w, r.y);
              s.ofs[4 * k + 2] = simd_corner(S, r.x, r.y + r.h);
              s.ofs[4 * k + 3] = simd_corner(S, r.x + r.w, r.y + r.h);
            } else {
              s.ofs[4 * k + 0] = base + simd_corner(S, r.x, r.y);
              s.ofs[4 * k + 1] = base + simd_corner(S, r.x - r.h, r.y + r.h);
              s.ofs[4 * k + 2] = base + simd_corner(S, r.x + r.w, r.y + r.w);
              s.ofs[4 * k + 3] = base + simd_corner(S, r.x + r.w - r.h, r.y + r.w + r.h);
            }
          }
          s.three = f.nrects == 3 && s.w[2] != 0.0f;
          s.thr = nd.threshold;
        } else {
          const cascade_rect& r = f.r[0];
          for (int yy = 0; yy < 4; ++yy)
            for (int xx = 0; xx < 4; ++xx) s.ofs[yy * 4 + xx] = simd_corner(S, r.x + xx * r.w, r.y + yy * r.h);
          for (int k = 0; k < 8; ++k)
            s.subset[k] = cd.subsets[std::size_t(t.node_ofs + j) * std::size_t(cd.subset_size) + std::size_t(k)];
        }
        nodes.push_back(s);
      }
      weak.push_back(w);
    }
  }
  const float scale = L.scale;
  const int ww = cv_round(float(W) * scale), wh = cv_round(float(H) * scale);
  const int nrows = ny / S.step + 1;
  const std::size_t nblocks = std::size_t(std::min<int>(nrows, std::max(1, num_threads()) * 4));
  std::vector<std::vector<rect>> found(nblocks);
  parallel_blocks(nblocks, [&](std::size_t b) {
    const auto r = block_range(std::size_t(nrows), nblocks, b);
    std::vector<int> hits;
    for (std::size_t ri = r.first; ri < r.second; ++ri) {
      const int y = int(ri) * S.step;
      hits.clear();
      if (haar)
        simd_row<true>(S, y, weak.data(), nodes.data(), stage_n.data(), stage_thr.data(), int(stage_n.size()), hits);
      else
        simd_row<false>(S, y, weak.data(), nodes.data(), stage_n.data(), stage_thr.data(), int(stage_n.size()), hits);
      for (int k : hits)
        found[b].push_back(rect{cv_round(float(k * S.step) * scale), cv_round(float(y) * scale), ww, wh});
    }
  });
  for (auto& v : found) out.insert(out.end(), v.begin(), v.end());
#else
  (void)cd;
  (void)L;
  (void)out;
#endif
}

}  // namespace detail
HOUSENET_END_NAMESPACE

// housenet/cascade/scan_simd.hpp: the window scan of one pyramid level, 8 (AVX2) or 4 (SIMD128)
// windows at a time.
//
// WHAT THIS IS
//   detail::simd_usable(cascade)        whether this path can run the cascade on this CPU
//   detail::scan_level_simd(cascade, level, out)   the windows scan_level (cascade/scan.hpp)
//                                       appends, in the same order, bit for bit
//   It lays the level out for simd/cascade.hpp's kernels, compiles the cascade's nodes for the
//   level and runs the rows in blocks (parallel.hpp); the intrinsics live in simd/cascade.hpp.
//
//   Not API (detail): may change.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../image.hpp"
#include "../parallel.hpp"
#include "../simd/cascade.hpp"
#include "types.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace detail {

// The plane layout of simd/cascade.hpp's kernels: the integral images split into `step` column
// planes (plane j holds columns j, j + step, ...), so that neighbouring windows of a row
// read each rectangle corner with one contiguous load; each node is compiled per level to
// offsets into that layout (as OpenCV's optfeatures).
//
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
      for (; c < pstride; ++c) d[c] = 0u;  // the row's padding
    }
}

// Whether scan_level_simd can run this cascade on this CPU.
inline bool simd_usable(const cascade_data& cd) {
  return cd.max_nodes_per_tree <= cascade_lanes_max_nodes && cascade_lanes_available();
}

// scan_level with 8 or 4 windows at a time: the same windows, in the same order. S: the planes,
// kept from level to level by the caller (they only grow; every value read is written here).
inline void scan_level_simd(const cascade_data& cd, const level_data& L, simd_level& S, std::vector<rect>& out) {
  const int W = cd.win_w, H = cd.win_h;
  const int nx = L.sw - W, ny = L.sh - H;
  if (nx < 0 || ny < 0) return;
  S.step = L.step;
  S.nk = nx / S.step + 1;
  S.pstride = (L.sw + 1 + S.step - 1) / S.step + 16;
  S.plane = std::size_t(S.pstride) * std::size_t(L.sh + 1);
  const std::size_t planes = S.plane * std::size_t(S.step);
  S.tilt_base = planes;
  const std::size_t nsum = (cd.has_tilted ? 2 * planes : planes) + 16;
  if (S.sum.size() < nsum) S.sum.resize(nsum);
  simd_planes(L.sum.data(), L.stride, L.sw, L.sh, S.step, S.pstride, S.sum.data());
  if (cd.has_tilted) simd_planes(L.sum.data() + L.tofs, L.stride, L.sw, L.sh, S.step, S.pstride, S.sum.data() + planes);
  std::fill(S.sum.data() + nsum - 16, S.sum.data() + nsum, 0u);
  const bool haar = cd.type == cascade_feature_type::haar;
  if (haar) {
    if (S.sq.size() < planes + 16) S.sq.resize(planes + 16);
    simd_planes(L.sq.data(), L.stride, L.sw, L.sh, S.step, S.pstride, S.sq.data());
    std::fill(S.sq.data() + planes, S.sq.data() + planes + 16, 0u);
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
        cascade_lanes_row<true>(S, y, weak.data(), nodes.data(), stage_n.data(), stage_thr.data(), int(stage_n.size()), hits);
      else
        cascade_lanes_row<false>(S, y, weak.data(), nodes.data(), stage_n.data(), stage_thr.data(), int(stage_n.size()), hits);
      for (int k : hits)
        found[b].push_back(rect{cv_round(float(k * S.step) * scale), cv_round(float(y) * scale), ww, wh});
    }
  });
  for (auto& v : found) out.insert(out.end(), v.begin(), v.end());
}

}  // namespace detail
HOUSENET_END_NAMESPACE

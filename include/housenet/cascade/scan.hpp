// housenet/cascade/scan.hpp: the portable window scan of one pyramid level.
//
// WHAT THIS IS
//   detail::scan_level(cascade, level, out) appends the windows of the level that pass every
//   stage, as rectangles of the original image: OpenCV's stepping (step 2 below scale 2, else 1;
//   a window rejected by stage 0 skips the next x), its variance gate and its arithmetic per
//   window (docs/cascade.md, steps 4-5). Rows of the level are cut into blocks with parallel.hpp;
//   every window's result is a pure function, so the result does not depend on the thread count.
//   The 8-window SIMD scan (cascade/scan_simd.hpp) gives the same windows.
//
//   Not API (detail): may change.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../image.hpp"
#include "../parallel.hpp"
#include "types.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace detail {

// A Haar feature compiled for one pyramid level: offsets relative to the window's top-left
// integral entry (sum plane, or the tilted plane for tilted features).
struct opt_haar {
  int ofs[3][4];
  float weight[3];
};
struct opt_lbp {
  int ofs[16];
};

// Appends the windows of level L that the cascade accepts, one window at a time.
inline void scan_level(const cascade_data& cd, const level_data& L, std::vector<rect>& out) {
  const int st = L.stride;
  const int W = cd.win_w, H = cd.win_h;
  const int nx = L.sw - W, ny = L.sh - H;  // last valid x, y
  if (nx < 0 || ny < 0) return;
  const int step = L.step;
  const float scale = L.scale;
  const int ww = cv_round(float(W) * scale), wh = cv_round(float(H) * scale);
  const std::uint32_t* S = L.sum.data();
  const std::uint32_t* Q = L.sq.data();

  // compile features for this stride
  std::vector<opt_haar> oh;
  std::vector<opt_lbp> ol;
  if (cd.type == cascade_feature_type::haar) {
    oh.resize(cd.features.size());
    for (std::size_t i = 0; i < cd.features.size(); ++i) {
      const cascade_feature& f = cd.features[i];
      opt_haar& o = oh[i];
      for (int k = 0; k < 3; ++k) {
        if (k >= f.nrects) {
          o.weight[k] = 0.f;
          for (int j = 0; j < 4; ++j) o.ofs[k][j] = 0;
          continue;
        }
        const cascade_rect& r = f.r[k];
        o.weight[k] = r.weight;
        if (!f.tilted) {
          o.ofs[k][0] = r.x + st * r.y;
          o.ofs[k][1] = r.x + r.w + st * r.y;
          o.ofs[k][2] = r.x + st * (r.y + r.h);
          o.ofs[k][3] = r.x + r.w + st * (r.y + r.h);
        } else {
          const int t = int(L.tofs);
          o.ofs[k][0] = t + r.x + st * r.y;
          o.ofs[k][1] = t + r.x - r.h + st * (r.y + r.h);
          o.ofs[k][2] = t + r.x + r.w + st * (r.y + r.w);
          o.ofs[k][3] = t + r.x + r.w - r.h + st * (r.y + r.w + r.h);
        }
      }
    }
  } else {
    ol.resize(cd.features.size());
    for (std::size_t i = 0; i < cd.features.size(); ++i) {
      const cascade_rect& r = cd.features[i].r[0];
      for (int yy = 0; yy < 4; ++yy)
        for (int xx = 0; xx < 4; ++xx) ol[i].ofs[yy * 4 + xx] = (r.x + xx * r.w) + st * (r.y + yy * r.h);
    }
  }

  // normalisation rectangle (1, 1, W-2, H-2)
  const int n0 = 1 + st * 1, n1 = (W - 1) + st * 1, n2 = 1 + st * (H - 1), n3 = (W - 1) + st * (H - 1);
  const double area = double(W - 2) * double(H - 2);

  auto sum4 = [](const std::uint32_t* p, const int* o) -> int {
    return int(std::int32_t(p[o[0]] - p[o[1]] - p[o[2]] + p[o[3]]));
  };
  auto haar_value = [&](const std::uint32_t* p, const opt_haar& o, float inv) -> float {
    float v = fp_round(o.weight[0] * float(sum4(p, o.ofs[0]))) + fp_round(o.weight[1] * float(sum4(p, o.ofs[1])));
    if (o.weight[2] != 0.0f) v += fp_round(o.weight[2] * float(sum4(p, o.ofs[2])));
    return v * inv;
  };
  auto lbp_code = [](const std::uint32_t* p, const opt_lbp& f) -> int {
    const int* o = f.ofs;
    auto blk = [&](int a, int b, int c, int d) { return int(std::int32_t(p[o[a]] - p[o[b]] - p[o[c]] + p[o[d]])); };
    const int c = blk(5, 6, 9, 10);
    return (blk(0, 1, 4, 5) >= c ? 128 : 0) | (blk(1, 2, 5, 6) >= c ? 64 : 0) | (blk(2, 3, 6, 7) >= c ? 32 : 0) |
           (blk(6, 7, 10, 11) >= c ? 16 : 0) | (blk(10, 11, 14, 15) >= c ? 8 : 0) | (blk(9, 10, 13, 14) >= c ? 4 : 0) |
           (blk(8, 9, 12, 13) >= c ? 2 : 0) | (blk(4, 5, 8, 9) >= c ? 1 : 0);
  };

  // Result of the cascade at (x, y): 1 face, 0 rejected by stage 0, < 0 other rejections.
  auto run_at = [&](int x, int y) -> int {
    const std::uint32_t* p = S + std::size_t(y) * st + x;
    float inv = 1.f;
    if (cd.type == cascade_feature_type::haar) {
      const std::uint32_t* q = Q + std::size_t(y) * st + x;
      const int s1 = int(std::int32_t(p[n0] - p[n1] - p[n2] + p[n3]));
      const std::uint32_t s2 = q[n0] - q[n1] - q[n2] + q[n3];
      double nf = fp_round(area * double(s2)) - fp_round(double(s1) * double(s1));
      if (!(nf > 0.)) return -1;
      nf = std::sqrt(nf);
      inv = float(1. / nf);
      if (!(area * double(inv) < 1e-1)) return -1;
    }
    const int nstages = int(cd.stages.size());
    for (int si = 0; si < nstages; ++si) {
      const cascade_stage& stg = cd.stages[std::size_t(si)];
      double sum = 0;
      for (int ti = 0; ti < stg.ntrees; ++ti) {
        const cascade_tree& t = cd.trees[std::size_t(stg.first_tree + ti)];
        int idx = 0;
        do {
          const int ni = t.node_ofs + idx;
          const cascade_node& nd = cd.nodes[std::size_t(ni)];
          if (cd.type == cascade_feature_type::haar) {
            const double v = haar_value(p, oh[std::size_t(nd.feature)], inv);
            idx = v < double(nd.threshold) ? nd.left : nd.right;
          } else {
            const int c = lbp_code(p, ol[std::size_t(nd.feature)]);
            const std::int32_t* subset = cd.subsets.data() + std::size_t(ni) * cd.subset_size;
            idx = (std::uint32_t(subset[c >> 5]) & (1u << (c & 31))) ? nd.left : nd.right;
          }
        } while (idx > 0);
        sum += double(cd.leaves[std::size_t(t.leaf_ofs - idx)]);
      }
      if (sum < double(stg.threshold)) return -si;
    }
    return 1;
  };

  const int nrows = ny / step + 1;
  const std::size_t nblocks = std::size_t(std::min<int>(nrows, std::max(1, num_threads()) * 4));
  std::vector<std::vector<rect>> found(nblocks);
  parallel_blocks(nblocks, [&](std::size_t b) {
    const auto r = block_range(std::size_t(nrows), nblocks, b);
    for (std::size_t ri = r.first; ri < r.second; ++ri) {
      const int y = int(ri) * step;
      for (int x = 0; x <= nx; x += step) {
        const int res = run_at(x, y);
        if (res > 0)
          found[b].push_back(rect{cv_round(float(x) * scale), cv_round(float(y) * scale), ww, wh});
        if (res == 0) x += step;
      }
    }
  });
  for (auto& v : found) out.insert(out.end(), v.begin(), v.end());
}

}  // namespace detail
HOUSENET_END_NAMESPACE

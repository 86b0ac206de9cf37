// housenet/cascade/pyramid.hpp: the detector's image pyramid, bit for bit OpenCV 4.6's.
//
// WHAT THIS IS
//   detail::pyramid_scales(win_w, win_h, img_w, img_h, options)   the scales OpenCV visits
//   detail::resize_linear_exact_cv(src, sw, sh, dst, dw, dh)      cv::resize INTER_LINEAR_EXACT
//   detail::build_level(gray, scale, squares, tilted, level)      one level: resized image, 32-bit
//                                                                  integral, squared and tilted
//                                                                  integral images
//   docs/cascade.md ("What detect_multi_scale computes", steps 1-3) gives the arithmetic.
//
//   Not API (detail): may change.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../image.hpp"
#include "types.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace detail {

// The scales of OpenCV's pyramid for a win_w x win_h cascade on an img_w x img_h image
// (options already checked): f = 1, f * scale_factor, ... while the window fits max_size and the
// image; windows smaller than min_size are skipped. Each kept as float, as OpenCV does.
inline std::vector<float> pyramid_scales(int win_w, int win_h, int img_w, int img_h, const detect_options& o) {
  std::vector<float> scales;
  const int max_w = (o.max_size.width == 0 || o.max_size.height == 0) ? img_w : o.max_size.width;
  const int max_h = (o.max_size.width == 0 || o.max_size.height == 0) ? img_h : o.max_size.height;
  int iterations = 0;
  for (double f = 1;; f *= o.scale_factor) {
    HOUSENET_CHECK(++iterations <= 100000, "cascade: detect_multi_scale: scale_factor ", o.scale_factor,
                   " is too close to 1 (more than 100000 pyramid levels)");
    const int ww = cv_round(win_w * f), wh = cv_round(win_h * f);
    if (ww > max_w || wh > max_h || ww > img_w || wh > img_h) break;
    if (ww < o.min_size.width || wh < o.min_size.height) continue;
    scales.push_back(float(f));
  }
  return scales;
}

// OpenCV 4.6 cv::resize(src, dst, (dw, dh), INTER_LINEAR_EXACT) for 8-bit gray, bit-exact: this
// is what the cascade detector uses for its pyramid (FeatureEvaluator::setImage). Coefficients
// are 8.8 fixed point from the double position (dx + 0.5) * r - 0.5, r = 1 / (dw / sw); the
// horizontal pass keeps 8.8 values, the vertical pass rounds (h0*c0 + h1*c1 + 2^15) >> 16.
// Positions left of (right of) the source take its first (last) pixel / row.
struct linear_exact_axis {
  std::vector<int> ofs;  // source index of the first tap
  std::vector<std::uint32_t> c0, c1;
  int lo = 0, hi = 0;  // [0, lo): before the source; [hi, n): after it
  linear_exact_axis(int src, int dst) : ofs(static_cast<std::size_t>(dst), 0), c0(static_cast<std::size_t>(dst), 0), c1(static_cast<std::size_t>(dst), 0) {
    const double inv_scale = double(dst) / src;
    const double scale = 1. / inv_scale;
    lo = 0;
    hi = dst;
    for (int v = 0; v < dst; ++v) {
      const double f = fp_round(scale * (double(v) + 0.5)) - 0.5;  // softdouble: never fused
      const int iv = int(std::floor(f));
      if (iv >= 0 && src > 1) {
        if (iv < src - 1) {
          ofs[std::size_t(v)] = iv;
          const std::uint32_t k1 = std::uint32_t(std::lrint((f - double(iv)) * 256.0));
          c1[std::size_t(v)] = k1;
          c0[std::size_t(v)] = k1 < 256u ? 256u - k1 : 0u;
        } else {
          ofs[std::size_t(v)] = src - 1;
          hi = std::min(hi, v);
        }
      } else {
        lo = std::max(lo, v + 1);
      }
    }
  }
};

inline void resize_linear_exact_cv(const std::uint8_t* src, int sw, int sh, std::uint8_t* dst, int dw, int dh) {
  if (dw == sw && dh == sh) {
    std::copy(src, src + std::size_t(sw) * sh, dst);
    return;
  }
  const linear_exact_axis ax(sw, dw), ay(sh, dh);
  const int xlo = std::min(ax.lo, ax.hi), xhi = ax.hi;
  // horizontal pass of source row sy into out (8.8 fixed point, uint16 range)
  auto hpass = [&](int sy, std::vector<std::uint32_t>& out) {
    const std::uint8_t* p = src + std::size_t(sy) * sw;
    int i = 0;
    for (; i < xlo; ++i) out[std::size_t(i)] = std::uint32_t(p[0]) << 8;
    for (; i < xhi; ++i) {
      const std::uint8_t* px = p + ax.ofs[std::size_t(i)];
      out[std::size_t(i)] = ax.c0[std::size_t(i)] * px[0] + ax.c1[std::size_t(i)] * px[1];
    }
    const std::uint32_t last = std::uint32_t(p[ax.ofs[std::size_t(dw - 1)]]) << 8;
    for (; i < dw; ++i) out[std::size_t(i)] = last;
  };
  std::vector<std::uint32_t> h0(static_cast<std::size_t>(dw)), h1(static_cast<std::size_t>(dw));
  int row0 = -1, row1 = -1;  // source rows held in h0, h1
  for (int dy = 0; dy < dh; ++dy) {
    std::uint8_t* d = dst + std::size_t(dy) * dw;
    if (dy < ay.lo || dy >= ay.hi) {
      const int sy = dy < ay.lo ? 0 : sh - 1;
      if (row0 != sy) {
        hpass(sy, h0);
        row0 = sy;
        if (row1 == sy) row1 = -1;
      }
      for (int i = 0; i < dw; ++i) d[i] = std::uint8_t(std::min<std::uint32_t>((h0[std::size_t(i)] + 128u) >> 8, 255u));
      continue;
    }
    const int sy = ay.ofs[std::size_t(dy)];
    if (row0 != sy) {
      if (row1 == sy) {
        std::swap(h0, h1);
        row0 = sy;
        row1 = -1;
      } else {
        hpass(sy, h0);
        row0 = sy;
      }
    }
    if (row1 != sy + 1) {
      hpass(sy + 1, h1);
      row1 = sy + 1;
    }
    const std::uint32_t b0 = ay.c0[std::size_t(dy)], b1 = ay.c1[std::size_t(dy)];
    for (int i = 0; i < dw; ++i) {
      const std::uint32_t v = (h0[std::size_t(i)] * b0 + h1[std::size_t(i)] * b1 + 32768u) >> 16;
      d[i] = std::uint8_t(v > 255u ? 255u : v);
    }
  }
}


// Level `scale` of the pyramid: the image resized to cvRound(W / scale) x cvRound(H / scale)
// (resize_linear_exact_cv), its integral image and, when asked, the squared integral (Haar's
// variance gate) and the tilted integral (tilted Haar features).
inline void build_level(const image& gray, float scale, bool squares, bool tilted, level_data& L) {
  const int W = gray.width(), H = gray.height();
  L.scale = scale;
  L.sw = cv_round(float(W) / scale);
  L.sh = cv_round(float(H) / scale);
  L.step = scale >= 2.f ? 1 : 2;
  L.stride = L.sw + 1;
  const int sw = L.sw, sh = L.sh, st = L.stride;
  L.img.resize(std::size_t(sw) * sh);
  resize_linear_exact_cv(gray.data(), W, H, L.img.data(), sw, sh);
  const std::size_t plane = std::size_t(st) * (sh + 1);
  L.tofs = plane;
  // The buffers only grow (levels get smaller along the pyramid): every value the scan reads is
  // written below, row 0 and the tilted half zeroed first.
  const std::size_t nsum = tilted ? 2 * plane : plane;
  if (L.sum.size() < nsum) L.sum.resize(nsum);
  const bool need_sq = squares;
  if (need_sq && L.sq.size() < plane) L.sq.resize(plane);
  std::uint32_t* S = L.sum.data();
  std::uint32_t* Q = need_sq ? L.sq.data() : nullptr;
  std::fill(S, S + st, 0u);
  if (Q) std::fill(Q, Q + st, 0u);
  if (tilted) std::fill(S + plane, S + 2 * plane, 0u);
  for (int y = 0; y < sh; ++y) {
    const std::uint8_t* p = L.img.data() + std::size_t(y) * sw;
    std::uint32_t* srow = S + std::size_t(y + 1) * st;
    const std::uint32_t* sprev = S + std::size_t(y) * st;
    std::uint32_t s = 0;
    srow[0] = 0;
    if (Q) {
      std::uint32_t* qrow = Q + std::size_t(y + 1) * st;
      const std::uint32_t* qprev = Q + std::size_t(y) * st;
      std::uint32_t q = 0;
      qrow[0] = 0;
      for (int x = 0; x < sw; ++x) {
        s += p[x];
        q += std::uint32_t(p[x]) * p[x];
        srow[x + 1] = sprev[x + 1] + s;
        qrow[x + 1] = qprev[x + 1] + q;
      }
    } else {
      for (int x = 0; x < sw; ++x) {
        s += p[x];
        srow[x + 1] = sprev[x + 1] + s;
      }
    }
  }
  if (tilted) {
    // T(X, Y) = sum of I(x, y) over y < Y, |x - X + 1| <= Y - 1 - y.  With Tri(a, b) = T(a + 1, b + 1):
    // Tri(a, b) = Tri(a-1, b-1) + Tri(a+1, b-1) - Tri(a, b-2) + I(a, b) + I(a, b-1), over a padded
    // column range where Tri is provably zero outside.
    const int pad = sh + 2;
    const int n = sw + 2 * pad;
    std::vector<std::uint32_t> r2(std::size_t(n), 0u), r1(std::size_t(n), 0u), r0(std::size_t(n), 0u);
    std::uint32_t* T = S + L.tofs;
    auto pix = [&](int a, int b) -> std::uint32_t {
      if (a < 0 || a >= sw || b < 0 || b >= sh) return 0u;
      return L.img[std::size_t(b) * sw + a];
    };
    for (int b = 0; b < sh; ++b) {
      for (int i = 0; i < n; ++i) {
        const int a = i - pad;
        const std::uint32_t left = i > 0 ? r1[std::size_t(i - 1)] : 0u;
        const std::uint32_t right = i + 1 < n ? r1[std::size_t(i + 1)] : 0u;
        r0[std::size_t(i)] = left + right - r2[std::size_t(i)] + pix(a, b) + pix(a, b - 1);
      }
      // T row b+1, columns X = 0..sw: Tri(X-1, b)
      std::uint32_t* trow = T + std::size_t(b + 1) * st;
      for (int X = 0; X <= sw; ++X) trow[X] = r0[std::size_t(X - 1 + pad)];
      std::swap(r2, r1);
      std::swap(r1, r0);
    }
  }
}

}  // namespace detail
HOUSENET_END_NAMESPACE

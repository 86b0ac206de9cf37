// housenet/detail/im2col.hpp: im2col / col2im for one image (not API; may change).
//
//   im2col(d, x, col, ldcol):  x [c, h, w] (one image) -> col [c*kh*kw, oh*ow] with row stride
//                              ldcol (>= oh*ow): col[(ci*kh + ky)*kw + kx][oy*ow + ox] =
//                              x[ci][oy*stride + ky*dilation - pad][ox*stride + kx*dilation - pad],
//                              0 outside. (d.groups is not read: call it on one group's channels.)
//   col2im(d, col, ldcol, dx): the adjoint: dx [c, h, w] += scattered col (dx is ACCUMULATED).
//   Several images side by side in one col matrix: call with col + g*oh*ow and ldcol = G*oh*ow.
//   im2col_pack: the same matrix one packed GEMM micro-panel at a time (gemm_args::pack_b), for
//   the forward pass, which never stores it.
//   Serial; the caller threads over images or row ranges (im2col_rows).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "reference.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace detail {

// Along a row: the output columns [ox0, ox0 + len) whose tap kx reads inside the input row, and
// the input column in0 = ox0*stride + kx*dilation - pad the first of them reads.
struct conv_cols {
  std::size_t ox0, len, in0;
};
inline conv_cols conv_valid_cols(const conv_dims& d, std::size_t kx) {
  const std::ptrdiff_t s = std::ptrdiff_t(d.stride), w = std::ptrdiff_t(d.w);
  const std::ptrdiff_t off = std::ptrdiff_t(kx * d.dilation) - std::ptrdiff_t(d.pad);
  std::ptrdiff_t ox0 = off >= 0 ? 0 : (-off + s - 1) / s;
  std::ptrdiff_t ox1 = w - 1 - off < 0 ? 0 : (w - 1 - off) / s + 1;
  if (ox1 > std::ptrdiff_t(d.ow)) ox1 = std::ptrdiff_t(d.ow);
  if (ox0 > ox1) ox0 = ox1;
  return {std::size_t(ox0), std::size_t(ox1 - ox0), ox1 > ox0 ? std::size_t(ox0 * s + off) : 0};
}

// rows [r0, r1) of the col matrix of one image
template <class T>
void im2col_rows(const conv_dims& d, const T* x, T* col, std::size_t ldcol, std::size_t r0,
                 std::size_t r1) {
  const std::size_t kk = d.kh * d.kw, stride = d.stride;
  for (std::size_t r = r0; r < r1; ++r) {
    const std::size_t ci = r / kk, ky = (r % kk) / d.kw, kx = r % d.kw;
    const T* xc = x + ci * d.h * d.w;
    T* dst = col + r * ldcol;
    const conv_cols cols = conv_valid_cols(d, kx);
    const std::size_t ox0 = cols.ox0, ox1 = ox0 + cols.len;
    for (std::size_t oy = 0; oy < d.oh; ++oy) {
      T* out = dst + oy * d.ow;
      const std::ptrdiff_t iy = conv_tap(d, oy, ky, d.h);
      if (iy < 0) {
        for (std::size_t ox = 0; ox < d.ow; ++ox) out[ox] = T(0);
        continue;
      }
      const T* src = xc + std::size_t(iy) * d.w + cols.in0;
      for (std::size_t ox = 0; ox < ox0; ++ox) out[ox] = T(0);
      if (stride == 1) {
        if (cols.len) std::memcpy(out + ox0, src, cols.len * sizeof(T));
      } else {
        for (std::size_t j = 0; j < cols.len; ++j) out[ox0 + j] = src[j * stride];
      }
      for (std::size_t ox = ox1; ox < d.ow; ++ox) out[ox] = T(0);
    }
  }
}

// Implicit im2col for gemm_args::pack_b: the col matrix [c*kh*kw, g*oh*ow] of images n0 .. n0+g-1
// (side by side) of x, produced one packed B micro-panel at a time and never stored.
template <class T>
struct im2col_source {
  const conv_dims* d;
  const T* x;       // the whole batch [n, c, h, w]
  std::size_t n0;   // first image
};

// A run of the columns of a packed panel: within one output row of one image.
template <class T>
struct im2col_run {
  std::size_t at, len;  // columns [at, at + len) of the panel
  const T* img;         // the image
  std::ptrdiff_t oy, ox;
};

// im2col_pack without padding at stride 1 (every tap inside the image; a run is a contiguous piece
// of an input row, at an offset that only depends on the row p): the row's (channel, ky, kx)
// stepped instead of divided, and a panel that is one whole run (the common case) copied as NR
// values at once (NR > 0: the panel width known at compile time).
template <class T, std::size_t NR>
void im2col_pack_inside(const conv_dims& d, const im2col_run<T>* runs, std::size_t nruns, std::size_t p0,
                        std::size_t kc, std::size_t cols, std::size_t nr, T* out) {
  const std::size_t kk = d.kh * d.kw, hw = d.h * d.w, dil = d.dilation;
  const T* base[64];
  for (std::size_t u = 0; u < nruns; ++u) base[u] = runs[u].img + std::size_t(runs[u].oy) * d.w + std::size_t(runs[u].ox);
  const bool whole = NR > 0 && nruns == 1 && cols == NR && nr == NR;
  std::size_t ci = p0 / kk, ky = (p0 % kk) / d.kw, kx = p0 % d.kw;
  for (std::size_t p = 0; p < kc; ++p) {
    const std::size_t off = ci * hw + (ky * d.w + kx) * dil;
    T* dst = out + p * nr;
    if (whole) {
      std::memcpy(dst, base[0] + off, NR * sizeof(T));
    } else {
      for (std::size_t u = 0; u < nruns; ++u) {
        const T* src = base[u] + off;
        T* o = dst + runs[u].at;
        for (std::size_t t = 0, len = runs[u].len; t < len; ++t) o[t] = src[t];
      }
      for (std::size_t j = cols; j < nr; ++j) dst[j] = T(0);
    }
    if (++kx == d.kw) {
      kx = 0;
      if (++ky == d.kh) ky = 0, ++ci;
    }
  }
}

// out[p*nr + j] = col(p0 + p, j0 + j) for j < cols (<= nr <= 64), 0 up to nr. The columns are cut
// into runs within one output row of one image; at stride 1 a run is a contiguous piece of an
// input row.
template <class T>
void im2col_pack(const void* ctx, std::size_t p0, std::size_t kc, std::size_t j0, std::size_t cols,
                 std::size_t nr, T* out) {
  const auto& s = *static_cast<const im2col_source<T>*>(ctx);
  const conv_dims& d = *s.d;
  const std::size_t ohw = d.oh * d.ow, kk = d.kh * d.kw, hw = d.h * d.w;
  const std::ptrdiff_t h = std::ptrdiff_t(d.h), w = std::ptrdiff_t(d.w);
  const std::ptrdiff_t pad = std::ptrdiff_t(d.pad), stride = std::ptrdiff_t(d.stride);
  const std::ptrdiff_t dil = std::ptrdiff_t(d.dilation);
  using run = im2col_run<T>;
  run runs[64];
  std::size_t nruns = 0;
  for (std::size_t q = j0; q < j0 + cols && nruns < 64;) {
    const std::size_t img = q / ohw, r = q % ohw, oy = r / d.ow, ox = r % d.ow;
    const std::size_t len = std::min(d.ow - ox, j0 + cols - q);
    runs[nruns++] = {q - j0, len, s.x + (s.n0 + img) * d.c * hw, std::ptrdiff_t(oy), std::ptrdiff_t(ox)};
    q += len;
  }
  if (d.pad == 0 && d.stride == 1) {
    switch (nr) {
      case 8: return im2col_pack_inside<T, 8>(d, runs, nruns, p0, kc, cols, nr, out);
      case 16: return im2col_pack_inside<T, 16>(d, runs, nruns, p0, kc, cols, nr, out);
      case 32: return im2col_pack_inside<T, 32>(d, runs, nruns, p0, kc, cols, nr, out);
      default: return im2col_pack_inside<T, 0>(d, runs, nruns, p0, kc, cols, nr, out);
    }
  }
  for (std::size_t p = 0; p < kc; ++p) {
    const std::size_t row = p0 + p, ci = row / kk, ky = (row % kk) / d.kw, kx = row % d.kw;
    T* dst = out + p * nr;
    for (std::size_t u = 0; u < nruns; ++u) {
      const run& rn = runs[u];
      T* o = dst + rn.at;
      const std::ptrdiff_t iy = rn.oy * stride + std::ptrdiff_t(ky) * dil - pad;
      const std::ptrdiff_t ix0 = rn.ox * stride + std::ptrdiff_t(kx) * dil - pad;
      const std::ptrdiff_t len = std::ptrdiff_t(rn.len);
      if (iy < 0 || iy >= h) {
        for (std::ptrdiff_t t = 0; t < len; ++t) o[t] = T(0);
        continue;
      }
      const T* src = rn.img + ci * hw + std::size_t(iy * w);
      if (stride == 1 && ix0 >= 0 && ix0 + len <= w) {
        for (std::ptrdiff_t t = 0; t < len; ++t) o[t] = src[ix0 + t];
      } else {
        for (std::ptrdiff_t t = 0; t < len; ++t) {
          const std::ptrdiff_t ix = ix0 + t * stride;
          o[t] = ix >= 0 && ix < w ? src[ix] : T(0);
        }
      }
    }
    for (std::size_t j = cols; j < nr; ++j) dst[j] = T(0);
  }
}

// xp [h + 2*pad, w + 2*pad] = the plane x [h, w] with a zero border (the border only is filled)
template <class T>
void pad_plane(const conv_dims& d, const T* x, T* xp) {
  const std::size_t pad = d.pad, wp = d.w + 2 * pad;
  T* o = xp;
  std::fill(o, o + pad * wp + pad, T(0));
  o += pad * wp + pad;
  for (std::size_t r = 0; r < d.h; ++r, o += wp) {
    std::memcpy(o, x + r * d.w, d.w * sizeof(T));
    std::fill(o + d.w, o + wp, T(0));  // this row's right border and the next row's left one
  }
  std::fill(o - pad, o - pad + pad * wp, T(0));
}

// x [g, c, h, w] -> xp [g, c, h + 2*pad, w + 2*pad] (pad_plane); padded_dims(d, g) is the
// convolution of xp without padding that gives the same output: at stride 1 its taps all fall
// inside, so im2col_pack takes its branch-free path and packs the same values (the same bits).
inline conv_dims padded_dims(const conv_dims& d, std::size_t g) {
  conv_dims p = d;
  p.n = g;
  p.h = d.h + 2 * d.pad;
  p.w = d.w + 2 * d.pad;
  p.pad = 0;
  return p;
}
template <class T>
void pad_images(const conv_dims& d, const T* x, std::size_t g, T* xp) {
  const std::size_t psize = (d.h + 2 * d.pad) * (d.w + 2 * d.pad);
  for (std::size_t plane = 0; plane < g * d.c; ++plane) pad_plane(d, x + plane * d.h * d.w, xp + plane * psize);
}

template <class T>
void im2col(const conv_dims& d, const T* x, T* col, std::size_t ldcol) {
  im2col_rows(d, x, col, ldcol, 0, d.c * d.kh * d.kw);
}

// dx [c, h, w] += col2im(col); channels [c0, c1) only (threads split by channel).
template <class T>
void col2im_channels(const conv_dims& d, const T* col, std::size_t ldcol, T* dx, std::size_t c0,
                     std::size_t c1) {
  const std::size_t stride = d.stride;
  for (std::size_t ci = c0; ci < c1; ++ci) {
    T* xc = dx + ci * d.h * d.w;
    for (std::size_t ky = 0; ky < d.kh; ++ky)
      for (std::size_t kx = 0; kx < d.kw; ++kx) {
        const T* src = col + ((ci * d.kh + ky) * d.kw + kx) * ldcol;
        const conv_cols cols = conv_valid_cols(d, kx);
        for (std::size_t oy = 0; oy < d.oh; ++oy) {
          const std::ptrdiff_t iy = conv_tap(d, oy, ky, d.h);
          if (iy < 0) continue;
          T* out = xc + std::size_t(iy) * d.w + cols.in0;
          const T* in = src + oy * d.ow + cols.ox0;
          if (stride == 1)
            for (std::size_t j = 0; j < cols.len; ++j) out[j] += in[j];
          else
            for (std::size_t j = 0; j < cols.len; ++j) out[j * stride] += in[j];
        }
      }
  }
}

template <class T>
void col2im(const conv_dims& d, const T* col, std::size_t ldcol, T* dx) {
  col2im_channels(d, col, ldcol, dx, 0, d.c);
}

}  // namespace detail
HOUSENET_END_NAMESPACE

// housenet/detail/kernels.hpp: the kernels the layers call (not API; may change).
//
// Same signatures and contract as detail/reference.hpp: forward and backward_data ASSIGN their
// output; backward_weights ACCUMULATES (+=) into dw and db (db may be null; bias may be null).
//
// HOW (see docs/performance.md for the measurements behind the choices)
//   conv2d: im2col + the packed GEMM of gemm.hpp, on groups of G images side by side, G chosen
//   so that a group has >= 256 output pixels (conv5's 8x8 maps batch 4 images per GEMM):
//     forward        Y_g [k, G*oh*ow]   = W [k, c*kh*kw] * col_g [c*kh*kw, G*oh*ow]  (+ bias),
//                    col_g produced panel by panel inside the GEMM's packing (im2col_pack), never stored
//     backward_data  dcol_g             = W^T * dY_g;   dx = col2im(dcol_g)
//     backward_wts   dW [k, c*kh*kw]   += dY_g * col_g^T;   db += row sums of dY_g
//   1x1 / stride 1 / pad 0 convolutions use x itself as the col matrix. Dilation is im2col's.
//   Wide stride-1 layers with 3x3..5x5 kernels go to the Winograd kernels of detail/winograd.hpp
//   instead (conv_use_winograd; conv_algorithm / HOUSENET_CONV choose).
//   Threads (the library pool): when there are at least as many groups as threads, each thread
//   takes a contiguous run of groups with a single-threaded GEMM (backward_weights: one partial
//   dW per thread, summed in thread-block order); otherwise (batch 1) the GEMM itself is split.
//   Both are deterministic for a given thread count.
//   linear: one GEMM per call; at batch <= 4 the forward is a dot-product sweep that reads the
//   weights once (memory-bound).
//   Grouped convolutions (groups > 1): with one input channel per group (depthwise, any channel
//   multiplier) a direct kernel per plane (conv_depthwise_*: the taps in (ky, kx) order, rows in
//   L1, vectorizable along the output row; threads over planes, or over output channels for dW);
//   otherwise group by group: the group's channels gathered into contiguous tensors, run through
//   the kernels above as a convolution of their own (Winograd included, where it would apply to
//   that convolution), the result scattered back: group g gets the bits of that convolution.
//   Workspaces (col, gathered dY, partial dW, group slices) are thread_local and grow only: no heap
//   allocation after the first call with the largest shape.
//   T = float uses the run-time-selected SIMD path; T = double the portable kernel.
//
// THREAD SAFETY: reentrant (all scratch memory is per thread).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "../gemm.hpp"
#include "../parallel.hpp"
#include "im2col.hpp"
#include "reference.hpp"
#include "winograd.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace detail {

// slot 0: col, 1: gathered dY / GEMM output, 2: partial dW (caller thread); 3, 4: the channels of
// one group (conv_groups)
template <class T>
scratch<T>& kernel_scratch(int slot) {
  thread_local scratch<T> s[5];
  return s[slot];
}

inline std::size_t conv_group_size(const conv_dims& d) {
  const std::size_t ohw = d.oh * d.ow;
  if (ohw == 0 || d.n == 0) return 1;
  const std::size_t g = (256 + ohw - 1) / ohw;
  return std::max<std::size_t>(1, std::min(g, d.n));
}

inline bool conv_is_pointwise(const conv_dims& d) {
  return d.kh == 1 && d.kw == 1 && d.stride == 1 && d.pad == 0;
}

// col matrix [c*kh*kw, g*oh*ow] of images n0 .. n0+g-1 (threads > 1: split by rows)
template <class T>
const T* conv_col(const conv_dims& d, const T* x, std::size_t n0, std::size_t g, std::size_t threads) {
  const std::size_t ckk = d.c * d.kh * d.kw, ohw = d.oh * d.ow, in_sz = d.c * d.h * d.w;
  if (g == 1 && conv_is_pointwise(d)) return x + n0 * in_sz;
  const std::size_t cols = g * ohw;
  T* col = kernel_scratch<T>(0).get(ckk * cols);
  auto rows = [&](std::size_t r0, std::size_t r1) {
    for (std::size_t gi = 0; gi < g; ++gi)
      im2col_rows(d, x + (n0 + gi) * in_sz, col + gi * ohw, cols, r0, r1);
  };
  if (threads > 1 && ckk >= 2 * threads)
    parallel_blocks(threads, [&](std::size_t t) {
      const auto r = block_range(ckk, threads, t);
      rows(r.first, r.second);
    });
  else
    rows(0, ckk);
  return col;
}

// dY of images n0 .. n0+g-1 as one matrix [k, g*oh*ow]
template <class T>
const T* conv_dy(const conv_dims& d, const T* dy, std::size_t n0, std::size_t g) {
  const std::size_t ohw = d.oh * d.ow, out_sz = d.k * ohw;
  if (g == 1) return dy + n0 * out_sz;
  const std::size_t cols = g * ohw;
  T* buf = kernel_scratch<T>(1).get(d.k * cols);
  for (std::size_t k = 0; k < d.k; ++k)
    for (std::size_t gi = 0; gi < g; ++gi)
      std::memcpy(buf + k * cols + gi * ohw, dy + (n0 + gi) * out_sz + k * ohw, ohw * sizeof(T));
  return buf;
}

// groups > 1 (below)
template <class T>
void conv2d_forward_grouped(const conv_dims& d, const T* x, const T* w, const T* b, T* y);

template <class T>
void conv2d_backward_data_grouped(const conv_dims& d, const T* dy, const T* w, T* dx);

template <class T>
void conv2d_backward_weights_grouped(const conv_dims& d, const T* x, const T* dy, T* dw, T* db);

// wino_u: null, or the Winograd transform of w (wino_forward_weights), used when d runs Winograd.
template <class T>
void conv2d_forward(const conv_dims& d, const T* x, const T* w, const T* b, T* y, const T* wino_u = nullptr) {
  const std::size_t ckk = d.c * d.kh * d.kw, ohw = d.oh * d.ow, out_sz = d.k * ohw;
  if (d.n == 0 || out_sz == 0) return;
  if (d.groups > 1) return conv2d_forward_grouped(d, x, w, b, y);
  if (conv_use_winograd(d)) return conv2d_forward_winograd(d, x, w, b, y, wino_u);
  const std::size_t G = conv_group_size(d), groups = (d.n + G - 1) / G;
  const std::size_t threads = std::size_t(num_threads());

  auto run_group = [&](std::size_t grp, std::size_t gemm_threads) {
    const std::size_t n0 = grp * G, g = std::min(G, d.n - n0), cols = g * ohw;
    T* out = g == 1 ? y + n0 * out_sz : kernel_scratch<T>(1).get(d.k * cols);
    gemm_args<T> ga{false, false, d.k, cols, ckk, T(1), w, ckk, nullptr, cols, T(0), out, cols};
    ga.row_bias = b;  // the bias is added in the GEMM's epilogue
    // padded stride-1 layers: the group's images zero-bordered once, then packed without a test
    const bool prepad = d.pad > 0 && d.stride == 1;
    const conv_dims dp = prepad ? padded_dims(d, g) : d;
    const T* xs = x;
    if (prepad) {
      T* xp = kernel_scratch<T>(0).get(g * d.c * dp.h * dp.w);
      pad_images(d, x + n0 * d.c * d.h * d.w, g, xp);
      xs = xp;
    }
    const im2col_source<T> src{&dp, xs, prepad ? 0 : n0};
    if (g == 1 && conv_is_pointwise(d)) {
      ga.b = x + n0 * d.c * d.h * d.w;  // x is its own col matrix
    } else {  // im2col while packing: the col matrix is never stored
      ga.pack_b = &im2col_pack<T>;
      ga.pack_b_ctx = &src;
    }
    gemm<T>(ga, gemm_threads);
    if (g > 1)
      for (std::size_t gi = 0; gi < g; ++gi)
        for (std::size_t k = 0; k < d.k; ++k)
          std::memcpy(y + (n0 + gi) * out_sz + k * ohw, out + k * cols + gi * ohw, ohw * sizeof(T));
  };
  if (threads > 1 && groups >= threads)
    parallel_for(groups, [&](std::size_t g0, std::size_t g1) {
      for (std::size_t grp = g0; grp < g1; ++grp) run_group(grp, 1);
    });
  else
    for (std::size_t grp = 0; grp < groups; ++grp) run_group(grp, threads);
}

template <class T>
void conv2d_backward_data(const conv_dims& d, const T* dy, const T* w, T* dx) {
  const std::size_t ckk = d.c * d.kh * d.kw, ohw = d.oh * d.ow, in_sz = d.c * d.h * d.w;
  if (d.n == 0 || in_sz == 0) return;
  if (ohw == 0 || d.k == 0) {
    std::fill(dx, dx + d.n * in_sz, T(0));
    return;
  }
  if (d.groups > 1) return conv2d_backward_data_grouped(d, dy, w, dx);
  if (conv_use_winograd(d)) return conv2d_backward_data_winograd(d, dy, w, dx);
  const std::size_t G = conv_group_size(d), groups = (d.n + G - 1) / G;
  const std::size_t threads = std::size_t(num_threads());

  auto run_group = [&](std::size_t grp, std::size_t gemm_threads) {
    const std::size_t n0 = grp * G, g = std::min(G, d.n - n0), cols = g * ohw;
    const T* dyg = conv_dy(d, dy, n0, g);
    if (g == 1 && conv_is_pointwise(d)) {
      gemm<T>(true, false, ckk, cols, d.k, T(1), w, ckk, dyg, cols, T(0), dx + n0 * in_sz, cols,
              gemm_threads);
      return;
    }
    T* dcol = kernel_scratch<T>(0).get(ckk * cols);
    gemm<T>(true, false, ckk, cols, d.k, T(1), w, ckk, dyg, cols, T(0), dcol, cols, gemm_threads);
    auto channels = [&](std::size_t c0, std::size_t c1) {
      for (std::size_t gi = 0; gi < g; ++gi) {
        T* dxi = dx + (n0 + gi) * in_sz;
        std::fill(dxi + c0 * d.h * d.w, dxi + c1 * d.h * d.w, T(0));
        col2im_channels(d, dcol + gi * ohw, cols, dxi, c0, c1);
      }
    };
    if (gemm_threads > 1 && d.c >= gemm_threads)
      parallel_blocks(gemm_threads, [&](std::size_t t) {
        const auto r = block_range(d.c, gemm_threads, t);
        channels(r.first, r.second);
      });
    else
      channels(0, d.c);
  };
  if (threads > 1 && groups >= threads)
    parallel_for(groups, [&](std::size_t g0, std::size_t g1) {
      for (std::size_t grp = g0; grp < g1; ++grp) run_group(grp, 1);
    });
  else
    for (std::size_t grp = 0; grp < groups; ++grp) run_group(grp, threads);
}

template <class T>
void conv2d_backward_weights(const conv_dims& d, const T* x, const T* dy, T* dw, T* db) {
  const std::size_t ckk = d.c * d.kh * d.kw, ohw = d.oh * d.ow, wsz = d.k * ckk;
  if (d.n == 0 || ohw == 0 || d.k == 0) return;
  if (d.groups > 1) return conv2d_backward_weights_grouped(d, x, dy, dw, db);
  if (conv_use_winograd(d)) return conv2d_backward_weights_winograd(d, x, dy, dw, db);
  const std::size_t G = conv_group_size(d), groups = (d.n + G - 1) / G;
  const std::size_t threads = std::size_t(num_threads());

  // dwp (+)= dY_g col_g^T, dbp (+)= row sums of dY_g; accumulate=false assigns
  auto run_group = [&](std::size_t grp, std::size_t gemm_threads, T* dwp, T* dbp, bool accumulate) {
    const std::size_t n0 = grp * G, g = std::min(G, d.n - n0), cols = g * ohw;
    const T* dyg = conv_dy(d, dy, n0, g);
    if (ckk > 0) {
      const T* col = conv_col(d, x, n0, g, gemm_threads);
      gemm<T>(false, true, d.k, ckk, cols, T(1), dyg, cols, col, cols, accumulate ? T(1) : T(0),
              dwp, ckk, gemm_threads);
    }
    if (dbp)
      for (std::size_t k = 0; k < d.k; ++k) {
        const T s = row_sum(dyg + k * cols, cols);
        dbp[k] = accumulate ? dbp[k] + s : s;
      }
  };

  if (threads > 1 && groups >= threads) {
    const std::size_t blocks = threads, part = wsz + d.k;
    T* partial = kernel_scratch<T>(2).get(blocks * part);
    parallel_blocks(blocks, [&](std::size_t t) {
      const auto r = block_range(groups, blocks, t);
      for (std::size_t grp = r.first; grp < r.second; ++grp)
        run_group(grp, 1, partial + t * part, db ? partial + t * part + wsz : nullptr,
                  grp != r.first);
    });
    parallel_for(wsz, [&](std::size_t i0, std::size_t i1) {
      for (std::size_t i = i0; i < i1; ++i) {
        T s = partial[i];
        for (std::size_t t = 1; t < blocks; ++t) s += partial[t * part + i];
        dw[i] += s;
      }
    });
    if (db)
      for (std::size_t k = 0; k < d.k; ++k) {
        T s = partial[wsz + k];
        for (std::size_t t = 1; t < blocks; ++t) s += partial[t * part + wsz + k];
        db[k] += s;
      }
  } else {
    for (std::size_t grp = 0; grp < groups; ++grp) run_group(grp, threads, dw, db, true);
  }
}

// ---- grouped convolutions ---------------------------------------------------------------------

// ---- depthwise: one input channel per group, k/groups outputs of it ----------------------------
// Per plane, the input is copied into a zero-padded plane xp [hp, wp] (hp = h + 2 pad, wp = w +
// 2 pad, then (kw - 1) dilation zeros so that every tap's reads stay inside), so that a tap is a
// loop without bounds. At stride 1 the output rows run together with xp's pitch wp (the wp - ow
// extra columns are computed and dropped): each tap is ONE vectorized loop over the plane,
//   acc[i] += w[ky][kx] * xp[i + ky*dilation*wp + kx*dilation],  i < oh*wp;
// at stride s > 1, one loop per output row and tap. Every output is bias + its taps in (ky, kx)
// order, padding included as zeros (as the im2col + GEMM path). Scratch: thread-local slots 0
// (the padded plane) and 1 (the rows at pitch wp).
struct dw_geometry {
  std::size_t hp, wp, size;  // the padded plane and its allocation
  std::size_t pitch, len;    // the output rows' pitch and the flat length they cover
  explicit dw_geometry(const conv_dims& d)
      : hp(d.h + 2 * d.pad), wp(d.w + 2 * d.pad), size(hp * wp + (d.kw - 1) * d.dilation),
        pitch(d.stride == 1 ? wp : d.ow), len(d.oh * pitch) {}
  std::size_t tap(const conv_dims& d, std::size_t ky, std::size_t kx) const {
    return ky * d.dilation * wp + kx * d.dilation;
  }
};

// xp [hp, wp] (+ a zero tail) = the zero-padded plane x [h, w]
template <class T>
void dw_pad(const conv_dims& d, const dw_geometry& g, const T* x, T* xp) {
  pad_plane(d, x, xp);
  std::fill(xp + g.hp * g.wp, xp + g.size, T(0));
}

// sum a[i] * b[i * bs] for i < n, in 8 interleaved partial sums (vectorizes; the order is fixed)
template <class T, std::size_t BS>
T dw_dot(const T* HOUSENET_RESTRICT a, const T* HOUSENET_RESTRICT b, std::size_t bs, std::size_t n) {
  const std::size_t st = BS ? BS : bs;
  T s[8] = {};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (std::size_t l = 0; l < 8; ++l) s[l] += a[i + l] * b[(i + l) * st];
  T r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; ++i) r += a[i] * b[i * st];
  return r;
}

template <class T>
void conv_depthwise_forward(const conv_dims& d, const T* x, const T* w, const T* b, T* y) {
  const dw_geometry g(d);
  const std::size_t hw = d.h * d.w, ohw = d.oh * d.ow, kk = d.kh * d.kw, kg = d.group_k(), s = d.stride;
  parallel_for(d.n * d.k, [&](std::size_t p0, std::size_t p1) {
    T* HOUSENET_RESTRICT xp = kernel_scratch<T>(0).get(g.size);
    T* HOUSENET_RESTRICT acc = kernel_scratch<T>(1).get(g.len);
    for (std::size_t p = p0; p < p1; ++p) {
      const std::size_t n = p / d.k, o = p % d.k;
      if (p == p0 || o % kg == 0) dw_pad(d, g, x + (n * d.c + o / kg) * hw, xp);
      const T bias = b ? b[o] : T(0);
      T* yp = y + p * ohw;
      T* HOUSENET_RESTRICT out = s == 1 ? acc : yp;  // stride 1: rows at pitch wp, copied after
      std::fill(out, out + g.len, bias);
      for (std::size_t ky = 0; ky < d.kh; ++ky)
        for (std::size_t kx = 0; kx < d.kw; ++kx) {
          const T wv = w[o * kk + ky * d.kw + kx];
          const T* HOUSENET_RESTRICT xt = xp + g.tap(d, ky, kx);
          if (s == 1)
            for (std::size_t i = 0; i < g.len; ++i) out[i] += wv * xt[i];
          else
            for (std::size_t oy = 0; oy < d.oh; ++oy) {
              T* HOUSENET_RESTRICT yr = out + oy * d.ow;
              const T* HOUSENET_RESTRICT xr = xt + oy * s * g.wp;
              for (std::size_t ox = 0; ox < d.ow; ++ox) yr[ox] += wv * xr[ox * s];
            }
        }
      if (s == 1)
        for (std::size_t oy = 0; oy < d.oh; ++oy) std::memcpy(yp + oy * d.ow, acc + oy * g.wp, d.ow * sizeof(T));
    }
  });
}

// dx plane (n, c) = the transposed convolution of the dy planes of c's k/groups outputs, summed in
// a zero-padded plane whose inside is copied out.
template <class T>
void conv_depthwise_backward_data(const conv_dims& d, const T* dy, const T* w, T* dx) {
  const dw_geometry g(d);
  const std::size_t ohw = d.oh * d.ow, kk = d.kh * d.kw, kg = d.group_k(), s = d.stride;
  parallel_for(d.n * d.c, [&](std::size_t p0, std::size_t p1) {
    T* HOUSENET_RESTRICT dxp = kernel_scratch<T>(0).get(g.size);
    T* HOUSENET_RESTRICT gw = kernel_scratch<T>(1).get(g.len);
    for (std::size_t p = p0; p < p1; ++p) {
      const std::size_t n = p / d.c, c = p % d.c;
      std::fill(dxp, dxp + g.size, T(0));
      for (std::size_t o = c * kg; o < (c + 1) * kg; ++o) {
        const T* HOUSENET_RESTRICT gp = dy + (n * d.k + o) * ohw;
        if (s == 1) {  // dy at pitch wp, zeros in the extra columns
          std::fill(gw, gw + g.len, T(0));
          for (std::size_t oy = 0; oy < d.oh; ++oy) std::memcpy(gw + oy * g.wp, gp + oy * d.ow, d.ow * sizeof(T));
        }
        for (std::size_t ky = 0; ky < d.kh; ++ky)
          for (std::size_t kx = 0; kx < d.kw; ++kx) {
            const T wv = w[o * kk + ky * d.kw + kx];
            T* HOUSENET_RESTRICT dt = dxp + g.tap(d, ky, kx);
            if (s == 1)
              for (std::size_t i = 0; i < g.len; ++i) dt[i] += wv * gw[i];
            else
              for (std::size_t oy = 0; oy < d.oh; ++oy) {
                T* HOUSENET_RESTRICT dr = dt + oy * s * g.wp;
                const T* HOUSENET_RESTRICT gr = gp + oy * d.ow;
                for (std::size_t ox = 0; ox < d.ow; ++ox) dr[ox * s] += wv * gr[ox];
              }
          }
      }
      T* dq = dx + p * d.h * d.w;
      for (std::size_t iy = 0; iy < d.h; ++iy)
        std::memcpy(dq + iy * d.w, dxp + (iy + d.pad) * g.wp + d.pad, d.w * sizeof(T));
    }
  });
}

// dw [k, 1, kh, kw] += sum over images of the dot products of dy with each tap's view of the
// padded input; db += sum dy. Threads over output channels, each summing its images in order (the
// per-image dots in T, their sums in double): the same bits for any thread count.
template <class T>
void conv_depthwise_backward_weights(const conv_dims& d, const T* x, const T* dy, T* dw, T* db) {
  const dw_geometry g(d);
  const std::size_t hw = d.h * d.w, ohw = d.oh * d.ow, kk = d.kh * d.kw, kg = d.group_k(), s = d.stride;
  parallel_for(d.k, [&](std::size_t o0, std::size_t o1) {
    T* xp = kernel_scratch<T>(0).get(g.size);
    T* gw = kernel_scratch<T>(1).get(g.len);
    for (std::size_t o = o0; o < o1; ++o) {
      double bsum = 0.0;
      for (std::size_t t0 = 0; t0 < kk; t0 += 64) {  // 64 taps at a time (kernels up to 8x8: once)
        const std::size_t t1 = std::min(kk, t0 + 64);
        double acc[64] = {};
        for (std::size_t n = 0; n < d.n; ++n) {
          dw_pad(d, g, x + (n * d.c + o / kg) * hw, xp);
          const T* gp = dy + (n * d.k + o) * ohw;
          if (t0 == 0 && db) bsum += double(row_sum(gp, ohw));
          if (s == 1) {
            std::fill(gw, gw + g.len, T(0));
            for (std::size_t oy = 0; oy < d.oh; ++oy) std::memcpy(gw + oy * g.wp, gp + oy * d.ow, d.ow * sizeof(T));
          }
          for (std::size_t t = t0; t < t1; ++t) {
            const T* xt = xp + g.tap(d, t / d.kw, t % d.kw);
            if (s == 1) {
              acc[t - t0] += double(dw_dot<T, 1>(gw, xt, 1, g.len));
            } else {
              T r = T(0);
              for (std::size_t oy = 0; oy < d.oh; ++oy) r += dw_dot<T, 0>(gp + oy * d.ow, xt + oy * s * g.wp, s, d.ow);
              acc[t - t0] += double(r);
            }
          }
        }
        for (std::size_t t = t0; t < t1; ++t) dw[o * kk + t] += static_cast<T>(acc[t - t0]);
      }
      if (db) db[o] += static_cast<T>(bsum);
    }
  });
}

// dst[i, dc0 + j] = src[i, sc0 + j] for i < n, j < cnt: src [n, sc, plane], dst [n, dc, plane].
template <class T>
void copy_channels(std::size_t n, std::size_t plane, std::size_t cnt, const T* src, std::size_t sc,
                   std::size_t sc0, T* dst, std::size_t dc, std::size_t dc0) {
  parallel_for(n, [&](std::size_t i0, std::size_t i1) {
    for (std::size_t i = i0; i < i1; ++i)
      std::memcpy(dst + (i * dc + dc0) * plane, src + (i * sc + sc0) * plane, cnt * plane * sizeof(T));
  });
}

// A grouped convolution run group by group: g is the convolution of one group (groups = 1, c/G
// in, k/G out, weights wsz apart); group gi's channels are gathered into `in` [n, c/G, h, w] and
// `out` [n, k/G, oh, ow] (thread-local scratch) and scattered back from there.
template <class T>
struct conv_groups {
  const conv_dims& d;
  conv_dims g;
  std::size_t hw, ohw, wsz;
  T* in;
  T* out;
  explicit conv_groups(const conv_dims& dims)
      : d(dims), g(group_dims(dims)), hw(d.h * d.w), ohw(d.oh * d.ow), wsz(g.k * g.c * d.kh * d.kw),
        in(kernel_scratch<T>(3).get(d.n * g.c * hw)), out(kernel_scratch<T>(4).get(d.n * g.k * ohw)) {}
  static conv_dims group_dims(const conv_dims& d) {
    conv_dims g = d;
    g.c = d.group_c();
    g.k = d.group_k();
    g.groups = 1;
    return g;
  }
  void gather_in(const T* x, std::size_t gi) { copy_channels(d.n, hw, g.c, x, d.c, gi * g.c, in, g.c, 0); }
  void gather_out(const T* y, std::size_t gi) { copy_channels(d.n, ohw, g.k, y, d.k, gi * g.k, out, g.k, 0); }
  void scatter_in(T* x, std::size_t gi) const { copy_channels(d.n, hw, g.c, in, g.c, 0, x, d.c, gi * g.c); }
  void scatter_out(T* y, std::size_t gi) const { copy_channels(d.n, ohw, g.k, out, g.k, 0, y, d.k, gi * g.k); }
};

template <class T>
void conv2d_forward_grouped(const conv_dims& d, const T* x, const T* w, const T* b, T* y) {
  if (d.group_c() == 1) return conv_depthwise_forward(d, x, w, b, y);
  conv_groups<T> gr(d);
  for (std::size_t gi = 0; gi < d.groups; ++gi) {
    gr.gather_in(x, gi);
    conv2d_forward(gr.g, gr.in, w + gi * gr.wsz, b ? b + gi * gr.g.k : nullptr, gr.out);
    gr.scatter_out(y, gi);
  }
}

template <class T>
void conv2d_backward_data_grouped(const conv_dims& d, const T* dy, const T* w, T* dx) {
  if (d.group_c() == 1) return conv_depthwise_backward_data(d, dy, w, dx);
  conv_groups<T> gr(d);
  for (std::size_t gi = 0; gi < d.groups; ++gi) {
    gr.gather_out(dy, gi);
    conv2d_backward_data(gr.g, gr.out, w + gi * gr.wsz, gr.in);
    gr.scatter_in(dx, gi);
  }
}

template <class T>
void conv2d_backward_weights_grouped(const conv_dims& d, const T* x, const T* dy, T* dw, T* db) {
  if (d.group_c() == 1) return conv_depthwise_backward_weights(d, x, dy, dw, db);
  conv_groups<T> gr(d);
  for (std::size_t gi = 0; gi < d.groups; ++gi) {
    gr.gather_in(x, gi);
    gr.gather_out(dy, gi);
    conv2d_backward_weights(gr.g, gr.in, gr.out, dw + gi * gr.wsz, db ? db + gi * gr.g.k : nullptr);
  }
}

template <class T>
void linear_forward(const linear_dims& d, const T* x, const T* w, const T* b, T* y) {
  if (d.n == 0 || d.out == 0) return;
  if (b)
    for (std::size_t i = 0; i < d.n; ++i) std::memcpy(y + i * d.out, b, d.out * sizeof(T));
  gemm<T>(false, true, d.n, d.out, d.in, T(1), x, d.in, w, d.in, b ? T(1) : T(0), y, d.out,
          std::size_t(num_threads()));
}

template <class T>
void linear_backward_data(const linear_dims& d, const T* dy, const T* w, T* dx) {
  if (d.n == 0 || d.in == 0) return;
  gemm<T>(false, false, d.n, d.in, d.out, T(1), dy, d.out, w, d.in, T(0), dx, d.in,
          std::size_t(num_threads()));
}

template <class T>
void linear_backward_weights(const linear_dims& d, const T* x, const T* dy, T* dw, T* db) {
  if (d.n == 0 || d.out == 0) return;
  if (d.in > 0)
    gemm<T>(true, false, d.out, d.in, d.n, T(1), dy, d.out, x, d.in, T(1), dw, d.in,
            std::size_t(num_threads()));
  if (db)
    for (std::size_t o = 0; o < d.out; ++o) {
      T s = T(0);
      for (std::size_t i = 0; i < d.n; ++i) s += dy[i * d.out + o];
      db[o] += s;
    }
}

}  // namespace detail
HOUSENET_END_NAMESPACE

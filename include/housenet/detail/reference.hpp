// housenet/detail/reference.hpp: plain reference kernels (not API; may change).
//
// The slow, obviously-correct loops every fast kernel is tested against. Raw pointers, shapes in
// the comments (llm.c style). Contract shared by the fast kernels in detail/kernels.hpp:
//   forward and backward_data ASSIGN their output; backward_weights ACCUMULATES (+=) into dw, db.
#pragma once

#include <cstddef>

#include "../config.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace detail {

// Convolution (cross-correlation, no kernel flip), zero padding, dilation, groups.
//   x [n, c, h, w], weight [k, c/groups, kh, kw], bias [k], y [n, k, oh, ow]
//   oh = (h + 2*pad - dilation*(kh - 1) - 1) / stride + 1, ow likewise.
//   Output channel o sees the input channels of its group, g = o / (k/groups):
//   y[n,o,i,j] = b[o] + sum_{c<c/groups, u, v} w[o,c,u,v] x[n, g*c/groups + c, i*stride + u*dilation - pad, ...]
struct conv_dims {
  std::size_t n, c, h, w;    // input
  std::size_t k, kh, kw;     // output channels, kernel size
  std::size_t stride, pad;
  std::size_t oh, ow;        // output size
  std::size_t dilation = 1;  // spacing of the kernel taps
  std::size_t groups = 1;    // c and k are multiples of it
  static conv_dims make(std::size_t n, std::size_t c, std::size_t h, std::size_t w, std::size_t k,
                        std::size_t kh, std::size_t kw, std::size_t stride, std::size_t pad,
                        std::size_t dilation = 1, std::size_t groups = 1) {
    return {n, c, h, w, k, kh, kw, stride, pad, (h + 2 * pad - dilation * (kh - 1) - 1) / stride + 1,
            (w + 2 * pad - dilation * (kw - 1) - 1) / stride + 1, dilation, groups};
  }
  std::size_t group_c() const { return c / groups; }  // input channels per group
  std::size_t group_k() const { return k / groups; }  // output channels per group
  // multiply-adds of one forward pass
  double macs() const { return double(n) * k * oh * ow * group_c() * kh * kw; }
};

// The input position of output position o and kernel tap u along one dimension of length len,
// or -1 when it falls in the padding.
inline std::ptrdiff_t conv_tap(const conv_dims& d, std::size_t o, std::size_t u, std::size_t len) {
  const std::ptrdiff_t i = std::ptrdiff_t(o * d.stride + u * d.dilation) - std::ptrdiff_t(d.pad);
  return i < std::ptrdiff_t(len) ? i : -1;
}

template <class T>
void conv2d_forward_reference(const conv_dims& d, const T* x, const T* wt, const T* bias, T* y) {
  const std::size_t cg = d.group_c(), kg = d.group_k();
  for (std::size_t n = 0; n < d.n; ++n)
    for (std::size_t k = 0; k < d.k; ++k)
      for (std::size_t oy = 0; oy < d.oh; ++oy)
        for (std::size_t ox = 0; ox < d.ow; ++ox) {
          T acc = bias ? bias[k] : T(0);
          for (std::size_t c = 0; c < cg; ++c)
            for (std::size_t ky = 0; ky < d.kh; ++ky) {
              const std::ptrdiff_t iy = conv_tap(d, oy, ky, d.h);
              if (iy < 0) continue;
              for (std::size_t kx = 0; kx < d.kw; ++kx) {
                const std::ptrdiff_t ix = conv_tap(d, ox, kx, d.w);
                if (ix < 0) continue;
                acc += x[((n * d.c + k / kg * cg + c) * d.h + std::size_t(iy)) * d.w + std::size_t(ix)] *
                       wt[((k * cg + c) * d.kh + ky) * d.kw + kx];
              }
            }
          y[((n * d.k + k) * d.oh + oy) * d.ow + ox] = acc;
        }
}

// dx [n, c, h, w] = conv-transpose of dy [n, k, oh, ow] with weight [k, c/groups, kh, kw]  (assigns)
template <class T>
void conv2d_backward_data_reference(const conv_dims& d, const T* dy, const T* wt, T* dx) {
  const std::size_t cg = d.group_c(), kg = d.group_k();
  for (std::size_t i = 0; i < d.n * d.c * d.h * d.w; ++i) dx[i] = T(0);
  for (std::size_t n = 0; n < d.n; ++n)
    for (std::size_t k = 0; k < d.k; ++k)
      for (std::size_t oy = 0; oy < d.oh; ++oy)
        for (std::size_t ox = 0; ox < d.ow; ++ox) {
          const T g = dy[((n * d.k + k) * d.oh + oy) * d.ow + ox];
          for (std::size_t c = 0; c < cg; ++c)
            for (std::size_t ky = 0; ky < d.kh; ++ky) {
              const std::ptrdiff_t iy = conv_tap(d, oy, ky, d.h);
              if (iy < 0) continue;
              for (std::size_t kx = 0; kx < d.kw; ++kx) {
                const std::ptrdiff_t ix = conv_tap(d, ox, kx, d.w);
                if (ix < 0) continue;
                dx[((n * d.c + k / kg * cg + c) * d.h + std::size_t(iy)) * d.w + std::size_t(ix)] +=
                    g * wt[((k * cg + c) * d.kh + ky) * d.kw + kx];
              }
            }
        }
}

// dw [k, c/groups, kh, kw] += sum over n, oy, ox of dy * x;  db [k] += sum of dy (db may be null)
template <class T>
void conv2d_backward_weights_reference(const conv_dims& d, const T* x, const T* dy, T* dw, T* db) {
  const std::size_t cg = d.group_c(), kg = d.group_k();
  for (std::size_t k = 0; k < d.k; ++k) {
    if (db) {
      T s = T(0);
      for (std::size_t n = 0; n < d.n; ++n)
        for (std::size_t i = 0; i < d.oh * d.ow; ++i) s += dy[(n * d.k + k) * d.oh * d.ow + i];
      db[k] += s;
    }
    for (std::size_t c = 0; c < cg; ++c)
      for (std::size_t ky = 0; ky < d.kh; ++ky)
        for (std::size_t kx = 0; kx < d.kw; ++kx) {
          T s = T(0);
          for (std::size_t n = 0; n < d.n; ++n)
            for (std::size_t oy = 0; oy < d.oh; ++oy) {
              const std::ptrdiff_t iy = conv_tap(d, oy, ky, d.h);
              if (iy < 0) continue;
              for (std::size_t ox = 0; ox < d.ow; ++ox) {
                const std::ptrdiff_t ix = conv_tap(d, ox, kx, d.w);
                if (ix < 0) continue;
                s += dy[((n * d.k + k) * d.oh + oy) * d.ow + ox] *
                     x[((n * d.c + k / kg * cg + c) * d.h + std::size_t(iy)) * d.w + std::size_t(ix)];
              }
            }
          dw[((k * cg + c) * d.kh + ky) * d.kw + kx] += s;
        }
  }
}

// Fully connected: x [n, in], weight [out, in], bias [out], y [n, out] = x W^T + b
struct linear_dims {
  std::size_t n, in, out;
  double macs() const { return double(n) * in * out; }
};

template <class T>
void linear_forward_reference(const linear_dims& d, const T* x, const T* wt, const T* bias, T* y) {
  for (std::size_t n = 0; n < d.n; ++n)
    for (std::size_t o = 0; o < d.out; ++o) {
      T acc = bias ? bias[o] : T(0);
      for (std::size_t i = 0; i < d.in; ++i) acc += x[n * d.in + i] * wt[o * d.in + i];
      y[n * d.out + o] = acc;
    }
}

// dx [n, in] = dy [n, out] W  (assigns)
template <class T>
void linear_backward_data_reference(const linear_dims& d, const T* dy, const T* wt, T* dx) {
  for (std::size_t n = 0; n < d.n; ++n)
    for (std::size_t i = 0; i < d.in; ++i) {
      T acc = T(0);
      for (std::size_t o = 0; o < d.out; ++o) acc += dy[n * d.out + o] * wt[o * d.in + i];
      dx[n * d.in + i] = acc;
    }
}

// dw [out, in] += dy^T x;  db [out] += column sums of dy (db may be null)
template <class T>
void linear_backward_weights_reference(const linear_dims& d, const T* x, const T* dy, T* dw, T* db) {
  for (std::size_t o = 0; o < d.out; ++o) {
    if (db) {
      T s = T(0);
      for (std::size_t n = 0; n < d.n; ++n) s += dy[n * d.out + o];
      db[o] += s;
    }
    for (std::size_t i = 0; i < d.in; ++i) {
      T s = T(0);
      for (std::size_t n = 0; n < d.n; ++n) s += dy[n * d.out + o] * x[n * d.in + i];
      dw[o * d.in + i] += s;
    }
  }
}

// C [m, n] = alpha * op(A) op(B) + beta * C, row-major; op(A) is [m, k], op(B) is [k, n].
// lda/ldb/ldc are row strides of A, B, C as stored. beta == 0 ignores C's old contents.
template <class T>
void gemm_reference(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
                    const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
                    std::size_t ldc) {
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      T acc = T(0);
      for (std::size_t p = 0; p < k; ++p)
        acc += (trans_a ? a[p * lda + i] : a[i * lda + p]) * (trans_b ? b[j * ldb + p] : b[p * ldb + j]);
      c[i * ldc + j] = alpha * acc + (beta == T(0) ? T(0) : beta * c[i * ldc + j]);
    }
}

}  // namespace detail
HOUSENET_END_NAMESPACE

// Tests of housenet/detail/kernels.hpp (and im2col.hpp): every fast conv/linear kernel against
// its _reference on odd shapes, in float and double, on every SIMD path, 1 and 2 threads.
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/detail/im2col.hpp>
#include <housenet/detail/kernels.hpp>
#include <housenet/detail/reference.hpp>
#include <housenet/parallel.hpp>
#include <housenet/random.hpp>
#include <housenet/simd.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

using namespace housenet;
using housenet::detail::conv_dims;
using housenet::detail::linear_dims;

namespace {

using housenet_test::random_vec;

// |got - want| <= tol * (reduction length + 2) elementwise; counts failures
template <class T>
std::size_t mismatches(const std::vector<T>& got, const std::vector<T>& want, std::size_t len) {
  const double eps = sizeof(T) == 4 ? 1.2e-7 : 2.3e-16;
  const double tol = 8.0 * eps * double(len + 2);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double e = std::fabs(double(got[i]) - double(want[i]));
    if (!(e <= tol * (1.0 + std::fabs(double(want[i]))))) ++bad;
  }
  return bad;
}

template <class T>
void check_conv(const conv_dims& d, bool with_bias) {
  CAPTURE(d.n);
  CAPTURE(d.c);
  CAPTURE(d.h);
  CAPTURE(d.w);
  CAPTURE(d.k);
  CAPTURE(d.kh);
  CAPTURE(d.kw);
  CAPTURE(d.stride);
  CAPTURE(d.pad);
  const std::size_t xs = d.n * d.c * d.h * d.w, ws = d.k * d.c * d.kh * d.kw, ys = d.n * d.k * d.oh * d.ow;
  const auto x = random_vec<T>(xs, 1 + xs);
  const auto w = random_vec<T>(ws, 2 + ws);
  const auto b = random_vec<T>(d.k, 3);
  const auto dy = random_vec<T>(ys, 4 + ys);
  const T* bias = with_bias ? b.data() : nullptr;

  // forward assigns: y starts as garbage (NaN)
  std::vector<T> y(ys, T(NAN)), yr(ys);
  detail::conv2d_forward(d, x.data(), w.data(), bias, y.data());
  detail::conv2d_forward_reference(d, x.data(), w.data(), bias, yr.data());
  CHECK(mismatches(y, yr, d.c * d.kh * d.kw) == 0);

  // backward data assigns
  std::vector<T> dx(xs, T(NAN)), dxr(xs);
  detail::conv2d_backward_data(d, dy.data(), w.data(), dx.data());
  detail::conv2d_backward_data_reference(d, dy.data(), w.data(), dxr.data());
  CHECK(mismatches(dx, dxr, d.k * d.kh * d.kw) == 0);

  // backward weights accumulates onto a non-zero dw / db
  auto dw = random_vec<T>(ws, 5), dwr = dw;
  auto db = random_vec<T>(d.k, 6), dbr = db;
  detail::conv2d_backward_weights(d, x.data(), dy.data(), dw.data(), with_bias ? db.data() : nullptr);
  detail::conv2d_backward_weights_reference(d, x.data(), dy.data(), dwr.data(),
                                            with_bias ? dbr.data() : nullptr);
  CHECK(mismatches(dw, dwr, d.n * d.oh * d.ow) == 0);
  CHECK(mismatches(db, dbr, d.n * d.oh * d.ow) == 0);
}

template <class T>
void check_linear(const linear_dims& d, bool with_bias) {
  CAPTURE(d.n);
  CAPTURE(d.in);
  CAPTURE(d.out);
  const auto x = random_vec<T>(d.n * d.in, 11);
  const auto w = random_vec<T>(d.out * d.in, 12);
  const auto b = random_vec<T>(d.out, 13);
  const auto dy = random_vec<T>(d.n * d.out, 14);
  const T* bias = with_bias ? b.data() : nullptr;
  std::vector<T> y(d.n * d.out, T(NAN)), yr(d.n * d.out);
  detail::linear_forward(d, x.data(), w.data(), bias, y.data());
  detail::linear_forward_reference(d, x.data(), w.data(), bias, yr.data());
  CHECK(mismatches(y, yr, d.in) == 0);
  std::vector<T> dx(d.n * d.in, T(NAN)), dxr(d.n * d.in);
  detail::linear_backward_data(d, dy.data(), w.data(), dx.data());
  detail::linear_backward_data_reference(d, dy.data(), w.data(), dxr.data());
  CHECK(mismatches(dx, dxr, d.out) == 0);
  auto dw = random_vec<T>(d.out * d.in, 15), dwr = dw;
  auto db = random_vec<T>(d.out, 16), dbr = db;
  detail::linear_backward_weights(d, x.data(), dy.data(), dw.data(), with_bias ? db.data() : nullptr);
  detail::linear_backward_weights_reference(d, x.data(), dy.data(), dwr.data(),
                                            with_bias ? dbr.data() : nullptr);
  CHECK(mismatches(dw, dwr, d.n) == 0);
  CHECK(mismatches(db, dbr, d.n) == 0);
}

// n, c, h, w, k, kh, kw, stride, pad
const conv_dims conv_cases[] = {
    conv_dims::make(2, 3, 7, 5, 4, 3, 3, 2, 1),    // the gradient-check shape
    conv_dims::make(1, 1, 9, 9, 1, 3, 3, 1, 0),    // C=1, K=1, N=1
    conv_dims::make(3, 5, 6, 7, 7, 1, 1, 1, 0),    // 1x1 pointwise
    conv_dims::make(3, 4, 8, 8, 6, 1, 1, 2, 1),    // 1x1 strided, padded
    conv_dims::make(2, 3, 11, 13, 5, 5, 3, 1, 2),  // rectangular kernel, wide padding
    conv_dims::make(3, 2, 4, 4, 3, 3, 3, 1, 1),    // tiny maps: several images per GEMM
    conv_dims::make(1, 2, 3, 3, 2, 3, 3, 3, 0),    // 1x1 output
    conv_dims::make(5, 17, 10, 10, 13, 3, 3, 1, 0),  // conv5-like, odd channels
    conv_dims::make(2, 3, 20, 20, 17, 7, 7, 1, 0),   // conv1-like
    conv_dims::make(1, 17, 32, 32, 13, 3, 3, 1, 0),  // large packed B: the other GEMM loop order
    conv_dims::make(3, 3, 9, 40, 7, 3, 3, 1, 0),     // 38-wide rows, 7 output channels, 27 taps
    conv_dims::make(2, 3, 30, 30, 9, 7, 7, 1, 0),    // conv1-like with 24-wide rows
    conv_dims::make(5, 2, 5, 6, 3, 3, 3, 1, 0),      // unpadded tiny maps: panels across images
    // + dilation, groups
    conv_dims::make(2, 3, 11, 9, 4, 3, 3, 1, 2, 2),       // dilation 2
    conv_dims::make(2, 3, 13, 11, 5, 3, 3, 1, 0, 2),      // dilation 2 without padding
    conv_dims::make(2, 3, 12, 10, 5, 3, 2, 2, 3, 3),      // dilation 3, stride 2, rectangular kernel
    conv_dims::make(3, 2, 4, 4, 3, 2, 2, 1, 1, 2),        // dilation on tiny maps: several images per GEMM
    conv_dims::make(2, 6, 9, 7, 9, 3, 3, 2, 1, 2, 3),     // 3 groups of 2 -> 3, dilation 2
    conv_dims::make(1, 6, 7, 7, 6, 1, 1, 1, 0, 1, 2),     // grouped pointwise
    conv_dims::make(3, 8, 10, 9, 8, 3, 3, 1, 1, 1, 8),    // depthwise
    conv_dims::make(2, 5, 11, 12, 10, 3, 3, 2, 1, 1, 5),  // depthwise, 2 outputs per channel, stride 2
    conv_dims::make(2, 4, 9, 9, 4, 5, 5, 1, 4, 2, 4),     // depthwise 5x5, dilation 2
    conv_dims::make(2, 4, 6, 21, 4, 3, 3, 1, 1, 1, 4),    // depthwise, 21-wide rows (vector body + tail)
    conv_dims::make(2, 3, 5, 5, 3, 3, 3, 3, 2, 1, 3),     // depthwise, stride 3 past the padding
};

const linear_dims linear_cases[] = {
    {1, 1, 1}, {1, 129, 17}, {2, 17, 7}, {3, 7, 129}, {4, 70, 33}, {5, 129, 130}, {7, 1, 5}, {33, 40, 3},
};


}  // namespace

TEST_CASE("kernels: conv2d float vs reference, every ISA, 1 and 2 threads") {
  const housenet_test::settings_guard restore;
  for (isa path : {isa::scalar, isa::avx2, isa::avx512}) {
    if (!isa_supported(path)) continue;
    set_isa(path);
    CAPTURE(isa_name(path));
    for (int t : {1, 2}) {
      set_num_threads(t);
      CAPTURE(t);
      for (const auto& d : conv_cases) check_conv<float>(d, true);
    }
  }
  check_conv<float>(conv_cases[0], false);
}

TEST_CASE("kernels: conv2d double vs reference") {
  const housenet_test::settings_guard restore;
  for (int t : {1, 2}) {
    set_num_threads(t);
    for (const auto& d : conv_cases) check_conv<double>(d, true);
  }
  check_conv<double>(conv_cases[3], false);
}

TEST_CASE("kernels: linear float and double vs reference") {
  const housenet_test::settings_guard restore;
  for (isa path : {isa::scalar, isa::avx2, isa::avx512}) {
    if (!isa_supported(path)) continue;
    set_isa(path);
    CAPTURE(isa_name(path));
    for (int t : {1, 2}) {
      set_num_threads(t);
      for (const auto& d : linear_cases) check_linear<float>(d, true);
    }
  }
  for (const auto& d : linear_cases) {
    check_linear<double>(d, true);
    check_linear<double>(d, false);
  }
}

TEST_CASE("kernels: deterministic for a given thread count") {
  const housenet_test::settings_guard restore;
  const conv_dims d = conv_dims::make(6, 5, 9, 9, 7, 3, 3, 1, 1);
  const std::size_t xs = d.n * d.c * d.h * d.w, ws = d.k * d.c * 9, ys = d.n * d.k * d.oh * d.ow;
  const auto x = random_vec<float>(xs, 21);
  const auto dy = random_vec<float>(ys, 22);
  auto run = [&] {
    std::vector<float> dw(ws, 0.5f), db(d.k, 0.25f);
    detail::conv2d_backward_weights(d, x.data(), dy.data(), dw.data(), db.data());
    dw.insert(dw.end(), db.begin(), db.end());
    return dw;
  };
  set_num_threads(2);
  const auto a = run(), b = run();
  CHECK(a == b);
  set_num_threads(1);
  const auto c = run(), e = run();
  CHECK(c == e);
  CHECK(mismatches(a, c, d.n * d.oh * d.ow) == 0);
}

TEST_CASE("grouped convolutions: group g has the bits of the convolution of its channels alone") {
  const housenet_test::settings_guard restore;
  // 2 groups of 64 -> 64 at 3x3 stride 1: a group is Winograd's when forced, im2col + GEMM otherwise
  for (conv_algorithm a : {conv_algorithm::automatic, conv_algorithm::winograd}) {
    set_conv_algorithm(a);
    for (const conv_dims& d : {conv_dims::make(2, 128, 6, 7, 128, 3, 3, 1, 1, 1, 2),
                               conv_dims::make(3, 6, 9, 7, 9, 3, 3, 2, 1, 2, 3)}) {
      CAPTURE(d.groups);
      const conv_dims g = detail::conv_groups<float>::group_dims(d);
      const std::size_t hw = d.h * d.w, ohw = d.oh * d.ow, wg = g.k * g.c * 9;
      const auto x = random_vec<float>(d.n * d.c * hw, 51), w = random_vec<float>(d.k * g.c * 9, 52);
      const auto b = random_vec<float>(d.k, 53), dy = random_vec<float>(d.n * d.k * ohw, 54);
      std::vector<float> y(d.n * d.k * ohw), dx(d.n * d.c * hw), dw(w.size(), 0.0f), db(d.k, 0.0f);
      detail::conv2d_forward(d, x.data(), w.data(), b.data(), y.data());
      detail::conv2d_backward_data(d, dy.data(), w.data(), dx.data());
      detail::conv2d_backward_weights(d, x.data(), dy.data(), dw.data(), db.data());
      bool same = true;
      for (std::size_t gi = 0; gi < d.groups; ++gi) {
        std::vector<float> xg(d.n * g.c * hw), dyg(d.n * g.k * ohw), yg(dyg.size()), dxg(xg.size());
        std::vector<float> dwg(wg, 0.0f), dbg(g.k, 0.0f);
        detail::copy_channels(d.n, hw, g.c, x.data(), d.c, gi * g.c, xg.data(), g.c, 0);
        detail::copy_channels(d.n, ohw, g.k, dy.data(), d.k, gi * g.k, dyg.data(), g.k, 0);
        detail::conv2d_forward(g, xg.data(), w.data() + gi * wg, b.data() + gi * g.k, yg.data());
        detail::conv2d_backward_data(g, dyg.data(), w.data() + gi * wg, dxg.data());
        detail::conv2d_backward_weights(g, xg.data(), dyg.data(), dwg.data(), dbg.data());
        for (std::size_t n = 0; n < d.n; ++n) {
          for (std::size_t i = 0; i < g.k * ohw; ++i)
            same = same && y[(n * d.k + gi * g.k) * ohw + i] == yg[n * g.k * ohw + i];
          for (std::size_t i = 0; i < g.c * hw; ++i)
            same = same && dx[(n * d.c + gi * g.c) * hw + i] == dxg[n * g.c * hw + i];
        }
        for (std::size_t i = 0; i < wg; ++i) same = same && dw[gi * wg + i] == dwg[i];
        for (std::size_t i = 0; i < g.k; ++i) same = same && db[gi * g.k + i] == dbg[i];
      }
      CHECK(same);
    }
  }
}

TEST_CASE("depthwise convolution: the same bits for 1 and 2 threads") {
  const housenet_test::settings_guard restore;
  const conv_dims d = conv_dims::make(5, 6, 9, 11, 12, 3, 3, 1, 1, 1, 6);
  const std::size_t xs = d.n * d.c * d.h * d.w, ys = d.n * d.k * d.oh * d.ow;
  const auto x = random_vec<float>(xs, 61), w = random_vec<float>(d.k * 9, 62), dy = random_vec<float>(ys, 63);
  auto run = [&] {
    std::vector<float> y(ys), dx(xs), dw(d.k * 9, 0.5f), db(d.k, 0.25f);
    detail::conv2d_forward(d, x.data(), w.data(), db.data(), y.data());
    detail::conv2d_backward_data(d, dy.data(), w.data(), dx.data());
    detail::conv2d_backward_weights(d, x.data(), dy.data(), dw.data(), db.data());
    y.insert(y.end(), dx.begin(), dx.end());
    y.insert(y.end(), dw.begin(), dw.end());
    y.insert(y.end(), db.begin(), db.end());
    return y;
  };
  set_num_threads(1);
  const auto a = run();
  set_num_threads(2);
  CHECK(a == run());
}

TEST_CASE("im2col / col2im are adjoint") {
  // <im2col(x), c> == <x, col2im(c)> for random x, c
  for (const conv_dims& d : {conv_dims::make(1, 3, 7, 6, 1, 3, 2, 2, 1), conv_dims::make(1, 2, 9, 8, 1, 3, 3, 2, 2, 2)}) {
    const std::size_t rows = d.c * d.kh * d.kw, cols = d.oh * d.ow, xs = d.c * d.h * d.w;
    const auto x = random_vec<double>(xs, 31);
    const auto c = random_vec<double>(rows * cols, 32);
    std::vector<double> col(rows * cols), back(xs, 0.0);
    detail::im2col(d, x.data(), col.data(), cols);
    detail::col2im(d, c.data(), cols, back.data());
    double lhs = 0, rhs = 0;
    for (std::size_t i = 0; i < col.size(); ++i) lhs += col[i] * c[i];
    for (std::size_t i = 0; i < xs; ++i) rhs += x[i] * back[i];
    CHECK(lhs == doctest::Approx(rhs).epsilon(1e-12));
  }
}

TEST_CASE("im2col_pack: every packed panel equals the stored col matrix") {
  // several images side by side, panels crossing output rows and images, stride, padding
  for (const conv_dims& d : {conv_dims::make(3, 2, 7, 6, 1, 3, 2, 2, 1), conv_dims::make(2, 3, 9, 5, 1, 3, 3, 1, 0),
                             conv_dims::make(4, 1, 3, 3, 1, 3, 3, 1, 1), conv_dims::make(2, 2, 20, 20, 1, 7, 7, 1, 0),
                             conv_dims::make(3, 2, 9, 8, 1, 3, 3, 1, 2, 2)}) {
    const std::size_t rows = d.c * d.kh * d.kw, ohw = d.oh * d.ow, n0 = 1, g = d.n - 1, cols = g * ohw;
    const auto x = random_vec<float>(d.n * d.c * d.h * d.w, 41);
    std::vector<float> col(rows * cols);
    for (std::size_t i = 0; i < g; ++i)
      detail::im2col(d, x.data() + (n0 + i) * d.c * d.h * d.w, col.data() + i * ohw, cols);
    const detail::im2col_source<float> src{&d, x.data(), n0};
    for (std::size_t nr : {std::size_t(8), std::size_t(32)})
      for (std::size_t p0 : {std::size_t(0), rows / 3})
        for (std::size_t j0 = 0; j0 < cols; j0 += nr) {
          const std::size_t kc = rows - p0, width = std::min(nr, cols - j0);
          std::vector<float> panel(kc * nr, -1.0f);
          detail::im2col_pack<float>(&src, p0, kc, j0, width, nr, panel.data());
          bool same = true;
          for (std::size_t p = 0; p < kc; ++p)
            for (std::size_t j = 0; j < nr; ++j)
              same = same && panel[p * nr + j] == (j < width ? col[(p0 + p) * cols + j0 + j] : 0.0f);
          CAPTURE(d.h);
          CAPTURE(nr);
          CAPTURE(j0);
          CHECK(same);
        }
  }
}

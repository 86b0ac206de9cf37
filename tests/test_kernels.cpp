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

TEST_CASE("im2col / col2im are adjoint") {
  // <im2col(x), c> == <x, col2im(c)> for random x, c
  const conv_dims d = conv_dims::make(1, 3, 7, 6, 1, 3, 2, 2, 1);
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

TEST_CASE("im2col_pack: every packed panel equals the stored col matrix") {
  // several images side by side, panels crossing output rows and images, stride, padding
  for (const conv_dims& d : {conv_dims::make(3, 2, 7, 6, 1, 3, 2, 2, 1), conv_dims::make(2, 3, 9, 5, 1, 3, 3, 1, 0),
                             conv_dims::make(4, 1, 3, 3, 1, 3, 3, 1, 1), conv_dims::make(2, 2, 20, 20, 1, 7, 7, 1, 0)}) {
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

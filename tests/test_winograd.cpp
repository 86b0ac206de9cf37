// Tests of housenet/detail/winograd.hpp: the Toom-Cook matrices against direct correlation, the
// three Winograd convolution kernels against the plain reference on odd shapes (double: to
// rounding; float: within the Winograd error bound, on every SIMD path), thread-count
// independence, the layer's gradients through Winograd (check_layer, double), and the policy.
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/detail/kernels.hpp>
#include <housenet/detail/reference.hpp>
#include <housenet/detail/winograd.hpp>
#include <housenet/layers.hpp>
#include <housenet/parallel.hpp>
#include <housenet/random.hpp>
#include <housenet/simd.hpp>
#include <housenet/testing.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

using namespace housenet;
using housenet::detail::conv_dims;

namespace {

using housenet_test::random_vec;

// max |got - want| / (max |want| + tiny)
template <class T>
double rel_error(const std::vector<T>& got, const std::vector<T>& want) {
  double err = 0, scale = 1e-30;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double e = std::fabs(double(got[i]) - double(want[i]));
    err = std::isnan(e) ? 1e30 : std::max(err, e);
    scale = std::max(scale, std::fabs(double(want[i])));
  }
  return err / scale;
}

// Winograd (forced) vs the reference for forward, backward data and backward weights; returns the
// worst relative error of the three.
template <class T>
double winograd_vs_reference(const conv_dims& d) {
  const std::size_t xs = d.n * d.c * d.h * d.w, ws = d.k * d.c * d.kh * d.kw, ys = d.n * d.k * d.oh * d.ow;
  const auto x = random_vec<T>(xs, 1 + xs), w = random_vec<T>(ws, 2 + ws), b = random_vec<T>(d.k, 3);
  const auto dy = random_vec<T>(ys, 4 + ys);
  set_conv_algorithm(conv_algorithm::winograd);
  REQUIRE(detail::conv_use_winograd(d));
  std::vector<T> y(ys, T(NAN)), yr(ys), dx(xs, T(NAN)), dxr(xs);
  detail::conv2d_forward(d, x.data(), w.data(), b.data(), y.data());
  detail::conv2d_forward_reference(d, x.data(), w.data(), b.data(), yr.data());
  detail::conv2d_backward_data(d, dy.data(), w.data(), dx.data());
  detail::conv2d_backward_data_reference(d, dy.data(), w.data(), dxr.data());
  auto dw = random_vec<T>(ws, 5), dwr = dw, db = random_vec<T>(d.k, 6), dbr = db;
  detail::conv2d_backward_weights(d, x.data(), dy.data(), dw.data(), db.data());
  detail::conv2d_backward_weights_reference(d, x.data(), dy.data(), dwr.data(), dbr.data());
  const double e = std::max({rel_error(y, yr), rel_error(dx, dxr), rel_error(dw, dwr), rel_error(db, dbr)});
  MESSAGE("n", d.n, " c", d.c, " ", d.h, "x", d.w, " k", d.k, " r", d.kh, " pad", d.pad, ": rel err ", e);
  return e;
}

// n, c, h, w, k, r, r, stride 1, pad: odd sizes, every kernel size, partial edge tiles, padding
// up to r - 1, several chunks (the 20-image case has 320 tiles)
const conv_dims odd_cases[] = {
    conv_dims::make(2, 3, 7, 9, 5, 3, 3, 1, 0),     conv_dims::make(1, 1, 3, 3, 1, 3, 3, 1, 0),
    conv_dims::make(3, 5, 11, 6, 7, 3, 3, 1, 1),    conv_dims::make(2, 17, 13, 13, 3, 5, 5, 1, 0),
    conv_dims::make(1, 4, 5, 5, 2, 5, 5, 1, 4),     conv_dims::make(2, 3, 9, 10, 4, 2, 2, 1, 1),
    conv_dims::make(1, 2, 12, 7, 3, 4, 4, 1, 2),    conv_dims::make(2, 3, 14, 9, 2, 6, 6, 1, 0),
    conv_dims::make(1, 2, 15, 15, 3, 7, 7, 1, 3),   conv_dims::make(20, 2, 18, 18, 3, 3, 3, 1, 0),
    conv_dims::make(3, 33, 32, 32, 17, 5, 5, 1, 0),  // conv3-like, odd channel counts
};

}  // namespace

TEST_CASE("simd: lanes_gather and lanes_scatter move 16 tiles exactly, on every path") {
  const housenet_test::settings_guard restore;
  // 16 tiles of rows x cols at scattered places with their own row strides (one stride 0)
  const std::vector<float> src = random_vec<float>(4096, 11);
  for (isa i : {isa::scalar, isa::avx2, isa::avx512}) {
    if (!isa_supported(i)) continue;
    set_isa(i);
    for (int rows = 1; rows <= 8; ++rows)
      for (int cols : {1, 3, 5, 8, 13, 16}) {
        CAPTURE(isa_name(i));
        CAPTURE(rows);
        CAPTURE(cols);
        const float* from[16];
        std::size_t ld[16];
        for (std::size_t l = 0; l < 16; ++l) {
          ld[l] = l == 5 ? 0 : 17 + 3 * l;
          from[l] = src.data() + 37 * l;
        }
        std::vector<float> lanes(std::size_t(rows * cols) * 16, -1.0f);
        detail::lanes_gather(from, ld, rows, cols, lanes.data());
        bool same = true;
        for (int r = 0; r < rows; ++r)
          for (int c = 0; c < cols; ++c)
            for (std::size_t l = 0; l < 16; ++l)
              same = same && lanes[std::size_t(r * cols + c) * 16 + l] == from[l][std::size_t(r) * ld[l] + std::size_t(c)];
        CHECK(same);
        // back out, + 0.5, into 13 lanes of a zero buffer: the other lanes and the gaps stay 0
        std::vector<float> out(4096, 0.0f);
        float* to[16];
        for (std::size_t l = 0; l < 16; ++l) to[l] = out.data() + 200 * l, ld[l] = 19;
        detail::lanes_scatter(lanes.data(), rows, cols, 0.5f, to, ld, 13);
        std::vector<float> want(4096, 0.0f);
        for (std::size_t l = 0; l < 13; ++l)
          for (int r = 0; r < rows; ++r)
            for (int c = 0; c < cols; ++c)
              want[200 * l + std::size_t(r) * 19 + std::size_t(c)] = lanes[std::size_t(r * cols + c) * 16 + l] + 0.5f;
        CHECK(out == want);
      }
  }
}

TEST_CASE("winograd: the F(m, r) matrices compute correlation exactly (double)") {
  for (int m = 2; m <= 7; ++m)
    for (int r = 2; m + r - 1 <= 8; ++r) {
      CAPTURE(m);
      CAPTURE(r);
      const auto wm = detail::make_wino_matrices(m, r);
      const int n = wm.n;
      const auto d = random_vec<double>(std::size_t(n), std::uint64_t(10 * m + r));
      const auto g = random_vec<double>(std::size_t(r), std::uint64_t(100 + 10 * m + r));
      std::vector<double> prod(static_cast<std::size_t>(n));
      for (int j = 0; j < n; ++j) {
        double gg = 0, dd = 0;
        for (int k = 0; k < r; ++k) gg += wm.g[j * 8 + k] * g[std::size_t(k)];
        for (int i = 0; i < n; ++i) dd += wm.bt[j * 8 + i] * d[std::size_t(i)];
        prod[std::size_t(j)] = gg * dd;
      }
      for (int i = 0; i < m; ++i) {
        double y = 0, want = 0;
        for (int j = 0; j < n; ++j) y += wm.at[i * 8 + j] * prod[std::size_t(j)];
        for (int k = 0; k < r; ++k) want += g[std::size_t(k)] * d[std::size_t(i + k)];
        CHECK(std::fabs(y - want) <= 1e-11);
      }
    }
  CHECK_THROWS_AS(detail::make_wino_matrices(5, 5), error);  // n = 9 > 8
  CHECK_THROWS_AS(detail::make_wino_matrices(1, 3), error);
}

TEST_CASE("winograd: forward, backward data and backward weights equal the reference (double)") {
  const housenet_test::settings_guard restore;
  for (const auto& d : odd_cases) CHECK(winograd_vs_reference<double>(d) <= 1e-11);
}

TEST_CASE("winograd: float on every SIMD path, within the Winograd error bound") {
  const housenet_test::settings_guard restore;
  for (isa i : {isa::scalar, isa::avx2, isa::avx512}) {
    if (!isa_supported(i)) continue;
    set_isa(i);
    CAPTURE(isa_name(i));
    for (const auto& d : odd_cases) {
      // the larger the tile (more points, some of them +-1/2), the more rounding
      const int nn = detail::wino_pick_m(d.kh, d.oh, d.ow) + int(d.kh) - 1;
      const double bound = nn >= 8 ? 1e-4 : nn >= 6 ? 3e-5 : 2e-5;
      CAPTURE(nn);
      CHECK(winograd_vs_reference<float>(d) <= bound);
    }
  }
}

TEST_CASE("winograd: results do not depend on the thread count") {
  const housenet_test::settings_guard restore;
  set_conv_algorithm(conv_algorithm::winograd);
  const conv_dims d = conv_dims::make(7, 19, 20, 20, 21, 5, 5, 1, 1);
  const std::size_t xs = d.n * d.c * d.h * d.w, ws = d.k * d.c * d.kh * d.kw, ys = d.n * d.k * d.oh * d.ow;
  const auto x = random_vec<float>(xs, 1), w = random_vec<float>(ws, 2), dy = random_vec<float>(ys, 3);
  std::vector<float> y[2], dx[2], dw[2];
  for (int t = 0; t < 2; ++t) {
    set_num_threads(t + 1);
    y[t].assign(ys, 0.f);
    dx[t].assign(xs, 0.f);
    dw[t].assign(ws, 0.f);
    detail::conv2d_forward(d, x.data(), w.data(), static_cast<const float*>(nullptr), y[t].data());
    detail::conv2d_backward_data(d, dy.data(), w.data(), dx[t].data());
    detail::conv2d_backward_weights(d, x.data(), dy.data(), dw[t].data(), static_cast<float*>(nullptr));
  }
  CHECK(y[0] == y[1]);
  CHECK(dx[0] == dx[1]);
  CHECK(dw[0] == dw[1]);
}

TEST_CASE("winograd: conv2d's gradients through Winograd (check_layer, double)") {
  const housenet_test::settings_guard restore;
  set_conv_algorithm(conv_algorithm::winograd);
  struct layer_case {
    std::size_t k, r, pad;
    shape in;
  };
  for (const layer_case& c : {layer_case{4, 3, 1, shape{2, 3, 7, 5}}, layer_case{3, 5, 0, shape{2, 2, 9, 8}},
                              layer_case{2, 5, 2, shape{1, 3, 6, 7}}}) {
    conv2d<double> conv(c.k, c.r, 1, c.pad);
    const auto r = testing::check_layer(conv, c.in, 11);
    INFO(r.message, " max abs err ", r.max_abs_error);
    CHECK(r.ok);
    CHECK(r.checked > 0);
  }
}

TEST_CASE("winograd: eval forwards reuse conv2d's transformed weights while they stay the same bits") {
  const housenet_test::settings_guard restore;
  set_conv_algorithm(conv_algorithm::winograd);
  conv2d<float> conv(6, 5, 1, 1);
  const shape in{2, 4, 9, 11};
  conv.setup(in);
  testing::param_store<float> ps;
  ps.bind(conv);
  prng rng(3);
  conv.init(rng);
  tensor<float> x(in);
  for (auto& v : x) v = float(rng.uniform(-1, 1));
  const auto same = [](const tensor<float>& a, const tensor<float>& b) {
    return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin());
  };
  tensor<float> train_y, y1, y2, y3, y4;
  conv.forward(x, train_y, context{mode::train, 0});  // transforms the weights itself
  conv.infer(x, y1);                                  // transforms them and keeps them
  conv.infer(x, y2);                                  // reuses them
  CHECK(same(y1, train_y));
  CHECK(same(y2, train_y));
  ps.value(0)[7] += 0.25f;  // a changed weight: the kept transform is stale and must not be used
  conv.forward(x, y3, context{mode::eval, 0});
  conv.forward(x, train_y, context{mode::train, 0});
  CHECK(same(y3, train_y));
  CHECK_FALSE(same(y3, y1));
  ps.value(0)[7] -= 0.25f;
  conv.infer(x, y4);
  conv.forward(x, train_y, context{mode::train, 0});
  CHECK(same(y4, train_y));
}

TEST_CASE("winograd: the automatic policy takes wide stride-1 layers only") {
  const housenet_test::settings_guard restore;
  set_conv_algorithm(conv_algorithm::automatic);
  // the blog network's conv3 (128 -> 256, 5x5) and conv5 (256 -> 384, 3x3): Winograd
  CHECK(detail::conv_use_winograd(conv_dims::make(32, 128, 32, 32, 256, 5, 5, 1, 0)));
  CHECK(detail::conv_use_winograd(conv_dims::make(32, 256, 10, 10, 384, 3, 3, 1, 0)));
  // conv1 (7x7 on 3 channels), the small network's layers, strided layers: direct
  CHECK_FALSE(detail::conv_use_winograd(conv_dims::make(32, 3, 100, 100, 128, 7, 7, 1, 0)));
  CHECK_FALSE(detail::conv_use_winograd(conv_dims::make(32, 32, 32, 32, 64, 5, 5, 1, 0)));
  CHECK_FALSE(detail::conv_use_winograd(conv_dims::make(32, 64, 10, 10, 96, 3, 3, 1, 0)));
  CHECK_FALSE(detail::conv_use_winograd(conv_dims::make(32, 128, 32, 32, 256, 5, 5, 2, 0)));
  // one image: conv3's 49 tiles pay for the weight transform, conv5's 4 do not
  CHECK(detail::conv_use_winograd(conv_dims::make(1, 128, 32, 32, 256, 5, 5, 1, 0)));
  CHECK_FALSE(detail::conv_use_winograd(conv_dims::make(1, 256, 10, 10, 384, 3, 3, 1, 0)));
  set_conv_algorithm(conv_algorithm::direct);
  CHECK_FALSE(detail::conv_use_winograd(conv_dims::make(32, 128, 32, 32, 256, 5, 5, 1, 0)));
  set_conv_algorithm(conv_algorithm::winograd);
  CHECK(detail::conv_use_winograd(conv_dims::make(1, 1, 5, 5, 1, 3, 3, 1, 2)));
  CHECK_FALSE(detail::conv_use_winograd(conv_dims::make(1, 1, 5, 5, 1, 3, 3, 1, 3)));  // pad >= r
  CHECK_FALSE(detail::conv_use_winograd(conv_dims::make(1, 1, 9, 9, 1, 9, 9, 1, 0)));  // n > 8
}

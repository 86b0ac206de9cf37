// Tests of every layer: gradients (check_layer, double, odd shapes, train and eval), one
// hand-computed forward per layer, shape errors, and config round trips through make_layer.
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/layers.hpp>
#include <housenet/loss.hpp>
#include <housenet/parallel.hpp>
#include <housenet/graph.hpp>
#include <housenet/sequential.hpp>
#include <housenet/testing.hpp>

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <vector>

// Counts every allocation of this test program, so that a test can assert that a layer's forward
// and backward allocate nothing after the first batch.
static std::atomic<long> g_allocations{0};
void* operator new(std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a) {
  ++g_allocations;
  const std::size_t al = static_cast<std::size_t>(a);
  if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}
// (GCC sees the replaced operator new inlined at call sites and warns about free(); it is correct
// here, since every operator new above returns malloc'ed memory.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

using namespace housenet;
using housenet::testing::check_layer;
using housenet::testing::check_options;
using housenet::testing::check_result;
using housenet::testing::param_store;
using housenet_test::error_of;
using housenet_test::set_values;
using housenet_test::starts_with;
using housenet_test::tensor_of;

namespace {

const shape odd_in{2, 3, 7, 5};

void require_ok(const check_result& r) {
  INFO(r.message);
  INFO("checked ", r.checked, ", max abs err ", r.max_abs_error, ", max rel err ", r.max_rel_error);
  CHECK(r.ok);
  CHECK(r.checked > 0);
  CHECK(r.message.empty());
}

// Every layer kind with its odd-shape configuration (the checker's cases).
std::vector<std::unique_ptr<layer<double>>> all_layers() {
  std::vector<std::unique_ptr<layer<double>>> v;
  v.push_back(std::make_unique<conv2d<double>>(4, 3, 2, 1));
  v.push_back(std::make_unique<conv2d<double>>(2, 2, 1, 0, false, init_kind::he));
  v.push_back(std::make_unique<batch_norm2d<double>>());
  v.push_back(std::make_unique<batch_norm2d<double>>(0.75, 1e-3));
  v.push_back(std::make_unique<max_pool2d<double>>(3, 2, 0, true));
  v.push_back(std::make_unique<max_pool2d<double>>(3, 2, 1, false));
  v.push_back(std::make_unique<max_pool2d<double>>(2, 2, 1, true));
  v.push_back(std::make_unique<relu<double>>());
  v.push_back(std::make_unique<dropout<double>>(0.5, 42));
  v.push_back(std::make_unique<dropout<double>>(0.0, 1));
  v.push_back(std::make_unique<linear<double>>(4));
  v.push_back(std::make_unique<linear<double>>(3, false, init_kind::he));
  v.push_back(std::make_unique<flatten<double>>());
  // issue 14's layers
  v.push_back(std::make_unique<leaky_relu<double>>(0.1));
  v.push_back(std::make_unique<leaky_relu<double>>(-0.75));
  v.push_back(std::make_unique<sigmoid<double>>());
  v.push_back(std::make_unique<tanh_layer<double>>());
  v.push_back(std::make_unique<avg_pool2d<double>>(3, 2, 1, true, true));
  v.push_back(std::make_unique<avg_pool2d<double>>(3, 2, 1, true, false));
  v.push_back(std::make_unique<avg_pool2d<double>>(2, 3, 1, true, false));  // k < s
  v.push_back(std::make_unique<avg_pool2d<double>>(2, 2));                   // floor: last row and column left out
  v.push_back(std::make_unique<global_avg_pool<double>>());
  v.push_back(std::make_unique<pad2d<double>>(0, 0, 1, 1));  // ONNX's pads 0,0,1,1: end only
  v.push_back(std::make_unique<pad2d<double>>(2, 1, 0, 3));
  v.push_back(std::make_unique<conv2d<double>>(4, 3, 1, 2, true, init_kind::lecun, 2));           // dilation 2
  v.push_back(std::make_unique<conv2d<double>>(6, 3, 2, 1, true, init_kind::lecun, 1, 3));        // depthwise, x2
  v.push_back(std::make_unique<conv2d<double>>(3, 3, 1, 1, false, init_kind::he, 2, 3));          // depthwise, dilated
  return v;
}

}  // namespace

// ---- gradients -----------------------------------------------------------------------------

TEST_CASE("check_layer: every layer, 2x3x7x5, train and eval") {
  for (auto& l : all_layers()) {
    std::string cfg;
    for (auto& kv : l->config()) cfg += kv.first + "=" + kv.second + " ";
    INFO(l->kind(), " ", cfg);
    require_ok(check_layer(*l, odd_in, 7));
  }
}

TEST_CASE("check_layer: rank-2 inputs (element-wise layers)") {
  leaky_relu<double> lr(0.2);
  require_ok(check_layer(lr, shape{3, 6}, 21));
  sigmoid<double> sg;
  require_ok(check_layer(sg, shape{3, 6}, 22));
  tanh_layer<double> th;
  require_ok(check_layer(th, shape{3, 6}, 23));
}

TEST_CASE("check_layer: conv2d with groups of several channels, dilation, stride") {
  conv2d<double> g2(4, 3, 1, 1, true, init_kind::lecun, 1, 2);  // 2 groups of 3 -> 2
  require_ok(check_layer(g2, shape{2, 6, 5, 4}, 31));
  conv2d<double> g3(9, 3, 2, 2, true, init_kind::lecun, 2, 3);  // 3 groups of 2 -> 3, dilation 2, stride 2
  require_ok(check_layer(g3, shape{2, 6, 7, 6}, 32));
  conv2d<double> dw(2, 5, 3, 2, true, init_kind::lecun, 1, 2);  // depthwise 5x5, stride 3
  require_ok(check_layer(dw, shape{1, 2, 8, 9}, 33));
  conv2d<double> d1(2, 2, 1, 0, true, init_kind::lecun, 3);  // dilation 3, no padding
  require_ok(check_layer(d1, shape{2, 2, 6, 5}, 34));
}

TEST_CASE("check_layer: rank-2 inputs (batch_norm2d, linear, relu, dropout)") {
  batch_norm2d<double> bn;
  require_ok(check_layer(bn, shape{5, 4}, 3));
  linear<double> fc(3);
  require_ok(check_layer(fc, shape{3, 6}, 4));
  relu<double> r;
  require_ok(check_layer(r, shape{3, 6}, 5));
  dropout<double> d(0.3, 9);
  require_ok(check_layer(d, shape{3, 6}, 6));
}

TEST_CASE("check_layer: conv2d and pooling at more odd shapes") {
  conv2d<double> c(3, 3, 3, 2);
  require_ok(check_layer(c, shape{1, 2, 8, 6}, 11));
  conv2d<double> c1(2, 1, 2, 1);  // 1x1 kernel with padding 1: the border outputs are the bias
  require_ok(check_layer(c1, shape{2, 2, 5, 4}, 14));
  max_pool2d<double> p(3, 3, 0, true);  // the blog network's pooling; 8 -> 3 with a partial window
  require_ok(check_layer(p, shape{2, 2, 8, 7}, 12));
  max_pool2d<double> q(2, 3, 1, true);  // k < s with padding (PyTorch's last-window rule)
  require_ok(check_layer(q, shape{1, 2, 9, 5}, 13));
  max_pool2d<double> f(2, 2);  // disjoint windows: tiling 6x4 exactly, and leaving 7x5's last row and column
  require_ok(check_layer(f, shape{2, 3, 6, 4}, 15));
  require_ok(check_layer(f, shape{2, 3, 7, 5}, 16));
}

TEST_CASE("check_layer catches broken layers") {
  // A layer whose backward assigns the parameter gradient instead of adding to it.
  struct bad_scale : layer<double> {
    bad_scale() : layer<double>("bad_scale") {}
    std::vector<param_spec> param_specs() const override { return {{"s", shape{1}, false, true}}; }
    shape do_setup(const shape& in) override { return in; }
    void do_infer(const tensor<double>& x, tensor<double>& y) const override {
      y.resize(x.shape());
      for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] * params()[0].value[0];
    }
    void do_backward(const tensor<double>& x, const tensor<double>&, const tensor<double>& dy,
                     tensor<double>& dx) override {
      dx.resize(x.shape());
      double s = 0;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (i != 1) dx[i] = dy[i] * params()[0].value[0];  // dx[1] never written
        s += dy[i] * x[i];
      }
      params()[0].grad[0] = s;  // assigns: wrong
    }
  } bad;
  const check_result r = check_layer<double>(bad, shape{2, 3}, 1);
  CHECK_FALSE(r.ok);
  CHECK(!r.message.empty());
  CHECK(r.max_abs_error > 1e-3);
}

// A layer with two inputs, through layer<T>'s several-input entry points and hooks (the base of
// add and concat): y = s * x1 + x2 * x2, elementwise, with one scalar parameter s.
struct scaled_sum : multi_input_layer<double> {
  bool forget_dx2 = false;  // a broken backward: never writes the second input's gradient
  scaled_sum() : multi_input_layer<double>("scaled_sum", 2, 2) {}
  std::vector<param_spec> param_specs() const override { return {{"s", shape{1}, false, true}}; }
  shape do_setup_many(const std::vector<shape>& in) override {
    HOUSENET_CHECK(in[0] == in[1], name(), ": inputs ", in[0].str(), " and ", in[1].str(), " differ");
    return in[0];
  }
  void do_init(prng&) override { params()[0].value[0] = 0.5; }
  void do_infer_many(layer_inputs<double> x, tensor<double>& y) const override {
    y.resize(x[0].shape());
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = params()[0].value[0] * x[0][i] + x[1][i] * x[1][i];
  }
  void do_backward_many(layer_inputs<double> x, const tensor<double>&, const tensor<double>& dy,
                        layer_input_grads<double> dx) override {
    dx[0].resize(x[0].shape());
    dx[1].resize(x[1].shape());
    double ds = 0;
    for (std::size_t i = 0; i < dy.size(); ++i) {
      dx[0][i] = params()[0].value[0] * dy[i];
      if (!forget_dx2) dx[1][i] = 2 * x[1][i] * dy[i];
      ds += dy[i] * x[0][i];
    }
    params()[0].grad[0] += ds;
  }
};

TEST_CASE("a layer with two inputs: check_layer over both, the base's checks name the input") {
  const shape s{2, 3, 4, 5};
  scaled_sum l;
  const check_result r = check_layer<double>(l, {s, s}, 3);
  require_ok(r);
  CHECK(r.checked == 2 * (2 * s.size() + 1));  // train and eval: both inputs and s
  scaled_sum broken;
  broken.forget_dx2 = true;
  const check_result b = check_layer<double>(broken, {s, s}, 3);
  CHECK_FALSE(b.ok);
  CHECK(b.message.find("dx#2[0] not written") != std::string::npos);

  scaled_sum m;
  CHECK(error_of([&] { m.setup(s); }) == "scaled_sum: 1 input, it takes 2");
  m.setup({s, s});
  param_store<double> ps;
  ps.bind(m);
  tensor<double> a(s, 1.0), wrong(shape{2, 3, 4, 6}, 1.0), y;
  const tensor<double>* two[] = {&a, &wrong};
  CHECK(error_of([&] { m.forward(layer_inputs<double>(two, 2), y, {}); }) ==
        "scaled_sum: input #2 2x3x4x6, expected Nx3x4x5");
  CHECK(error_of([&] { m.forward(a, y, {}); }) == "scaled_sum: forward() with 1 inputs, set up for 2");
  // a chain gives each layer one input
  sequential<double> net;
  net.add<scaled_sum>();
  CHECK(error_of([&] { net.setup(s); }) == "scaled_sum #1: 1 input, it takes 2");
}

TEST_CASE("check_layer catches an eval forward that updates batch-norm running statistics") {
  struct always_train : batch_norm2d<double> {
    void do_forward(const tensor<double>& x, tensor<double>& y, const context&) override {
      batch_norm2d<double>::do_forward(x, y, context{});  // ignores the mode
    }
  } l;
  check_options o;
  o.train = false;
  const check_result r = check_layer<double>(l, shape{2, 3, 4, 5}, 1, o);
  CHECK_FALSE(r.ok);
  CHECK(r.message.find("(eval)") != std::string::npos);
}

TEST_CASE("batch_norm2d, pooling, dropout, activations, depthwise conv2d: the same bits with 1 and 2 threads") {
  const shape s{3, 5, 11, 13};
  std::vector<std::unique_ptr<layer<float>>> ls;
  ls.push_back(std::make_unique<batch_norm2d<float>>());
  ls.push_back(std::make_unique<max_pool2d<float>>(3, 2, 1, true));
  ls.push_back(std::make_unique<dropout<float>>(0.3, 5));
  ls.push_back(std::make_unique<relu<float>>());
  ls.push_back(std::make_unique<leaky_relu<float>>(0.1));
  ls.push_back(std::make_unique<sigmoid<float>>());
  ls.push_back(std::make_unique<tanh_layer<float>>());
  ls.push_back(std::make_unique<avg_pool2d<float>>(3, 2, 1, true, false));
  ls.push_back(std::make_unique<global_avg_pool<float>>());
  ls.push_back(std::make_unique<pad2d<float>>(1, 2, 3, 0));
  ls.push_back(std::make_unique<conv2d<float>>(10, 3, 1, 1, true, init_kind::lecun, 2, 5));  // depthwise
  const housenet_test::settings_guard restore;
  for (auto& l : ls) {
    INFO(l->kind());
    const shape out = l->setup(s);
    param_store<float> ps;
    ps.bind(*l);
    prng rng(8);
    l->init(rng);
    tensor<float> x(s), dy(out), y1, y2, dx1, dx2;
    for (float& v : x) v = float(rng.uniform(-1, 1));
    for (float& v : dy) v = float(rng.uniform(-1, 1));
    const std::vector<tensor<float>> state0 = [&] {
      std::vector<tensor<float>> v;
      for (std::size_t p = 0; p < ps.size(); ++p) v.push_back(ps.value(p).clone());
      return v;
    }();
    std::vector<std::vector<float>> grads[2];
    for (int t = 0; t < 2; ++t) {
      set_num_threads(t + 1);
      for (std::size_t p = 0; p < ps.size(); ++p) {
        std::copy(state0[p].begin(), state0[p].end(), ps.value(p).begin());
        ps.grad(p).zero();
      }
      l->forward(x, t ? y2 : y1, {});
      l->backward(x, t ? y2 : y1, dy, t ? dx2 : dx1);
      for (std::size_t p = 0; p < ps.size(); ++p)
        grads[t].emplace_back(ps.grad(p).begin(), ps.grad(p).end());
    }
    bool same = y1.shape() == y2.shape() && dx1.shape() == dx2.shape();
    for (std::size_t i = 0; same && i < y1.size(); ++i) same = y1[i] == y2[i];
    for (std::size_t i = 0; same && i < dx1.size(); ++i) same = dx1[i] == dx2[i];
    CHECK(same);
    CHECK(grads[0] == grads[1]);
  }
}

// ---- hand-computed forwards ------------------------------------------------------------------

TEST_CASE_TEMPLATE("conv2d: hand-computed 3x3 input, 2x2 kernel", T, float, double) {
  tensor<T> x = tensor_of<T>(shape{1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}), y;
  SUBCASE("stride 1, no padding") {
    conv2d<T> c(1, 2);
    CHECK(c.setup(x.shape()) == (shape{1, 1, 2, 2}));
    param_store<T> ps;
    ps.bind(c);
    set_values(ps.value(0), {1, 2, 3, 4});
    set_values(ps.value(1), {0.5});
    c.forward(x, y, {});
    // y[0,0] = 1*1 + 2*2 + 3*4 + 4*5 + 0.5, and so on
    CHECK(y[0] == doctest::Approx(37.5));
    CHECK(y[1] == doctest::Approx(47.5));
    CHECK(y[2] == doctest::Approx(67.5));
    CHECK(y[3] == doctest::Approx(77.5));
  }
  SUBCASE("stride 2, padding 1") {
    conv2d<T> c(1, 2, 2, 1);
    CHECK(c.setup(x.shape()) == (shape{1, 1, 2, 2}));
    param_store<T> ps;
    ps.bind(c);
    set_values(ps.value(0), {1, 2, 3, 4});
    set_values(ps.value(1), {0.5});
    c.forward(x, y, {});
    CHECK(y[0] == doctest::Approx(4 * 1 + 0.5));          // only w[1][1] * x[0][0]
    CHECK(y[1] == doctest::Approx(3 * 2 + 4 * 3 + 0.5));  // w[1][0] x[0][1] + w[1][1] x[0][2]
    CHECK(y[2] == doctest::Approx(2 * 4 + 4 * 7 + 0.5));  // w[0][1] x[1][0] + w[1][1] x[2][0]
    CHECK(y[3] == doctest::Approx(5 + 12 + 24 + 36 + 0.5));
  }
}

TEST_CASE_TEMPLATE("linear: hand-computed, flattening a 4-D input", T, float, double) {
  linear<T> fc(2);
  // [1, 3, 1, 1] is read as 3 features
  tensor<T> x = tensor_of<T>(shape{1, 3, 1, 1}, {1, 2, 3}), y, dx;
  CHECK(fc.setup(x.shape()) == (shape{1, 2}));
  param_store<T> ps;
  ps.bind(fc);
  set_values(ps.value(0), {1, 0, -1, 2, 1, 0});
  set_values(ps.value(1), {0.5, -1});
  fc.forward(x, y, {});
  REQUIRE(y.shape() == (shape{1, 2}));
  CHECK(y[0] == doctest::Approx(1 - 3 + 0.5));
  CHECK(y[1] == doctest::Approx(2 + 2 - 1));
  tensor<T> dy = tensor_of<T>(shape{1, 2}, {1, 10});
  fc.backward(x, y, dy, dx);
  REQUIRE(dx.shape() == x.shape());
  CHECK(dx[0] == doctest::Approx(1 + 20));  // dy W
  CHECK(dx[1] == doctest::Approx(0 + 10));
  CHECK(dx[2] == doctest::Approx(-1 + 0));
  CHECK(ps.grad(0)[3] == doctest::Approx(10 * 1));  // dW[1][0] = dy[1] x[0]
  CHECK(ps.grad(1)[1] == doctest::Approx(10));
}

TEST_CASE_TEMPLATE("relu: hand-computed, gradient 0 at 0", T, float, double) {
  relu<T> r;
  tensor<T> x = tensor_of<T>(shape{1, 4}, {-1, 0, 2, -0.0}), y, dx;
  r.setup(x.shape());
  r.forward(x, y, {});
  CHECK(y[0] == 0);
  CHECK(y[1] == 0);
  CHECK(y[2] == 2);
  CHECK(y[3] == 0);
  tensor<T> dy = tensor_of<T>(shape{1, 4}, {1, 1, 1, 1});
  r.backward(x, y, dy, dx);
  CHECK(dx[0] == 0);
  CHECK(dx[1] == 0);
  CHECK(dx[2] == 1);
  CHECK(dx[3] == 0);
}

TEST_CASE_TEMPLATE("batch_norm2d: hand-computed train and eval", T, float, double) {
  batch_norm2d<T> bn;  // decay 0.9, eps 2e-5
  // 2 samples, 1 channel, 1x2: values 1, 2 | 3, 6 -> mean 3, biased var 14/4 = 3.5
  tensor<T> x = tensor_of<T>(shape{2, 1, 1, 2}, {1, 2, 3, 6}), y, y2;
  bn.setup(x.shape());
  param_store<T> ps;
  ps.bind(bn);
  prng rng(1);
  bn.init(rng);
  CHECK(ps.value(0)[0] == 1);  // gamma
  CHECK(ps.value(1)[0] == 0);  // beta
  CHECK(ps.value(2)[0] == 0);  // running mean
  CHECK(ps.value(3)[0] == 1);  // running var
  CHECK_FALSE(ps.spec(2).trainable);
  CHECK_FALSE(ps.spec(0).decay);
  set_values(ps.value(0), {2});
  set_values(ps.value(1), {1});
  bn.forward(x, y, {});
  const double sd = std::sqrt(3.5 + 2e-5);
  const double xs[] = {1, 2, 3, 6};
  for (int i = 0; i < 4; ++i) CHECK(y[i] == doctest::Approx(2 * (xs[i] - 3) / sd + 1));
  CHECK(ps.value(2)[0] == doctest::Approx(0.1 * 3));
  CHECK(ps.value(3)[0] == doctest::Approx(0.9 + 0.1 * 3.5 * 4 / 3));  // unbiased var
  // eval: running stats, untouched
  const T rm = ps.value(2)[0], rv = ps.value(3)[0];
  context ev;
  ev.mode = mode::eval;
  bn.forward(x, y, ev);
  bn.infer(x, y2);
  for (int i = 0; i < 4; ++i) {
    CHECK(y[i] == doctest::Approx(2 * (xs[i] - double(rm)) / std::sqrt(double(rv) + 2e-5) + 1));
    CHECK(y[i] == y2[i]);
  }
  CHECK(ps.value(2)[0] == rm);
  CHECK(ps.value(3)[0] == rv);
}

TEST_CASE_TEMPLATE("batch_norm2d: equal inputs give bit-identical outputs", T, float, double) {
  batch_norm2d<T> bn;
  const shape s{3, 2, 5, 7};  // odd plane size: a vector body and a scalar tail
  bn.setup(s);
  param_store<T> ps;
  ps.bind(bn);
  prng rng(3);
  bn.init(rng);
  tensor<T> x(s), y;
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = (i % 3 == 0) ? T(0.1) : T(rng.uniform(-1, 1));
  bn.forward(x, y, {});
  for (std::size_t c = 0; c < 2; ++c) {
    T first = T(0);
    bool have = false;
    for (std::size_t n = 0; n < 3; ++n)
      for (std::size_t j = 0; j < 35; ++j) {
        const std::size_t i = (n * 2 + c) * 35 + j;
        if (i % 3 != 0) continue;
        if (!have) first = y[i], have = true;
        CHECK(y[i] == first);
      }
  }
}

TEST_CASE_TEMPLATE("max_pool2d: every geometry equals the row-major scan, ties and NaN", T, float, double) {
  // small integers make ties everywhere; some NaN, also as a window's first element. Widths up to
  // 31 put several groups of four whole windows in a row (run_plane scans those together), with
  // clipped windows on either side.
  struct geo {
    std::size_t k, s, p;
  };
  for (const geo& q : {geo{2, 2, 0}, geo{3, 3, 0}, geo{3, 2, 1}, geo{2, 3, 1}, geo{4, 4, 2}, geo{3, 1, 0}, geo{5, 3, 2}})
    for (bool ceil_mode : {false, true})
      for (std::size_t w : {std::size_t(10), std::size_t(23), std::size_t(31)}) {
        CAPTURE(q.k);
        CAPTURE(q.s);
        CAPTURE(q.p);
        CAPTURE(ceil_mode);
        CAPTURE(w);
        const std::size_t h = 11;
        max_pool2d<T> p(q.k, q.s, q.p, ceil_mode);
        tensor<T> x(shape{2, 3, h, w}), y, dx;
        prng g(q.k * 7 + q.s * 3 + w + (ceil_mode ? 1 : 0));
        for (auto& v : x) v = T(std::floor(g.uniform(0, 4)));
        for (std::size_t i = 0; i < x.size(); i += 7) x[i] = T(NAN);
        x[0] = T(NAN);  // the first window's first element
        const shape ys = p.setup(x.shape());
        p.forward(x, y, {});
        tensor<T> dy(ys);
        for (std::size_t i = 0; i < dy.size(); ++i) dy[i] = T(i + 1);
        p.backward(x, y, dy, dx);
        std::vector<double> want_dx(x.size(), 0.0);
        bool same = true;
        const auto span = [&](std::size_t o, std::size_t len) {  // the window, clipped
          const std::ptrdiff_t a = std::ptrdiff_t(o * q.s) - std::ptrdiff_t(q.p), b = a + std::ptrdiff_t(q.k);
          return std::make_pair(std::size_t(std::max<std::ptrdiff_t>(a, 0)),
                                std::size_t(std::min<std::ptrdiff_t>(b, std::ptrdiff_t(len))));
        };
        for (std::size_t pl = 0; pl < 6; ++pl)
          for (std::size_t oy = 0; oy < ys.h(); ++oy)
            for (std::size_t ox = 0; ox < ys.w(); ++ox) {
              // the documented rule: a row-major scan that replaces on strict >
              const auto rows = span(oy, h), cols = span(ox, w);
              std::size_t best = pl * h * w + rows.first * w + cols.first;
              for (std::size_t iy = rows.first; iy < rows.second; ++iy)
                for (std::size_t ix = cols.first; ix < cols.second; ++ix)
                  if (x[pl * h * w + iy * w + ix] > x[best]) best = pl * h * w + iy * w + ix;
              const std::size_t o = (pl * ys.h() + oy) * ys.w() + ox;
              const T got = y[o], want = x[best];
              same = same && (got == want || (got != got && want != want));
              want_dx[best] += double(dy[o]);
            }
        CHECK(same);
        bool same_dx = true;
        for (std::size_t i = 0; i < x.size(); ++i) same_dx = same_dx && double(dx[i]) == want_dx[i];
        CHECK(same_dx);
      }
}

TEST_CASE_TEMPLATE("max_pool2d: hand-computed ceil mode, partial window and ties", T, float, double) {
  SUBCASE("3x3 / 2, ceil: 4x5 -> 2x2 with partial windows") {
    max_pool2d<T> p(3, 2, 0, true);
    tensor<T> x = tensor_of<T>(shape{1, 1, 4, 5}, {1, 2, 3, 4, 5,  //
                                              6, 0, 0, 0, 0,  //
                                              0, 0, 9, 0, 7,  //
                                              0, 8, 0, 0, 0}),
              y, dx;
    // out = ceil((4-3)/2)+1 = 2 rows, ceil((5-3)/2)+1 = 2 cols; rows 2..3 and cols 2..4 clipped
    CHECK(p.setup(x.shape()) == (shape{1, 1, 2, 2}));
    p.forward(x, y, {});
    CHECK(y[0] == 9);  // rows 0-2, cols 0-2
    CHECK(y[1] == 9);  // rows 0-2, cols 2-4: 9 (row 2 col 2) is before 7
    CHECK(y[2] == 9);  // rows 2-3, cols 0-2
    CHECK(y[3] == 9);  // rows 2-3, cols 2-4
    tensor<T> dy = tensor_of<T>(shape{1, 1, 2, 2}, {1, 10, 100, 1000});
    p.backward(x, y, dy, dx);
    CHECK(dx[2 * 5 + 2] == 1111);  // every window's gradient goes to the single 9
    double sum = 0;
    for (T v : dx) sum += double(v);
    CHECK(sum == 1111);
  }
  SUBCASE("ties: the first maximum in row-major order gets the gradient") {
    max_pool2d<T> p(2, 2);
    tensor<T> x = tensor_of<T>(shape{1, 1, 2, 4}, {1, 3, 3, 2,  //
                                              3, 0, 2, 3}),
              y, dx;
    p.setup(x.shape());
    p.forward(x, y, {});
    CHECK(y[0] == 3);
    CHECK(y[1] == 3);
    tensor<T> dy = tensor_of<T>(shape{1, 1, 1, 2}, {5, 7});
    p.backward(x, y, dy, dx);
    const double want[] = {0, 5, 7, 0, 0, 0, 0, 0};
    for (int i = 0; i < 8; ++i) CHECK(dx[i] == want[i]);
  }
  SUBCASE("padding 1: windows clipped at the border, PyTorch's ceil rule") {
    max_pool2d<T> p(2, 2, 1, true);
    // H = 5, k = 2, s = 2, p = 1: Chainer would give 4, PyTorch 3 (the 4th would start in padding)
    CHECK(p.out_size(5) == 3);
    max_pool2d<T> q(2, 2, 1, false);
    CHECK(q.out_size(5) == 3);
    max_pool2d<T> r(1, 3, 0, true);
    CHECK(r.out_size(9) == 3);  // Chainer 4, PyTorch 3
    max_pool2d<T> blog(3, 3, 0, true);
    CHECK(blog.out_size(94) == 32);
    CHECK(blog.out_size(28) == 10);
    max_pool2d<T> blog3(2, 2, 0, true);
    CHECK(blog3.out_size(8) == 4);
    tensor<T> x = tensor_of<T>(shape{1, 1, 1, 5}, {-1, -2, -3, -4, -5}), y;
    max_pool2d<T> pp(3, 2, 1, false);  // (5 + 2 - 3)/2 + 1 = 3
    CHECK(pp.setup(x.shape()) == (shape{1, 1, 1, 3}));
    pp.forward(x, y, {});
    CHECK(y[0] == -1);  // cols -1..1 clipped to 0..1: padding is -inf, not 0
    CHECK(y[1] == -2);
    CHECK(y[2] == -4);
  }
}

// The mask formula of dropout.hpp's header, in 64-bit arithmetic: the masks are the same on
// every platform (a 32-bit size_t included), so a run resumed elsewhere repeats them.
TEST_CASE("dropout: the masks follow the documented formula, whatever the width of size_t") {
  const auto mix64 = [](std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  const auto fmix32 = [](std::uint32_t h) {
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    return h ^ (h >> 16);
  };
  const std::uint64_t seed = 0x0123456789ABCDEFull, step = 77;
  const double ratio = 0.3;
  const std::uint32_t threshold = std::uint32_t(ratio * 4294967296.0);
  const auto kept = [&](std::uint64_t i) {
    const std::uint64_t z = mix64(mix64(seed ^ 0xD6E8FEB86659FD93ull) + step);
    const auto key = std::uint32_t(mix64(z + (i >> 32) * 0x9E3779B97F4A7C15ull) >> 32);
    return fmix32(std::uint32_t(i) * 0x9E3779B9u + key) >= threshold;
  };
  dropout<float> d(ratio, seed);
  const shape s{3, 70001};  // more than one parallel block (elementwise cuts from 65536)
  d.setup(s);
  tensor<float> x(s, 1.0f), y;
  context ctx;
  ctx.step = step;
  const housenet_test::settings_guard restore;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    d.forward(x, y, ctx);
    std::size_t wrong = 0, dropped = 0;
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a over the mask
    for (std::size_t i = 0; i < y.size(); ++i) {
      wrong += (y[i] != 0) != kept(i) || (y[i] != 0) != d.kept(step, i);
      dropped += y[i] == 0;
      h = (h ^ std::uint64_t(y[i] != 0)) * 1099511628211ull;
    }
    CHECK(wrong == 0);
    CHECK(dropped == 62565);   // the same on every platform and thread count...
    CHECK(h == 0x7e73e73bfe255961ull);  // ... and so is the mask itself
  }
  if (sizeof(std::size_t) == 8)  // elements past 2^32 take the next key
    for (std::uint64_t i : {std::uint64_t(1) << 32, (std::uint64_t(1) << 32) + 12345, std::uint64_t(5) << 33})
      CHECK(d.kept(step, std::size_t(i)) == kept(i));
}

TEST_CASE_TEMPLATE("dropout: inverted scaling, deterministic masks, eval identity", T, float, double) {
  const shape s{4, 2500};
  tensor<T> x(s, T(1)), y, y2, dx;
  dropout<T> d(0.5, 123);
  d.setup(s);
  context ctx;
  ctx.step = 5;
  d.forward(x, y, ctx);
  std::size_t kept = 0;
  for (T v : y) {
    CHECK((v == 0 || v == 2));
    kept += v != 0;
  }
  CHECK(kept > 4700);
  CHECK(kept < 5300);
  d.forward(x, y2, ctx);  // same seed and step: same mask
  bool same = true;
  for (std::size_t i = 0; i < y.size(); ++i) same = same && y[i] == y2[i];
  CHECK(same);
  dropout<T> d2(0.5, 123);  // a fresh layer with the same seed: resumable from the step alone
  d2.setup(s);
  d2.forward(x, y2, ctx);
  for (std::size_t i = 0; i < y.size(); ++i) same = same && y[i] == y2[i];
  CHECK(same);
  for (std::size_t i = 0; i < 20; ++i) CHECK(d.kept(5, i) == (y[i] != 0));
  ctx.step = 6;  // another step: another mask
  d2.forward(x, y2, ctx);
  std::size_t diff = 0;
  for (std::size_t i = 0; i < y.size(); ++i) diff += y[i] != y2[i];
  CHECK(diff > 3000);
  // backward applies the mask of the last forward
  ctx.step = 5;
  d.forward(x, y, ctx);
  tensor<T> dy(s, T(3));
  d.backward(x, y, dy, dx);
  for (std::size_t i = 0; i < y.size(); ++i) same = same && dx[i] == T(3) * y[i];
  CHECK(same);
  // eval and ratio 0: the exact identity
  ctx.mode = mode::eval;
  tensor<T> z(s);
  for (std::size_t i = 0; i < z.size(); ++i) z[i] = T(0.1) * T(i % 17) - T(0.7);
  d.forward(z, y, ctx);
  for (std::size_t i = 0; i < y.size(); ++i) same = same && y[i] == z[i];
  dropout<T> none(0.0, 1);
  none.setup(s);
  context tr;
  none.forward(z, y, tr);
  for (std::size_t i = 0; i < y.size(); ++i) same = same && y[i] == z[i];
  CHECK(same);
}

TEST_CASE("flatten: layout c*H*W + y*W + x") {
  flatten<float> f;
  tensor<float> x(shape{2, 3, 2, 2}), y, dx;
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(i);
  CHECK(f.setup(x.shape()) == (shape{2, 12}));
  f.forward(x, y, {});
  CHECK(y.shape() == (shape{2, 12}));
  CHECK(y[12 + 2 * 4 + 1 * 2 + 1] == x(1, 2, 1, 1));
  f.backward(x, y, y, dx);
  CHECK(dx.shape() == x.shape());
  CHECK(dx[17] == 17.0f);
}

TEST_CASE_TEMPLATE("leaky_relu, sigmoid, tanh: hand-computed", T, float, double) {
  tensor<T> x = tensor_of<T>(shape{1, 4}, {-2, 0, 3, -0.5}), y, dx;
  const tensor<T> ones(shape{1, 4}, T(1));
  leaky_relu<T> lr(0.1);
  lr.setup(x.shape());
  lr.forward(x, y, {});
  CHECK(y[0] == doctest::Approx(-0.2));
  CHECK(y[1] == 0);
  CHECK(y[2] == 3);
  CHECK(y[3] == doctest::Approx(-0.05));
  lr.backward(x, y, ones, dx);
  CHECK(dx[0] == doctest::Approx(0.1));
  CHECK(dx[1] == doctest::Approx(0.1));  // the slope at exactly 0 is the negative one (PyTorch's)
  CHECK(dx[2] == 1);
  CHECK(dx[3] == doctest::Approx(0.1));
  CHECK(leaky_relu<T>().negative_slope() == 0.01);  // PyTorch's default

  tensor<T> s = tensor_of<T>(shape{1, 4}, {0, std::log(3.0), 100, -100});
  sigmoid<T> sg;
  sg.setup(s.shape());
  sg.forward(s, y, {});
  CHECK(y[0] == T(0.5));
  CHECK(y[1] == doctest::Approx(0.75));
  CHECK(y[2] == T(1));
  CHECK(y[3] >= T(0));
  CHECK(y[3] < T(1e-40));
  sg.backward(s, y, ones, dx);
  CHECK(dx[0] == T(0.25));
  CHECK(dx[1] == doctest::Approx(0.1875));  // y (1 - y)

  tensor<T> t = tensor_of<T>(shape{1, 4}, {0, std::atanh(0.5), -30, 30});
  tanh_layer<T> th;
  CHECK(th.kind() == "tanh");
  th.setup(t.shape());
  th.forward(t, y, {});
  CHECK(y[0] == 0);
  CHECK(y[1] == doctest::Approx(0.5));
  CHECK(y[2] == T(-1));
  CHECK(y[3] == T(1));
  th.backward(t, y, ones, dx);
  CHECK(dx[0] == 1);
  CHECK(dx[1] == doctest::Approx(0.75));  // 1 - y^2
  CHECK(dx[3] == 0);
}

TEST_CASE_TEMPLATE("avg_pool2d: hand-computed divisors (padding counted or not, the ceil-mode overhang)", T,
                   float, double) {
  tensor<T> x = tensor_of<T>(shape{1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}), y, dx;
  for (bool include : {true, false}) {
    CAPTURE(include);
    avg_pool2d<T> p(2, 2, 1, false, include);  // windows: rows {-1, 0} and {1, 2}, likewise columns
    CHECK(p.setup(x.shape()) == (shape{1, 1, 2, 2}));
    p.forward(x, y, {});
    CHECK(y[0] == doctest::Approx(include ? 1.0 / 4 : 1.0));
    CHECK(y[1] == doctest::Approx(include ? 5.0 / 4 : 5.0 / 2));
    CHECK(y[2] == doctest::Approx(include ? 11.0 / 4 : 11.0 / 2));
    CHECK(y[3] == doctest::Approx(7));
    tensor<T> dy = tensor_of<T>(shape{1, 1, 2, 2}, {4, 8, 12, 16});
    p.backward(x, y, dy, dx);
    CHECK(dx[0] == doctest::Approx(include ? 1 : 4));          // x[0][0]: the first window only
    CHECK(dx[1] == doctest::Approx(include ? 2 : 4));          // x[0][1]: the second window
    CHECK(dx[4] == doctest::Approx(4));                        // x[1][1]: the last window (4 elements)
    CHECK(dx[3] == doctest::Approx(include ? 3 : 6));          // x[1][0]: the third window
  }
  // ceil mode: 5 columns, k = s = 2 -> 3 windows; the last one [4, 6) runs past the input and is
  // cut there, padding or not: its divisor is 2 (rows) x 1 in both modes, as PyTorch's
  tensor<T> z = tensor_of<T>(shape{1, 1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  for (bool include : {true, false}) {
    avg_pool2d<T> p(2, 2, 0, true, include);
    CHECK(p.setup(z.shape()) == (shape{1, 1, 1, 3}));
    p.forward(z, y, {});
    CHECK(y[0] == doctest::Approx((1 + 2 + 6 + 7) / 4.0));
    CHECK(y[2] == doctest::Approx((5 + 10) / 2.0));
  }
  avg_pool2d<T> q(3, 1, 1);  // 3x3 / 1, padding 1 (Inception's): same size
  CHECK(q.setup(shape{2, 3, 7, 5}) == (shape{2, 3, 7, 5}));
}

TEST_CASE_TEMPLATE("avg_pool2d: every geometry equals PyTorch's loop (its divisor rule, row-major sums)", T,
                   float, double) {
  // The plain loop of PyTorch's CPU kernel (aten/src/ATen/native/cpu/AvgPoolKernel.cpp), in double.
  struct geo {
    std::size_t k, s, p;
  };
  for (const geo& q : {geo{2, 2, 0}, geo{3, 2, 1}, geo{2, 3, 1}, geo{3, 1, 1}, geo{5, 3, 2}, geo{4, 4, 2}, geo{1, 2, 0}})
    for (bool ceil_mode : {false, true})
      for (bool include : {false, true})
        for (std::size_t w : {std::size_t(7), std::size_t(23)}) {
          CAPTURE(q.k);
          CAPTURE(q.s);
          CAPTURE(q.p);
          CAPTURE(ceil_mode);
          CAPTURE(include);
          CAPTURE(w);
          const std::size_t h = 9;
          avg_pool2d<T> pool(q.k, q.s, q.p, ceil_mode, include);
          tensor<T> x(shape{2, 3, h, w}), y, dx;
          prng g(q.k * 7 + q.s * 3 + w + (ceil_mode ? 1 : 0) + (include ? 2 : 0));
          for (auto& v : x) v = T(g.uniform(-1, 1));
          const shape ys = pool.setup(x.shape());
          pool.forward(x, y, {});
          tensor<T> dy(ys);
          for (auto& v : dy) v = T(g.uniform(-1, 1));
          pool.backward(x, y, dy, dx);
          std::vector<double> want_dx(x.size(), 0.0);
          double err_y = 0, err_dx = 0;
          const auto P = std::ptrdiff_t(q.p), S = std::ptrdiff_t(q.s), K = std::ptrdiff_t(q.k);
          for (std::size_t pl = 0; pl < 6; ++pl)
            for (std::size_t oy = 0; oy < ys.h(); ++oy)
              for (std::size_t ox = 0; ox < ys.w(); ++ox) {
                std::ptrdiff_t h0 = std::ptrdiff_t(oy) * S - P, w0 = std::ptrdiff_t(ox) * S - P;
                std::ptrdiff_t h1 = std::min(h0 + K, std::ptrdiff_t(h) + P), w1 = std::min(w0 + K, std::ptrdiff_t(w) + P);
                const std::ptrdiff_t pool_size = (h1 - h0) * (w1 - w0);
                h0 = std::max<std::ptrdiff_t>(h0, 0), w0 = std::max<std::ptrdiff_t>(w0, 0);
                h1 = std::min(h1, std::ptrdiff_t(h)), w1 = std::min(w1, std::ptrdiff_t(w));
                const double div = double(include ? pool_size : (h1 - h0) * (w1 - w0));
                double sum = 0;
                for (std::ptrdiff_t iy = h0; iy < h1; ++iy)
                  for (std::ptrdiff_t ix = w0; ix < w1; ++ix) sum += double(x[pl * h * w + std::size_t(iy) * w + std::size_t(ix)]);
                const std::size_t o = (pl * ys.h() + oy) * ys.w() + ox;
                err_y = std::max(err_y, std::fabs(double(y[o]) - sum / div));
                for (std::ptrdiff_t iy = h0; iy < h1; ++iy)
                  for (std::ptrdiff_t ix = w0; ix < w1; ++ix) want_dx[pl * h * w + std::size_t(iy) * w + std::size_t(ix)] += double(dy[o]) / div;
              }
          for (std::size_t i = 0; i < x.size(); ++i) err_dx = std::max(err_dx, std::fabs(double(dx[i]) - want_dx[i]));
          const double tol = sizeof(T) == 4 ? 1e-6 : 1e-14;  // values and sums of order 1
          CHECK(err_y <= tol);
          CHECK(err_dx <= tol);
        }
}

TEST_CASE_TEMPLATE("global_avg_pool: hand-computed, composes with flatten and linear", T, float, double) {
  tensor<T> x(shape{2, 2, 2, 3}), y, dx;
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = T(i);
  global_avg_pool<T> g;
  CHECK(g.setup(x.shape()) == (shape{2, 2, 1, 1}));
  g.forward(x, y, {});
  for (std::size_t p = 0; p < 4; ++p) CHECK(y[p] == doctest::Approx(6.0 * double(p) + 2.5));
  tensor<T> dy = tensor_of<T>(shape{2, 2, 1, 1}, {6, 12, 18, 24});
  g.backward(x, y, dy, dx);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(dx[i] == doctest::Approx(double(i / 6 + 1)));
  flatten<T> f;
  CHECK(f.setup(y.shape()) == (shape{2, 2}));
  linear<T> fc(3);
  CHECK(fc.setup(y.shape()) == (shape{2, 3}));
  conv2d<T> pw(4, 1);  // a 1x1 convolution may follow too (squeeze-and-excitation)
  CHECK(pw.setup(y.shape()) == (shape{2, 4, 1, 1}));
}

TEST_CASE_TEMPLATE("conv2d: hand-computed dilation and depthwise", T, float, double) {
  tensor<T> x(shape{1, 1, 5, 5}), y;
  for (std::size_t i = 0; i < 25; ++i) x[i] = T(i + 1);
  conv2d<T> dil(1, 2, 1, 0, false, init_kind::lecun, 2);  // taps (0,0) (0,2) (2,0) (2,2)
  CHECK(dil.setup(x.shape()) == (shape{1, 1, 3, 3}));
  param_store<T> ps;
  ps.bind(dil);
  set_values(ps.value(0), {1, 2, 3, 4});
  dil.forward(x, y, {});
  CHECK(y[0] == doctest::Approx(1 * 1 + 2 * 3 + 3 * 11 + 4 * 13));
  CHECK(y[8] == doctest::Approx(1 * 13 + 2 * 15 + 3 * 23 + 4 * 25));
  // depthwise: 2 channels, each with its own 2x2 kernel; 2 outputs per channel in groups of 2
  tensor<T> z = tensor_of<T>(shape{1, 2, 2, 2}, {1, 2, 3, 4, 10, 20, 30, 40});
  conv2d<T> dw(4, 2, 1, 0, true, init_kind::lecun, 1, 2);
  CHECK(dw.setup(z.shape()) == (shape{1, 4, 1, 1}));
  param_store<T> pd;
  pd.bind(dw);
  CHECK(pd.value(0).shape() == (shape{4, 1, 2, 2}));
  set_values(pd.value(0), {1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1});
  set_values(pd.value(1), {0.5, 0, 0, 0});
  dw.forward(z, y, {});
  CHECK(y[0] == doctest::Approx(1.5));  // channel 0: x[0][0] + bias
  CHECK(y[1] == doctest::Approx(4));    // channel 0: x[1][1]
  CHECK(y[2] == doctest::Approx(30));   // channel 1: first row
  CHECK(y[3] == doctest::Approx(70));   // channel 1: second row
}

TEST_CASE("conv2d: dilation and groups stay out of the config (and the model file) when 1") {
  const layer_config plain = conv2d<float>(8, 3, 1, 1).config();
  CHECK(plain.size() == 6);  // the version-1 keys: files written before groups and dilation
  auto old = make_layer<float>("conv2d", 1, plain);
  CHECK(static_cast<conv2d<float>&>(*old).groups() == 1);
  CHECK(static_cast<conv2d<float>&>(*old).dilation() == 1);
  CHECK(old->config() == plain);
  const conv2d<float> g(8, 3, 1, 1, true, init_kind::lecun, 2, 4);
  const layer_config c = g.config();
  REQUIRE(c.size() == 8);
  CHECK(c[6] == std::make_pair(std::string("dilation"), std::string("2")));
  CHECK(c[7] == std::make_pair(std::string("groups"), std::string("4")));
  auto back = make_layer<float>("conv2d", 1, c);
  CHECK(back->config() == c);
  CHECK(back->setup(shape{1, 8, 9, 9}) == (shape{1, 8, 7, 7}));  // 9 + 2 - 2*(3 - 1) - 1 + 1
  // the weight is [K, C/G, k, k]; He / LeCun fan-in is C/G*k*k
  testing::param_store<float> ps;
  ps.bind(*back);
  CHECK(ps.value(0).shape() == (shape{8, 2, 3, 3}));
}

// ---- no allocation after the first batch ------------------------------------------------------

TEST_CASE("forward, infer and backward allocate nothing after the first batch") {
  // One thread: scratch buffers are per thread and grow on a thread's first use, and the pool
  // hands blocks to whichever thread is free first, so with two threads a worker's first block
  // may come in the second round (seen under load). With one thread, the second round is exact.
  const housenet_test::settings_guard restore;
  set_num_threads(1);
  const shape s{4, 3, 9, 7};
  std::vector<std::unique_ptr<layer<float>>> ls;
  ls.push_back(std::make_unique<batch_norm2d<float>>());
  ls.push_back(std::make_unique<max_pool2d<float>>(3, 2, 1, true));
  ls.push_back(std::make_unique<relu<float>>());
  ls.push_back(std::make_unique<dropout<float>>(0.5, 3));
  ls.push_back(std::make_unique<flatten<float>>());
  ls.push_back(std::make_unique<linear<float>>(5));
  ls.push_back(std::make_unique<conv2d<float>>(4, 3, 2, 1));
  ls.push_back(std::make_unique<conv2d<float>>(6, 3, 1, 2, true, init_kind::lecun, 2, 3));  // depthwise
  ls.push_back(std::make_unique<leaky_relu<float>>());
  ls.push_back(std::make_unique<sigmoid<float>>());
  ls.push_back(std::make_unique<tanh_layer<float>>());
  ls.push_back(std::make_unique<avg_pool2d<float>>(2, 2, 1, true));
  ls.push_back(std::make_unique<global_avg_pool<float>>());
  for (auto& l : ls) {
    INFO(l->kind());
    const shape out = l->setup(s);
    param_store<float> ps;
    ps.bind(*l);
    prng rng(2);
    l->init(rng);
    tensor<float> x(s), y, dy(out, 0.5f), dx;
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(rng.uniform(-1, 1));
    context ctx;
    for (int round = 0; round < 2; ++round) {
      const long before = g_allocations.load();
      l->forward(x, y, ctx);
      l->backward(x, y, dy, dx);
      l->infer(x, y);
      ctx.step++;
      const long allocated = g_allocations.load() - before;
      if (round == 0) CHECK(allocated > 0);  // the counter works: the first batch allocates y, dx
      if (round == 1) CHECK(allocated == 0);
    }
  }
  {  // a graph: several readers of a node, broadcasting, concatenation, fusion, predict's slots
    graph<float> g;
    g.add<conv2d<float>>(4, 3, 1, 1);
    const node a = g.last();
    g.add<relu<float>>();
    g.add<batch_norm2d<float>>();
    g.add<max_pool2d<float>>(2, 2);
    const node p = g.last();
    g.add<global_avg_pool<float>>(from{a});
    g.add<add_layer<float>>(from{p, g.last()});
    g.add<max_pool2d<float>>(from{a}, 2, 2);
    g.add<concat_layer<float>>(from{g.last(), node{6}});  // the pooled map and the sum
    g.add<flatten<float>>();
    g.add<linear<float>>(3);
    g.setup(shape{1, 3, 8, 8}, 4);
    tensor<float> x(shape{5, 3, 8, 8}, 0.25f), d(shape{5, 3}, 0.5f), out;
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(i % 7) - 3.0f;
    for (int round = 0; round < 2; ++round) {
      const long before = g_allocations.load();
      g.train();
      g.forward(x);
      g.zero_grad();
      g.backward(d, true);
      g.eval();
      g.predict(x, out);
      const long allocated = g_allocations.load() - before;
      if (round == 0) CHECK(allocated > 0);
      if (round == 1) CHECK(allocated == 0);
    }
  }
  softmax_cross_entropy<float> ce;
  tensor<float> z(shape{6, 4}, 0.25f), dz;
  const std::vector<int> t{0, 1, 2, 3, 0, 1};
  ce.forward(z, t);
  ce.backward(dz);
  const long before = g_allocations.load();
  ce.forward(z, t);
  ce.backward(dz);
  CHECK(g_allocations.load() - before == 0);
}

// ---- shape errors --------------------------------------------------------------------------

TEST_CASE("every layer rejects a wrong input shape, naming itself") {
  for (auto& l : all_layers()) {
    INFO(l->kind());
    l->setup(odd_in);
    testing::param_store<double> ps;
    ps.bind(*l);
    prng rng(1);
    l->init(rng);
    l->set_name(l->kind() + " #3");
    tensor<double> bad(shape{2, 4, 7, 5}, 0.5), y;
    const std::string m = error_of([&] { l->forward(bad, y, {}); });
    CHECK(starts_with(m, l->kind() + " #3: input 2x4x7x5, expected"));
    CHECK(starts_with(error_of([&] { l->infer(bad, y); }), l->kind() + " #3: input 2x4x7x5"));
    tensor<double> bad_rank(shape{2, 105}, 0.5);
    CHECK(starts_with(error_of([&] { l->forward(bad_rank, y, {}); }), l->kind() + " #3: input 2x105"));
    tensor<double> good(odd_in, 0.25);  // the right shape still works after the errors
    CHECK_NOTHROW(l->forward(good, y, {}));
  }
}

TEST_CASE("setup rejects inputs a layer cannot take") {
  conv2d<float> c(4, 5);
  CHECK(starts_with(error_of([&] { c.setup(shape{1, 3, 4, 9}); }), "conv2d: input 1x3x4x9 is smaller"));
  CHECK(starts_with(error_of([&] { c.setup(shape{1, 12}); }), "conv2d: input 1x12, expected rank 4"));
  conv2d<float> g(4, 3, 1, 1, true, init_kind::lecun, 1, 2);
  CHECK(error_of([&] { g.setup(shape{1, 3, 8, 8}); }) ==
        "conv2d: input 1x3x8x8: 3 channels are not a multiple of groups 2");
  conv2d<float> d(4, 3, 1, 0, true, init_kind::lecun, 3);
  CHECK(error_of([&] { d.setup(shape{1, 3, 6, 9}); }) ==
        "conv2d: input 1x3x6x9 is smaller than the kernel 3 (dilation 3: spans 7) (padding 0)");
  CHECK_THROWS_AS(conv2d<float>(4, 3, 1, 0, true, init_kind::lecun, 0), error);
  CHECK_THROWS_AS(avg_pool2d<float>(3, 2, 2), error);
  CHECK_THROWS_AS(leaky_relu<float>(NAN), error);
  avg_pool2d<float> ap(3, 3);
  CHECK(starts_with(error_of([&] { ap.setup(shape{1, 1, 2, 9}); }), "avg_pool2d: input 1x1x2x9 is smaller than the window 3"));
  global_avg_pool<float> gap;
  CHECK(starts_with(error_of([&] { gap.setup(shape{1, 12}); }), "global_avg_pool: input 1x12, expected rank 4"));
  max_pool2d<float> p(3, 3);
  CHECK(starts_with(error_of([&] { p.setup(shape{1, 1, 2, 9}); }), "max_pool2d: input"));
  CHECK_THROWS_AS(max_pool2d<float>(3, 2, 2), error);  // padding > kernel / 2
  CHECK_THROWS_AS(dropout<float>(1.0), error);
  CHECK_THROWS_AS(batch_norm2d<float>(0.9, 0.0), error);
  batch_norm2d<float> bn;
  bn.setup(shape{1, 2, 1, 1});
  param_store<float> ps;
  ps.bind(bn);
  tensor<float> one(shape{1, 2, 1, 1}, 1.0f), y;
  CHECK(starts_with(error_of([&] { bn.forward(one, y, {}); }), "batch_norm2d: training needs"));
}

// ---- config round trips ----------------------------------------------------------------------

TEST_CASE_TEMPLATE("pad2d: hand-computed, each side its own amount; out of range refused", T, float, double) {
  pad2d<T> p(1, 0, 2, 1);
  CHECK(p.setup(shape{1, 1, 2, 3}) == shape{1, 1, 5, 4});
  tensor<T> x(shape{1, 1, 2, 3});
  for (std::size_t i = 0; i < 6; ++i) x[i] = T(i + 1);
  tensor<T> y;
  p.infer(x, y);
  const std::vector<T> want{0, 0, 0, 0,  1, 2, 3, 0,  4, 5, 6, 0,  0, 0, 0, 0,  0, 0, 0, 0};
  CHECK(std::vector<T>(y.begin(), y.end()) == want);
  CHECK(p.config() == layer_config{{"top", "1"}, {"left", "0"}, {"bottom", "2"}, {"right", "1"}});
  CHECK(starts_with(error_of([] { pad2d<T>(0, 5000, 0, 0); }), "pad2d: padding 0,5000,0,0 out of range"));
  pad2d<T> q(1, 1, 1, 1);
  CHECK(starts_with(error_of([&] { q.setup(shape{2, 6}); }), "pad2d"));
}

TEST_CASE("config round-trips through make_layer for every layer") {
  auto ls = all_layers();
  ls.push_back(std::make_unique<dropout<double>>(0.1, 18446744073709551615ull));
  ls.push_back(std::make_unique<batch_norm2d<double>>(0.9, 1e-5));
  ls.push_back(std::make_unique<batch_norm2d<double>>(0.1 + 0.2, 1.0 / 3));  // 17 digits needed
  ls.push_back(std::make_unique<dropout<double>>(0.1 + 0.2, 0));
  for (auto& l : ls) {
    INFO(l->kind());
    auto m = make_layer<double>(l->kind(), l->version(), l->config());
    REQUIRE(m);
    CHECK(m->kind() == l->kind());
    CHECK(m->version() == l->version());
    CHECK(m->config() == l->config());
    CHECK(m->setup(odd_in) == l->setup(odd_in));
    auto f = make_layer<float>(l->kind(), l->version(), l->config());
    CHECK(f->config() == l->config());
  }
  // numbers are written as the shortest decimal that reads back exactly
  CHECK(batch_norm2d<float>().config() == layer_config{{"decay", "0.9"}, {"eps", "2e-05"}});
  CHECK(dropout<float>(0.5, 7).config() == layer_config{{"ratio", "0.5"}, {"seed", "7"}});
  auto bn = make_layer<double>("batch_norm2d", 1, {{"decay", "0.30000000000000004"}, {"eps", "0.25"}});
  CHECK(static_cast<batch_norm2d<double>&>(*bn).decay() == 0.1 + 0.2);
  // same seed: same weights, whatever built the layer
  conv2d<float> c(6, 3, 1, 0, true, init_kind::he);
  auto c2 = make_layer<float>("conv2d", 1, c.config());
  c.setup(odd_in);
  c2->setup(odd_in);
  param_store<float> a, b;
  a.bind(c);
  b.bind(*c2);
  prng r1(9), r2(9);
  c.init(r1);
  c2->init(r2);
  bool same = true;
  for (std::size_t i = 0; i < a.value(0).size(); ++i) same = same && a.value(0)[i] == b.value(0)[i];
  CHECK(same);
}

TEST_CASE("make_layer: errors name the kind and the key") {
  const layer_config good = conv2d<float>(4, 3).config();
  CHECK(starts_with(error_of([] { make_layer<float>("conv3d", 1, {}); }),
                    "make_layer: unknown layer kind 'conv3d'"));
  CHECK(starts_with(error_of([&] { make_layer<float>("conv2d", 2, good); }),
                    "make_layer: conv2d: version 2 not supported"));
  layer_config missing = good;
  missing.erase(missing.begin() + 1);
  CHECK(error_of([&] { make_layer<float>("conv2d", 1, missing); }) ==
        "make_layer: conv2d/1: missing key 'kernel'");
  layer_config bad = good;
  bad[1].second = "3x";
  CHECK(starts_with(error_of([&] { make_layer<float>("conv2d", 1, bad); }),
                    "make_layer: conv2d/1: key 'kernel': '3x' is not"));
  bad[1].second = "0";
  CHECK(starts_with(error_of([&] { make_layer<float>("conv2d", 1, bad); }),
                    "make_layer: conv2d/1: key 'kernel': 0 is not in"));
  layer_config extra = good;
  extra.push_back({"padding_mode", "reflect"});
  CHECK(error_of([&] { make_layer<float>("conv2d", 1, extra); }) ==
        "make_layer: conv2d/1: unknown key 'padding_mode'");
  layer_config grouped = good;
  grouped.push_back({"groups", "0"});
  CHECK(starts_with(error_of([&] { make_layer<float>("conv2d", 1, grouped); }),
                    "make_layer: conv2d/1: key 'groups': 0 is not in 1.."));
  grouped.back().second = "3";  // 4 output channels
  CHECK(error_of([&] { make_layer<float>("conv2d", 1, grouped); }) ==
        "make_layer: conv2d/1: conv2d: out_channels 4 is not a multiple of groups 3");
  CHECK(starts_with(error_of([] { make_layer<float>("leaky_relu", 1, {{"negative_slope", "inf"}}); }),
                    "make_layer: leaky_relu/1: key 'negative_slope': 'inf' is not a number"));
  CHECK(error_of([] { make_layer<float>("avg_pool2d", 1, {{"kernel", "3"}, {"stride", "2"}, {"padding", "0"}, {"ceil_mode", "1"}}); }) ==
        "make_layer: avg_pool2d/1: missing key 'count_include_pad'");
  CHECK(starts_with(error_of([] { make_layer<float>("avg_pool2d", 1, {{"kernel", "3"}, {"stride", "2"}, {"padding", "2"}, {"ceil_mode", "1"}, {"count_include_pad", "0"}}); }),
                    "make_layer: avg_pool2d/1: avg_pool2d: padding 2 must be at most half the kernel 3"));
  CHECK(starts_with(error_of([] { make_layer<float>("sigmoid", 1, {{"inplace", "1"}}); }),
                    "make_layer: sigmoid/1: unknown key 'inplace'"));
  CHECK(starts_with(error_of([] { make_layer<float>("relu, sigmoid", 1, {}); }),
                    "make_layer: unknown layer kind 'relu, sigmoid' (known: conv2d, linear, relu, leaky_relu, sigmoid, tanh,"));
  layer_config twice = good;
  twice.push_back(twice[0]);
  CHECK(starts_with(error_of([&] { make_layer<float>("conv2d", 1, twice); }),
                    "make_layer: conv2d/1: key 'out_channels' given twice"));
  CHECK(starts_with(error_of([] { make_layer<float>("conv2d", 1, {{"out_channels", "4"}, {"kernel", "3"}, {"stride", "1"}, {"padding", "0"}, {"bias", "1"}, {"init", "xavier"}}); }),
                    "make_layer: conv2d/1: init: unknown initialiser 'xavier'"));
  CHECK(starts_with(error_of([] { make_layer<float>("dropout", 1, {{"ratio", "1"}, {"seed", "0"}}); }),
                    "make_layer: dropout/1: dropout: ratio 1 not in [0, 1)"));
  CHECK(starts_with(error_of([] { make_layer<float>("batch_norm2d", 1, {{"decay", "nan"}, {"eps", "1e-5"}}); }),
                    "make_layer: batch_norm2d/1: key 'decay': 'nan' is not a number"));
  CHECK(starts_with(error_of([] { make_layer<float>("max_pool2d", 1, {{"kernel", "3"}, {"stride", "-1"}, {"padding", "0"}, {"ceil_mode", "1"}}); }),
                    "make_layer: max_pool2d/1: key 'stride': '-1' is not"));
  CHECK(starts_with(error_of([] { make_layer<float>("relu", 1, {{"inplace", "1"}}); }),
                    "make_layer: relu/1: unknown key 'inplace'"));
}

TEST_CASE("init: LeCun and He normal standard deviations") {
  for (init_kind k : {init_kind::lecun, init_kind::he}) {
    tensor<double> w(shape{200, 50});
    prng rng(5);
    init_weights(k, w.view(), 50, rng);
    double s = 0, q = 0;
    for (double v : w) s += v, q += v * v;
    const double mean = s / 10000, sd = std::sqrt(q / 10000 - mean * mean);
    const double want = std::sqrt((k == init_kind::he ? 2.0 : 1.0) / 50);
    CHECK(std::fabs(mean) < 0.05 * want);
    CHECK(sd == doctest::Approx(want).epsilon(0.03));
    CHECK(parse_init_kind(to_string(k)) == k);
  }
}

// relu -> batch_norm2d -> max_pool2d run fused (layers/relu_bn_pool.hpp): the same bits as the
// three layers run one by one (outputs, every gradient, running statistics, input gradient, SGD
// steps, eval forward, predict) on odd shapes and pooling geometries, with ties; with 1 and 2
// threads; and its gradient against central finite differences in double.
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/housenet.hpp>
#include <housenet/testing.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

using namespace housenet;
using housenet_test::same_bits;

namespace {

struct geometry {
  std::size_t n, c, h, w;  // the block's input (the convolution's output)
  std::size_t k, s, p;
  bool ceil;
};

// conv2d (3x3) -> relu -> batch_norm2d -> max_pool2d -> linear(3): the block in a model.
template <class T>
sequential<T> block_net(const geometry& g, bool fusion) {
  sequential<T> net;
  net.template add<conv2d<T>>(g.c, 3);
  net.template add<relu<T>>();
  net.template add<batch_norm2d<T>>(0.9, 2e-5);
  net.template add<max_pool2d<T>>(g.k, g.s, g.p, g.ceil);
  net.template add<linear<T>>(3);
  net.setup(shape{1, 2, g.h + 2, g.w + 2}, 11);
  net.set_fusion(fusion);
  // gamma of both signs (a negative one turns the pooled maximum into a minimum), beta, and
  // running statistics away from 0 / 1
  prng r(5);
  const auto fill = [&](const char* name, double lo, double hi, bool some_negative) {
    param<T>& p = net.param_by_name(std::string("3.batch_norm2d.") + name);
    for (std::size_t i = 0; i < p.value.size(); ++i)
      p.value[i] = T((some_negative && i % 3 == 2 ? -1.0 : 1.0) * r.uniform(lo, hi));
  };
  fill("gamma", 0.5, 1.5, true);
  fill("beta", -0.3, 0.3, false);
  fill("running_mean", -0.2, 0.2, false);
  fill("running_var", 0.5, 1.5, false);
  return net;
}

// Inputs with ties: a third of them from a small set of values (equal maxima in a window, and
// equal ReLU zeros), the rest spread.
template <class T>
tensor<T> input(const geometry& g, std::uint64_t seed) {
  tensor<T> x(shape{g.n, 2, g.h + 2, g.w + 2});
  prng r(seed);
  for (auto& v : x) v = r.uniform() < 0.3 ? T(0.25 * double(r.next_u64() % 4)) : T(r.uniform(-1.0, 1.0));
  return x;
}

template <class T>
void compare_runs(const geometry& g) {
  sequential<T> a = block_net<T>(g, false), b = block_net<T>(g, true);
  sgd<T> oa(typename sgd<T>::options{0.05, 0.9, 1e-3, false}), ob(typename sgd<T>::options{0.05, 0.9, 1e-3, false});
  tensor<T> d(shape{g.n, 3});
  for (int step = 0; step < 3; ++step) {
    CAPTURE(step);
    const tensor<T> x = input<T>(g, 100 + std::uint64_t(step));
    prng r(200 + std::uint64_t(step));
    for (auto& v : d) v = T(r.uniform(-1.0, 1.0));
    const tensor<T>& ya = a.forward(x);
    const tensor<T>& yb = b.forward(x);
    REQUIRE(same_bits(ya, yb));
    CHECK(same_bits(a.output(3), b.output(3)));  // the pooled block output
    a.zero_grad();
    b.zero_grad();
    CHECK(same_bits(a.backward(d, true), b.backward(d, true)));
    CHECK(same_bits(a.output_grad(0), b.output_grad(0)));  // the block's input gradient
    CHECK(same_bits(a.grads(), b.grads()));
    oa.step(a);
    ob.step(b);
    CHECK(same_bits(a.values(), b.values()));  // weights and running statistics
  }
  // eval mode: forward (recording, then backward through the running statistics) and predict
  a.eval();
  b.eval();
  const tensor<T> x = input<T>(g, 300);
  CHECK(same_bits(a.forward(x), b.forward(x)));
  a.zero_grad();
  b.zero_grad();
  CHECK(same_bits(a.backward(d, true), b.backward(d, true)));
  CHECK(same_bits(a.grads(), b.grads()));
  const sequential<T>& ca = a;
  const sequential<T>& cb = b;
  CHECK(same_bits(ca.predict(x), cb.predict(x)));
  // the fused model really ran fused: its relu and batch-norm outputs were never written
  CHECK(b.output(1).empty());
  CHECK(b.output(2).empty());
  CHECK(!a.output(1).empty());
}

const std::vector<geometry> geometries = {
    {3, 5, 13, 11, 3, 3, 0, true},   // the seed network's 3/3 ceil: a clipped last window
    {2, 4, 9, 10, 2, 2, 0, false},   // floor mode: a row and no column left uncovered
    {2, 3, 10, 7, 2, 3, 1, true},    // kernel < stride (gaps), padding
    {1, 6, 8, 8, 2, 2, 0, true},     // batch 1, the seed network's 2/2
    {4, 2, 7, 16, 1, 1, 0, false},   // 1x1 windows: every element its own argmax
    {2, 3, 5, 17, 4, 4, 2, true},    // padding 2 of a 4-window
    {2, 4, 11, 9, 3, 2, 1, true},    // overlapping windows: gradients add up
    {3, 2, 8, 12, 3, 1, 0, false},   // stride 1: most elements in three windows
};

}  // namespace

TEST_CASE_TEMPLATE("relu -> batch norm -> max pool fused: the same bits as the layers one by one", T, float, double) {
  for (const geometry& g : geometries) {
    CAPTURE(g.n);
    CAPTURE(g.c);
    CAPTURE(g.h);
    CAPTURE(g.w);
    CAPTURE(g.k);
    CAPTURE(g.s);
    CAPTURE(g.p);
    compare_runs<T>(g);
  }
}

TEST_CASE("fused block: the same bits with 1 and 2 threads, and as the layers with 1 thread") {
  const housenet_test::settings_guard restore;
  const geometry g{3, 7, 15, 13, 3, 3, 0, true};
  std::vector<std::vector<float>> outs, grads;
  for (int t : {1, 2, 1}) {
    set_num_threads(t);
    sequential<float> net = block_net<float>(g, outs.size() < 2);  // the third run: unfused
    const tensor<float> x = input<float>(g, 7);
    tensor<float> d(shape{g.n, 3});
    prng r(3);
    for (auto& v : d) v = float(r.uniform(-1.0, 1.0));
    net.forward(x);
    net.zero_grad();
    const tensor<float>& dx = net.backward(d, true);
    outs.emplace_back(net.output(3).begin(), net.output(3).end());
    grads.emplace_back(dx.begin(), dx.end());
    grads.back().insert(grads.back().end(), net.grads().begin(), net.grads().end());
  }
  CHECK(outs[0] == outs[1]);
  CHECK(grads[0] == grads[1]);
  CHECK(outs[0] == outs[2]);
  CHECK(grads[0] == grads[2]);
}

TEST_CASE("fused block: gradients against central finite differences (double, train mode)") {
  // Inputs spaced apart and away from 0: no ReLU kink and no pooling tie within the step.
  const geometry g{2, 3, 7, 8, 3, 3, 0, true};
  sequential<double> net = block_net<double>(g, true);
  tensor<double> x(shape{g.n, 2, g.h + 2, g.w + 2});
  prng r(9);
  for (auto& v : x) v = r.uniform(-1.0, 1.0);
  tensor<double> d(shape{g.n, 3});
  for (auto& v : d) v = r.uniform(-1.0, 1.0);
  const auto f = [&]() {
    const tensor<double>& y = net.forward(x);
    double s = 0;
    for (std::size_t i = 0; i < y.size(); ++i) s += y[i] * d[i];
    return s;
  };
  f();
  net.zero_grad();
  const tensor<double> dx = net.backward(d, true).clone();
  const std::vector<double> grads(net.grads().begin(), net.grads().end());
  const double eps = 1e-6;
  double worst = 0;
  std::size_t checked = 0;
  const auto check = [&](double& v, double analytic, const std::string& what) {
    const double keep = v;
    v = keep + eps;
    const double fp = f();
    v = keep - eps;
    const double fm = f();
    v = keep;
    const double numeric = (fp - fm) / (2 * eps);
    const double err = std::fabs(analytic - numeric) / (1e-6 + std::max(std::fabs(analytic), std::fabs(numeric)));
    worst = std::max(worst, err);
    ++checked;
    CHECK_MESSAGE(err <= 1e-5, what << ": analytic " << analytic << ", numeric " << numeric);
  };
  for (std::size_t i = 0; i < x.size(); ++i) check(x[i], dx[i], "dx[" + std::to_string(i) + "]");
  for (const param_info& p : net.parameters()) {
    if (!p.spec.trainable) continue;
    for (std::size_t i = 0; i < p.spec.shape.size(); ++i)
      check(net.values()[p.offset + i], grads[p.offset + i], p.name + "[" + std::to_string(i) + "]");
  }
  CHECK(checked > 300);
  MESSAGE("fused block: worst relative error " << worst << " over " << checked << " values");
}

TEST_CASE("fusion applies to a relu -> batch_norm2d -> max_pool2d run only") {
  const auto relu_output_kept = [](std::vector<std::string> kinds) {
    sequential<float> net;
    for (const auto& k : kinds) {
      if (k == "relu") net.add<relu<float>>();
      if (k == "bn") net.add<batch_norm2d<float>>();
      if (k == "pool") net.add<max_pool2d<float>>(2, 2, 0, true);
    }
    net.setup(shape{1, 2, 9, 9}, 1);
    tensor<float> x(shape{2, 2, 9, 9});
    prng r(1);
    for (auto& v : x) v = float(r.uniform(-1.0, 1.0));
    net.forward(x);
    return !net.output(0).empty();  // fused: the relu output is never written
  };
  CHECK_FALSE(relu_output_kept({"relu", "bn", "pool"}));
  CHECK_FALSE(relu_output_kept({"relu", "bn", "pool", "relu", "bn", "pool"}));
  CHECK(relu_output_kept({"relu", "pool", "bn"}));
  CHECK(relu_output_kept({"relu", "bn", "relu", "pool"}));
  CHECK(relu_output_kept({"relu", "bn"}));
  // a changed fusion setting needs a new forward before backward
  sequential<float> net = block_net<float>({2, 3, 6, 6, 2, 2, 0, false}, true);
  tensor<float> x = input<float>({2, 3, 6, 6, 2, 2, 0, false}, 1), d(shape{2, 3});
  net.forward(x);
  net.set_fusion(false);
  CHECK_THROWS_WITH_AS(net.backward(d), doctest::Contains("without a forward"), housenet::error);
}

TEST_CASE("plan_chain: every layer once, in order; a fused run only on the exact layer classes") {
  // a batch_norm2d subclass that changes the forward is a different layer: never fused
  struct custom_bn : batch_norm2d<float> {
    void do_forward(const tensor<float>& x, tensor<float>& y, const context& ctx) override {
      batch_norm2d<float>::do_forward(x, y, ctx);
    }
  };
  sequential<float> net;
  net.add<conv2d<float>>(3, 3);
  net.add<relu<float>>();
  net.add<batch_norm2d<float>>();
  net.add<max_pool2d<float>>(2, 2);
  net.add<relu<float>>();
  net.add<custom_bn>();
  net.add<max_pool2d<float>>(2, 2);
  net.add<linear<float>>(2);
  net.setup(shape{1, 2, 14, 14}, 1);
  std::vector<layer<float>*> chain;
  for (std::size_t i = 0; i < net.size(); ++i) chain.push_back(&net[i]);
  for (bool fuse : {true, false}) {
    CAPTURE(fuse);
    const auto plan = plan_chain(chain, fuse);
    std::vector<std::size_t> sizes;
    std::size_t next = 0;
    for (const auto& b : plan) {
      CHECK(b->first() == next);
      next = b->last() + 1;
      sizes.push_back(b->size());
    }
    CHECK(next == chain.size());
    CHECK(sizes == (fuse ? std::vector<std::size_t>{1, 3, 1, 1, 1, 1} : std::vector<std::size_t>(8, 1)));
  }
  // the model runs the same plan: the first run's relu output is never written, the second's is
  tensor<float> x(shape{2, 2, 14, 14});
  prng r(2);
  for (auto& v : x) v = float(r.uniform(-1.0, 1.0));
  net.forward(x);
  CHECK(net.output(1).empty());
  CHECK(!net.output(4).empty());
}

TEST_CASE("batch_norm2d: named parameters are params() 0..3, and need binding") {
  batch_norm2d<float> bn;
  CHECK_THROWS_WITH_AS(bn.gamma(), "batch_norm2d: parameters not bound (call setup, then bind)", housenet::error);
  bn.setup(shape{1, 3, 4, 4});
  CHECK_THROWS_WITH_AS(bn.running_var(), "batch_norm2d: parameters not bound (call setup, then bind)",
                       housenet::error);
  testing::param_store<float> ps;
  ps.bind(bn);
  prng r(1);
  bn.init(r);
  const std::vector<param<float>*> named{&bn.gamma(), &bn.beta(), &bn.running_mean(), &bn.running_var()};
  const char* names[] = {"gamma", "beta", "running_mean", "running_var"};
  for (std::size_t k = 0; k < 4; ++k) {
    CHECK(named[k] == &bn.params()[k]);
    CHECK(named[k]->spec.name == names[k]);
  }
  CHECK(bn.gamma().value[2] == 1.0f);
  CHECK(bn.running_var().value[0] == 1.0f);
}

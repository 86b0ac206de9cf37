// Optimizers: hand-computed sgd (momentum, nesterov, weight decay only where it applies) and adam
// updates over the arena; non-trainable state untouched; thread-count independence; state checks.
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/layers.hpp>
#include <housenet/optim.hpp>
#include <housenet/parallel.hpp>
#include <housenet/sequential.hpp>

#include <cmath>
#include <cstring>
#include <vector>

using namespace housenet;

namespace {

// linear (weight: decay, bias: no decay) + batch norm (gamma/beta: no decay; running: state)
template <class T>
sequential<T> net_with_all_kinds() {
  sequential<T> n;
  n.template add<conv2d<T>>(3, 2);
  n.template add<batch_norm2d<T>>();
  n.template add<linear<T>>(2);
  n.setup(shape{1, 2, 4, 4}, 1);
  return n;
}

// Sets every value to a distinct number and every gradient (padding included: stays 0) likewise.
template <class T>
void fill(sequential<T>& n, double vscale, double gscale) {
  for (const auto& p : n.parameters()) {
    for (std::size_t i = 0; i < p.spec.shape.size(); ++i) {
      n.values()[p.offset + i] = T(vscale * (0.5 + 0.01 * double(i % 17)) * (i % 2 ? -1 : 1));
      n.grads()[p.offset + i] = T(gscale * (0.3 - 0.02 * double(i % 13)));
    }
  }
}

}  // namespace

TEST_CASE_TEMPLATE("sgd: PyTorch's update, decay on weights only, state untouched", T, float, double) {
  const double lr = 0.1, m = 0.9, wd = 0.01;
  for (const bool nesterov : {false, true}) {
    sequential<T> n = net_with_all_kinds<T>();
    fill(n, 1.0, 1.0);
    std::vector<double> p0(n.values().begin(), n.values().end());
    std::vector<double> g0(n.grads().begin(), n.grads().end());
    sgd<T> opt(typename sgd<T>::options{lr, m, wd, nesterov});
    opt.step(n);
    // second step with other gradients
    std::vector<double> p1(n.values().begin(), n.values().end());
    for (std::size_t i = 0; i < n.arena_size(); ++i) n.grads()[i] = T(g0[i] * -0.5);
    opt.step(n);
    CHECK(opt.steps() == 2);
    for (const auto& p : n.parameters()) {
      for (std::size_t i = 0; i < p.spec.shape.size(); ++i) {
        const std::size_t k = p.offset + i;
        const double got = double(n.values()[k]);
        if (!p.spec.trainable) {
          CHECK(got == p0[k]);  // running statistics: never touched
          continue;
        }
        const double d = p.spec.decay ? wd : 0.0;
        // step 1: v = g + d p0; p1 = p0 - lr (nesterov ? g + d p0 + m v : v)
        const double ga = g0[k] + d * p0[k];
        const double v1 = ga;
        const double p1x = p0[k] - lr * (nesterov ? ga + m * v1 : v1);
        CHECK(double(p1[k]) == doctest::Approx(p1x).epsilon(1e-6));
        const double gb = -0.5 * g0[k] + d * p1[k];
        const double v2 = m * v1 + gb;
        const double p2x = p1[k] - lr * (nesterov ? gb + m * v2 : v2);
        CHECK(got == doctest::Approx(p2x).epsilon(1e-6));
      }
    }
    // the padding of the arena stays zero
    for (std::size_t k = 0; k < n.arena_size(); ++k) {
      bool inside = false;
      for (const auto& p : n.parameters())
        inside = inside || (k >= p.offset && k < p.offset + p.spec.shape.size());
      if (!inside) CHECK(n.values()[k] == T(0));
    }
  }
}

TEST_CASE("sgd: momentum 0 is plain gradient descent and keeps no state") {
  sequential<float> n = net_with_all_kinds<float>();
  fill(n, 1.0, 1.0);
  std::vector<float> p0(n.values().begin(), n.values().end());
  sgd<float> opt(sgd<float>::options{0.5, 0.0, 0.0, false});
  CHECK(opt.state().empty());
  opt.step(n);
  for (std::size_t k = 0; k < n.trainable_size(); ++k)
    CHECK(n.values()[k] == p0[k] - 0.5f * n.grads()[k]);
}

TEST_CASE_TEMPLATE("adam: PyTorch's update with bias correction", T, float, double) {
  const double lr = 0.01, b1 = 0.9, b2 = 0.99, eps = 1e-8, wd = 0.1;
  sequential<T> n = net_with_all_kinds<T>();
  fill(n, 1.0, 1.0);
  const std::vector<double> p0(n.values().begin(), n.values().end());
  const std::vector<double> g0(n.grads().begin(), n.grads().end());
  adam<T> opt(typename adam<T>::options{lr, b1, b2, eps, wd});
  std::vector<double> pe = p0, me(p0.size(), 0.0), ve(p0.size(), 0.0);
  for (int t = 1; t <= 3; ++t) {
    for (std::size_t k = 0; k < n.arena_size(); ++k) n.grads()[k] = T(g0[k] * (t == 2 ? -1.0 : 1.0));
    opt.step(n);
    for (const auto& p : n.parameters()) {
      if (!p.spec.trainable) continue;
      const double d = p.spec.decay ? wd : 0.0;
      for (std::size_t i = 0; i < p.spec.shape.size(); ++i) {
        const std::size_t k = p.offset + i;
        const double g = g0[k] * (t == 2 ? -1.0 : 1.0) + d * pe[k];
        me[k] = b1 * me[k] + (1 - b1) * g;
        ve[k] = b2 * ve[k] + (1 - b2) * g * g;
        const double mh = me[k] / (1 - std::pow(b1, t)), vh = ve[k] / (1 - std::pow(b2, t));
        pe[k] -= lr * mh / (std::sqrt(vh) + eps);
        CHECK(double(n.values()[k]) == doctest::Approx(pe[k]).epsilon(1e-5));
      }
    }
  }
  CHECK(opt.steps() == 3);
  for (const auto& p : n.parameters())
    if (!p.spec.trainable)
      for (std::size_t i = 0; i < p.spec.shape.size(); ++i) CHECK(double(n.values()[p.offset + i]) == p0[p.offset + i]);
}

TEST_CASE("optimizer step is independent of the thread count (bitwise)") {
  // The pool's default count, then 1.
  const housenet_test::settings_guard restore;
  std::vector<std::vector<float>> results;
  for (const int threads : {num_threads(), 1}) {
    if (threads != num_threads()) set_num_threads(threads);
    sequential<float> n;
    n.add<linear<float>>(300);
    n.add<linear<float>>(7);
    n.setup(shape{1, 50}, 3);
    fill(n, 0.5, 2.0);
    sgd<float> s(sgd<float>::options{0.1, 0.9, 0.01, true});
    adam<float> a;
    for (int i = 0; i < 3; ++i) {
      s.step(n);
      a.step(n);
    }
    results.emplace_back(n.values().begin(), n.values().end());
  }
  CHECK(std::memcmp(results[0].data(), results[1].data(), results[0].size() * sizeof(float)) == 0);
}

TEST_CASE("optimizer: state size, options and model checks") {
  sequential<float> n = net_with_all_kinds<float>();
  sgd<float> opt;
  CHECK(opt.lr() == 0.01);
  CHECK(opt.opts().momentum == 0.9);
  opt.step(n);
  CHECK(opt.velocity().size() == n.trainable_size());
  CHECK(opt.state().size() == 1);
  sequential<float> other;
  other.add<linear<float>>(3);
  other.setup(shape{1, 4}, 1);
  CHECK_THROWS_WITH_AS(opt.step(other), doctest::Contains("sgd: state 'velocity' has"), error);
  sequential<float> unset;
  unset.add<linear<float>>(3);
  CHECK_THROWS_WITH_AS(opt.step(unset), "sgd: step() on a model that is not set up", error);
  CHECK_THROWS_AS(sgd<float>(sgd<float>::options{-1, 0.9, 0, false}), error);
  CHECK_THROWS_AS(sgd<float>(sgd<float>::options{0.1, 1.0, 0, false}), error);
  CHECK_THROWS_AS(sgd<float>(sgd<float>::options{0.1, 0.0, 0, true}), error);
  CHECK_THROWS_AS(adam<float>(adam<float>::options{0.1, 0.9, 1.0, 1e-8, 0}), error);
  CHECK_THROWS_AS(opt.set_lr(std::nan("")), error);
  opt.set_lr(0.5);
  CHECK(opt.config()[0] == std::make_pair(std::string("lr"), std::string("0.5")));
  opt.reset(n);
  CHECK(opt.steps() == 0);
  for (float v : opt.velocity()) CHECK(v == 0.0f);
}

// The layers against the libtorch oracle in shared/data/reference/odd (see its README):
// conv2d stride 2 padding 1, max pooling in ceil mode (plain, partial windows, ties), batch norm
// (train, running statistics, eval), linear, softmax cross-entropy. Per tensor:
//   max |got - ref| <= tol * max |ref|, tol = 1e-5 in float (the README's suggestion), 1e-6 in double.
// Skips with a message when the shared folder is absent.
#include <doctest/doctest.h>

#include "reference.hpp"

#include <housenet/layers.hpp>
#include <housenet/loss.hpp>
#include <housenet/testing.hpp>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

using namespace housenet;
using housenet::testing::param_store;

namespace {

const std::string odd_dir = std::string(HOUSENET_SHARED_DIR) + "/data/reference/odd";

using housenet_test::reference;

template <class T>
double tol() {
  return sizeof(T) == 4 ? 1e-5 : 1e-6;
}

template <class T, class G>
void check_close(const reference& ref, const std::string& name, const G& got) {
  housenet_test::check_close(ref, name, got, tol<T>());
}

template <class T>
void set_param(param_store<T>& ps, std::size_t i, const tensor<T>& v) {
  REQUIRE(ps.value(i).size() == v.size());
  std::copy(v.begin(), v.end(), ps.value(i).begin());
}

// The reference, or none (with a message) when the shared folder is absent.
std::unique_ptr<reference> load_or_skip() {
  if (!reference::present(odd_dir)) {
    MESSAGE("skipped: no libtorch reference at ", odd_dir);
    return nullptr;
  }
  return std::make_unique<reference>(odd_dir);
}

}  // namespace

TEST_CASE_TEMPLATE("reference odd: conv2d 3->5, 3x3, stride 2, padding 1", T, float, double) {
  const auto loaded = load_or_skip();
  if (!loaded) return;
  const reference& ref = *loaded;
  conv2d<T> c(5, 3, 2, 1);
  const tensor<T> x = ref.get<T>("conv.x");
  CHECK(c.setup(x.shape()) == (shape{2, 5, 4, 5}));
  param_store<T> ps;
  ps.bind(c);
  set_param(ps, 0, ref.get<T>("conv.weight"));
  set_param(ps, 1, ref.get<T>("conv.bias"));
  tensor<T> y, dx;
  c.forward(x, y, {});
  check_close<T>(ref, "conv.y", y);
  c.backward(x, y, ref.get<T>("conv.r"), dx);
  check_close<T>(ref, "conv.grad.x", dx);
  check_close<T>(ref, "conv.grad.weight", ps.grad(0));
  check_close<T>(ref, "conv.grad.bias", ps.grad(1));
}

TEST_CASE_TEMPLATE("reference odd: max pool 3x3 / 2, ceil mode (plain, partial windows, ties)", T,
                   float, double) {
  const auto loaded = load_or_skip();
  if (!loaded) return;
  const reference& ref = *loaded;
  for (const std::string p : {"pool", "pool_ceil", "pool_ties"}) {
    INFO(p);
    max_pool2d<T> mp(3, 2, 0, true);
    const tensor<T> x = ref.get<T>(p + ".x");
    mp.setup(x.shape());
    tensor<T> y, dx;
    mp.forward(x, y, {});
    check_close<T>(ref, p + ".y", y);
    const tensor<T> want = ref.get<T>(p + ".y");
    bool exact = true;  // pooling selects: the forward is exact
    for (std::size_t i = 0; i < y.size(); ++i) exact = exact && y[i] == want[i];
    CHECK(exact);
    mp.backward(x, y, ref.get<T>(p + ".r"), dx);
    check_close<T>(ref, p + ".grad.x", dx);
  }
}

TEST_CASE_TEMPLATE("reference odd: batch_norm2d train, running statistics, eval", T, float, double) {
  const auto loaded = load_or_skip();
  if (!loaded) return;
  const reference& ref = *loaded;
  batch_norm2d<T> bn(0.9, 2e-5);
  const tensor<T> x = ref.get<T>("bn.x");
  bn.setup(x.shape());
  param_store<T> ps;
  ps.bind(bn);
  prng rng(1);
  bn.init(rng);  // running statistics 0 / 1
  set_param(ps, 0, ref.get<T>("bn.weight"));
  set_param(ps, 1, ref.get<T>("bn.bias"));
  tensor<T> y, dx;
  bn.forward(x, y, {});
  check_close<T>(ref, "bn.y", y);
  bn.backward(x, y, ref.get<T>("bn.r"), dx);
  check_close<T>(ref, "bn.grad.x", dx);
  check_close<T>(ref, "bn.grad.weight", ps.grad(0));
  check_close<T>(ref, "bn.grad.bias", ps.grad(1));
  check_close<T>(ref, "bn.running_mean", ps.value(2));
  check_close<T>(ref, "bn.running_var", ps.value(3));
  context ev;
  ev.mode = mode::eval;
  bn.forward(x, y, ev);
  check_close<T>(ref, "bn.eval_y", y);
  check_close<T>(ref, "bn.running_var", ps.value(3));  // eval leaves them alone
  bn.infer(x, y);
  check_close<T>(ref, "bn.eval_y", y);
}

TEST_CASE_TEMPLATE("reference odd: linear 7->5", T, float, double) {
  const auto loaded = load_or_skip();
  if (!loaded) return;
  const reference& ref = *loaded;
  linear<T> fc(5);
  const tensor<T> x = ref.get<T>("linear.x");
  CHECK(fc.setup(x.shape()) == (shape{3, 5}));
  param_store<T> ps;
  ps.bind(fc);
  set_param(ps, 0, ref.get<T>("linear.weight"));
  set_param(ps, 1, ref.get<T>("linear.bias"));
  tensor<T> y, dx;
  fc.forward(x, y, {});
  check_close<T>(ref, "linear.y", y);
  fc.backward(x, y, ref.get<T>("linear.r"), dx);
  check_close<T>(ref, "linear.grad.x", dx);
  check_close<T>(ref, "linear.grad.weight", ps.grad(0));
  check_close<T>(ref, "linear.grad.bias", ps.grad(1));
}

TEST_CASE_TEMPLATE("reference odd: softmax cross-entropy, mean over 5 rows", T, float, double) {
  const auto loaded = load_or_skip();
  if (!loaded) return;
  const reference& ref = *loaded;
  const tensor<T> z = ref.get<T>("ce.logits");
  const tensor<float> tf = ref.get<float>("ce.t");
  std::vector<int> t;
  for (float v : tf) t.push_back(int(v));
  softmax_cross_entropy<T> ce;
  tensor<T> loss(shape{1}), d;
  loss[0] = static_cast<T>(ce.forward(z, t));
  check_close<T>(ref, "ce.loss", loss);
  ce.backward(d);
  check_close<T>(ref, "ce.grad.logits", d);
}

// Every layer kind against libtorch, at odd shapes, in float and double:
//   - tests/data/oracle/layers (committed; made by scripts/make-libtorch-oracle.cpp, its cases
//     listed in cases.txt): conv2d (kernels 1..7, strides 1..3, padding 0..2, with and without
//     bias, under every convolution algorithm; groups, depthwise, dilation), linear, relu,
//     leaky_relu, sigmoid, tanh, batch_norm2d (train, running statistics, eval, both backwards),
//     max_pool2d (ceil and floor mode, partial windows, ties, padding, overlapping windows),
//     avg_pool2d (count_include_pad both ways), global_avg_pool, flatten, dropout (what does not
//     depend on the mask), softmax cross-entropy;
//   - ../shared/data/reference/odd (the developers' oracle, see its README): conv2d, max pooling,
//     batch norm, linear, softmax cross-entropy; doctest suite "shared", skipped when absent.
// Per tensor: max |got - ref| <= tol * max |ref|, tol = 1e-5 in float (the oracle README's
// suggestion; Winograd's transforms: 1e-4, see detail/winograd.hpp), 1e-6 in double (the
// references are float32 roundings of float64 results).
#include <doctest/doctest.h>

#include "reference.hpp"
#include "support.hpp"

#include <housenet/layers.hpp>
#include <housenet/loss.hpp>
#include <housenet/testing.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using namespace housenet;
using housenet::testing::param_store;
using housenet_test::reference;

namespace {

const std::string layers_dir = std::string(HOUSENET_SOURCE_DIR) + "/tests/data/oracle/layers";
const std::string odd_dir = std::string(HOUSENET_SHARED_DIR) + "/data/reference/odd";

template <class T>
double tol() {
  return sizeof(T) == 4 ? 1e-5 : 1e-6;
}

template <class T, class G>
void check_close(const reference& ref, const std::string& name, const G& got, double tolerance = tol<T>()) {
  housenet_test::check_close(ref, name, got, tolerance);
}

// One line of cases.txt: `name kind key=value ...`.
struct layer_case {
  std::string name, kind;
  std::map<std::string, std::string> config;
  std::size_t size(const std::string& key) const { return std::stoul(config.at(key)); }
  std::size_t size_or(const std::string& key, std::size_t absent) const {
    return config.count(key) ? size(key) : absent;
  }
  double real(const std::string& key) const { return std::stod(config.at(key)); }
};

// The cases of the committed oracle of one layer kind (REQUIREs at least `at_least`).
std::vector<layer_case> cases_of(const std::string& kind, std::size_t at_least) {
  std::ifstream in(layers_dir + "/cases.txt");
  REQUIRE_MESSAGE(in.good(), "cannot read " << layers_dir << "/cases.txt");
  std::vector<layer_case> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    layer_case c;
    std::string item;
    if (!(ss >> c.name >> c.kind) || c.kind != kind) continue;
    while (ss >> item) {
      const std::size_t eq = item.find('=');
      REQUIRE_MESSAGE(eq != std::string::npos, "cases.txt: " << line);
      c.config[item.substr(0, eq)] = item.substr(eq + 1);
    }
    out.push_back(c);
  }
  REQUIRE_MESSAGE(out.size() >= at_least, kind << ": " << out.size() << " cases in cases.txt, expected " << at_least);
  return out;
}

// libtorch's name of a parameter (the oracle's file names) for housenet's.
std::string torch_name(const std::string& name) {
  if (name == "gamma") return "weight";
  if (name == "beta") return "bias";
  return name;
}

// Runs layer l on the oracle's case c: setup gives c.y's shape; the parameters are c.<name>
// (running statistics: c.<name>.before when the oracle has it, else init's 0 / 1); a training
// forward gives c.y and the backward of c.r gives c.grad.x and every trainable parameter's
// c.grad.<name>. Returns the parameters.
template <class T>
std::unique_ptr<param_store<T>> forward_backward(const reference& ref, const std::string& c, layer<T>& l,
                                                 double tolerance = tol<T>()) {
  INFO("case " << c);
  const tensor<T> x = ref.get<T>(c + ".x");
  CHECK(l.setup(x.shape()) == ref.shape_of(c + ".y"));
  auto ps = std::make_unique<param_store<T>>();
  ps->bind(l);
  prng rng(1);
  l.init(rng);
  for (std::size_t i = 0; i < ps->size(); ++i) {
    const std::string n = c + "." + torch_name(ps->spec(i).name);
    if (!ps->spec(i).trainable && !ref.has(n + ".before")) continue;
    const tensor<T> v = ref.get<T>(ps->spec(i).trainable ? n : n + ".before");
    REQUIRE(ps->value(i).size() == v.size());
    std::copy(v.begin(), v.end(), ps->value(i).begin());
  }
  tensor<T> y, dx;
  l.forward(x, y, {});
  check_close<T>(ref, c + ".y", y, tolerance);
  l.backward(x, y, ref.get<T>(c + ".r"), dx);
  check_close<T>(ref, c + ".grad.x", dx, tolerance);
  for (std::size_t i = 0; i < ps->size(); ++i)
    if (ps->spec(i).trainable) check_close<T>(ref, c + ".grad." + torch_name(ps->spec(i).name), ps->grad(i), tolerance);
  return ps;
}

// A max_pool2d case, and its forward exact (pooling selects).
template <class T>
void check_pool(const reference& ref, const std::string& c, max_pool2d<T>& l) {
  forward_backward(ref, c, l);
  tensor<T> y;
  l.infer(ref.get<T>(c + ".x"), y);
  INFO("case " << c);
  CHECK(housenet_test::relative_error(y, ref.get<T>(c + ".y")) == 0);
}

// Softmax cross-entropy, mean over the rows: c.loss and c.grad.logits from c.logits and c.t.
template <class T>
void check_cross_entropy(const reference& ref, const std::string& c) {
  const tensor<T> z = ref.get<T>(c + ".logits");
  std::vector<int> t;
  for (float v : ref.get<float>(c + ".t")) t.push_back(int(v));
  softmax_cross_entropy<T> ce;
  tensor<T> loss(shape{1}), d;
  loss[0] = static_cast<T>(ce.forward(z, t));
  check_close<T>(ref, c + ".loss", loss);
  ce.backward(d);
  check_close<T>(ref, c + ".grad.logits", d);
}

// The convolution algorithms that can run a case: automatic, direct, and Winograd where it applies.
std::vector<conv_algorithm> conv_algorithms(const layer_case& c) {
  std::vector<conv_algorithm> v = {conv_algorithm::automatic, conv_algorithm::direct};
  if (c.size("stride") == 1 && c.size("kernel") >= 2 && c.size("kernel") <= 7 && c.size("padding") < c.size("kernel"))
    v.push_back(conv_algorithm::winograd);
  return v;
}

}  // namespace

// ---- tests/data/oracle/layers (committed) ------------------------------------------------------

TEST_CASE_TEMPLATE("oracle layers: conv2d, every case under every convolution algorithm", T, float, double) {
  const reference ref(layers_dir);
  const housenet_test::settings_guard restore;
  std::size_t winograd_runs = 0;
  for (const layer_case& c : cases_of("conv2d", 12))
    for (const conv_algorithm a : conv_algorithms(c)) {
      CAPTURE(int(a));
      set_conv_algorithm(a);
      conv2d<T> l(c.size("out"), c.size("kernel"), c.size("stride"), c.size("padding"), c.size("bias") == 1,
                  init_kind::lecun, c.size_or("dilation", 1), c.size_or("groups", 1));
      // Winograd's transforms round more in float (detail/winograd.hpp, PRECISION)
      forward_backward(ref, c.name, l, a == conv_algorithm::winograd && sizeof(T) == 4 ? 1e-4 : tol<T>());
      winograd_runs += a == conv_algorithm::winograd;
    }
  CHECK(winograd_runs >= 4);
}

TEST_CASE_TEMPLATE("oracle layers: linear, relu, flatten", T, float, double) {
  const reference ref(layers_dir);
  for (const layer_case& c : cases_of("linear", 2)) {
    linear<T> l(c.size("out"), c.size("bias") == 1);
    forward_backward(ref, c.name, l);
  }
  for (const layer_case& c : cases_of("relu", 1)) {
    relu<T> l;
    forward_backward(ref, c.name, l);
  }
  for (const layer_case& c : cases_of("flatten", 1)) {
    flatten<T> l;
    forward_backward(ref, c.name, l);
  }
}

TEST_CASE_TEMPLATE("oracle layers: leaky_relu (exact zeros), sigmoid, tanh on [-12, 12)", T, float, double) {
  const reference ref(layers_dir);
  for (const layer_case& c : cases_of("leaky_relu", 1)) {
    leaky_relu<T> l(c.real("negative_slope"));
    forward_backward(ref, c.name, l);
  }
  for (const layer_case& c : cases_of("sigmoid", 1)) {
    sigmoid<T> l;
    forward_backward(ref, c.name, l);
  }
  for (const layer_case& c : cases_of("tanh", 1)) {
    tanh_layer<T> l;
    forward_backward(ref, c.name, l);
  }
}

TEST_CASE_TEMPLATE("oracle layers: avg_pool2d (ceil, floor, count_include_pad both ways, k < s) and global_avg_pool",
                   T, float, double) {
  const reference ref(layers_dir);
  for (const layer_case& c : cases_of("avg_pool2d", 5)) {
    avg_pool2d<T> l(c.size("kernel"), c.size("stride"), c.size("padding"), c.size("ceil") == 1,
                    c.size("count_include_pad") == 1);
    forward_backward(ref, c.name, l);
  }
  for (const layer_case& c : cases_of("global_avg_pool", 1)) {
    global_avg_pool<T> l;
    forward_backward(ref, c.name, l);
  }
}

TEST_CASE_TEMPLATE("oracle layers: batch_norm2d train (running statistics) and eval, both backwards", T, float,
                   double) {
  const reference ref(layers_dir);
  for (const layer_case& c : cases_of("batch_norm2d", 2)) {
    INFO("case " << c.name);
    batch_norm2d<T> bn(c.real("decay"), c.real("eps"));
    const auto ps = forward_backward(ref, c.name, bn);
    check_close<T>(ref, c.name + ".running_mean", ps->value(2));
    check_close<T>(ref, c.name + ".running_var", ps->value(3));
    // eval mode with the running statistics just computed: forward, infer, and the backward of
    // the eval function; they leave the statistics alone
    const tensor<T> x = ref.get<T>(c.name + ".x");
    tensor<T> y, dx;
    context ev;
    ev.mode = mode::eval;
    ps->zero_grad();
    bn.forward(x, y, ev);
    check_close<T>(ref, c.name + ".eval.y", y);
    bn.backward(x, y, ref.get<T>(c.name + ".r"), dx);
    check_close<T>(ref, c.name + ".eval.grad.x", dx);
    check_close<T>(ref, c.name + ".eval.grad.weight", ps->grad(0));
    check_close<T>(ref, c.name + ".eval.grad.bias", ps->grad(1));
    bn.infer(x, y);
    check_close<T>(ref, c.name + ".eval.y", y);
    check_close<T>(ref, c.name + ".running_mean", ps->value(2));
    check_close<T>(ref, c.name + ".running_var", ps->value(3));
  }
}

TEST_CASE_TEMPLATE("oracle layers: max_pool2d (ceil, floor, partial windows, ties, padding, overlap)", T, float,
                   double) {
  const reference ref(layers_dir);
  for (const layer_case& c : cases_of("max_pool2d", 7)) {
    max_pool2d<T> l(c.size("kernel"), c.size("stride"), c.size("padding"), c.size("ceil") == 1);
    check_pool(ref, c.name, l);
  }
}

// libtorch's dropout mask cannot be matched: its outputs say the scale (every kept unit is
// x / (1 - ratio), the others 0), which ours must share, with a backward through the same mask.
TEST_CASE_TEMPLATE("oracle layers: dropout scales kept units as libtorch does, backward uses the mask", T, float,
                   double) {
  const reference ref(layers_dir);
  for (const layer_case& c : cases_of("dropout", 1)) {
    const double ratio = c.real("ratio");
    const tensor<T> x = ref.get<T>(c.name + ".x"), r = ref.get<T>(c.name + ".r");
    const tensor<double> ty = ref.get<double>(c.name + ".y"), tdx = ref.get<double>(c.name + ".grad.x");
    std::size_t torch_kept = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (ty[i] == 0) continue;
      ++torch_kept;
      CHECK(std::fabs(ty[i] - double(x[i]) / (1 - ratio)) <= 1e-6 * std::fabs(ty[i]));
      CHECK(std::fabs(tdx[i] - double(r[i]) / (1 - ratio)) <= 1e-6 * std::fabs(tdx[i]));
    }
    REQUIRE(torch_kept > 0);
    REQUIRE(torch_kept < x.size());
    dropout<T> l(ratio, 7);
    l.setup(x.shape());
    tensor<T> y, dx;
    l.forward(x, y, {});
    l.backward(x, y, r, dx);
    std::size_t kept = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      INFO("element " << i << ": x " << x[i] << ", y " << y[i] << ", dx " << dx[i]);
      if (y[i] == 0) {
        CHECK(dx[i] == 0);
        continue;
      }
      ++kept;
      CHECK(std::fabs(double(y[i]) - double(x[i]) / (1 - ratio)) <= tol<T>() * std::fabs(double(y[i])));
      CHECK(std::fabs(double(dx[i]) - double(r[i]) / (1 - ratio)) <= tol<T>() * std::fabs(double(dx[i])));
    }
    // the kept fraction: 1 - ratio within 4 standard deviations (a fixed mask: seed 7, step 0)
    const double n = double(x.size()), sd = std::sqrt(ratio * (1 - ratio) / n);
    CHECK(std::fabs(double(kept) / n - (1 - ratio)) <= 4 * sd);
    context ev;
    ev.mode = mode::eval;
    l.forward(x, y, ev);
    CHECK(housenet_test::same_bits(y, x));
  }
}

TEST_CASE_TEMPLATE("oracle layers: softmax cross-entropy (one row shifted by +100)", T, float, double) {
  const reference ref(layers_dir);
  for (const layer_case& c : cases_of("softmax_cross_entropy", 1)) check_cross_entropy<T>(ref, c.name);
}

// ---- ../shared/data/reference/odd (the developers' oracle) -------------------------------------

namespace {

// The reference, or none (the case is skipped) when the shared folder is absent.
std::unique_ptr<reference> load_or_skip() {
  if (!reference::present(odd_dir)) {
    housenet_test::skip("no libtorch reference at " + odd_dir);
    return nullptr;
  }
  return std::make_unique<reference>(odd_dir);
}

}  // namespace

TEST_CASE_TEMPLATE("reference odd: conv2d 3->5, 3x3, stride 2, padding 1" * doctest::test_suite("shared"), T, float, double) {
  const auto ref = load_or_skip();
  if (!ref) return;
  conv2d<T> c(5, 3, 2, 1);
  forward_backward(*ref, "conv", c);
}

TEST_CASE_TEMPLATE("reference odd: max pool 3x3 / 2, ceil mode (plain, partial windows, ties)" * doctest::test_suite("shared"), T, float, double) {
  const auto ref = load_or_skip();
  if (!ref) return;
  for (const std::string p : {"pool", "pool_ceil", "pool_ties"}) {
    max_pool2d<T> mp(3, 2, 0, true);
    check_pool(*ref, p, mp);
  }
}

TEST_CASE_TEMPLATE("reference odd: batch_norm2d train, running statistics, eval" * doctest::test_suite("shared"), T, float, double) {
  const auto ref = load_or_skip();
  if (!ref) return;
  batch_norm2d<T> bn(0.9, 2e-5);
  const auto ps = forward_backward(*ref, "bn", bn);  // running statistics from 0 / 1
  check_close<T>(*ref, "bn.running_mean", ps->value(2));
  check_close<T>(*ref, "bn.running_var", ps->value(3));
  const tensor<T> x = ref->get<T>("bn.x");
  tensor<T> y;
  context ev;
  ev.mode = mode::eval;
  bn.forward(x, y, ev);
  check_close<T>(*ref, "bn.eval_y", y);
  check_close<T>(*ref, "bn.running_var", ps->value(3));  // eval leaves them alone
  bn.infer(x, y);
  check_close<T>(*ref, "bn.eval_y", y);
}

TEST_CASE_TEMPLATE("reference odd: linear 7->5" * doctest::test_suite("shared"), T, float, double) {
  const auto ref = load_or_skip();
  if (!ref) return;
  linear<T> fc(5);
  forward_backward(*ref, "linear", fc);
}

TEST_CASE_TEMPLATE("reference odd: softmax cross-entropy, mean over 5 rows" * doctest::test_suite("shared"), T, float, double) {
  const auto ref = load_or_skip();
  if (!ref) return;
  check_cross_entropy<T>(*ref, "ce");
}

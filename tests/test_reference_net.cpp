// The seed network (networks.hpp) against a libtorch oracle: every stage output, the loss, every
// gradient, the batch-norm running statistics, the eval-mode logits and loss, and two SGD-momentum
// steps, with the tolerances of ../shared/data/reference/README.md, per tensor
//     max_i |got_i - ref_i| <= tol * max_i |ref_i|,
// with and without the fused relu -> batch_norm2d -> max_pool2d block. Two oracles, the same checks:
//   tests/data/oracle/mini_net (committed, scripts/make-libtorch-oracle.cpp): widths 4, 6, 8, 16,
//       12, a 47x47 input (partial pooling windows in stages 1 and 2), batch 2;
//   ../shared/data/reference/mini_seed (the developers' oracle): widths 8, 16, 24, 64, 32, the
//       original 100x100 input, batch 3; doctest suite "shared", skipped when absent.
// Each test case reports its own worst error per tolerance.
// And a chain with batch norm right after its convolutions, of the newer layers (the committed
// tests/data/oracle/bn_chain): conv -> batch_norm2d -> relu -> depthwise conv -> batch_norm2d ->
// tanh -> global_avg_pool -> linear, a training forward and backward, in float and double.
#include <doctest/doctest.h>

#include "reference.hpp"
#include "support.hpp"

#include <housenet/layers.hpp>
#include <housenet/loss.hpp>
#include <housenet/networks.hpp>
#include <housenet/optim.hpp>
#include <housenet/sequential.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

using namespace housenet;
using housenet_test::error_report;
using housenet_test::reference;

namespace {

const std::string mini_net_dir = std::string(HOUSENET_SOURCE_DIR) + "/tests/data/oracle/mini_net";
const std::string mini_seed_dir = std::string(HOUSENET_SHARED_DIR) + "/data/reference/mini_seed";
const std::string bn_chain_dir = std::string(HOUSENET_SOURCE_DIR) + "/tests/data/oracle/bn_chain";

// reference parameter name (conv1.weight) -> model parameter name (1.conv2d.weight)
const std::vector<std::pair<std::string, std::string>>& param_map() {
  static const std::vector<std::pair<std::string, std::string>> m = {
      {"conv1.weight", "1.conv2d.weight"},  {"conv1.bias", "1.conv2d.bias"},
      {"bn1.weight", "3.batch_norm2d.gamma"}, {"bn1.bias", "3.batch_norm2d.beta"},
      {"conv3.weight", "5.conv2d.weight"},  {"conv3.bias", "5.conv2d.bias"},
      {"bn2.weight", "7.batch_norm2d.gamma"}, {"bn2.bias", "7.batch_norm2d.beta"},
      {"conv5.weight", "9.conv2d.weight"},  {"conv5.bias", "9.conv2d.bias"},
      {"bn3.weight", "11.batch_norm2d.gamma"}, {"bn3.bias", "11.batch_norm2d.beta"},
      {"fc7.weight", "13.linear.weight"},   {"fc7.bias", "13.linear.bias"},
      {"fc8.weight", "16.linear.weight"},   {"fc8.bias", "16.linear.bias"},
      {"fc9.weight", "19.linear.weight"},   {"fc9.bias", "19.linear.bias"}};
  return m;
}

// stage name -> index of the layer whose output it is
const std::vector<std::pair<std::string, std::size_t>>& stage_map() {
  static const std::vector<std::pair<std::string, std::size_t>> m = {
      {"s1_conv", 0},  {"s1_relu", 1},  {"s1_bn", 2},  {"s1_pool", 3},  {"s2_conv", 4},
      {"s2_relu", 5},  {"s2_bn", 6},    {"s2_pool", 7}, {"s3_conv", 8},  {"s3_relu", 9},
      {"s3_bn", 10},   {"s3_pool", 11}, {"fc7", 12},    {"fc7_relu", 13}, {"fc8", 15},
      {"fc8_relu", 16}, {"logits", 18}};
  return m;
}

// One oracle of the network and the checks against it (reporting into the test case's report).
struct oracle {
  const reference& ref;
  error_report& report;

  // The seed network with the oracle's widths and input size (config.txt), dropout off.
  sequential<float> network() const {
    const auto size = [&](const char* key, const char* otherwise) { return std::stoul(ref.config(key, otherwise)); };
    seed_network_options o;
    o.c1 = size("C1", "");
    o.c2 = size("C2", "");
    o.c3 = size("C3", "");
    o.f7 = size("F7", "");
    o.f8 = size("F8", "");
    o.input_size = size("input", "100");
    o.dropout = 0;
    return make_seed_network<float>(size("classes", "4"), o);
  }

  tensor<float> get(const std::string& name) const { return ref.get<float>(name); }

  template <class G>
  void check(const std::string& what, const G& got, const std::string& name, double tol) const {
    housenet_test::check_close(ref, name, got, tol, &report, what);
  }

  // |got - ref| <= tol * |ref| for a scalar (the loss)
  void check_scalar(const std::string& what, double got, const std::string& name, double tol) const {
    const double want = get(name)[0];
    INFO(what << ": " << got << " vs " << name << " = " << want);
    report.add(tol, std::fabs(got - want) / std::fabs(want), what);
    CHECK(std::fabs(got - want) <= tol * std::fabs(want));
  }

  // Sets every parameter from "<prefix><ref name>"; BN running stats from 0 / 1.
  void set_params(sequential<float>& net, const std::string& prefix) const {
    for (const auto& pm : param_map()) {
      const tensor<float> v = get(prefix + pm.first);
      param<float>& p = net.param_by_name(pm.second);
      REQUIRE_MESSAGE(p.value.size() == v.size(), pm.second << " has " << p.value.size()
                                                            << " elements, reference " << v.size());
      std::copy(v.begin(), v.end(), p.value.begin());
    }
    for (const char* bn : {"3", "7", "11"}) {
      auto& m = net.param_by_name(std::string(bn) + ".batch_norm2d.running_mean");
      auto& v = net.param_by_name(std::string(bn) + ".batch_norm2d.running_var");
      std::fill(m.value.begin(), m.value.end(), 0.0f);
      std::fill(v.value.begin(), v.value.end(), 1.0f);
    }
  }

  // Sets every trainable parameter's gradient from "<prefix><ref name>".
  void set_grads(sequential<float>& net, const std::string& prefix) const {
    net.zero_grad();
    for (const auto& pm : param_map()) {
      const tensor<float> g = get(prefix + pm.first);
      param<float>& p = net.param_by_name(pm.second);
      REQUIRE(p.grad.size() == g.size());
      std::copy(g.begin(), g.end(), p.grad.begin());
    }
  }

  std::vector<int> labels() const {
    std::vector<int> l;
    for (float v : get("t")) l.push_back(int(v));
    return l;
  }
};

// One training forward + loss + backward (gradients zeroed first). Returns the loss.
float train_pass(sequential<float>& net, const tensor<float>& x, const std::vector<int>& t,
                 tensor<float>& dlogits) {
  net.train();
  const tensor<float>& logits = net.forward(x);
  softmax_cross_entropy<float> ce;
  const float loss = float(ce.forward(logits, t));
  ce.backward(dlogits);
  net.zero_grad();
  net.backward(dlogits, /*input_grad=*/true);
  return loss;
}

// The relu and batch_norm2d layers of a fused relu -> batch_norm2d -> max_pool2d run keep no
// output (sequential.hpp, FUSION): their stages are checked with fusion off only.
bool fused_away(const sequential<float>& net, std::size_t i) {
  const auto kind = [&](std::size_t j) { return j < net.size() ? net[j].kind() : std::string(); };
  const auto run_at = [&](std::size_t j) {  // a relu -> batch_norm2d -> max_pool2d run starts at j
    return kind(j) == "relu" && kind(j + 1) == "batch_norm2d" && kind(j + 2) == "max_pool2d";
  };
  return net.fusion() && (run_at(i) || (i >= 1 && run_at(i - 1)));
}

// Forward, loss, gradients, running statistics, eval, two SGD steps (one subcase each).
void check_network(const std::string& dir, bool fusion) {
  const reference ref(dir);
  error_report report;  // this run's worst errors (each subcase runs the case anew)
  const oracle o{ref, report};
  sequential<float> net = o.network();
  net.set_fusion(fusion);
  o.set_params(net, "");
  const tensor<float> x = o.get("x");
  const std::vector<int> t = o.labels();
  REQUIRE(t.size() == x.shape().n());

  tensor<float> dlogits;
  const float loss = train_pass(net, x, t, dlogits);

  SUBCASE("training-mode forward: every stage output and the loss (tol 1e-4)") {
    std::size_t skipped = 0;
    for (const auto& s : stage_map()) {
      if (fused_away(net, s.second)) {
        ++skipped;
        continue;
      }
      o.check(s.first, net.output(s.second), s.first, 1e-4);
    }
    CHECK(skipped == (fusion ? 6u : 0u));
    o.check_scalar("loss", loss, "loss", 1e-4);
  }

  SUBCASE("gradients: logits, every stage, every parameter, x (tol 1e-3)") {
    o.check("grad.logits", dlogits, "grad.logits", 1e-3);
    const std::vector<std::pair<std::string, std::size_t>> stages = {
        {"fc8_relu", 16}, {"fc8", 15},     {"fc7_relu", 13}, {"fc7", 12},    {"s3_pool", 11},
        {"s3_bn", 10},    {"s3_relu", 9},  {"s3_conv", 8},   {"s2_pool", 7}, {"s2_bn", 6},
        {"s2_relu", 5},   {"s2_conv", 4},  {"s1_pool", 3}};
    for (const auto& s : stages)
      if (!fused_away(net, s.second)) o.check("d/d " + s.first, net.output_grad(s.second), "grad." + s.first, 1e-3);
    for (const auto& pm : param_map())
      o.check("grad of " + pm.second, net.param_by_name(pm.second).grad, "grad." + pm.first, 1e-3);
    o.check("grad.x", net.input_grad(), "grad.x", 1e-3);
  }

  SUBCASE("batch-norm running statistics after one training forward (tol 1e-4)") {
    const std::vector<std::pair<std::string, std::string>> bns = {{"bn1", "3"}, {"bn2", "7"}, {"bn3", "11"}};
    for (const auto& b : bns)
      for (const char* stat : {".running_mean", ".running_var"})
        o.check(b.first + stat, net.param_by_name(b.second + ".batch_norm2d" + stat).value, b.first + stat, 1e-4);
  }

  SUBCASE("eval-mode forward: predict() and forward() in eval mode (tol 1e-4)") {
    const sequential<float>& cnet = net;
    const tensor<float> logits = cnet.predict(x);
    o.check("eval logits (predict)", logits, "eval_logits", 1e-4);
    softmax_cross_entropy<float> ce;
    o.check_scalar("eval loss", float(ce.forward(logits, t)), "eval_loss", 1e-4);
    net.eval();
    o.check("eval logits (forward)", net.forward(x), "eval_logits", 1e-4);
  }

  SUBCASE("two SGD-momentum steps, chained on our own gradients") {
    sgd<float> opt(sgd<float>::options{0.01, 0.9, 0.0, false});
    opt.step(net);
    for (const auto& pm : param_map())
      o.check("step1 " + pm.second, net.param_by_name(pm.second).value, "step1." + pm.first, 1e-3);
    const float loss1 = train_pass(net, x, t, dlogits);
    o.check_scalar("step1 loss", loss1, "step1.loss", 1e-4);
    for (const auto& pm : param_map())
      o.check("step1 grad of " + pm.second, net.param_by_name(pm.second).grad, "step1.grad." + pm.first, 1e-2);
    opt.step(net);
    for (const auto& pm : param_map())
      o.check("step2 " + pm.second, net.param_by_name(pm.second).value, "step2." + pm.first, 2e-3);
  }

  SUBCASE("step-1 gradients at the stored step-1 parameters (tol 3e-3)") {
    sequential<float> n1 = o.network();
    n1.set_fusion(fusion);
    o.set_params(n1, "step1.");
    tensor<float> d;
    const float loss1 = train_pass(n1, x, t, d);
    o.check_scalar("step1 loss", loss1, "step1.loss", 1e-4);
    for (const auto& pm : param_map())
      o.check("step1 grad of " + pm.second, n1.param_by_name(pm.second).grad, "step1.grad." + pm.first, 3e-3);
  }
  MESSAGE(dir << std::string(fusion ? ", fused" : "") << ": " << report.str());
}

// The optimizer alone: both steps from the stored gradients (tol 1e-6).
void check_sgd_arithmetic(const std::string& dir) {
  const reference ref(dir);
  error_report report;
  const oracle o{ref, report};
  sequential<float> net = o.network();
  o.set_params(net, "");
  sgd<float> opt(sgd<float>::options{0.01, 0.9, 0.0, false});
  o.set_grads(net, "grad.");
  opt.step(net);
  for (const auto& pm : param_map())
    o.check("step1 " + pm.second, net.param_by_name(pm.second).value, "step1." + pm.first, 1e-6);
  o.set_grads(net, "step1.grad.");
  opt.step(net);
  for (const auto& pm : param_map())
    o.check("step2 " + pm.second, net.param_by_name(pm.second).value, "step2." + pm.first, 1e-6);
  // running statistics are non-trainable: the optimizer never touches them
  for (const char* bn : {"3", "7", "11"}) {
    const auto& v = net.param_by_name(std::string(bn) + ".batch_norm2d.running_var").value;
    CHECK(std::all_of(v.begin(), v.end(), [](float f) { return f == 1.0f; }));
  }
  MESSAGE(dir << ": " << report.str());
}

bool have_mini_seed() {
  if (reference::present(mini_seed_dir)) return true;
  housenet_test::skip("no libtorch reference at " + mini_seed_dir);
  return false;
}

}  // namespace

// ---- tests/data/oracle/mini_net (committed) ----------------------------------------------------

TEST_CASE("oracle mini_net: forward, loss, gradients, running stats, eval, two SGD steps") {
  check_network(mini_net_dir, false);
}

TEST_CASE("oracle mini_net, relu -> batch norm -> pooling fused: the same checks") {
  check_network(mini_net_dir, true);
}

TEST_CASE("oracle mini_net: SGD update arithmetic from the stored gradients (tol 1e-6)") {
  check_sgd_arithmetic(mini_net_dir);
}

// ---- tests/data/oracle/bn_chain (committed) ----------------------------------------------------

TEST_CASE_TEMPLATE("oracle bn_chain: conv -> batch_norm2d -> relu -> depthwise conv -> batch_norm2d -> tanh -> gap "
                   "-> linear, training forward and backward",
                   T, float, double) {
  const reference ref(bn_chain_dir);
  error_report report;
  const double tol = sizeof(T) == 4 ? 1e-5 : 1e-6;
  sequential<T> net;
  net.template add<conv2d<T>>(4, 3, 1, 1, false);
  net.template add<batch_norm2d<T>>(0.9, 2e-5);
  net.template add<relu<T>>();
  net.template add<conv2d<T>>(4, 3, 1, 1, false, init_kind::lecun, 1, 4);
  net.template add<batch_norm2d<T>>(0.9, 2e-5);
  net.template add<tanh_layer<T>>();
  net.template add<global_avg_pool<T>>();
  net.template add<linear<T>>(2);
  const tensor<T> x = ref.get<T>("x");
  net.setup(x.shape(), 1);
  const std::pair<const char*, const char*> params[] = {
      {"conv1.weight", "1.conv2d.weight"}, {"bn1.weight", "2.batch_norm2d.gamma"}, {"bn1.bias", "2.batch_norm2d.beta"},
      {"conv2.weight", "4.conv2d.weight"}, {"bn2.weight", "5.batch_norm2d.gamma"}, {"bn2.bias", "5.batch_norm2d.beta"},
      {"linear.weight", "8.linear.weight"}, {"linear.bias", "8.linear.bias"}};
  for (const auto& p : params) {
    const tensor<T> v = ref.get<T>(p.first);
    param<T>& q = net.param_by_name(p.second);
    REQUIRE(q.value.size() == v.size());
    std::copy(v.begin(), v.end(), q.value.begin());
  }
  net.train();
  housenet_test::check_close(ref, "y", net.forward(x), tol, &report);
  net.zero_grad();
  housenet_test::check_close(ref, "grad.x", net.backward(ref.get<T>("r"), true), tol, &report);
  for (const auto& p : params)
    housenet_test::check_close(ref, std::string("grad.") + p.first, net.param_by_name(p.second).grad, tol, &report);
  for (const char* k : {"running_mean", "running_var"}) {
    housenet_test::check_close(ref, std::string("bn1.") + k, net.param_by_name(std::string("2.batch_norm2d.") + k).value,
                               tol, &report);
    housenet_test::check_close(ref, std::string("bn2.") + k, net.param_by_name(std::string("5.batch_norm2d.") + k).value,
                               tol, &report);
  }
  MESSAGE(report.str());
}

// ---- ../shared/data/reference/mini_seed (the developers' oracle) -------------------------------

TEST_CASE("reference mini_seed: forward, loss, gradients, running stats, eval, two SGD steps" * doctest::test_suite("shared")) {
  if (have_mini_seed()) check_network(mini_seed_dir, false);
}

TEST_CASE("reference mini_seed, relu -> batch norm -> pooling fused: the same checks" * doctest::test_suite("shared")) {
  if (have_mini_seed()) check_network(mini_seed_dir, true);
}

TEST_CASE("reference mini_seed: SGD update arithmetic from the stored gradients (tol 1e-6)" * doctest::test_suite("shared")) {
  if (have_mini_seed()) check_sgd_arithmetic(mini_seed_dir);
}

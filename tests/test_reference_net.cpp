// The whole network against the libtorch oracle (shared/data/reference/mini_seed, see its
// README): every stage output, the loss, every gradient, the batch-norm running statistics, the
// eval-mode logits and loss, and two SGD-momentum steps, with the README's tolerances
//     max_i |got_i - ref_i| <= tol * max_i |ref_i|.
// Skips (with a message) when the shared data is absent.
#include <doctest/doctest.h>

#include "reference.hpp"

#include <housenet/loss.hpp>
#include <housenet/networks.hpp>
#include <housenet/optim.hpp>
#include <housenet/sequential.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

using namespace housenet;

namespace {

const std::string ref_dir = std::string(HOUSENET_SHARED_DIR) + "/data/reference/mini_seed";

bool have_reference() { return housenet_test::reference::present(ref_dir); }

tensor<float> load_ref(const std::string& name) {
  static const housenet_test::reference ref(ref_dir);
  return ref.get<float>(name);
}

// Checks got against the reference tensor ref_name; the error goes into the test case's report.
template <class G>
void check_close(housenet_test::error_report& report, const std::string& what, const G& got,
                 const std::string& ref_name, double tol) {
  const tensor<float> ref = load_ref(ref_name);
  INFO(what << " vs " << ref_name << " (got " << got.shape().str() << ", ref " << ref.shape().str() << ")");
  const double e = housenet_test::relative_error(got, ref);
  report.add(tol, e, what);
  CHECK_MESSAGE(e <= tol, what << ": max |got - ref| / max |ref| = " << e << " > tol " << tol);
}

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

sequential<float> mini_seed() {
  seed_network_options o;
  o.c1 = 8;
  o.c2 = 16;
  o.c3 = 24;
  o.f7 = 64;
  o.f8 = 32;
  o.dropout = 0;
  return make_seed_network<float>(4, o);
}

// Sets every parameter from "<prefix><ref name>"; BN running stats from 0 / 1.
void set_params(sequential<float>& net, const std::string& prefix) {
  for (const auto& pm : param_map()) {
    const tensor<float> v = load_ref(prefix + pm.first);
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
void set_grads(sequential<float>& net, const std::string& prefix) {
  net.zero_grad();
  for (const auto& pm : param_map()) {
    const tensor<float> g = load_ref(prefix + pm.first);
    param<float>& p = net.param_by_name(pm.second);
    REQUIRE(p.grad.size() == g.size());
    std::copy(g.begin(), g.end(), p.grad.begin());
  }
}

std::vector<int> labels() {
  const tensor<float> t = load_ref("t");
  std::vector<int> l;
  for (float v : t) l.push_back(int(v));
  return l;
}

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

}  // namespace

// The relu and batch_norm2d layers of a fused relu -> batch_norm2d -> max_pool2d run keep no
// output (sequential.hpp, FUSION): their stages are checked with fusion off only.
bool fused_away(const sequential<float>& net, std::size_t i) {
  const auto kind = [&](std::size_t j) { return j < net.size() ? net[j].kind() : std::string(); };
  const auto run_at = [&](std::size_t j) {  // a relu -> batch_norm2d -> max_pool2d run starts at j
    return kind(j) == "relu" && kind(j + 1) == "batch_norm2d" && kind(j + 2) == "max_pool2d";
  };
  return net.fusion() && (run_at(i) || (i >= 1 && run_at(i - 1)));
}

void reference_mini_seed(bool fusion) {
  if (!have_reference()) {
    MESSAGE("SKIPPED: libtorch reference not found at " << ref_dir);
    return;
  }
  housenet_test::error_report report;  // this run's worst errors (each subcase runs the case anew)
  sequential<float> net = mini_seed();
  net.set_fusion(fusion);
  set_params(net, "");
  const tensor<float> x = load_ref("x");
  const std::vector<int> t = labels();
  REQUIRE(t.size() == 3);

  tensor<float> dlogits;
  const float loss = train_pass(net, x, t, dlogits);

  SUBCASE("training-mode forward: every stage output and the loss (tol 1e-4)") {
    std::size_t skipped = 0;
    for (const auto& s : stage_map()) {
      if (fused_away(net, s.second)) {
        ++skipped;
        continue;
      }
      check_close(report, s.first, net.output(s.second), s.first, 1e-4);
    }
    CHECK(skipped == (fusion ? 6u : 0u));
    const tensor<float> ref_loss = load_ref("loss");
    CHECK(std::fabs(loss - ref_loss[0]) <= 1e-4 * std::fabs(ref_loss[0]));
  }

  SUBCASE("gradients: logits, every stage, every parameter, x (tol 1e-3)") {
    check_close(report, "grad.logits", dlogits, "grad.logits", 1e-3);
    const std::vector<std::pair<std::string, std::size_t>> stages = {
        {"fc8_relu", 16}, {"fc8", 15},     {"fc7_relu", 13}, {"fc7", 12},    {"s3_pool", 11},
        {"s3_bn", 10},    {"s3_relu", 9},  {"s3_conv", 8},   {"s2_pool", 7}, {"s2_bn", 6},
        {"s2_relu", 5},   {"s2_conv", 4},  {"s1_pool", 3}};
    for (const auto& s : stages)
      if (!fused_away(net, s.second))
        check_close(report, "d/d " + s.first, net.output_grad(s.second), "grad." + s.first, 1e-3);
    for (const auto& pm : param_map())
      check_close(report, "grad of " + pm.second, net.param_by_name(pm.second).grad, "grad." + pm.first,
                  1e-3);
    check_close(report, "grad.x", net.input_grad(), "grad.x", 1e-3);
  }

  SUBCASE("batch-norm running statistics after one training forward (tol 1e-4)") {
    const std::vector<std::pair<std::string, std::string>> bns = {
        {"bn1", "3"}, {"bn2", "7"}, {"bn3", "11"}};
    for (const auto& b : bns) {
      check_close(report, b.first + ".running_mean",
                  net.param_by_name(b.second + ".batch_norm2d.running_mean").value,
                  b.first + ".running_mean", 1e-4);
      check_close(report, b.first + ".running_var",
                  net.param_by_name(b.second + ".batch_norm2d.running_var").value,
                  b.first + ".running_var", 1e-4);
    }
  }

  SUBCASE("eval-mode forward: predict() and forward() in eval mode (tol 1e-4)") {
    const sequential<float>& cnet = net;
    const tensor<float> logits = cnet.predict(x);
    check_close(report, "eval logits (predict)", logits, "eval_logits", 1e-4);
    softmax_cross_entropy<float> ce;
    const float eval_loss = float(ce.forward(logits, t));
    const tensor<float> ref = load_ref("eval_loss");
    CHECK(std::fabs(eval_loss - ref[0]) <= 1e-4 * std::fabs(ref[0]));
    net.eval();
    check_close(report, "eval logits (forward)", net.forward(x), "eval_logits", 1e-4);
  }

  SUBCASE("two SGD-momentum steps, chained on our own gradients") {
    sgd<float> opt(sgd<float>::options{0.01, 0.9, 0.0, false});
    opt.step(net);
    for (const auto& pm : param_map())
      check_close(report, "step1 " + pm.second, net.param_by_name(pm.second).value, "step1." + pm.first,
                  1e-3);
    const float loss1 = train_pass(net, x, t, dlogits);
    const tensor<float> ref_loss1 = load_ref("step1.loss");
    CHECK(std::fabs(loss1 - ref_loss1[0]) <= 1e-4 * std::fabs(ref_loss1[0]));
    for (const auto& pm : param_map())
      check_close(report, "step1 grad of " + pm.second, net.param_by_name(pm.second).grad,
                  "step1.grad." + pm.first, 1e-2);
    opt.step(net);
    for (const auto& pm : param_map())
      check_close(report, "step2 " + pm.second, net.param_by_name(pm.second).value, "step2." + pm.first,
                  2e-3);
  }

  SUBCASE("step-1 gradients at the stored step-1 parameters (tol 3e-3)") {
    sequential<float> n1 = mini_seed();
    n1.set_fusion(fusion);
    set_params(n1, "step1.");
    tensor<float> d;
    const float loss1 = train_pass(n1, x, t, d);
    const tensor<float> ref_loss1 = load_ref("step1.loss");
    CHECK(std::fabs(loss1 - ref_loss1[0]) <= 1e-4 * std::fabs(ref_loss1[0]));
    for (const auto& pm : param_map())
      check_close(report, "step1 grad of " + pm.second, n1.param_by_name(pm.second).grad,
                  "step1.grad." + pm.first, 3e-3);
  }
  MESSAGE(report.str());
}

TEST_CASE("reference mini_seed: forward, loss, gradients, running stats, eval, two SGD steps") {
  reference_mini_seed(false);
}

TEST_CASE("reference mini_seed, relu -> batch norm -> pooling fused: the same checks") {
  reference_mini_seed(true);
}

TEST_CASE("reference mini_seed: SGD update arithmetic from the stored gradients (tol 1e-6)") {
  if (!have_reference()) {
    MESSAGE("SKIPPED: libtorch reference not found at " << ref_dir);
    return;
  }
  housenet_test::error_report report;
  sequential<float> net = mini_seed();
  set_params(net, "");
  sgd<float> opt(sgd<float>::options{0.01, 0.9, 0.0, false});
  set_grads(net, "grad.");
  opt.step(net);
  for (const auto& pm : param_map())
    check_close(report, "step1 " + pm.second, net.param_by_name(pm.second).value, "step1." + pm.first,
                1e-6);
  set_grads(net, "step1.grad.");
  opt.step(net);
  for (const auto& pm : param_map())
    check_close(report, "step2 " + pm.second, net.param_by_name(pm.second).value, "step2." + pm.first,
                1e-6);
  // running statistics are non-trainable: the optimizer never touches them
  for (const char* bn : {"3", "7", "11"}) {
    const auto& v = net.param_by_name(std::string(bn) + ".batch_norm2d.running_var").value;
    CHECK(std::all_of(v.begin(), v.end(), [](float f) { return f == 1.0f; }));
  }
  MESSAGE(report.str());
}

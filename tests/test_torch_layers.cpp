// The layers of issue 14 against PyTorch: tests/data/torch_layers/fixtures.txt, made by its
// generate.py (python3-torch 1.13, float64; see its header). leaky_relu, sigmoid, tanh,
// avg_pool2d (ceil mode, count_include_pad both ways, k < s), global_avg_pool, conv2d with groups
// (per-group GEMM and depthwise) and dilation, and a sequential chain with batch norm after its
// convolutions (conv -> batch_norm2d -> relu -> depthwise conv -> batch_norm2d -> tanh ->
// global_avg_pool -> linear) in training mode, its running statistics included. Per tensor:
//   max |got - ref| <= tol * max |ref|, tol = 1e-5 in float, 1e-8 in double.
#include <doctest/doctest.h>

#include <housenet/housenet.hpp>
#include <housenet/testing.hpp>

#include <cmath>
#include <cstddef>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

using namespace housenet;
using housenet::testing::param_store;

namespace {

struct fixtures {
  std::map<std::string, std::pair<std::vector<std::size_t>, std::vector<double>>> t;

  fixtures() {
    const std::string path = std::string(HOUSENET_SOURCE_DIR) + "/tests/data/torch_layers/fixtures.txt";
    std::ifstream in(path);
    REQUIRE_MESSAGE(in, path, ": cannot open");
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream ls(line);
      std::string name, dims;
      ls >> name >> dims;
      std::vector<std::size_t> d;
      std::istringstream ds(dims);
      for (std::string part; std::getline(ds, part, 'x');) d.push_back(std::stoul(part));
      std::vector<double> v;
      for (double x; ls >> x;) v.push_back(x);
      std::size_t n = 1;
      for (std::size_t k : d) n *= k;
      REQUIRE_MESSAGE(v.size() == n, name, ": ", v.size(), " values for ", dims);
      t[name] = {d, v};
    }
  }

  template <class T>
  tensor<T> get(const std::string& name) const {
    const auto it = t.find(name);
    REQUIRE_MESSAGE(it != t.end(), "fixture '", name, "' missing");
    const auto& d = it->second.first;
    tensor<T> out(shape::from_range(d.begin(), d.end()));
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<T>(it->second.second[i]);
    return out;
  }
};

const fixtures& data() {
  static const fixtures f;
  return f;
}

template <class T>
double tol() {
  return sizeof(T) == 4 ? 1e-5 : 1e-8;
}

// max |got - ref| <= tol * max(max |ref|, floor); the shapes must have the same dimensions (rank 2
// and rank 4 with trailing 1s compare equal).
template <class T, class G>
void check_close(const std::string& name, const G& got, double floor = 0.0) {
  const tensor<T> want = data().get<T>(name);
  INFO(name, ": got shape ", got.shape().str(), ", fixture ", want.shape().str());
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < 4; ++i)
    CHECK((i < got.shape().rank() ? got.shape()[i] : 1) == (i < want.shape().rank() ? want.shape()[i] : 1));
  double diff = 0, scale = floor;
  for (std::size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::fabs(double(got[i]) - double(want[i])));
    scale = std::max(scale, std::fabs(double(want[i])));
  }
  INFO(name, ": max |got - ref| = ", diff, ", max |ref| = ", scale);
  CHECK(diff <= tol<T>() * scale);
}

// Runs forward and backward of l on the case's x and r, with the case's parameters (in the
// layer's order), and compares y, dx and the parameter gradients.
template <class T>
void run_case(layer<T>& l, const std::string& name, const std::vector<std::string>& params = {}) {
  CAPTURE(name);
  const tensor<T> x = data().get<T>(name + ".x");
  const shape out = l.setup(x.shape());
  param_store<T> ps;
  ps.bind(l);
  REQUIRE(ps.size() == params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const tensor<T> v = data().get<T>(name + "." + params[i]);
    REQUIRE(v.size() == ps.value(i).size());
    std::copy(v.begin(), v.end(), ps.value(i).begin());
  }
  tensor<T> y, dx;
  l.forward(x, y, {});
  CHECK(y.shape() == out);
  check_close<T>(name + ".y", y);
  l.backward(x, y, data().get<T>(name + ".r"), dx);
  check_close<T>(name + ".grad.x", dx);
  for (std::size_t i = 0; i < params.size(); ++i) check_close<T>(name + ".grad." + params[i], ps.grad(i));
  tensor<T> yi;
  l.infer(x, yi);
  check_close<T>(name + ".y", yi);
}

}  // namespace

TEST_CASE_TEMPLATE("torch: leaky_relu 0.1, sigmoid, tanh on [-12, 12]", T, float, double) {
  leaky_relu<T> lr(0.1);
  run_case(lr, "leaky_relu");
  sigmoid<T> sg;
  run_case(sg, "sigmoid");
  tanh_layer<T> th;
  run_case(th, "tanh");
}

TEST_CASE_TEMPLATE("torch: avg_pool2d (ceil mode, count_include_pad both ways, k < s) and global_avg_pool", T,
                   float, double) {
  avg_pool2d<T> a(3, 2, 1, true, true);
  run_case(a, "avg_pool_ceil_pad");
  avg_pool2d<T> b(3, 2, 1, true, false);
  run_case(b, "avg_pool_ceil_nopad");
  avg_pool2d<T> c(2, 2);
  run_case(c, "avg_pool_2x2");
  avg_pool2d<T> d(2, 3, 1, true, true);
  run_case(d, "avg_pool_k2s3p1_ceil");
  global_avg_pool<T> g;
  run_case(g, "global_avg_pool");
}

TEST_CASE_TEMPLATE("torch: conv2d with groups and dilation", T, float, double) {
  const std::vector<std::string> wb{"weight", "bias"};
  conv2d<T> g3(9, 3, 2, 2, true, init_kind::lecun, 2, 3);  // 2 channels per group: per-group GEMM
  run_case(g3, "conv_groups3_dil2", wb);
  conv2d<T> dil(4, 3, 1, 1, true, init_kind::lecun, 3);  // groups 1: im2col with dilation
  run_case(dil, "conv_dilation3", wb);
  conv2d<T> dw(4, 3, 1, 1, true, init_kind::lecun, 1, 4);  // depthwise
  run_case(dw, "conv_depthwise", wb);
  conv2d<T> dw2(6, 3, 2, 2, true, init_kind::lecun, 2, 3);  // depthwise, 2 outputs per channel
  run_case(dw2, "conv_depthwise_x2_s2_dil2", wb);
}

TEST_CASE_TEMPLATE("torch: conv -> batch_norm2d -> relu -> depthwise -> batch_norm2d -> tanh -> gap -> linear",
                   T, float, double) {
  sequential<T> net;
  net.template add<conv2d<T>>(4, 3, 1, 1);
  net.template add<batch_norm2d<T>>(0.9, 2e-5);
  net.template add<relu<T>>();
  net.template add<conv2d<T>>(4, 3, 1, 1, false, init_kind::lecun, 1, 4);
  net.template add<batch_norm2d<T>>(0.9, 2e-5);
  net.template add<tanh_layer<T>>();
  net.template add<global_avg_pool<T>>();
  net.template add<linear<T>>(2);
  const tensor<T> x = data().get<T>("chain.x");
  net.setup(x.shape(), 1);
  CHECK(net.output_shape() == (shape{1, 2}));
  const std::pair<const char*, const char*> params[] = {
      {"1.conv2d.weight", "conv1.weight"},    {"1.conv2d.bias", "conv1.bias"},
      {"2.batch_norm2d.gamma", "bn1.gamma"},   {"2.batch_norm2d.beta", "bn1.beta"},
      {"4.conv2d.weight", "conv2.weight"},    {"5.batch_norm2d.gamma", "bn2.gamma"},
      {"5.batch_norm2d.beta", "bn2.beta"},     {"8.linear.weight", "linear.weight"},
      {"8.linear.bias", "linear.bias"}};
  for (const auto& p : params) {
    const tensor<T> v = data().get<T>(std::string("chain.") + p.second);
    param<T>& q = net.param_by_name(p.first);
    REQUIRE(q.value.size() == v.size());
    std::copy(v.begin(), v.end(), q.value.begin());
  }
  net.train();
  const tensor<T>& y = net.forward(x);
  check_close<T>("chain.y", y);
  net.zero_grad();
  const tensor<T>& dx = net.backward(data().get<T>("chain.r"), true);
  check_close<T>("chain.grad.x", dx);
  // conv1's bias gradient is 0 up to rounding (batch norm subtracts the mean right after it):
  // compared at the scale of conv1's weight gradient
  const double wscale = [&] {
    double m = 0;
    for (double v : data().get<double>("chain.grad.conv1.weight")) m = std::max(m, std::fabs(v));
    return m;
  }();
  for (const auto& p : params)
    check_close<T>(std::string("chain.grad.") + p.second, net.param_by_name(p.first).grad,
                   std::string(p.second) == "conv1.bias" ? wscale : 0.0);
  check_close<T>("chain.bn1.running_mean", net.param_by_name("2.batch_norm2d.running_mean").value);
  check_close<T>("chain.bn1.running_var", net.param_by_name("2.batch_norm2d.running_var").value);
  check_close<T>("chain.bn2.running_mean", net.param_by_name("5.batch_norm2d.running_mean").value);
  check_close<T>("chain.bn2.running_var", net.param_by_name("5.batch_norm2d.running_var").value);
}

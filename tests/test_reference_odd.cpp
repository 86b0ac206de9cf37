// The layers against the libtorch oracle in shared/data/reference/odd (see its README):
// conv2d stride 2 padding 1, max pooling in ceil mode (plain, partial windows, ties), batch norm
// (train, running statistics, eval), linear, softmax cross-entropy. Per tensor:
//   max |got - ref| <= tol * max |ref|, tol = 1e-5 in float (the README's suggestion), 1e-6 in double.
// Skips with a message when the shared folder is absent.
#include <doctest/doctest.h>

#include <housenet/layers.hpp>
#include <housenet/loss.hpp>
#include <housenet/testing.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

using namespace housenet;
using housenet::testing::param_store;

namespace {

const std::string odd_dir = std::string(HOUSENET_SHARED_DIR) + "/data/reference/odd";

// name -> (dims, values) from tensors.txt and the little-endian .f32 files.
struct reference {
  std::map<std::string, std::pair<std::vector<std::size_t>, std::vector<float>>> t;

  bool load(const std::string& dir) {
    std::ifstream idx(dir + "/tensors.txt");
    if (!idx) return false;
    std::string name, dims, file;
    while (idx >> name >> dims >> file) {
      std::vector<std::size_t> d;
      std::size_t pos = 0;
      while (pos <= dims.size()) {
        const std::size_t x = dims.find('x', pos);
        d.push_back(std::stoul(dims.substr(pos, x == std::string::npos ? std::string::npos : x - pos)));
        if (x == std::string::npos) break;
        pos = x + 1;
      }
      std::size_t n = 1;
      for (std::size_t v : d) n *= v;
      std::ifstream in(dir + "/" + file, std::ios::binary);
      std::vector<unsigned char> bytes(4 * n);
      in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size()));
      REQUIRE_MESSAGE(std::size_t(in.gcount()) == bytes.size(), file, ": short file");
      std::vector<float> v(n);
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t u = std::uint32_t(bytes[4 * i]) | std::uint32_t(bytes[4 * i + 1]) << 8 |
                                std::uint32_t(bytes[4 * i + 2]) << 16 |
                                std::uint32_t(bytes[4 * i + 3]) << 24;
        std::memcpy(&v[i], &u, 4);
      }
      t[name] = {d, v};
    }
    return !t.empty();
  }

  template <class T>
  tensor<T> get(const std::string& name) const {
    const auto it = t.find(name);
    REQUIRE_MESSAGE(it != t.end(), "reference tensor '", name, "' missing");
    const auto& d = it->second.first;
    tensor<T> out(shape::from_range(d.begin(), d.end()));
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<T>(it->second.second[i]);
    return out;
  }
};

template <class T>
double tol() {
  return sizeof(T) == 4 ? 1e-5 : 1e-6;
}

// max |got - ref| <= tol * max |ref|, with the shape compared as a list of dimensions.
template <class T, class G>
void check_close(const reference& ref, const std::string& name, const G& got) {
  const tensor<T> want = ref.get<T>(name);
  INFO(name, ": got shape ", got.shape().str(), ", reference ", want.shape().str());
  REQUIRE(got.size() == want.size());
  bool same_dims = true;
  for (std::size_t i = 0; i < want.shape().rank(); ++i)
    same_dims = same_dims && (i < got.shape().rank() ? got.shape()[i] : 1) == want.shape()[i];
  CHECK(same_dims);
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::fabs(double(got[i]) - double(want[i])));
    scale = std::max(scale, std::fabs(double(want[i])));
  }
  INFO(name, ": max |got - ref| = ", diff, ", max |ref| = ", scale, ", ratio ", diff / scale);
  CHECK(diff <= tol<T>() * scale);
}

template <class T>
void set_param(param_store<T>& ps, std::size_t i, const tensor<T>& v) {
  REQUIRE(ps.value(i).size() == v.size());
  std::copy(v.begin(), v.end(), ps.value(i).begin());
}

bool load_or_skip(reference& ref) {
  if (!std::filesystem::exists(odd_dir + "/tensors.txt")) {
    MESSAGE("skipped: no libtorch reference at ", odd_dir);
    return false;
  }
  REQUIRE(ref.load(odd_dir));
  return true;
}

}  // namespace

TEST_CASE_TEMPLATE("reference odd: conv2d 3->5, 3x3, stride 2, padding 1", T, float, double) {
  reference ref;
  if (!load_or_skip(ref)) return;
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
  reference ref;
  if (!load_or_skip(ref)) return;
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
  reference ref;
  if (!load_or_skip(ref)) return;
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
  reference ref;
  if (!load_or_skip(ref)) return;
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
  reference ref;
  if (!load_or_skip(ref)) return;
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

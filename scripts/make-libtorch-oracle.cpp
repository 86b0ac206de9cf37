// scripts/make-libtorch-oracle.cpp: makes the libtorch oracle in tests/data/oracle/ with
// Debian's libtorch (run by hand; never needed to build or test: its outputs are committed).
//
//   Build and run (Debian 12: libtorch-dev 1.13.1), either by hand
//     g++ -O2 -std=c++17 scripts/make-libtorch-oracle.cpp -o /tmp/make-oracle \
//         -I/usr/include/torch/csrc/api/include -ltorch -ltorch_cpu -lc10
//     /tmp/make-oracle tests/data/oracle
//   or through the opt-in CMake target (tests/CMakeLists.txt):
//     cmake -S . -B build-oracle -DHOUSENET_BUILD_ORACLE=ON
//     cmake --build build-oracle --target libtorch_oracle
//
// Writes OUT/layers/ (every layer kind at odd shapes, cases.txt says which), OUT/mini_net/ (a
// narrow copy of networks.hpp's seed network through a training forward, backward, eval forward
// and two SGD-momentum steps) and OUT/bn_chain/ (batch norm after convolutions, in a chain of the
// newer layers: a training forward and backward), each as tensors.txt + one raw little-endian float32 file per
// tensor + config.txt: the format of ../shared/data/reference (tests/data/README.md says more).
// Everything is computed in float64 from float32 inputs and rounded once when written; the same
// computation in float32 (libtorch's CPU kernels) is compared with it and its error printed per
// tensor (stdout): the figures tests/data/README.md quotes. No housenet code is used.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

namespace F = torch::nn::functional;
using torch::Tensor;

// ---- inputs: SplitMix64 keyed by the tensor's name (../shared/data/reference/README.md) --------
std::uint64_t fnv1a64(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

struct stream {
  std::uint64_t state;
  stream(const std::string& name, std::uint64_t seed) : state(fnv1a64(name) ^ (seed * 0x9E3779B97F4A7C15ull)) {}
  std::uint64_t next() {
    state += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

constexpr std::uint64_t seed = 1;

// float32 values lo + (hi - lo) * u, u in [0, 1) with 24 bits, computed in double.
Tensor uniform(const std::string& name, std::vector<std::int64_t> dims, double lo, double hi) {
  Tensor t = torch::empty(dims, torch::kFloat);
  stream s(name, seed);
  float* p = t.data_ptr<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    const double u = double(s.next() >> 40) * 0x1p-24;
    p[i] = float(lo + (hi - lo) * u);
  }
  return t;
}

// labels (next() >> 32) % classes, stored as float32
Tensor labels(const std::string& name, std::int64_t n, std::uint64_t classes) {
  Tensor t = torch::empty({n}, torch::kFloat);
  stream s(name, seed);
  for (std::int64_t i = 0; i < n; ++i) t.data_ptr<float>()[i] = float((s.next() >> 32) % classes);
  return t;
}

// the bound of torch's default initialisation, 1/sqrt(fan_in)
double bound(std::int64_t fan_in) { return 1.0 / std::sqrt(double(fan_in)); }

// ---- output: tensors.txt + <name>.f32 ----------------------------------------------------------
using named = std::vector<std::pair<std::string, Tensor>>;

class writer {
 public:
  explicit writer(const std::filesystem::path& dir) : dir_(dir) {
    std::filesystem::create_directories(dir);
    index_.open(dir / "tensors.txt", std::ios::trunc);
    if (!index_) throw std::runtime_error("cannot write " + (dir / "tensors.txt").string());
  }
  void put(const std::string& name, const Tensor& value) {
    const Tensor t = value.detach().to(torch::kFloat).contiguous();
    std::string dims;
    for (std::int64_t d : t.sizes()) dims += (dims.empty() ? "" : "x") + std::to_string(d);
    if (dims.empty()) dims = "1";
    index_ << name << ' ' << dims << ' ' << name << ".f32\n";
    std::ofstream f(dir_ / (name + ".f32"), std::ios::binary | std::ios::trunc);
    const float* p = t.data_ptr<float>();
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      std::uint32_t u;
      std::memcpy(&u, &p[i], 4);
      const unsigned char b[4] = {static_cast<unsigned char>(u), static_cast<unsigned char>(u >> 8),
                                  static_cast<unsigned char>(u >> 16), static_cast<unsigned char>(u >> 24)};
      f.write(reinterpret_cast<const char*>(b), 4);
    }
    if (!f) throw std::runtime_error("cannot write " + name);
    bytes_ += 4 * std::size_t(t.numel());
    ++files_;
  }
  std::size_t bytes() const { return bytes_; }
  std::size_t files() const { return files_; }

 private:
  std::filesystem::path dir_;
  std::ofstream index_;
  std::size_t bytes_ = 0, files_ = 0;
};

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
  if (!f) throw std::runtime_error("cannot write " + path.string());
}

// ---- float32 vs float64: max |f32 - f64| / max |f64| per tensor -------------------------------
double ratio(const Tensor& f32, const Tensor& f64) {
  const Tensor d = f64.detach().to(torch::kDouble), f = f32.detach().to(torch::kDouble);
  if (d.sizes() != f.sizes()) throw std::runtime_error("float32 and float64 runs differ in shape");
  const double scale = d.numel() ? d.abs().max().item<double>() : 0.0;
  const double diff = d.numel() ? (f - d).abs().max().item<double>() : 0.0;
  return scale > 0 ? diff / scale : diff;
}

// Runs `compute` in float64 and in float32, writes the inputs and the float64 results, prints
// the float32 error of every result and returns the largest.
double run(writer& w, const named& inputs, const std::function<named(const named&, torch::Dtype)>& compute) {
  named in64, in32;
  for (const auto& [n, t] : inputs) {
    w.put(n, t);
    in64.emplace_back(n, t.to(torch::kDouble));
    in32.emplace_back(n, t.to(torch::kFloat));
  }
  const named out64 = compute(in64, torch::kDouble), out32 = compute(in32, torch::kFloat);
  double worst = 0;
  for (std::size_t i = 0; i < out64.size(); ++i) {
    w.put(out64[i].first, out64[i].second);
    const double r = ratio(out32[i].second, out64[i].second);
    std::printf("  %-28s float32 error %.2e of max |value| %.3g\n", out64[i].first.c_str(), r,
                out64[i].second.abs().max().item<double>());
    worst = std::max(worst, r);
  }
  return worst;
}

Tensor get(const named& in, const std::string& name) {
  for (const auto& [n, t] : in)
    if (n == name) return t.clone();
  throw std::runtime_error("no input " + name);
}

Tensor leaf(const named& in, const std::string& name) { return get(in, name).requires_grad_(true); }

// The float32 value a stored tensor will hold, in the run's dtype.
Tensor stored(const Tensor& t) { return t.detach().to(torch::kFloat).to(t.scalar_type()).clone(); }

// ---- layers ------------------------------------------------------------------------------------
struct conv_case {
  std::string name;
  std::vector<std::int64_t> x;  // N, C, H, W
  std::int64_t out, kernel, stride, padding;
  bool bias;
  std::int64_t dilation = 1, groups = 1;
};

struct pool_case {
  std::string name;
  std::vector<std::int64_t> x;
  std::int64_t kernel, stride, padding;
  bool ceil;
  bool ties;  // inputs in {0, 1, 2}
  bool average = false, count_include_pad = true;  // avg_pool2d
};

// The loss of a layer test is sum(y * r), r random: grad.* are the backward of r.
named with_backward(const std::string& c, const Tensor& y, const named& in,
                    const std::vector<std::pair<std::string, Tensor>>& leaves) {
  const Tensor r = get(in, c + ".r");
  (y * r).sum().backward();
  named out = {{c + ".y", y}};
  for (const auto& [n, t] : leaves) out.emplace_back(c + ".grad." + n, t.grad().clone());
  return out;
}

double make_layers(const std::filesystem::path& dir) {
  writer w(dir);
  std::string cases;
  double worst = 0;
  const auto section = [&](const std::string& name, const std::string& kind, const std::string& config) {
    cases += name + " " + kind + (config.empty() ? "" : " " + config) + "\n";
    std::printf("%s (%s %s)\n", name.c_str(), kind.c_str(), config.c_str());
  };

  // conv2d: odd sizes, strides 1..3, padding 0..2, kernels 1..7, with and without bias; the wide
  // stride-1 3x3 and 5x5 cases are the ones Winograd serves.
  const std::vector<conv_case> convs = {
      {"conv_k3_s2_p1", {2, 3, 7, 9}, 5, 3, 2, 1, true},
      {"conv_k5_s1_p2", {2, 2, 6, 11}, 4, 5, 1, 2, true},
      {"conv_k1", {3, 4, 5, 3}, 3, 1, 1, 0, true},
      {"conv_k4_s3_p1_nobias", {2, 3, 10, 8}, 2, 4, 3, 1, false},
      {"conv_k7_full_width", {2, 1, 9, 7}, 3, 7, 1, 0, true},
      {"conv_k2_s1_p1", {2, 2, 5, 6}, 3, 2, 1, 1, true},
      {"conv_k3_wide", {2, 8, 9, 7}, 6, 3, 1, 1, true},
      {"conv_k5_wide", {1, 6, 12, 10}, 5, 5, 1, 0, true},
      // groups (2 channels per group; depthwise, with 2 outputs per channel) and dilation
      {"conv_g3_k3_s2_p2_d2", {2, 6, 7, 6}, 9, 3, 2, 2, true, 2, 3},
      {"conv_k3_p1_d3", {2, 3, 8, 7}, 4, 3, 1, 1, true, 3, 1},
      {"conv_depthwise_k3_p1", {2, 4, 5, 6}, 4, 3, 1, 1, true, 1, 4},
      {"conv_depthwise_x2_k3_s2_p2_d2_nobias", {2, 3, 9, 7}, 6, 3, 2, 2, false, 2, 3},
  };
  for (const conv_case& c : convs) {
    section(c.name, "conv2d",
            "out=" + std::to_string(c.out) + " kernel=" + std::to_string(c.kernel) + " stride=" +
                std::to_string(c.stride) + " padding=" + std::to_string(c.padding) + " bias=" + (c.bias ? "1" : "0") +
                (c.dilation != 1 ? " dilation=" + std::to_string(c.dilation) : "") +
                (c.groups != 1 ? " groups=" + std::to_string(c.groups) : ""));
    const std::int64_t cg = c.x[1] / c.groups, span = c.dilation * (c.kernel - 1) + 1;
    const std::int64_t fan_in = cg * c.kernel * c.kernel;
    const std::int64_t oh = (c.x[2] + 2 * c.padding - span) / c.stride + 1;
    const std::int64_t ow = (c.x[3] + 2 * c.padding - span) / c.stride + 1;
    named in = {{c.name + ".x", uniform(c.name + ".x", c.x, -1, 1)},
                {c.name + ".weight", uniform(c.name + ".weight", {c.out, cg, c.kernel, c.kernel}, -bound(fan_in), bound(fan_in))}};
    if (c.bias) in.emplace_back(c.name + ".bias", uniform(c.name + ".bias", {c.out}, -bound(fan_in), bound(fan_in)));
    in.emplace_back(c.name + ".r", uniform(c.name + ".r", {c.x[0], c.out, oh, ow}, -1, 1));
    worst = std::max(worst, run(w, in, [&](const named& v, torch::Dtype) {
      const Tensor x = leaf(v, c.name + ".x"), wt = leaf(v, c.name + ".weight");
      const Tensor b = c.bias ? leaf(v, c.name + ".bias") : Tensor();
      const Tensor y = torch::conv2d(x, wt, b, c.stride, c.padding, c.dilation, c.groups);
      std::vector<std::pair<std::string, Tensor>> leaves = {{"x", x}, {"weight", wt}};
      if (c.bias) leaves.emplace_back("bias", b);
      return with_backward(c.name, y, v, leaves);
    }));
  }

  // linear: a matrix input, and a 4-D one it flattens (no bias)
  const std::vector<std::tuple<std::string, std::vector<std::int64_t>, std::int64_t, bool>> linears = {
      {"linear_7_to_5", {3, 7}, 5, true}, {"linear_4d_12_to_6_nobias", {2, 3, 2, 2}, 6, false}};
  for (const auto& [name, xs, out, bias] : linears) {
    section(name, "linear", "out=" + std::to_string(out) + " bias=" + (bias ? "1" : "0"));
    std::int64_t fan_in = 1;
    for (std::size_t i = 1; i < xs.size(); ++i) fan_in *= xs[i];
    named in = {{name + ".x", uniform(name + ".x", xs, -1, 1)},
                {name + ".weight", uniform(name + ".weight", {out, fan_in}, -bound(fan_in), bound(fan_in))}};
    if (bias) in.emplace_back(name + ".bias", uniform(name + ".bias", {out}, -bound(fan_in), bound(fan_in)));
    in.emplace_back(name + ".r", uniform(name + ".r", {xs[0], out}, -1, 1));
    const std::string n = name;
    const bool has_bias = bias;
    worst = std::max(worst, run(w, in, [&](const named& v, torch::Dtype) {
      const Tensor x = leaf(v, n + ".x"), wt = leaf(v, n + ".weight");
      const Tensor b = has_bias ? leaf(v, n + ".bias") : Tensor();
      const Tensor y = torch::linear(x.flatten(1), wt, b);
      std::vector<std::pair<std::string, Tensor>> leaves = {{"x", x}, {"weight", wt}};
      if (has_bias) leaves.emplace_back("bias", b);
      return with_backward(n, y, v, leaves);
    }));
  }

  // relu, with exact zeros (+0 and -0: the gradient there is 0)
  {
    section("relu", "relu", "");
    Tensor x = uniform("relu.x", {2, 3, 4, 5}, -1, 1);
    for (std::int64_t i = 0; i < x.numel(); i += 7) x.data_ptr<float>()[i] = i % 2 ? -0.0f : 0.0f;
    const named in = {{"relu.x", x}, {"relu.r", uniform("relu.r", {2, 3, 4, 5}, -1, 1)}};
    worst = std::max(worst, run(w, in, [&](const named& v, torch::Dtype) {
      const Tensor xx = leaf(v, "relu.x");
      return with_backward("relu", torch::relu(xx), v, {{"x", xx}});
    }));
  }

  // leaky_relu (slope 0.1; exact zeros take the negative slope), sigmoid, tanh: inputs in [-12, 12),
  // the saturated ends included
  for (const std::string kind : {"leaky_relu", "sigmoid", "tanh"}) {
    section(kind, kind, kind == "leaky_relu" ? "negative_slope=0.1" : "");
    Tensor x = uniform(kind + ".x", {2, 3, 4, 5}, -12, 12);
    if (kind == "leaky_relu")
      for (std::int64_t i = 0; i < x.numel(); i += 7) x.data_ptr<float>()[i] = i % 2 ? -0.0f : 0.0f;
    const named in = {{kind + ".x", x}, {kind + ".r", uniform(kind + ".r", {2, 3, 4, 5}, -1, 1)}};
    worst = std::max(worst, run(w, in, [&](const named& v, torch::Dtype) {
      const Tensor xx = leaf(v, kind + ".x");
      const Tensor y = kind == "leaky_relu" ? F::leaky_relu(xx, F::LeakyReLUFuncOptions().negative_slope(0.1))
                       : kind == "sigmoid"  ? torch::sigmoid(xx)
                                            : torch::tanh(xx);
      return with_backward(kind, y, v, {{"x", xx}});
    }));
  }

  // batch_norm2d with Chainer's eps 2e-5 and decay 0.9 (momentum 0.1), from given running
  // statistics: a training forward + backward (which updates them), then an eval forward +
  // backward with the updated statistics. Channel 2 of bn_train is nearly constant (variance
  // about eps: eps matters there); bn_rank2 is an [N, C] input (read as [N, C, 1, 1]).
  for (const auto& [name, xs] : std::vector<std::pair<std::string, std::vector<std::int64_t>>>{
           {"bn_train", {3, 4, 5, 6}}, {"bn_rank2", {5, 6}}}) {
    section(name, "batch_norm2d", "decay=0.9 eps=2e-05");
    const std::int64_t ch = xs[1];
    Tensor x = uniform(name + ".x", xs, -2, 3);
    if (name == "bn_train") x.select(1, 2).mul_(0.004f);
    named in = {{name + ".x", x},
                {name + ".weight", uniform(name + ".weight", {ch}, 0.5, 1.5)},
                {name + ".bias", uniform(name + ".bias", {ch}, -0.5, 0.5)},
                {name + ".running_mean.before", uniform(name + ".running_mean.before", {ch}, -0.5, 0.5)},
                {name + ".running_var.before", uniform(name + ".running_var.before", {ch}, 0.5, 1.5)},
                {name + ".r", uniform(name + ".r", xs, -1, 1)}};
    const std::string n = name;
    const bool rank2 = xs.size() == 2;
    worst = std::max(worst, run(w, in, [&](const named& v, torch::Dtype) {
      const auto as4 = [&](const Tensor& t) { return rank2 ? t.reshape({t.size(0), t.size(1), 1, 1}) : t; };
      const Tensor x = leaf(v, n + ".x"), g = leaf(v, n + ".weight"), b = leaf(v, n + ".bias");
      Tensor rm = get(v, n + ".running_mean.before"), rv = get(v, n + ".running_var.before");
      const Tensor y = torch::batch_norm(as4(x), g, b, rm, rv, true, 0.1, 2e-5, false).reshape(x.sizes());
      named out = with_backward(n, y, v, {{"x", x}, {"weight", g}, {"bias", b}});
      out.emplace_back(n + ".running_mean", rm.clone());
      out.emplace_back(n + ".running_var", rv.clone());
      // eval: the stored running statistics, a fresh graph
      const Tensor ex = leaf(v, n + ".x"), eg = leaf(v, n + ".weight"), eb = leaf(v, n + ".bias");
      const Tensor ey = torch::batch_norm(as4(ex), eg, eb, stored(rm), stored(rv), false, 0.1, 2e-5, false).reshape(ex.sizes());
      for (auto& [k, t] : with_backward(n + ".eval", ey, {{n + ".eval.r", get(v, n + ".r")}},
                                        {{"x", ex}, {"weight", eg}, {"bias", eb}}))
        out.emplace_back(k, t);
      return out;
    }));
  }

  // max_pool2d: ceil mode with and without partial windows, ties (first maximum wins), floor
  // mode, padding (PyTorch's rule drops a last window that starts in the padding), overlapping
  // windows (stride 1: gradients add up), kernel < stride.
  // avg_pool2d: ceil mode with padding (counted, and not), floor mode dropping the last row and
  // column, kernel < stride, and a ceil-mode window running past the input (its divisor stops
  // there even when padding is counted).
  const std::vector<pool_case> pools = {
      {"pool_k3_s2_ceil", {2, 3, 7, 9}, 3, 2, 0, true, false},
      {"pool_k3_s2_ceil_partial", {2, 3, 8, 10}, 3, 2, 0, true, false},
      {"pool_k3_s2_ceil_ties", {2, 3, 7, 9}, 3, 2, 0, true, true},
      {"pool_k2_s2_floor", {1, 2, 5, 7}, 2, 2, 0, false, false},
      {"pool_k3_s3_p1_ceil", {2, 2, 8, 7}, 3, 3, 1, true, false},
      {"pool_k3_s1_p1", {1, 2, 5, 6}, 3, 1, 1, false, false},
      {"pool_k2_s3_ceil", {1, 2, 9, 8}, 2, 3, 0, true, false},
      {"avg_k3_s2_p1_ceil", {2, 3, 7, 5}, 3, 2, 1, true, false, true, true},
      {"avg_k3_s2_p1_ceil_nopad", {2, 3, 7, 5}, 3, 2, 1, true, false, true, false},
      {"avg_k2_s2_floor", {2, 3, 7, 5}, 2, 2, 0, false, false, true, true},
      {"avg_k2_s3_p1_ceil", {1, 2, 9, 5}, 2, 3, 1, true, false, true, true},
      {"avg_k2_s2_ceil_past_end", {1, 2, 5, 5}, 2, 2, 0, true, false, true, true},
  };
  for (const pool_case& c : pools) {
    section(c.name, c.average ? "avg_pool2d" : "max_pool2d",
            "kernel=" + std::to_string(c.kernel) + " stride=" + std::to_string(c.stride) + " padding=" +
                std::to_string(c.padding) + " ceil=" + (c.ceil ? "1" : "0") +
                (c.average ? std::string(" count_include_pad=") + (c.count_include_pad ? "1" : "0") : ""));
    const auto pool = [&](const Tensor& t) {
      return c.average ? torch::avg_pool2d(t, c.kernel, c.stride, c.padding, c.ceil, c.count_include_pad)
                       : torch::max_pool2d(t, c.kernel, c.stride, c.padding, 1, c.ceil);
    };
    Tensor x = c.ties ? uniform(c.name + ".x", c.x, 0, 3).floor() : uniform(c.name + ".x", c.x, -1, 1);
    const named in = {{c.name + ".x", x}, {c.name + ".r", uniform(c.name + ".r", pool(x).sizes().vec(), -1, 1)}};
    worst = std::max(worst, run(w, in, [&](const named& v, torch::Dtype) {
      const Tensor xx = leaf(v, c.name + ".x");
      return with_backward(c.name, pool(xx), v, {{"x", xx}});
    }));
  }

  // global average pooling
  {
    section("global_avg_pool", "global_avg_pool", "");
    const named in = {{"global_avg_pool.x", uniform("global_avg_pool.x", {2, 3, 7, 5}, -1, 1)},
                      {"global_avg_pool.r", uniform("global_avg_pool.r", {2, 3, 1, 1}, -1, 1)}};
    worst = std::max(worst, run(w, in, [&](const named& v, torch::Dtype) {
      const Tensor x = leaf(v, "global_avg_pool.x");
      return with_backward("global_avg_pool", torch::adaptive_avg_pool2d(x, {1, 1}), v, {{"x", x}});
    }));
  }

  // flatten
  {
    section("flatten", "flatten", "");
    const named in = {{"flatten.x", uniform("flatten.x", {2, 3, 2, 4}, -1, 1)},
                      {"flatten.r", uniform("flatten.r", {2, 24}, -1, 1)}};
    worst = std::max(worst, run(w, in, [&](const named& v, torch::Dtype) {
      const Tensor x = leaf(v, "flatten.x");
      return with_backward("flatten", x.flatten(1), v, {{"x", x}});
    }));
  }

  // dropout, ratio 0.3, training mode: libtorch's own mask cannot be matched, so the test checks
  // what does not depend on it (every output is 0 or x / (1 - ratio), the backward uses the same
  // mask and scale). Inputs are in [0.25, 1.25): never 0.
  {
    section("dropout", "dropout", "ratio=0.3");
    const named in = {{"dropout.x", uniform("dropout.x", {4, 50}, 0.25, 1.25)},
                      {"dropout.r", uniform("dropout.r", {4, 50}, 0.25, 1.25)}};
    worst = std::max(worst, run(w, in, [&](const named& v, torch::Dtype) {
      torch::manual_seed(seed);
      const Tensor x = leaf(v, "dropout.x");
      return with_backward("dropout", torch::dropout(x, 0.3, true), v, {{"x", x}});
    }));
  }

  // softmax cross-entropy, mean over the rows; row 4 is shifted by +100 (a stable logsumexp)
  {
    section("ce", "softmax_cross_entropy", "");
    Tensor z = uniform("ce.logits", {5, 4}, -3, 3);
    z.select(0, 4).add_(100.0f);
    const named in = {{"ce.logits", z}, {"ce.t", labels("ce.t", 5, 4)}};
    worst = std::max(worst, run(w, in, [&](const named& v, torch::Dtype) {
      const Tensor logits = leaf(v, "ce.logits");
      const Tensor loss = F::cross_entropy(logits, get(v, "ce.t").to(torch::kLong));
      loss.backward();
      return named{{"ce.loss", loss.reshape({1})}, {"ce.grad.logits", logits.grad()}};
    }));
  }

  write_text(dir / "cases.txt", cases);
  write_text(dir / "config.txt", "seed 1\ncompute float64\nlibtorch 1.13.1\n");
  std::printf("layers: %zu tensors, %zu bytes; worst float32 error %.2e\n", w.files(), w.bytes(), worst);
  return worst;
}

// ---- mini_net: networks.hpp's seed network, narrow -------------------------------------------
struct net_config {
  std::int64_t batch = 2, input = 47, c1 = 4, c2 = 6, c3 = 8, f7 = 16, f8 = 12, classes = 4;
};

// ceil-mode pooling without padding (PyTorch's rule: a last window starting past the end is dropped)
std::int64_t pooled(std::int64_t size, std::int64_t k, std::int64_t s) {
  std::int64_t o = (size - k + s - 1) / s + 1;
  if ((o - 1) * s >= size) --o;
  return o;
}

// parameter name -> shape (in the network's order)
std::vector<std::pair<std::string, std::vector<std::int64_t>>> net_params(const net_config& c) {
  const std::int64_t p3 = pooled(pooled(pooled(c.input - 6, 3, 3) - 4, 3, 3) - 2, 2, 2);  // stage-3 output size
  return {{"conv1.weight", {c.c1, 3, 7, 7}}, {"conv1.bias", {c.c1}}, {"bn1.weight", {c.c1}}, {"bn1.bias", {c.c1}},
          {"conv3.weight", {c.c2, c.c1, 5, 5}}, {"conv3.bias", {c.c2}}, {"bn2.weight", {c.c2}}, {"bn2.bias", {c.c2}},
          {"conv5.weight", {c.c3, c.c2, 3, 3}}, {"conv5.bias", {c.c3}}, {"bn3.weight", {c.c3}}, {"bn3.bias", {c.c3}},
          {"fc7.weight", {c.f7, c.c3 * p3 * p3}}, {"fc7.bias", {c.f7}},
          {"fc8.weight", {c.f8, c.f7}}, {"fc8.bias", {c.f8}},
          {"fc9.weight", {c.classes, c.f8}}, {"fc9.bias", {c.classes}}};
}

struct net_state {
  std::map<std::string, Tensor> p;  // parameters (leaves)
  std::map<std::string, Tensor> running;  // bnK.running_mean / running_var
};

// One forward in training or eval mode; fills `stages` (retaining their gradients) and returns
// the loss.
Tensor net_forward(net_state& s, const Tensor& x, const Tensor& t, bool train, named& stages) {
  const auto keep = [&](const std::string& name, Tensor v) {
    if (v.requires_grad()) v.retain_grad();
    stages.emplace_back(name, v);
    return v;
  };
  Tensor h = x;
  const int pools[3] = {3, 3, 2};
  const char* convs[3] = {"conv1", "conv3", "conv5"};
  for (int i = 0; i < 3; ++i) {
    const std::string st = "s" + std::to_string(i + 1), bn = "bn" + std::to_string(i + 1);
    h = keep(st + "_conv", torch::conv2d(h, s.p[std::string(convs[i]) + ".weight"], s.p[std::string(convs[i]) + ".bias"]));
    h = keep(st + "_relu", torch::relu(h));
    h = keep(st + "_bn", torch::batch_norm(h, s.p[bn + ".weight"], s.p[bn + ".bias"], s.running[bn + ".running_mean"],
                                           s.running[bn + ".running_var"], train, 0.1, 2e-5, false));
    h = keep(st + "_pool", torch::max_pool2d(h, pools[i], pools[i], 0, 1, true));
  }
  h = h.flatten(1);
  h = keep("fc7", torch::linear(h, s.p["fc7.weight"], s.p["fc7.bias"]));
  h = keep("fc7_relu", torch::relu(h));  // dropout: the identity (ratio 0)
  h = keep("fc8", torch::linear(h, s.p["fc8.weight"], s.p["fc8.bias"]));
  h = keep("fc8_relu", torch::relu(h));
  h = keep("logits", torch::linear(h, s.p["fc9.weight"], s.p["fc9.bias"]));
  return F::cross_entropy(h, t.to(torch::kLong));
}

void reset_running(net_state& s, const net_config& c, torch::Dtype dt) {
  const std::int64_t widths[3] = {c.c1, c.c2, c.c3};
  for (int i = 0; i < 3; ++i) {
    const std::string bn = "bn" + std::to_string(i + 1);
    s.running[bn + ".running_mean"] = torch::zeros({widths[i]}, dt);
    s.running[bn + ".running_var"] = torch::ones({widths[i]}, dt);
  }
}

double make_mini_net(const std::filesystem::path& dir) {
  const net_config c;
  writer w(dir);
  std::printf("mini_net\n");
  named in = {{"x", uniform("x", {c.batch, 3, c.input, c.input}, 0, 1)}, {"t", labels("t", c.batch, std::uint64_t(c.classes))}};
  // parameter ranges: conv / linear weight and bias [-b, b), b = 1/sqrt(fan_in of the weight);
  // batch norm gamma [0.5, 1.5), beta [-0.5, 0.5)
  std::map<std::string, std::int64_t> fan_in;
  for (const auto& [name, dims] : net_params(c))
    if (dims.size() >= 2) {
      std::int64_t f = 1;
      for (std::size_t i = 1; i < dims.size(); ++i) f *= dims[i];
      fan_in[name.substr(0, name.find('.'))] = f;
    }
  for (const auto& [name, dims] : net_params(c)) {
    const std::string layer = name.substr(0, name.find('.'));
    if (layer.rfind("bn", 0) == 0) {
      const bool gamma = name.find("weight") != std::string::npos;
      in.emplace_back(name, uniform(name, dims, gamma ? 0.5 : -0.5, gamma ? 1.5 : 0.5));
    } else {
      in.emplace_back(name, uniform(name, dims, -bound(fan_in.at(layer)), bound(fan_in.at(layer))));
    }
  }

  const auto params = net_params(c);
  const double worst = run(w, in, [&](const named& v, torch::Dtype dt) {
    named out;
    const Tensor x = leaf(v, "x"), t = get(v, "t");
    net_state s;
    for (const auto& pn : params) s.p[pn.first] = leaf(v, pn.first);
    reset_running(s, c, dt);

    // 1. training forward, loss, backward
    named stages;
    const Tensor loss = net_forward(s, x, t, true, stages);
    loss.backward();
    for (const auto& st : stages) out.emplace_back(st.first, st.second);
    out.emplace_back("loss", loss.reshape({1}));
    for (const auto& pn : params) out.emplace_back("grad." + pn.first, s.p[pn.first].grad().clone());
    out.emplace_back("grad.x", x.grad().clone());
    for (const auto& st : stages)  // the three large stage-1 maps before pooling are left out
      if (st.first != "s1_conv" && st.first != "s1_relu" && st.first != "s1_bn")
        out.emplace_back("grad." + st.first, st.second.grad().clone());
    for (int i = 1; i <= 3; ++i)
      for (const char* k : {".running_mean", ".running_var"}) {
        const std::string n = "bn" + std::to_string(i) + k;
        out.emplace_back(n, s.running[n].clone());
      }

    // 2. eval forward: the initial parameters, the stored running statistics
    {
      torch::NoGradGuard no_grad;
      net_state e = s;
      for (auto& [k, r] : e.running) r = stored(r);
      named st;
      const Tensor eval_loss = net_forward(e, x, t, false, st);
      out.emplace_back("eval_logits", st.back().second);
      out.emplace_back("eval_loss", eval_loss.reshape({1}));
    }

    // 3. SGD with momentum (lr 0.01, momentum 0.9), step 1 from the stored gradients
    std::vector<Tensor> leaves;
    for (const auto& pn : params) {
      Tensor& p = s.p[pn.first];
      p.mutable_grad() = stored(p.grad());
      leaves.push_back(p);
    }
    torch::optim::SGD opt(leaves, torch::optim::SGDOptions(0.01).momentum(0.9));
    opt.step();
    for (const auto& pn : params) {
      Tensor& p = s.p[pn.first];
      out.emplace_back("step1." + pn.first, p.detach().clone());
      torch::NoGradGuard no_grad;
      p.copy_(stored(p));  // step 1 continues from the stored parameters
    }

    // 4. loss and gradients at the stored step-1 parameters (training mode, fresh statistics)
    opt.zero_grad();
    reset_running(s, c, dt);
    const Tensor xs = get(v, "x");
    named st1;
    const Tensor loss1 = net_forward(s, xs, t, true, st1);
    loss1.backward();
    out.emplace_back("step1.loss", loss1.reshape({1}));
    for (const auto& pn : params) {
      Tensor& p = s.p[pn.first];
      out.emplace_back("step1.grad." + pn.first, p.grad().clone());
      p.mutable_grad() = stored(p.grad());
    }

    // 5. step 2 from the stored step-1 gradients: step2 = step1 - 0.01 (0.9 grad + step1.grad)
    opt.step();
    for (const auto& pn : params) out.emplace_back("step2." + pn.first, s.p[pn.first].detach().clone());
    return out;
  });

  write_text(dir / "config.txt", "seed 1\nbatch " + std::to_string(c.batch) + "\ninput " + std::to_string(c.input) +
                                      "\nC1 " + std::to_string(c.c1) + "\nC2 " + std::to_string(c.c2) + "\nC3 " +
                                      std::to_string(c.c3) + "\nF7 " + std::to_string(c.f7) + "\nF8 " +
                                      std::to_string(c.f8) + "\nclasses " + std::to_string(c.classes) +
                                      "\ncompute float64\nlibtorch 1.13.1\n");
  std::printf("mini_net: %zu tensors, %zu bytes; worst float32 error %.2e\n", w.files(), w.bytes(), worst);
  return worst;
}

// ---- bn_chain: batch norm after convolutions, in a chain of the newer layers --------------------
// conv 3->4 3x3 pad 1 -> batch_norm2d -> relu -> depthwise conv 3x3 pad 1 (groups 4) ->
// batch_norm2d -> tanh -> global average pooling -> linear 4->2, training mode, running
// statistics from 0 / 1; the loss is sum(y * r). The convolutions have no bias, as usual before
// batch norm (which subtracts it again: its gradient would be 0 up to rounding).
double make_bn_chain(const std::filesystem::path& dir) {
  writer w(dir);
  std::printf("bn_chain\n");
  const std::vector<std::pair<std::string, std::vector<std::int64_t>>> params = {
      {"conv1.weight", {4, 3, 3, 3}}, {"bn1.weight", {4}}, {"bn1.bias", {4}},
      {"conv2.weight", {4, 1, 3, 3}}, {"bn2.weight", {4}}, {"bn2.bias", {4}},
      {"linear.weight", {2, 4}},      {"linear.bias", {2}}};
  const std::map<std::string, std::int64_t> fan_in = {{"conv1", 27}, {"conv2", 9}, {"linear", 4}};
  named in = {{"x", uniform("x", {3, 3, 6, 5}, -1, 1)}};
  for (const auto& [name, dims] : params) {
    const std::string layer = name.substr(0, name.find('.'));
    if (layer.rfind("bn", 0) == 0) {
      const bool gamma = name.find("weight") != std::string::npos;
      in.emplace_back(name, uniform(name, dims, gamma ? 0.5 : -0.5, gamma ? 1.5 : 0.5));
    } else {
      in.emplace_back(name, uniform(name, dims, -bound(fan_in.at(layer)), bound(fan_in.at(layer))));
    }
  }
  in.emplace_back("r", uniform("r", {3, 2}, -1, 1));
  const double worst = run(w, in, [&](const named& v, torch::Dtype dt) {
    std::map<std::string, Tensor> p;
    for (const auto& pn : params) p[pn.first] = leaf(v, pn.first);
    const Tensor x = leaf(v, "x");
    Tensor rm1 = torch::zeros({4}, dt), rv1 = torch::ones({4}, dt), rm2 = torch::zeros({4}, dt), rv2 = torch::ones({4}, dt);
    Tensor h = torch::conv2d(x, p["conv1.weight"], Tensor(), 1, 1);
    h = torch::relu(torch::batch_norm(h, p["bn1.weight"], p["bn1.bias"], rm1, rv1, true, 0.1, 2e-5, false));
    h = torch::conv2d(h, p["conv2.weight"], Tensor(), 1, 1, 1, 4);
    h = torch::tanh(torch::batch_norm(h, p["bn2.weight"], p["bn2.bias"], rm2, rv2, true, 0.1, 2e-5, false));
    const Tensor y = torch::linear(torch::adaptive_avg_pool2d(h, {1, 1}).flatten(1), p["linear.weight"], p["linear.bias"]);
    (y * get(v, "r")).sum().backward();
    named out = {{"y", y}, {"grad.x", x.grad().clone()}};
    for (const auto& pn : params) out.emplace_back("grad." + pn.first, p[pn.first].grad().clone());
    out.emplace_back("bn1.running_mean", rm1);
    out.emplace_back("bn1.running_var", rv1);
    out.emplace_back("bn2.running_mean", rm2);
    out.emplace_back("bn2.running_var", rv2);
    return out;
  });
  write_text(dir / "config.txt", "seed 1\ncompute float64\nlibtorch 1.13.1\n");
  std::printf("bn_chain: %zu tensors, %zu bytes; worst float32 error %.2e\n", w.files(), w.bytes(), worst);
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR   (the repository's tests/data/oracle)\n", argv[0]);
    return 2;
  }
  try {
    torch::set_num_threads(1);
    const std::filesystem::path out = argv[1];
    make_layers(out / "layers");
    make_mini_net(out / "mini_net");
    make_bn_chain(out / "bn_chain");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make-libtorch-oracle: %s\n", e.what());
    return 1;
  }
  return 0;
}

// bench/fmnist_bench.cpp: the Fashion-MNIST networks of examples/fashion_mnist.cpp, "2conv-bn"
// (housenet::make_two_conv_bn_network) and ResNet-20 (housenet::make_resnet20, a graph), trained
// and run by housenet and, when built with libtorch (Debian's libtorch-dev), by libtorch in the
// same process, so that each ratio comes from one run on one machine.
//
//   Case names: <impl>/<case>/threads:<n>, impl in {housenet, libtorch}, net in {fmnist_2conv,
//   resnet20}:
//     <net>_step_b128   one training step at batch 128: forward, softmax cross-entropy,
//                       backward, SGD (momentum 0.9, weight decay 5e-4): the example's step
//     <net>_infer_b1    an eval-mode forward of one image (libtorch: under NoGradGuard)
//     <net>_infer_b128  the same for 128 images
//   Every case has an images/s counter. Inputs are random N(0, 1)-like values (the network's speed
//   does not depend on them); libtorch's network gets housenet's initial weights, and before any
//   timing both eval forwards are compared on the same input (stderr; --skip_validation skips).
//
//   Run (Release build, -DHOUSENET_BUILD_BENCH=ON):
//     build/bench/fmnist_bench
//     build/bench/fmnist_bench --benchmark_filter='threads:2' --benchmark_repetitions=3
//   The machine is shared: for docs/performance.md take each case's best of the repetitions.
#include <benchmark/benchmark.h>

#include "bench_main.hpp"

#include <housenet/loss.hpp>
#include <housenet/networks.hpp>
#include <housenet/optim.hpp>
#include <housenet/parallel.hpp>
#include <housenet/simd.hpp>
#include <housenet/tensor.hpp>

#if HOUSENET_BENCH_LIBTORCH
#  include <torch/torch.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace housenet;

namespace {

constexpr std::size_t classes = 10;

void fill_input(tensor<float>& x, std::uint64_t seed) {
  prng g(seed);
  for (float& v : x) v = float(g.uniform(-1.7, 1.7));
}
std::vector<int> make_labels(std::size_t n) {
  std::vector<int> l(n);
  for (std::size_t i = 0; i < n; ++i) l[i] = int(i % classes);
  return l;
}

void set_threads(int n) {
  if (num_threads() != n) set_num_threads(n);
#if HOUSENET_BENCH_LIBTORCH
  if (at::get_num_threads() != n) at::set_num_threads(n);
#endif
}

enum class net_kind { two_conv, resnet20 };
const char* net_name(net_kind k) { return k == net_kind::two_conv ? "fmnist_2conv" : "resnet20"; }

// ---- housenet --------------------------------------------------------------------------------------
graph<float> make_net(net_kind k) {
  if (k == net_kind::resnet20) {
    resnet20_options o;
    o.seed = 1;
    return make_resnet20<float>(classes, o);
  }
  two_conv_bn_options o;
  o.seed = 1;
  return make_two_conv_bn_network<float>(classes, o);
}

struct hn_state {
  explicit hn_state(net_kind k) : net(make_net(k)) {}
  graph<float> net;
  sgd<float> opt{sgd<float>::options{0.05, 0.9, 5e-4, false}};
  softmax_cross_entropy<float> loss;
  tensor<float> x, dz;
  std::vector<int> labels;
};
hn_state& hn(net_kind k) {
  static std::unique_ptr<hn_state> s[2];
  auto& p = s[int(k)];
  if (!p) p = std::make_unique<hn_state>(k);
  return *p;
}

void bm_hn_step(benchmark::State& state, net_kind k, std::size_t batch, int threads) {
  set_threads(threads);
  auto& s = hn(k);
  s.x.resize(shape{batch, 1, 28, 28});
  fill_input(s.x, 99);
  s.labels = make_labels(batch);
  s.net.train();
  auto step = [&] {
    const tensor<float>& z = s.net.forward(s.x);
    s.loss.forward(z, s.labels);
    s.loss.backward(s.dz);
    s.net.zero_grad();
    s.net.backward(s.dz);
    s.opt.step(s.net);
  };
  step();  // warm-up: activations, workspaces, optimizer state
  for (auto _ : state) step();
  state.counters["images/s"] = benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
}

void bm_hn_infer(benchmark::State& state, net_kind k, std::size_t batch, int threads) {
  set_threads(threads);
  auto& s = hn(k);
  s.x.resize(shape{batch, 1, 28, 28});
  fill_input(s.x, 98);
  const context eval{mode::eval, s.net.step()};
  s.net.forward(s.x, eval);  // warm-up
  for (auto _ : state) {
    const tensor<float>& z = s.net.forward(s.x, eval);
    benchmark::DoNotOptimize(z.data());
  }
  state.counters["images/s"] = benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
}

// ---- libtorch ------------------------------------------------------------------------------------
#if HOUSENET_BENCH_LIBTORCH
torch::nn::Sequential make_torch_2conv() {
  namespace nn = torch::nn;
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 32, 3).padding(1)), nn::ReLU(), nn::BatchNorm2d(32),
                        nn::MaxPool2d(nn::MaxPool2dOptions(2)), nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)),
                        nn::ReLU(), nn::BatchNorm2d(64), nn::MaxPool2d(nn::MaxPool2dOptions(2)), nn::Flatten(),
                        nn::Linear(64 * 7 * 7, 128), nn::ReLU(), nn::Dropout(0.5), nn::Linear(128, classes));
}

// ResNet-20 as housenet::make_resnet20 builds it, its modules registered in housenet's layer order
// (conv, batch norm, ..., the projections after their block's second batch norm, the linear).
struct torch_resnet20 : torch::nn::Module {
  struct block {
    torch::nn::Conv2d c1{nullptr}, c2{nullptr}, pc{nullptr};
    torch::nn::BatchNorm2d b1{nullptr}, b2{nullptr}, pb{nullptr};
  };
  torch::nn::Conv2d conv0{nullptr};
  torch::nn::BatchNorm2d bn0{nullptr};
  std::vector<block> blocks;
  torch::nn::Linear fc{nullptr};

  torch_resnet20() {
    namespace nn = torch::nn;
    const auto conv = [&](const std::string& name, long in, long out, long k, long stride) {
      return register_module(name, nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2).bias(false)));
    };
    const auto bn = [&](const std::string& name, long c) { return register_module(name, nn::BatchNorm2d(c)); };
    conv0 = conv("conv0", 1, 16, 3, 1);
    bn0 = bn("bn0", 16);
    long in = 16;
    for (int stage = 0; stage < 3; ++stage) {
      const long width = 16L << stage;
      for (int b = 0; b < 3; ++b) {
        const long stride = stage > 0 && b == 0 ? 2 : 1;
        const std::string n = "s" + std::to_string(stage) + "b" + std::to_string(b);
        block k;
        k.c1 = conv(n + "c1", in, width, 3, stride);
        k.b1 = bn(n + "b1", width);
        k.c2 = conv(n + "c2", width, width, 3, 1);
        k.b2 = bn(n + "b2", width);
        if (stride != 1 || width != in) {
          k.pc = conv(n + "pc", in, width, 1, stride);
          k.pb = bn(n + "pb", width);
        }
        blocks.push_back(k);
        in = width;
      }
    }
    fc = register_module("fc", nn::Linear(64, classes));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(bn0(conv0(x)));
    for (auto& k : blocks) {
      torch::Tensor y = k.b2(k.c2(torch::relu(k.b1(k.c1(x)))));
      x = torch::relu(y + (k.pc ? k.pb(k.pc(x)) : x));
    }
    return fc(torch::adaptive_avg_pool2d(x, 1).flatten(1));
  }
};

// Copies housenet's parameters (and batch-norm running statistics) into the libtorch network:
// per layer, conv/linear weight + bias, batch norm gamma + beta + running mean + running var, in
// both libraries' order and layout (NCHW weights, [out, in] linear weights, C-H-W flattening).
void copy_weights(const graph<float>& from, torch::nn::Module& to) {
  std::vector<torch::Tensor> dst;
  for (const auto& m : to.modules(false)) {
    for (auto& p : m->parameters(false)) dst.push_back(p);
    for (auto& b : m->named_buffers(false))
      if (b.key() != "num_batches_tracked") dst.push_back(b.value());
  }
  const auto& params = from.parameters();
  if (dst.size() != params.size()) {
    std::fprintf(stderr, "copy_weights: %zu libtorch tensors, %zu housenet parameters\n", dst.size(), params.size());
    std::abort();
  }
  torch::NoGradGuard no_grad;
  const float* values = from.values().data();
  for (std::size_t i = 0; i < dst.size(); ++i) {
    if (std::size_t(dst[i].numel()) != params[i].spec.shape.size()) {
      std::fprintf(stderr, "copy_weights: %s has %zu elements, libtorch's tensor %lld\n", params[i].name.c_str(),
                   params[i].spec.shape.size(), (long long)dst[i].numel());
      std::abort();
    }
    std::memcpy(dst[i].data_ptr<float>(), values + params[i].offset, params[i].spec.shape.size() * sizeof(float));
  }
}

struct torch_state {
  std::shared_ptr<torch::nn::Module> module;
  std::function<torch::Tensor(const torch::Tensor&)> forward;
  std::unique_ptr<torch::optim::SGD> opt;
  torch::Tensor x, labels;
  explicit torch_state(net_kind k) {
    if (k == net_kind::resnet20) {
      auto r = std::make_shared<torch_resnet20>();
      forward = [r](const torch::Tensor& x) { return r->forward(x); };
      module = r;
    } else {
      std::shared_ptr<torch::nn::SequentialImpl> seq = make_torch_2conv().ptr();
      forward = [seq](const torch::Tensor& x) { return seq->forward(x); };
      module = seq;
    }
    copy_weights(hn(k).net, *module);
    opt = std::make_unique<torch::optim::SGD>(module->parameters(),
                                              torch::optim::SGDOptions(0.05).momentum(0.9).weight_decay(5e-4));
  }
};
torch_state& tt(net_kind k) {
  static std::unique_ptr<torch_state> s[2];
  auto& p = s[int(k)];
  if (!p) p = std::make_unique<torch_state>(k);
  return *p;
}
torch::Tensor to_torch(const tensor<float>& x) {
  return torch::from_blob(const_cast<float*>(x.data()), {long(x.shape().n()), 1, 28, 28}).clone();
}

void bm_torch_step(benchmark::State& state, net_kind k, std::size_t batch, int threads) {
  set_threads(threads);
  auto& s = tt(k);
  tensor<float> x(shape{batch, 1, 28, 28});
  fill_input(x, 99);
  s.x = to_torch(x);
  const std::vector<int> l = make_labels(batch);
  s.labels = torch::tensor(std::vector<long>(l.begin(), l.end()), torch::kLong);
  s.module->train();
  auto step = [&] {
    s.opt->zero_grad();
    const torch::Tensor loss = torch::nn::functional::cross_entropy(s.forward(s.x), s.labels);
    loss.backward();
    s.opt->step();
  };
  step();
  for (auto _ : state) step();
  state.counters["images/s"] = benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
}

void bm_torch_infer(benchmark::State& state, net_kind k, std::size_t batch, int threads) {
  set_threads(threads);
  auto& s = tt(k);
  tensor<float> x(shape{batch, 1, 28, 28});
  fill_input(x, 98);
  s.x = to_torch(x);
  s.module->eval();
  torch::NoGradGuard no_grad;
  s.forward(s.x);
  for (auto _ : state) {
    const torch::Tensor z = s.forward(s.x);
    benchmark::DoNotOptimize(z.data_ptr<float>());
  }
  s.module->train();
  state.counters["images/s"] = benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
}

// Both eval forwards on the same input and weights (before any training step).
bool validate(net_kind k) {
  auto& h = hn(k);
  auto& s = tt(k);
  tensor<float> x(shape{16, 1, 28, 28});
  fill_input(x, 5);
  const tensor<float>& z = h.net.forward(x, context{mode::eval, h.net.step()});
  s.module->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor zt = s.forward(to_torch(x)).contiguous();
  s.module->train();
  double worst = 0, scale = 1e-30;
  for (std::size_t i = 0; i < z.size(); ++i) {
    scale = std::max(scale, double(std::fabs(zt.data_ptr<float>()[i])));
    worst = std::max(worst, std::fabs(double(z[i]) - double(zt.data_ptr<float>()[i])));
  }
  const bool ok = worst / scale <= 1e-4;
  std::fprintf(stderr, "validate %s: eval logits housenet vs libtorch (16 images): max |diff| / max |ref| = %.2e %s\n",
               net_name(k), worst / scale, ok ? "ok" : "FAILED");
  return ok;
}
#endif

using bench::add;

void register_all() {
  // Grouped by thread count; within a group the two libraries' runs of a case are back to back.
  for (net_kind k : {net_kind::two_conv, net_kind::resnet20}) {
    for (int threads : {1, 2}) {
      const std::string th = "/threads:" + std::to_string(threads), net = std::string("/") + net_name(k);
      add("housenet" + net + "_step_b128" + th, [=](benchmark::State& s) { bm_hn_step(s, k, 128, threads); });
#if HOUSENET_BENCH_LIBTORCH
      add("libtorch" + net + "_step_b128" + th, [=](benchmark::State& s) { bm_torch_step(s, k, 128, threads); });
#endif
      for (std::size_t batch : {std::size_t(1), std::size_t(128)}) {
        const std::string name = net + "_infer_b" + std::to_string(batch) + th;
        add("housenet" + name, [=](benchmark::State& s) { bm_hn_infer(s, k, batch, threads); });
#if HOUSENET_BENCH_LIBTORCH
        add("libtorch" + name, [=](benchmark::State& s) { bm_torch_infer(s, k, batch, threads); });
#endif
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool skip_validation = false;
  if (!bench::init(argc, argv, skip_validation)) return 1;
  std::fprintf(stderr, "housenet isa: %s (best %s)\n", isa_name(active_isa()), isa_name(best_isa()));
#if HOUSENET_BENCH_LIBTORCH
  std::fprintf(stderr, "libtorch %s: %s\n", TORCH_VERSION, at::get_parallel_info().c_str());
  for (net_kind k : {net_kind::two_conv, net_kind::resnet20})
    if (!skip_validation && !validate(k))
      std::fprintf(stderr, "WARNING: validation of %s failed; the two networks differ\n", net_name(k));
#else
  (void)skip_validation;
  std::fprintf(stderr, "libtorch: not found at configure time; housenet cases only\n");
#endif
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

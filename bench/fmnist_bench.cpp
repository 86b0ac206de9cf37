// bench/fmnist_bench.cpp: the Fashion-MNIST network "2conv-bn" (housenet::make_two_conv_bn_network)
// trained and run by housenet and, when built with libtorch (Debian's libtorch-dev), by libtorch
// in the same process, so that each ratio comes from one run on one machine.
//
//   Case names: <impl>/<case>/threads:<n>, impl in {housenet, libtorch}:
//     fmnist_2conv_step_b128   one training step at batch 128: forward, softmax cross-entropy,
//                              backward, SGD (momentum 0.9, weight decay 5e-4): the example's step
//     fmnist_2conv_infer_b1    an eval-mode forward of one image (libtorch: under NoGradGuard)
//     fmnist_2conv_infer_b128  the same for 128 images
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

// ---- housenet --------------------------------------------------------------------------------------
struct hn_state {
  sequential<float> net = make_two_conv_bn_network<float>(classes, [] {
    two_conv_bn_options o;
    o.seed = 1;
    return o;
  }());
  sgd<float> opt{sgd<float>::options{0.05, 0.9, 5e-4, false}};
  softmax_cross_entropy<float> loss;
  tensor<float> x, dz;
  std::vector<int> labels;
};
hn_state& hn() {
  static std::unique_ptr<hn_state> s;
  if (!s) s = std::make_unique<hn_state>();
  return *s;
}

void bm_hn_step(benchmark::State& state, std::size_t batch, int threads) {
  set_threads(threads);
  auto& s = hn();
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

void bm_hn_infer(benchmark::State& state, std::size_t batch, int threads) {
  set_threads(threads);
  auto& s = hn();
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
torch::nn::Sequential make_torch_net() {
  namespace nn = torch::nn;
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 32, 3).padding(1)), nn::ReLU(), nn::BatchNorm2d(32),
                        nn::MaxPool2d(nn::MaxPool2dOptions(2)), nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)),
                        nn::ReLU(), nn::BatchNorm2d(64), nn::MaxPool2d(nn::MaxPool2dOptions(2)), nn::Flatten(),
                        nn::Linear(64 * 7 * 7, 128), nn::ReLU(), nn::Dropout(0.5), nn::Linear(128, classes));
}

// Copies housenet's parameters (and batch-norm running statistics) into the libtorch network:
// per layer, conv/linear weight + bias, batch norm gamma + beta + running mean + running var, in
// both libraries' order and layout (NCHW weights, [out, in] linear weights, C-H-W flattening).
void copy_weights(const sequential<float>& from, torch::nn::Sequential& to) {
  std::vector<torch::Tensor> dst;
  for (const auto& m : to->modules(false)) {
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
  torch::nn::Sequential net = make_torch_net();
  std::unique_ptr<torch::optim::SGD> opt;
  torch::Tensor x, labels;
  torch_state() {
    copy_weights(hn().net, net);
    opt = std::make_unique<torch::optim::SGD>(net->parameters(),
                                              torch::optim::SGDOptions(0.05).momentum(0.9).weight_decay(5e-4));
  }
};
torch_state& tt() {
  static std::unique_ptr<torch_state> s;
  if (!s) s = std::make_unique<torch_state>();
  return *s;
}
torch::Tensor to_torch(const tensor<float>& x) {
  return torch::from_blob(const_cast<float*>(x.data()), {long(x.shape().n()), 1, 28, 28}).clone();
}

void bm_torch_step(benchmark::State& state, std::size_t batch, int threads) {
  set_threads(threads);
  auto& s = tt();
  tensor<float> x(shape{batch, 1, 28, 28});
  fill_input(x, 99);
  s.x = to_torch(x);
  const std::vector<int> l = make_labels(batch);
  s.labels = torch::tensor(std::vector<long>(l.begin(), l.end()), torch::kLong);
  s.net->train();
  auto step = [&] {
    s.opt->zero_grad();
    const torch::Tensor loss = torch::nn::functional::cross_entropy(s.net->forward(s.x), s.labels);
    loss.backward();
    s.opt->step();
  };
  step();
  for (auto _ : state) step();
  state.counters["images/s"] = benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
}

void bm_torch_infer(benchmark::State& state, std::size_t batch, int threads) {
  set_threads(threads);
  auto& s = tt();
  tensor<float> x(shape{batch, 1, 28, 28});
  fill_input(x, 98);
  s.x = to_torch(x);
  s.net->eval();
  torch::NoGradGuard no_grad;
  s.net->forward(s.x);
  for (auto _ : state) {
    const torch::Tensor z = s.net->forward(s.x);
    benchmark::DoNotOptimize(z.data_ptr<float>());
  }
  s.net->train();
  state.counters["images/s"] = benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
}

// Both eval forwards on the same input and weights (before any training step).
bool validate() {
  auto& h = hn();
  auto& s = tt();
  tensor<float> x(shape{16, 1, 28, 28});
  fill_input(x, 5);
  const tensor<float>& z = h.net.forward(x, context{mode::eval, h.net.step()});
  s.net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor zt = s.net->forward(to_torch(x)).contiguous();
  s.net->train();
  double worst = 0, scale = 1e-30;
  for (std::size_t i = 0; i < z.size(); ++i) {
    scale = std::max(scale, double(std::fabs(zt.data_ptr<float>()[i])));
    worst = std::max(worst, std::fabs(double(z[i]) - double(zt.data_ptr<float>()[i])));
  }
  const bool ok = worst / scale <= 1e-4;
  std::fprintf(stderr, "validate eval logits housenet vs libtorch (16 images): max |diff| / max |ref| = %.2e %s\n",
               worst / scale, ok ? "ok" : "FAILED");
  return ok;
}
#endif

using bench::add;

void register_all() {
  // Grouped by thread count; within a group the two libraries' runs of a case are back to back.
  for (int threads : {1, 2}) {
    const std::string th = "/threads:" + std::to_string(threads);
    add("housenet/fmnist_2conv_step_b128" + th, [=](benchmark::State& s) { bm_hn_step(s, 128, threads); });
#if HOUSENET_BENCH_LIBTORCH
    add("libtorch/fmnist_2conv_step_b128" + th, [=](benchmark::State& s) { bm_torch_step(s, 128, threads); });
#endif
    for (std::size_t batch : {std::size_t(1), std::size_t(128)}) {
      const std::string name = "/fmnist_2conv_infer_b" + std::to_string(batch) + th;
      add("housenet" + name, [=](benchmark::State& s) { bm_hn_infer(s, batch, threads); });
#if HOUSENET_BENCH_LIBTORCH
      add("libtorch" + name, [=](benchmark::State& s) { bm_torch_infer(s, batch, threads); });
#endif
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
  if (!skip_validation && !validate())
    std::fprintf(stderr, "WARNING: validation failed; the two networks differ\n");
#else
  (void)skip_validation;
  std::fprintf(stderr, "libtorch: not found at configure time; housenet cases only\n");
#endif
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

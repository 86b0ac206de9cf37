// bench/layers_bench.cpp: one training step (forward in train mode + backward) of each layer of a
// ResNet-20 block and of a MobileNet-style (inverted residual) block at batch 128, so that the
// cheap layers (activations, pooling, depthwise convolutions) can be put beside the convolutions
// they sit between.
//
//   Case names: layers/<block>/<layer>/threads:<n>; every case has a GB/s counter (the bytes of
//   x, y, dy and dx one step touches once: what an element-wise layer cannot do without).
//   Blocks (Fashion-MNIST's 28x28 inputs):
//     resnet20_s1  16 x 28 x 28: conv3x3 16->16 (no bias), batch_norm2d, relu, and the network's
//                  end: global_avg_pool of 64 x 7 x 7
//     mobilenet    32 x 14 x 14, expansion 4: conv1x1 32->128, batch_norm2d, relu, depthwise
//                  conv3x3 128 (groups 128), conv1x1 128->32; leaky_relu, sigmoid, tanh on the
//                  128 x 14 x 14 tensor; avg_pool2d 2x2 and 3x3/1 pad 1 of 32 x 28 x 28
//
//   Run (Release build, -DHOUSENET_BUILD_BENCH=ON):
//     build/bench/layers_bench --benchmark_min_time=0.5
//   The machine is shared: for figures, --benchmark_repetitions=3 and each case's best run.
#include <benchmark/benchmark.h>

#include <housenet/layers.hpp>
#include <housenet/parallel.hpp>
#include <housenet/random.hpp>
#include <housenet/testing.hpp>

#include <functional>
#include <memory>
#include <string>

using namespace housenet;

namespace {

constexpr std::size_t batch = 128;

void step(benchmark::State& st, const std::function<std::unique_ptr<layer<float>>()>& make, const shape& in,
          int threads) {
  set_num_threads(threads);
  auto l = make();
  const shape out = l->setup(in);
  testing::param_store<float> ps;
  ps.bind(*l);
  prng rng(1);
  l->init(rng);
  tensor<float> x(in), y, dy(out), dx;
  for (float& v : x) v = float(rng.uniform(-1, 1));
  for (float& v : dy) v = float(rng.uniform(-1, 1));
  context ctx;
  for (auto _ : st) {
    l->forward(x, y, ctx);
    l->backward(x, y, dy, dx);
    benchmark::DoNotOptimize(dx.data());
    ++ctx.step;
  }
  st.counters["GB/s"] = benchmark::Counter(double(2 * (in.size() + out.size()) * sizeof(float)),
                                           benchmark::Counter::kIsIterationInvariantRate);
}

void add(const std::string& block, const std::string& name, const shape& in,
         std::function<std::unique_ptr<layer<float>>()> make) {
  for (int t : {1, 2}) {
    const std::string full = "layers/" + block + "/" + name + "/threads:" + std::to_string(t);
    benchmark::RegisterBenchmark(full.c_str(), [=](benchmark::State& s) { step(s, make, in, t); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
}

template <class L, class... A>
std::function<std::unique_ptr<layer<float>>()> mk(A... a) {
  return [=] { return std::unique_ptr<layer<float>>(std::make_unique<L>(a...)); };
}

int register_all() {
  const shape r{batch, 16, 28, 28};
  add("resnet20_s1", "conv3x3_16_16", r, mk<conv2d<float>>(16, 3, 1, 1, false, init_kind::he));
  add("resnet20_s1", "batch_norm2d", r, mk<batch_norm2d<float>>());
  add("resnet20_s1", "relu", r, mk<relu<float>>());
  add("resnet20_s1", "global_avg_pool_64x7x7", shape{batch, 64, 7, 7}, mk<global_avg_pool<float>>());
  const shape m{batch, 32, 14, 14}, e{batch, 128, 14, 14};
  add("mobilenet", "conv1x1_32_128", m, mk<conv2d<float>>(128, 1, 1, 0, false, init_kind::he));
  add("mobilenet", "batch_norm2d", e, mk<batch_norm2d<float>>());
  add("mobilenet", "relu", e, mk<relu<float>>());
  add("mobilenet", "depthwise3x3_128", e, mk<conv2d<float>>(128, 3, 1, 1, false, init_kind::he, 1, 128));
  add("mobilenet", "depthwise3x3_128_s2", e, mk<conv2d<float>>(128, 3, 2, 1, false, init_kind::he, 1, 128));
  add("mobilenet", "conv1x1_128_32", e, mk<conv2d<float>>(32, 1, 1, 0, false, init_kind::he));
  add("mobilenet", "grouped3x3_128_g8", e, mk<conv2d<float>>(128, 3, 1, 1, false, init_kind::he, 1, 8));
  add("mobilenet", "dilated3x3_32_d2", m, mk<conv2d<float>>(32, 3, 1, 2, false, init_kind::he, 2));
  add("mobilenet", "leaky_relu", e, mk<leaky_relu<float>>(0.1));
  add("mobilenet", "sigmoid", e, mk<sigmoid<float>>());
  add("mobilenet", "tanh", e, mk<tanh_layer<float>>());
  add("mobilenet", "avg_pool2d_2x2_32x28x28", shape{batch, 32, 28, 28}, mk<avg_pool2d<float>>(2, 2));
  add("mobilenet", "avg_pool2d_3x3s1p1_32x28x28", shape{batch, 32, 28, 28}, mk<avg_pool2d<float>>(3, 1, 1));
  return 0;
}
const int registered = register_all();

}  // namespace

BENCHMARK_MAIN();

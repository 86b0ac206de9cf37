// sequential<T>: shape inference (the blog network's exact chain and parameter count), the arena,
// summary(), misuse errors, training a small net on a synthetic task, determinism (same seed and
// thread count => identical bits; 1 vs 2 threads => close), predict() from several threads.
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/layers.hpp>
#include <housenet/loss.hpp>
#include <housenet/networks.hpp>
#include <housenet/optim.hpp>
#include <housenet/parallel.hpp>
#include <housenet/sequential.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace housenet;

namespace {

// Synthetic 4-class images 1 x 12 x 12: horizontal, vertical, diagonal, anti-diagonal stripes with
// a random phase, plus Gaussian noise (sd 0.5).
void make_batch(prng& rng, std::size_t n, tensor<float>& x, std::vector<int>& t) {
  const std::size_t S = 12;
  x.resize(shape{n, 1, S, S});
  t.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int cls = int(rng.uniform_int(4));
    const std::size_t phase = rng.uniform_int(3);
    t[i] = cls;
    for (std::size_t y = 0; y < S; ++y)
      for (std::size_t xx = 0; xx < S; ++xx) {
        std::size_t k = 0;
        switch (cls) {
          case 0: k = y; break;
          case 1: k = xx; break;
          case 2: k = xx + y; break;
          default: k = xx + 2 * S - y; break;
        }
        const float v = (k + phase) % 3 == 0 ? 1.0f : 0.0f;
        x(i, 0, y, xx) = v + float(rng.normal(0.0, 0.5));
      }
  }
}

// The full-size network, shapes only (initialising 60 M parameters takes seconds).
const sequential<float>& seed_net() {
  static const sequential<float> net = [] {
    seed_network_options o;
    o.initialize = false;
    return make_seed_network<float>(4, o);
  }();
  return net;
}

sequential<float> small_net(std::uint64_t seed) {
  sequential<float> net;
  net.add<conv2d<float>>(8, 3);            // 12 -> 10
  net.add<relu<float>>();
  net.add<batch_norm2d<float>>();
  net.add<max_pool2d<float>>(2, 2, 0, true);  // 10 -> 5
  net.add<linear<float>>(16);
  net.add<relu<float>>();
  net.add<dropout<float>>(0.25, 7);
  net.add<linear<float>>(4);
  net.setup(shape{1, 1, 12, 12}, seed);
  return net;
}

// Trains `steps` batches of 16; returns the final batch loss.
double train(sequential<float>& net, int steps, std::uint64_t data_seed) {
  sgd<float> opt(sgd<float>::options{0.05, 0.9, 1e-4, false});
  softmax_cross_entropy<float> ce;
  prng rng(data_seed);
  tensor<float> x, d;
  std::vector<int> t;
  double loss = 0;
  net.train();
  for (int s = 0; s < steps; ++s) {
    make_batch(rng, 16, x, t);
    loss = ce.forward(net.forward(x), t);
    ce.backward(d);
    net.zero_grad();
    net.backward(d);
    opt.step(net);
  }
  return loss;
}

double eval_accuracy(const sequential<float>& net, std::uint64_t data_seed, std::size_t n) {
  prng rng(data_seed);
  tensor<float> x;
  std::vector<int> t;
  make_batch(rng, n, x, t);
  const tensor<float> logits = net.predict(x);
  return accuracy(logits, t);
}

double eval_loss(const sequential<float>& net, std::uint64_t data_seed, std::size_t n) {
  prng rng(data_seed);
  tensor<float> x;
  std::vector<int> t;
  make_batch(rng, n, x, t);
  softmax_cross_entropy<float> ce;
  return ce.forward(net.predict(x), t);
}

}  // namespace

TEST_CASE("seed network: the blog's exact shape chain and parameter count") {
  const sequential<float>& net = seed_net();
  REQUIRE(net.size() == 19);
  const std::vector<std::pair<std::string, std::string>> expect = {
      {"conv2d #1", "1x128x94x94"},     {"relu #2", "1x128x94x94"},
      {"batch_norm2d #3", "1x128x94x94"}, {"max_pool2d #4", "1x128x32x32"},
      {"conv2d #5", "1x256x28x28"},     {"relu #6", "1x256x28x28"},
      {"batch_norm2d #7", "1x256x28x28"}, {"max_pool2d #8", "1x256x10x10"},
      {"conv2d #9", "1x384x8x8"},       {"relu #10", "1x384x8x8"},
      {"batch_norm2d #11", "1x384x8x8"}, {"max_pool2d #12", "1x384x4x4"},
      {"linear #13", "1x8192"},         {"relu #14", "1x8192"},
      {"dropout #15", "1x8192"},        {"linear #16", "1x1024"},
      {"relu #17", "1x1024"},           {"dropout #18", "1x1024"},
      {"linear #19", "1x4"}};
  for (std::size_t i = 0; i < net.size(); ++i) {
    CHECK(net[i].name() == expect[i].first);
    CHECK(net.layer_output_shape(i).str() == expect[i].second);
  }
  // 384 * 4 * 4 = 6144 features into fc7
  CHECK(net.layer_output_shape(11).sample_size() == 6144);
  CHECK(net.param_by_name("13.linear.weight").value.shape() == shape{8192, 6144});
  // Parameter count by hand:
  //   conv1   128*3*7*7   + 128  =     18,944
  //   conv3   256*128*5*5 + 256  =    819,456
  //   conv5   384*256*3*3 + 384  =    885,120
  //   bn      2*(128+256+384)    =      1,536 trainable (gamma, beta)
  //   fc7     8192*6144   + 8192 = 50,339,840
  //   fc8     1024*8192   + 1024 =  8,389,632
  //   fc9     4*1024      + 4    =      4,100
  //   trainable total                = 60,458,628
  //   running mean + var 2*(128+256+384) = 1,536 non-trainable; total 60,460,164
  CHECK(net.num_trainable_params() == 60458628u);
  CHECK(net.num_non_trainable_params() == 1536u);
  CHECK(net.num_params() == 60460164u);
  CHECK(net.output_shape() == shape{1, 4});
  // the model file would hold them as float32: > 240 MB; the small network stays well under 20 MB
  const sequential<float> small = make_small_network<float>(4);
  CHECK(small.num_params() * 4 < 20u * 1000 * 1000);
  CHECK(small.layer_output_shape(11).str() == "1x96x4x4");
  CHECK(small.output_shape() == shape{1, 4});
}

TEST_CASE("summary: names, output shapes, parameter counts, totals") {
  const std::string s = seed_net().summary();
  CHECK(s.find("Layer (type)") != std::string::npos);
  CHECK(s.find("conv2d #1                128x94x94              18,944") != std::string::npos);
  CHECK(s.find("max_pool2d #12           384x4x4                0") != std::string::npos);
  CHECK(s.find("linear #13               8192                   50,339,840") != std::string::npos);
  CHECK(s.find("batch_norm2d #3          128x94x94              512") != std::string::npos);
  CHECK(s.find("Total params: 60,460,164") != std::string::npos);
  CHECK(s.find("Trainable params: 60,458,628") != std::string::npos);
  CHECK(s.find("Non-trainable params: 1,536") != std::string::npos);
}

TEST_CASE("arena: sections, alignment, names, zero_grad, views bound into it") {
  sequential<float> net = small_net(1);
  const auto& ps = net.parameters();
  REQUIRE(ps.size() == 10);
  CHECK(ps[0].name == "1.conv2d.weight");
  CHECK(ps[2].name == "3.batch_norm2d.gamma");
  CHECK(ps[4].name == "3.batch_norm2d.running_mean");
  CHECK(ps[9].name == "8.linear.bias");
  for (const auto& p : ps) {
    CHECK(p.offset % (64 / sizeof(float)) == 0);
    const bool decay = p.spec.trainable && p.spec.decay;
    if (decay) CHECK(p.offset + p.spec.shape.size() <= net.decay_size());
    if (!decay) CHECK(p.offset >= net.decay_size());
    if (p.spec.trainable) CHECK(p.offset + p.spec.shape.size() <= net.trainable_size());
    if (!p.spec.trainable) CHECK(p.offset >= net.trainable_size());
    const param<float>* q = net.find_param(p.name);
    REQUIRE(q != nullptr);
    CHECK(q->value.data() == net.values().data() + p.offset);
    CHECK(q->grad.data() == net.grads().data() + p.offset);
  }
  CHECK(net.find_param("nope") == nullptr);
  CHECK_THROWS_WITH_AS(net.param_by_name("1.conv2d.gamma"),
                       doctest::Contains("model: no parameter '1.conv2d.gamma' (have: 1.conv2d.weight"), error);
  // 8*1*3*3+8 + 4*8 + 16*200+16 + 4*16+4
  CHECK(net.num_params() == 80u + 32u + 3216u + 68u);
  // running variance starts at 1, gamma at 1, biases at 0
  const auto& rv = net.param_by_name("3.batch_norm2d.running_var").value;
  for (float v : rv) CHECK(v == 1.0f);
  for (float v : net.param_by_name("1.conv2d.bias").value) CHECK(v == 0.0f);

  prng rng(3);
  tensor<float> x, d;
  std::vector<int> t;
  make_batch(rng, 4, x, t);
  softmax_cross_entropy<float> ce;
  ce.forward(net.forward(x), t);
  ce.backward(d);
  net.zero_grad();
  net.backward(d);
  double gsum = 0;
  for (std::size_t i = 0; i < net.trainable_size(); ++i) gsum += std::fabs(net.grads()[i]);
  CHECK(gsum > 0);
  net.zero_grad();
  for (std::size_t i = 0; i < net.arena_size(); ++i) REQUIRE(net.grads()[i] == 0.0f);
}

TEST_CASE("forward/backward: per-layer outputs kept, no reallocation after the first batch") {
  sequential<float> net = small_net(2);
  prng rng(4);
  tensor<float> x, d;
  std::vector<int> t;
  make_batch(rng, 8, x, t);
  softmax_cross_entropy<float> ce;
  const tensor<float>* out = &net.forward(x);
  CHECK(out == &net.output(net.size() - 1));
  CHECK(net.output(3).shape() == shape{8, 8, 5, 5});
  CHECK(net.step() == 1);
  ce.forward(*out, t);
  ce.backward(d);
  net.backward(d);
  CHECK(net.input_grad().shape() == x.shape());
  CHECK(net.output_grad(3).shape() == shape{8, 8, 5, 5});
  std::vector<const float*> ptrs;
  for (std::size_t i = 0; i < net.size(); ++i) ptrs.push_back(net.output(i).data());
  const float* gptr = net.output_grad(0).data();
  make_batch(rng, 8, x, t);
  net.forward(x);
  net.backward(d);
  make_batch(rng, 5, x, t);  // a smaller batch fits in the same storage
  net.forward(x);
  for (std::size_t i = 0; i < net.size(); ++i) CHECK(net.output(i).data() == ptrs[i]);
  CHECK(net.output_grad(0).data() == gptr);
  CHECK(net.step() == 3);
  net.eval();
  net.forward(x);
  CHECK(net.step() == 3);  // eval forwards do not count
}

TEST_CASE("misuse gives clear errors") {
  sequential<float> net;
  tensor<float> x(shape{2, 1, 12, 12}, 0.5f);
  CHECK_THROWS_WITH_AS(net.setup(shape{1, 1, 12, 12}), "model: setup() with no layers", error);
  net.add<conv2d<float>>(4, 3);
  net.add<linear<float>>(2);
  CHECK_THROWS_WITH_AS(net.forward(x), "model: forward() before setup()", error);
  CHECK_THROWS_WITH_AS(static_cast<const sequential<float>&>(net).predict(x),
                       "model: predict() before setup()", error);
  net.setup(shape{1, 1, 12, 12}, 1);
  CHECK_THROWS_WITH_AS(net.add<relu<float>>(), "model: add() after setup()", error);
  CHECK_THROWS_WITH_AS(net.setup(shape{1, 1, 12, 12}), "model: setup() called twice", error);
  tensor<float> d(shape{2, 2}, 0.f);
  CHECK_THROWS_WITH_AS(net.backward(d), "model: backward() without a forward() before it", error);
  tensor<float> wrong(shape{2, 3, 12, 12}, 0.f);
  CHECK_THROWS_WITH_AS(net.forward(wrong), "model: input 2x3x12x12, expected Nx1x12x12", error);
  CHECK_THROWS_AS(net.predict(wrong), error);
  net.forward(x);
  tensor<float> d3(shape{3, 2}, 0.f);
  CHECK_THROWS_WITH_AS(net.backward(d3), doctest::Contains("model: backward(): gradient 3x2"), error);
  // a layer that cannot take its input names itself
  sequential<float> bad;
  bad.add<conv2d<float>>(4, 3);
  bad.add<conv2d<float>>(4, 20);
  CHECK_THROWS_WITH_AS(bad.setup(shape{1, 1, 12, 12}), doctest::Contains("conv2d #2: input"), error);
}

TEST_CASE("a small net learns a synthetic 4-class image task (>= 95% held-out accuracy)") {
  sequential<float> net = small_net(11);
  const double loss_before = eval_loss(net, 999, 400), before = eval_accuracy(net, 999, 400);
  train(net, 150, 21);
  const double loss_after = eval_loss(net, 999, 400), acc = eval_accuracy(net, 999, 400);
  MESSAGE("held-out accuracy " << before << " -> " << acc << ", loss " << loss_before << " -> "
                               << loss_after);
  CHECK(acc >= 0.95);
  CHECK(loss_after < 0.25 * loss_before);
}

TEST_CASE("predict() on a const model from 4 threads equals the serial result" * doctest::test_suite("threads")) {
  if (HOUSENET_NO_THREADS) return housenet_test::skip("a build without threads (WebAssembly)");
  sequential<float> trained = small_net(8);
  train(trained, 5, 9);
  const sequential<float>& net = trained;
  prng rng(10);
  std::vector<tensor<float>> xs(4), serial(4), parallel(4);
  std::vector<int> t;
  for (std::size_t i = 0; i < 4; ++i) {
    make_batch(rng, 6 + i, xs[i], t);
    serial[i] = net.predict(xs[i]);
  }
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      for (int rep = 0; rep < 3; ++rep) net.predict(xs[i], parallel[i]);
    });
  for (auto& th : threads) th.join();
  for (std::size_t i = 0; i < 4; ++i) {
    REQUIRE(parallel[i].shape() == serial[i].shape());
    CHECK(std::memcmp(parallel[i].data(), serial[i].data(), serial[i].size() * sizeof(float)) == 0);
  }
  // eval-mode forward agrees with predict
  trained.eval();
  const tensor<float>& y = trained.forward(xs[0]);
  CHECK(std::memcmp(y.data(), serial[0].data(), y.size() * sizeof(float)) == 0);
}

TEST_CASE("determinism: same seed and thread count => identical bits; N vs 1 thread => close") {
  // Runs at the pool's default count (HOUSENET_NUM_THREADS or the cores: 2 here), then at 1.
  const housenet_test::settings_guard restore;
  const int n = num_threads();
  const auto run = [](int threads) {
    if (threads != num_threads()) set_num_threads(threads);
    sequential<float> net = small_net(5);
    train(net, 20, 6);
    std::vector<float> w(net.values().begin(), net.values().end());
    return w;
  };
  MESSAGE("comparing " << n << " threads with 1");
  const std::vector<float> a = run(n), b = run(n);
  REQUIRE(a.size() == b.size());
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  const std::vector<float> c = run(1), e = run(1);
  CHECK(std::memcmp(c.data(), e.data(), c.size() * sizeof(float)) == 0);
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, double(std::fabs(a[i] - c[i])));
    scale = std::max(scale, double(std::fabs(c[i])));
  }
  CHECK(diff <= 1e-4 * scale);
}

TEST_CASE("backward: skipping the input gradient leaves parameter gradients unchanged") {
  sequential<float> a = small_net(2), b = small_net(2);
  prng rng(9);
  tensor<float> x, d;
  std::vector<int> t;
  make_batch(rng, 5, x, t);
  softmax_cross_entropy<float> ce;
  ce.forward(a.forward(x), t);
  ce.backward(d);
  a.zero_grad();
  a.backward(d, /*input_grad=*/true);
  double dx_norm = 0;
  for (float v : a.input_grad()) dx_norm += std::fabs(v);
  CHECK(dx_norm > 0);
  CHECK(a[0].input_grad_needed());
  ce.forward(b.forward(x), t);
  ce.backward(d);
  b.zero_grad();
  b.backward(d);  // training default: no input gradient
  CHECK_FALSE(b[0].input_grad_needed());
  for (std::size_t i = 0; i < a.arena_size(); ++i) REQUIRE(b.grads()[i] == a.grads()[i]);
}

// Concurrency: predict() on one const model, and detect_multi_scale() on one const cascade, from
// several threads at once give exactly the serial results (bit for bit). Run under
// ThreadSanitizer in CI (docs/errors.md, "Concurrency"): a data race there is a failure even
// when the numbers happen to agree.
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/cascade.hpp>
#include <housenet/layers.hpp>
#include <housenet/loss.hpp>
#include <housenet/optim.hpp>
#include <housenet/parallel.hpp>
#include <housenet/random.hpp>
#include <housenet/sequential.hpp>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace housenet;
using housenet_test::same_bits;

namespace {

// Every layer kind, with batch-norm running statistics moved away from their initial values.
sequential<float> trained_model() {
  sequential<float> n;
  n.add<conv2d<float>>(4, 3, 1, 1);
  n.add<relu<float>>();
  n.add<batch_norm2d<float>>();
  n.add<max_pool2d<float>>(2, 2, 0, true);
  n.add<conv2d<float>>(6, 3);
  n.add<relu<float>>();
  n.add<flatten<float>>();
  n.add<linear<float>>(16);
  n.add<relu<float>>();
  n.add<dropout<float>>(0.5, 9);
  n.add<linear<float>>(4);
  n.setup(shape{1, 3, 12, 12}, 5);
  sgd<float> opt;
  softmax_cross_entropy<float> ce;
  prng r(11);
  tensor<float> x(shape{8, 3, 12, 12}), d;
  std::vector<int> t(8);
  for (int s = 0; s < 3; ++s) {
    for (auto& v : x) v = float(r.uniform(-1, 1));
    for (int i = 0; i < 8; ++i) t[std::size_t(i)] = (i + s) % 4;
    n.train();
    ce.forward(n.forward(x), t);
    ce.backward(d);
    n.zero_grad();
    n.backward(d);
    opt.step(n);
  }
  n.eval();
  return n;
}

std::vector<tensor<float>> inputs(std::size_t count) {
  std::vector<tensor<float>> xs;
  prng r(77);
  for (std::size_t k = 0; k < count; ++k) {
    tensor<float> x(shape{1 + k % 5, 3, 12, 12});
    for (auto& v : x) v = float(r.uniform(0, 1));
    xs.push_back(std::move(x));
  }
  return xs;
}

}  // namespace

TEST_CASE("concurrency: predict on one const model from several threads == serial") {
  const housenet_test::settings_guard restore;
  const std::vector<tensor<float>> xs = inputs(12);
  // Winograd: the threads share conv2d's kept weight transform, made by the first of them
  for (const conv_algorithm a : {conv_algorithm::automatic, conv_algorithm::winograd})
  for (int pool : {1, 2}) {
    CAPTURE(int(a));
    CAPTURE(pool);
    set_conv_algorithm(a);
    set_num_threads(pool);
    std::vector<tensor<float>> serial;
    {
      const sequential<float> reference = trained_model();
      for (const auto& x : xs) serial.push_back(reference.predict(x));
    }
    const sequential<float> model = trained_model();  // the same weights, nothing kept yet
    const int nthreads = 4;
    std::atomic<int> mismatches{0}, errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < nthreads; ++t)
      threads.emplace_back([&, t] {
        try {
          tensor<float> out;
          for (int round = 0; round < 3; ++round)
            for (std::size_t k = 0; k < xs.size(); ++k) {
              const std::size_t i = (k + std::size_t(t) * 5) % xs.size();  // different orders
              model.predict(xs[i], out);
              if (!same_bits(out, serial[i])) ++mismatches;
            }
        } catch (...) {
          ++errors;
        }
      });
    for (auto& th : threads) th.join();
    CHECK(mismatches.load() == 0);
    CHECK(errors.load() == 0);
  }
}

TEST_CASE("concurrency: detect_multi_scale on one const cascade from several threads == serial") {
  const cascade c = cascade::load(std::string(HOUSENET_SOURCE_DIR) + "/data/lbpcascade_frontalface_improved.xml");
  std::vector<image> imgs;
  for (int k = 0; k < 3; ++k) {
    image img(96 + 8 * k, 80, 1);
    prng r(std::uint64_t(k) + 1);
    for (std::size_t i = 0; i < img.size_bytes(); ++i) img.data()[i] = std::uint8_t(r.uniform_int(256));
    imgs.push_back(img);
  }
  detect_options o;
  o.min_neighbors = 0;  // the raw windows: more to compare
  std::vector<std::vector<rect>> serial;
  for (const auto& img : imgs) serial.push_back(c.detect_multi_scale(img, o));
  std::atomic<int> mismatches{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&, t] {
      try {
        for (std::size_t k = 0; k < imgs.size(); ++k) {
          const std::size_t i = (k + std::size_t(t)) % imgs.size();
          if (c.detect_multi_scale(imgs[i], o) != serial[i]) ++mismatches;
        }
      } catch (...) {
        ++errors;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(mismatches.load() == 0);
  CHECK(errors.load() == 0);
}

// docs/examples/quickstart.cpp: housenet on one page — define a network, train it, save it, load
// it, predict. tests/test_readme_example.cpp #includes this file and runs it (so the README cannot
// drift from the library). Build it alone:
//   g++ -std=c++17 -O2 -DHOUSENET_EXAMPLE_MAIN -Iinclude docs/examples/quickstart.cpp -pthread
#include <housenet/housenet.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace quickstart {

using namespace housenet;

// A toy task: 8x8 grey images, class 0 when the left half is brighter, 1 when the right one is.
inline void make_batch(prng& rng, std::size_t n, tensor<float>& x, std::vector<int>& labels) {
  x.resize(shape{n, 1, 8, 8});
  labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    labels[i] = int(rng.uniform_int(2));
    for (std::size_t y = 0; y < 8; ++y)
      for (std::size_t c = 0; c < 8; ++c) {
        const bool bright = (c < 4) == (labels[i] == 0);
        x(i, 0, y, c) = float((bright ? 0.6 : 0.4) + rng.normal(0.0, 0.3));
      }
  }
}

// Trains for `epochs` x 10 batches; returns each epoch's mean loss.
inline std::vector<double> run(std::ostream& log, const std::string& model_path, int epochs = 5) {
  // 1. Define the network. Shapes are inferred from the input: never type a layer's input size.
  sequential<float> net;
  net.add<conv2d<float>>(4, 3);              // 1x8x8 -> 4x6x6   (4 filters, 3x3)
  net.add<relu<float>>();
  net.add<max_pool2d<float>>(2, 2);          // -> 4x3x3
  net.add<linear<float>>(2);                 // -> 2 logits (flattens its input)
  net.setup(shape{1, 1, 8, 8}, /*seed=*/42);  // N x C x H x W; N is free
  log << net.summary();

  // 2. Train: forward, loss, backward, optimizer step. Everything is seeded: reruns are identical.
  sgd<float> opt(sgd<float>::options{/*lr=*/0.05, /*momentum=*/0.9});
  softmax_cross_entropy<float> loss;
  prng data(7);
  tensor<float> x, dlogits;
  std::vector<int> labels;
  std::vector<double> curve;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    double sum = 0;
    net.train();
    for (int batch = 0; batch < 10; ++batch) {
      make_batch(data, 16, x, labels);
      sum += loss.forward(net.forward(x), labels);  // logits -> mean cross-entropy
      loss.backward(dlogits);                       // d loss / d logits
      net.zero_grad();
      net.backward(dlogits);
      opt.step(net);
    }
    curve.push_back(sum / 10);
    log << "epoch " << epoch + 1 << ": loss " << curve.back() << "\n";
  }

  // 3. Save (architecture + weights + labels, checksummed), load into a fresh model, predict.
  save_model(net, {"left", "right"}, model_path);
  const loaded_model<float> m = load_model(model_path);
  make_batch(data, 100, x, labels);
  const tensor<float> logits = m.model.predict(x);  // eval mode; safe from several threads
  log << "held-out accuracy " << accuracy(logits, labels) << " (" << m.info.labels[0] << "/"
      << m.info.labels[1] << ")\n";
  return curve;
}

}  // namespace quickstart

#ifdef HOUSENET_EXAMPLE_MAIN
#include <iostream>
int main() {
  try {
    quickstart::run(std::cout, "quickstart.hsnt");
  } catch (const housenet::error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
#endif

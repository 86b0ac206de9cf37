// The real Fashion-MNIST files (Debian's dataset-fashion-mnist) read by housenet/data/idx.hpp and
// checked against figures computed from the same files with Python's gzip module and NumPy:
// counts, sizes, the first labels, the pixel and label sums, 6,000 / 1,000 images per class, the
// pixel mean and standard deviation. Reported as skipped (tests/support.hpp) when the data set is
// not installed.
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/data/idx.hpp>

#include "support.hpp"

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

using namespace housenet;

namespace {
bool have_data() {
  return std::ifstream(std::string(HOUSENET_FASHION_MNIST_DIR) + "/train-images-idx3-ubyte.gz").good() ||
         std::ifstream(std::string(HOUSENET_FASHION_MNIST_DIR) + "/train-images-idx3-ubyte").good();
}
}  // namespace

TEST_CASE("Fashion-MNIST: both splits as NumPy reads them") {
  if (!have_data())
    return housenet_test::skip(std::string("no Fashion-MNIST in ") + HOUSENET_FASHION_MNIST_DIR +
                               " (Debian: apt-get install dataset-fashion-mnist)");
  struct expected {
    const char* split;
    std::size_t count;
    std::uint64_t pixel_sum, label_sum;
    std::vector<int> first_labels;
    double mean, stddev;
  };
  // /usr/bin/python3: np.frombuffer(gzip.open(f).read()[16:], np.uint8) etc.
  for (const expected& e : {expected{"train", 60000, 3431114169ull, 270000, {9, 0, 0, 3, 0}, 0.2860405969887955,
                                     0.35302424451492237},
                            expected{"t10k", 10000, 573469082ull, 45000, {9, 2, 1, 1, 6}, 0.2868492807122849,
                                     0.35244415324744005}}) {
    CAPTURE(e.split);
    const labelled_images d = load_mnist_split(HOUSENET_FASHION_MNIST_DIR, e.split);
    CHECK(d.count == e.count);
    CHECK(d.height == 28);
    CHECK(d.width == 28);
    REQUIRE(d.pixels.size() == e.count * 784);
    std::uint64_t pixels = 0, labels = 0;
    for (std::uint8_t p : d.pixels) pixels += p;
    std::vector<std::size_t> per_class(10, 0);
    for (int l : d.labels) labels += std::uint64_t(l), ++per_class[std::size_t(l)];
    CHECK(pixels == e.pixel_sum);
    CHECK(labels == e.label_sum);
    CHECK(std::vector<int>(d.labels.begin(), d.labels.begin() + 5) == e.first_labels);
    CHECK(per_class == std::vector<std::size_t>(10, e.count / 10));
    const auto ms = pixel_mean_std(d);
    CHECK(ms.first == doctest::Approx(e.mean).epsilon(1e-12));
    CHECK(ms.second == doctest::Approx(e.stddev).epsilon(1e-10));
  }
}

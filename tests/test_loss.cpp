// softmax_cross_entropy and accuracy: hand-computed values, stability, finite-difference
// gradients, class weights (PyTorch's weighted mean) and errors; the per-row functions
// (cross_entropy_per_row, softmax, predicted_classes) against forward, to the bit.
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/loss.hpp>
#include <housenet/random.hpp>

#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

using namespace housenet;

using housenet_test::error_of;
using housenet_test::tensor_of;

TEST_CASE_TEMPLATE("softmax_cross_entropy: hand-computed", T, float, double) {
  softmax_cross_entropy<T> ce;
  // row 0: equal logits, 2 classes... use K = 3: [0, 0, 0] label 1 -> log 3
  // row 1: [ln 1, ln 2, ln 5] label 2 -> softmax (1/8, 2/8, 5/8), loss -ln(5/8)
  tensor<T> z = tensor_of<T>(shape{2, 3}, {0, 0, 0, 0, std::log(2.0), std::log(5.0)}), d;
  const double loss = ce.forward(z, {1, 2});
  CHECK(loss == doctest::Approx((std::log(3.0) - std::log(5.0 / 8.0)) / 2));
  ce.backward(d);
  REQUIRE(d.shape() == z.shape());
  const double want[] = {1.0 / 3 / 2, (1.0 / 3 - 1) / 2, 1.0 / 3 / 2,
                         1.0 / 8 / 2, 2.0 / 8 / 2,       (5.0 / 8 - 1) / 2};
  for (int i = 0; i < 6; ++i) CHECK(double(d[i]) == doctest::Approx(want[i]));
  CHECK(double(ce.probabilities()[5]) == doctest::Approx(5.0 / 8));
  CHECK(accuracy(z, {1, 2}) == 0.5);  // row 0 is a tie: its first maximum is class 0
  CHECK(accuracy(z, {0, 2}) == 1.0);
}

TEST_CASE_TEMPLATE("softmax_cross_entropy: stable for huge logits", T, float, double) {
  softmax_cross_entropy<T> ce;
  tensor<T> z = tensor_of<T>(shape{2, 2}, {1000, -1000, 30000, 29990}), d;
  const double loss = ce.forward(z, {1, 1});
  CHECK(std::isfinite(loss));
  CHECK(loss == doctest::Approx((2000.0 + 10.0 + std::log1p(std::exp(-10.0))) / 2));
  ce.backward(d);
  for (T v : d) CHECK(std::isfinite(double(v)));
  CHECK(double(d[0]) == doctest::Approx(0.5));
  CHECK(double(d[1]) == doctest::Approx(-0.5));
}

TEST_CASE("softmax_cross_entropy: gradient matches finite differences (with and without weights)") {
  prng rng(4);
  tensor<double> z(shape{5, 4}), d;
  for (double& v : z) v = rng.uniform(-3, 3);
  const std::vector<int> t{0, 3, 2, 3, 1};
  for (int weighted = 0; weighted < 2; ++weighted) {
    softmax_cross_entropy<double> ce = weighted ? softmax_cross_entropy<double>({0.5, 2.0, 1.0, 3.0})
                                                : softmax_cross_entropy<double>();
    ce.forward(z, t);
    ce.backward(d);
    double gsum = 0;
    for (std::size_t i = 0; i < z.size(); ++i) {
      const double z0 = z[i], e = 1e-6;
      z[i] = z0 + e;
      const double fp = ce.forward(z, t);
      z[i] = z0 - e;
      const double fm = ce.forward(z, t);
      z[i] = z0;
      CHECK(d[i] == doctest::Approx((fp - fm) / (2 * e)).epsilon(1e-6));
      gsum += d[i];
    }
    CHECK(std::fabs(gsum) < 1e-12);  // each row of softmax - onehot sums to 0
  }
}

TEST_CASE("softmax_cross_entropy: class weights give PyTorch's weighted mean") {
  tensor<double> z = tensor_of<double>(shape{3, 2}, {0.2, -0.4, 1.0, 0.5, -0.3, 0.9});
  const std::vector<int> t{0, 1, 1};
  const std::vector<double> w{3.0, 0.5};
  auto nll = [&](std::size_t i) {
    const double a = z[2 * i], b = z[2 * i + 1];
    const double lse = std::log(std::exp(a) + std::exp(b));
    return lse - z[2 * i + std::size_t(t[i])];
  };
  softmax_cross_entropy<double> ce(w);
  const double want = (3.0 * nll(0) + 0.5 * nll(1) + 0.5 * nll(2)) / (3.0 + 0.5 + 0.5);
  CHECK(ce.forward(z, t) == doctest::Approx(want));
  softmax_cross_entropy<double> ones({1.0, 1.0}), plain;
  CHECK(ones.forward(z, t) == doctest::Approx(plain.forward(z, t)));
  CHECK(plain.forward(z, t) == doctest::Approx((nll(0) + nll(1) + nll(2)) / 3));
}

TEST_CASE_TEMPLATE("per-row functions: hand-computed, and the same bits as forward", T, float, double) {
  tensor<T> z = tensor_of<T>(shape{2, 3}, {0, 0, 0, 0, std::log(2.0), std::log(5.0)}), p;
  const std::vector<double> l = cross_entropy_per_row(z, {1, 2});
  REQUIRE(l.size() == 2);
  CHECK(l[0] == doctest::Approx(std::log(3.0)));
  CHECK(l[1] == doctest::Approx(-std::log(5.0 / 8)));
  softmax(z, p);
  REQUIRE(p.shape() == shape{2, 3});
  const double want[] = {1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 8, 2.0 / 8, 5.0 / 8};
  for (int i = 0; i < 6; ++i) CHECK(double(p[i]) == doctest::Approx(want[i]));
  CHECK(predicted_classes(z) == std::vector<int>{0, 2});  // row 0 is a tie: the first maximum

  // Random logits, random labels, with and without class weights: the per-row losses give
  // forward's value exactly, softmax() the probabilities forward cached, predicted_classes what
  // accuracy() counts.
  prng rng(11);
  tensor<T> big(shape{37, 5}), q;
  for (T& v : big) v = static_cast<T>(rng.uniform(-20, 20));
  big[7 * 5 + 1] = big[7 * 5 + 3] = T(25);  // a tie for the maximum: the first one counts
  std::vector<int> t(37);
  for (int& v : t) v = int(rng.uniform(0, 5)) % 5;
  softmax_cross_entropy<T> plain;
  const double mean = plain.forward(big, t);
  const std::vector<double> rows = cross_entropy_per_row(big, t);
  double sum = 0;
  for (double v : rows) sum += v;
  CHECK(sum / 37.0 == mean);
  const std::vector<double> w{0.5, 2.0, 1.0, 3.0, 0.25};
  softmax_cross_entropy<T> weighted(w);
  double wl = 0, ws = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    wl += w[std::size_t(t[i])] * rows[i];
    ws += w[std::size_t(t[i])];
  }
  CHECK(wl / ws == weighted.forward(big, t));
  softmax(big, q);
  REQUIRE(q.shape() == plain.probabilities().shape());
  for (std::size_t i = 0; i < q.size(); ++i) CHECK(q[i] == plain.probabilities()[i]);
  const std::vector<int> pred = predicted_classes(big);
  std::size_t hits = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) hits += pred[i] == t[i];
  CHECK(double(hits) / 37.0 == accuracy(big, t));
  CHECK(pred[7] == 1);
}

TEST_CASE("per-row functions: stable for huge logits, [N, K, 1, 1] accepted") {
  tensor<float> z = tensor_of<float>(shape{2, 2, 1, 1}, {1000, -1000, 30000, 29990}), p;
  const std::vector<double> l = cross_entropy_per_row(z, {1, 1});
  CHECK(l[0] == doctest::Approx(2000.0));
  CHECK(l[1] == doctest::Approx(10.0 + std::log1p(std::exp(-10.0))));
  softmax(z, p);
  CHECK(p.shape() == shape{2, 2});
  for (float v : p) CHECK(std::isfinite(v));
  CHECK(p[0] == 1.0f);
  CHECK(p[1] == 0.0f);
  CHECK(double(p[2] + p[3]) == doctest::Approx(1.0));
  CHECK(predicted_classes(z) == std::vector<int>{0, 0});
}

TEST_CASE("softmax_cross_entropy and accuracy: errors") {
  CHECK(error_of([] {
          softmax_cross_entropy<float> ce;
          tensor<float> z(shape{2, 4}, 0.f);
          ce.forward(z, {0, 4});
        }) == "softmax_cross_entropy: label 4 of sample 1 is out of range 0..3");
  CHECK(error_of([] {
          softmax_cross_entropy<float> ce;
          tensor<float> z(shape{2, 4}, 0.f);
          ce.forward(z, {-1, 0});
        }) == "softmax_cross_entropy: label -1 of sample 0 is out of range 0..3");
  CHECK(error_of([] {
          softmax_cross_entropy<float> ce;
          tensor<float> z(shape{2, 4}, 0.f);
          ce.forward(z, {0});
        }) == "softmax_cross_entropy: 1 labels for a batch of 2");
  CHECK(error_of([] {
          softmax_cross_entropy<float> ce({1.0, 2.0});
          tensor<float> z(shape{2, 4}, 0.f);
          ce.forward(z, {0, 1});
        }) == "softmax_cross_entropy: 2 class weights for 4 classes");
  CHECK(error_of([] { softmax_cross_entropy<float> ce({1.0, -2.0}); }).rfind(
            "softmax_cross_entropy: class weight 1 is -2", 0) == 0);
  CHECK(error_of([] {
          softmax_cross_entropy<float> ce({0.0, 1.0});
          tensor<float> z(shape{1, 2}, 0.f);
          ce.forward(z, {0});
        }) == "softmax_cross_entropy: the class weights of this batch sum to 0");
  CHECK(error_of([] {
          softmax_cross_entropy<float> ce;
          tensor<float> d;
          ce.backward(d);
        }) == "softmax_cross_entropy: backward before forward");
  CHECK(error_of([] {
          softmax_cross_entropy<float> ce;
          tensor<float> z(shape{2, 4, 3, 1}, 0.f);
          ce.forward(z, {0, 1});
        }) == "softmax_cross_entropy: logits 2x4x3x1, expected NxK");
  CHECK(error_of([] {
          tensor<double> z(shape{2, 3}, 0.0);
          (void)accuracy(z, {0, 3});
        }) == "accuracy: label 3 of sample 1 is out of range 0..2");
  CHECK(error_of([] {
          tensor<float> z(shape{2, 3}, 0.f);
          (void)cross_entropy_per_row(z, {0, 3});
        }) == "cross_entropy_per_row: label 3 of sample 1 is out of range 0..2");
  CHECK(error_of([] {
          tensor<float> z(shape{2, 3}, 0.f);
          (void)cross_entropy_per_row(z, {0});
        }) == "cross_entropy_per_row: 1 labels for a batch of 2");
  CHECK(error_of([] {
          tensor<float> z(shape{2, 3, 2}, 0.f), p;
          softmax(z, p);
        }) == "softmax: logits 2x3x2, expected NxK");
  CHECK(error_of([] {
          tensor<double> z(shape{0, 3});
          (void)predicted_classes(z);
        }) == "predicted_classes: logits 0x3, expected NxK");
  // [N, K, 1, 1] is accepted (a conv head)
  softmax_cross_entropy<float> ce;
  tensor<float> z(shape{2, 3, 1, 1}, 0.f);
  CHECK(ce.forward(z, {0, 2}) == doctest::Approx(std::log(3.0)));
}

// /usr/bin/python3 (torch 1.13), float64:
//   z = [[1, -2, 0.5, 3], [0, 0, 0, 0], [10, -10, 2, 1]]; t = [3, 1, 2]
//   l = torch.nn.functional.cross_entropy(z, t, label_smoothing=0.1); l.backward()
TEST_CASE_TEMPLATE("smoothed_cross_entropy: PyTorch's label_smoothing, loss and gradient", T, float, double) {
  const tensor<T> z = tensor_of<T>(shape{3, 4}, {1, -2, 0.5, 3, 0, 0, 0, 0, 10, -10, 2, 1});
  tensor<T> d;
  const double loss = smoothed_cross_entropy(z, {3, 1, 2}, 0.1, &d);
  const double tol = std::is_same<T, float>::value ? 1e-6 : 1e-13;
  CHECK(loss == doctest::Approx(3.3171688593472273).epsilon(tol));
  const double want[] = {0.028517916787246415, -0.006498617624138776, 0.014018079713537163, -0.03603737887664475,
                         0.07500000000000002,  -0.22499999999999998,  0.07500000000000002,  0.07500000000000002,
                         0.32484711199202626,  -0.008333332646597252, -0.3082215637455788,  -0.008292215599850218};
  REQUIRE(d.shape() == shape{3, 4});
  for (std::size_t i = 0; i < 12; ++i) CHECK(double(d[i]) == doctest::Approx(want[i]).epsilon(tol).scale(1e-3));
  // Without the gradient: the same loss.
  CHECK(smoothed_cross_entropy(z, {3, 1, 2}, 0.1) == loss);
}

TEST_CASE("smoothed_cross_entropy: eps 0 is softmax_cross_entropy; finite differences; errors") {
  prng rng(9);
  tensor<double> z(shape{5, 4}), d, d0;
  for (double& v : z) v = rng.uniform(-3, 3);
  const std::vector<int> t{0, 3, 2, 3, 1};
  softmax_cross_entropy<double> ce;
  const double plain = ce.forward(z, t);
  ce.backward(d0);
  CHECK(smoothed_cross_entropy(z, t, 0.0, &d) == doctest::Approx(plain).epsilon(1e-15));
  for (std::size_t i = 0; i < z.size(); ++i) CHECK(d[i] == doctest::Approx(d0[i]).epsilon(1e-14).scale(1e-3));
  for (double eps : {0.1, 0.5, 1.0}) {
    CAPTURE(eps);
    smoothed_cross_entropy(z, t, eps, &d);
    for (std::size_t i = 0; i < z.size(); ++i) {
      const double z0 = z[i], h = 1e-6;
      z[i] = z0 + h;
      const double fp = smoothed_cross_entropy(z, t, eps);
      z[i] = z0 - h;
      const double fm = smoothed_cross_entropy(z, t, eps);
      z[i] = z0;
      CHECK(d[i] == doctest::Approx((fp - fm) / (2 * h)).epsilon(1e-6).scale(1e-3));
    }
  }
  CHECK(error_of([] {
          tensor<float> z(shape{2, 3}, 0.0f);
          smoothed_cross_entropy(z, {0, 1}, 1.5);
        }) == "smoothed_cross_entropy: label smoothing 1.5 not in [0, 1]");
  CHECK(error_of([] {
          tensor<float> z(shape{2, 3}, 0.0f);
          smoothed_cross_entropy(z, {0, 3}, 0.1);
        }) == "smoothed_cross_entropy: label 3 of sample 1 is out of range 0..2");
  CHECK(error_of([] {
          tensor<float> z(shape{2, 3}, 0.0f);
          smoothed_cross_entropy(z, {0}, 0.1);
        }) == "smoothed_cross_entropy: 1 labels for a batch of 2");
}

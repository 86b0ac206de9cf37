// The app's prediction path and stability report (examples/app/classify.hpp, stability.hpp):
// faces of an image through an ensemble with flip and jitter against their definitions, the
// figures of eval (loss, balanced accuracy, calibration error, identities) against hand-computed
// values, the boxes of the stability report.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include <housenet/layers.hpp>
#include <housenet/predict.hpp>
#include <housenet/vision.hpp>

#include "../examples/app/classify.hpp"
#include "../examples/app/stability.hpp"

namespace hn = housenet;

namespace {

hn::sequential<float> tiny(std::uint64_t seed) {
  hn::sequential<float> n;
  n.add<hn::conv2d<float>>(2, 3, 2);
  n.add<hn::relu<float>>();
  n.add<hn::max_pool2d<float>>(2, 2, 0, true);
  n.add<hn::linear<float>>(3);
  n.setup(hn::shape{1, 3, 12, 12}, seed);
  return n;
}

app::model_file two_members() {
  app::model_file m;
  m.members.push_back(tiny(1));
  m.members.push_back(tiny(2));
  m.is_ensemble = true;
  m.classes = {"a", "b", "c"};
  return m;
}

hn::image picture(int w, int h) {
  hn::image img(w, h, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) img.at(x, y, c) = std::uint8_t((x * 37 + y * 11 + c * 90 + x * y) % 256);
  return img;
}

// The faces' probabilities computed the long way: each crop alone, mean over views.
std::vector<double> long_way(const app::model_file& m, const hn::image& img, const std::vector<hn::rect>& crops,
                             bool flip) {
  const hn::shape in = m.input_shape();
  std::vector<double> mean(3, 0.0);
  for (const auto& r : crops) {
    hn::tensor<float> x(in), mirrored, p;
    app::face_to(img, r, in, x.data());
    hn::mirror_horizontal(x, mirrored);
    for (const auto& net : m.members)
      for (const hn::tensor<float>* v : {&x, &mirrored}) {
        if (v == &mirrored && !flip) continue;
        hn::predict_probabilities(net, *v, p);
        for (std::size_t k = 0; k < 3; ++k)
          mean[k] += double(p.data()[k]) / double(crops.size() * m.members.size() * (flip ? 2 : 1));
      }
  }
  return mean;
}

}  // namespace

TEST_CASE("face_probabilities: the mean over members, mirror and jitter boxes, as defined") {
  const app::model_file m = two_members();
  const hn::image img = picture(90, 70);
  const std::vector<hn::rect> boxes{{10, 8, 40, 40}, {55, 30, 30, 36}};
  for (const bool flip : {false, true})
    for (const bool jitter : {false, true}) {
      CAPTURE(flip);
      CAPTURE(jitter);
      app::prediction_options o;
      o.flip = flip;
      o.jitter = jitter;
      const hn::tensor<float> p = app::face_probabilities(m, img, boxes, o);
      REQUIRE(p.shape() == hn::shape{2, 3});
      for (std::size_t i = 0; i < boxes.size(); ++i) {
        const std::vector<hn::rect> crops =
            jitter ? app::jitter_boxes(boxes[i], img) : std::vector<hn::rect>{boxes[i]};
        const std::vector<double> want = long_way(m, img, crops, flip);
        for (std::size_t k = 0; k < 3; ++k) CHECK(p.data()[i * 3 + k] == doctest::Approx(want[k]).epsilon(1e-5));
      }
    }
  // no faces: 0 x K
  CHECK(app::face_probabilities(m, img, {}, app::prediction_options{}).shape() == hn::shape{0, 3});
  // a margin widens the box before cropping
  app::prediction_options wide;
  wide.margin = 0.1;
  const hn::tensor<float> pw = app::face_probabilities(m, img, {boxes[0]}, wide);
  const std::vector<double> want = long_way(m, img, {app::widen(boxes[0], 0.1, img)}, true);
  for (std::size_t k = 0; k < 3; ++k) CHECK(pw.data()[k] == doctest::Approx(want[k]).epsilon(1e-5));
}

TEST_CASE("face_probabilities with flip: a mirrored photo gives its faces the same probabilities") {
  const app::model_file m = two_members();
  const hn::image img = picture(64, 48), mirrored = hn::mirror_horizontal(img);
  const hn::rect r{6, 4, 36, 36}, mr{64 - 6 - 36, 4, 36, 36};
  const hn::tensor<float> a = app::face_probabilities(m, img, {r}, app::prediction_options{});
  const hn::tensor<float> b = app::face_probabilities(m, mirrored, {mr}, app::prediction_options{});
  for (std::size_t k = 0; k < 3; ++k) CHECK(a.data()[k] == doctest::Approx(b.data()[k]).epsilon(1e-5));
  app::prediction_options plain;
  plain.flip = false;
  const hn::tensor<float> c = app::face_probabilities(m, img, {r}, plain), d = app::face_probabilities(m, mirrored, {mr}, plain);
  double diff = 0;  // without flip the two differ (else the check above would prove nothing)
  for (std::size_t k = 0; k < 3; ++k) diff += std::fabs(double(c.data()[k]) - double(d.data()[k]));
  CHECK(diff > 1e-4);
}

TEST_CASE("score and expected_calibration_error: hand-computed figures") {
  app::dataset_index d;
  d.classes = {"a", "b"};
  for (int i = 0; i < 4; ++i) d.samples.push_back({"x", i < 3 ? 0 : 1, "id" + std::to_string(i / 2)});
  hn::tensor<float> p(hn::shape{4, 2});
  const float v[8] = {0.9f, 0.1f, 0.8f, 0.2f, 0.3f, 0.7f, 0.4f, 0.6f};
  std::copy(v, v + 8, p.data());
  const std::vector<std::size_t> all{0, 1, 2, 3};
  const app::eval_result r = app::score(p, d, all);
  CHECK(r.predicted == std::vector<int>{0, 0, 1, 1});
  CHECK(r.error == doctest::Approx(0.25));
  CHECK(app::summarize(r, d, all).balanced_accuracy == doctest::Approx((2.0 / 3.0 + 1.0) / 2));
  CHECK(r.loss == doctest::Approx(-(std::log(0.9) + std::log(0.8) + std::log(0.3) + std::log(0.6)) / 4).epsilon(1e-6));
  // 15 bins: 0.9 (correct) -> bin 13, 0.8 (correct) -> bin 12, 0.7 (wrong) -> bin 10, 0.6 (correct) -> bin 9
  const std::vector<int> truth{0, 0, 0, 1};
  CHECK(app::expected_calibration_error(p, truth) ==
        doctest::Approx((0.1 + 0.2 + 0.7 + 0.4) / 4).epsilon(1e-6));
  // two rows in one bin: |mean accuracy - mean confidence|, weighted by the share of rows
  hn::tensor<float> q(hn::shape{2, 2});
  const float w[4] = {0.55f, 0.45f, 0.45f, 0.55f};
  std::copy(w, w + 4, q.data());
  CHECK(app::expected_calibration_error(q, {0, 0}) == doctest::Approx(0.05).epsilon(1e-5));
  CHECK(app::expected_calibration_error(q, {}) == 0.0);
}

TEST_CASE("stability helpers: identities, IoU matching, the six box trials, jitter boxes") {
  const auto a = app::identity_agreement({"x", "x", "y", "y", "z", ""}, {1, 1, 0, 2, 3, 1});
  CHECK(a.first == 2);   // x and y have 2 images; z one; "" none
  CHECK(a.second == 1);  // only x has one label
  CHECK(app::iou({0, 0, 10, 10}, {0, 0, 10, 10}) == doctest::Approx(1.0));
  CHECK(app::iou({0, 0, 10, 10}, {5, 0, 10, 10}) == doctest::Approx(50.0 / 150.0));
  CHECK(app::iou({0, 0, 10, 10}, {10, 0, 10, 10}) == 0.0);
  CHECK(app::best_match({0, 0, 10, 10}, {{5, 0, 10, 10}, {1, 0, 10, 10}, {0, 1, 10, 10}}) == 1);
  CHECK(app::best_match({0, 0, 10, 10}, {{5, 0, 10, 10}}) == -1);  // IoU 0.33 < 0.5
  const std::vector<hn::rect> t = app::shifted_boxes({100, 200, 80, 60});
  REQUIRE(t.size() == 6);
  CHECK(t[0] == hn::rect{96, 200, 80, 60});
  CHECK(t[1] == hn::rect{104, 200, 80, 60});
  CHECK(t[2] == hn::rect{100, 197, 80, 60});
  CHECK(t[3] == hn::rect{100, 203, 80, 60});
  CHECK(t[4] == hn::rect{102, 201, 76, 57});
  CHECK(t[5] == hn::rect{98, 198, 84, 63});
  const hn::image img(200, 150, 3);
  const std::vector<hn::rect> j = app::jitter_boxes({10, 20, 100, 100}, img);
  REQUIRE(j.size() == 5);
  CHECK(j[0] == hn::rect{10, 20, 100, 100});
  CHECK(j[1] == hn::rect{7, 20, 100, 100});
  CHECK(j[2] == hn::rect{13, 20, 100, 100});
  CHECK(j[3] == hn::rect{11, 21, 97, 97});
  CHECK(j[4] == hn::rect{8, 18, 103, 103});
  // clamped to the image at its edge
  for (const auto& b : app::jitter_boxes({0, 0, 200, 150}, img)) CHECK((b.x >= 0 && b.x + b.width <= 200));
}

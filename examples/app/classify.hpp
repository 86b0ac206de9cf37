// examples/app/classify.hpp: the app's prediction path, what `sort` and `eval` do with a face.
//
//   prediction_options            flip (default on: test-time flip), jitter (default off), margin
//   add_prediction_options(cli)   --no-flip, --jitter (the command's --margin stays its own)
//   face_probabilities(m, img, boxes, opt)   N x K class probabilities of the faces (boxes) of one
//                                 image: each box widened by the margin, cropped, resized to the
//                                 network's input; the model's (or the ensemble's mean)
//                                 probability, with the mirror averaged in (flip) and, with
//                                 jitter, over jitter_boxes() of each box
//   scaled_box(r, f)              r scaled by f about its centre
//   jitter_boxes(r, img)          r and 4 variants: shifted by 3% of its side left / right, and
//                                 scaled by 0.97 / 1.03 about its centre (clamped to the image)
//   image_probabilities(m, images, indices, opt)   the same for whole images that are faces (the
//                                 crops of a data set: load_faces), in batches of 32; no jitter
//   photo_probabilities(m, det, data, indices, opt)  the same for the photos of a data set: the
//                                 largest face of each (as `crop --largest` crops it); photos
//                                 that cannot be read or have no face are warned about and
//                                 removed from indices
//   score(probs, data, indices)   eval_result from probabilities: argmax, mean -log p(true class),
//                                 error rate (summarize() gives the rest)
//   expected_calibration_error(probs, truth, bins)   sum over bins of the top probability of
//                                 (share of rows) * |accuracy - mean top probability|
//   label_of(probs row)           the first most probable class
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include <housenet/predict.hpp>
#include <housenet/vision.hpp>

#include "cli.hpp"
#include "detector.hpp"
#include "faces.hpp"
#include "models.hpp"

namespace app {

struct prediction_options {
  bool flip = true;     // the mean over the face and its mirror
  bool jitter = false;  // the mean over jitter_boxes() of each box (sort / eval --stability only)
  double margin = 0;    // each box widened by margin * its size on every side first
};

inline void add_prediction_options(arg_parser& cli) {
  cli.flag("no-flip", "classify each face as it is, without averaging in its mirror image (test-time flip)")
      .flag("jitter", "also average over 4 slightly shifted and scaled boxes of each face (5x the work)");
}

inline prediction_options prediction_options_from(const arg_parser& cli, double margin = 0) {
  prediction_options o;
  o.flip = !cli.has("no-flip");
  o.jitter = cli.has("jitter");
  o.margin = margin;
  return o;
}

inline std::size_t label_of(const float* p, std::size_t k) {
  return std::size_t(std::max_element(p, p + k) - p);
}

// r scaled by f about its centre (sides rounded; an odd difference leaves the extra pixel on the
// right and bottom).
inline housenet::rect scaled_box(const housenet::rect& r, double f) {
  const int w = int(std::lround(r.width * f)), h = int(std::lround(r.height * f));
  return {r.x + int(std::floor((r.width - w) / 2.0)), r.y + int(std::floor((r.height - h) / 2.0)), w, h};
}

inline std::vector<housenet::rect> jitter_boxes(const housenet::rect& r, const housenet::image& img) {
  const int dx = int(std::lround(0.03 * r.width));
  std::vector<housenet::rect> out{r, {r.x - dx, r.y, r.width, r.height}, {r.x + dx, r.y, r.width, r.height},
                                  scaled_box(r, 0.97), scaled_box(r, 1.03)};
  for (auto& b : out) b = housenet::clamp_rect(b, img.width(), img.height());
  return out;
}

// probs: boxes.size() x K. An image without boxes gives 0 x K.
inline housenet::tensor<float> face_probabilities(const model_file& m, const housenet::image& img,
                                                  const std::vector<housenet::rect>& boxes,
                                                  const prediction_options& opt) {
  const housenet::shape in = m.input_shape();
  const std::size_t k = m.classes.size(), views = opt.jitter ? 5 : 1;
  housenet::tensor<float> probs(housenet::shape{boxes.size(), k}, 0.0f);
  if (boxes.empty()) return probs;
  housenet::tensor<float> x(in.with_n(boxes.size() * views)), p;
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    const housenet::rect r = widen(boxes[i], opt.margin, img);
    const std::vector<housenet::rect> crops = opt.jitter ? jitter_boxes(r, img) : std::vector<housenet::rect>{r};
    for (std::size_t v = 0; v < views; ++v) face_to(img, crops[v], in, x.data() + (i * views + v) * in.sample_size());
  }
  housenet::predict_options po;
  po.flip = opt.flip;
  housenet::predict_probabilities(m.members, x, p, po);
  for (std::size_t i = 0; i < boxes.size(); ++i)
    for (std::size_t c = 0; c < k; ++c) {
      double sum = 0;  // the mean over the views, in order
      for (std::size_t v = 0; v < views; ++v) sum += double(p.data()[(i * views + v) * k + c]);
      probs.data()[i * k + c] = float(sum / double(views));
    }
  return probs;
}

// images: N x C x H x W (load_faces); probs: indices.size() x K.
inline housenet::tensor<float> image_probabilities(const model_file& m, const housenet::tensor<float>& images,
                                                   const std::vector<std::size_t>& indices,
                                                   const prediction_options& opt) {
  const housenet::shape in = m.input_shape();
  const std::size_t k = m.classes.size(), sample = in.sample_size();
  housenet::tensor<float> probs(housenet::shape{indices.size(), k}, 0.0f), x, p;
  housenet::predict_options po;
  po.flip = opt.flip;
  for (std::size_t first = 0; first < indices.size(); first += 32) {
    const std::size_t count = std::min<std::size_t>(32, indices.size() - first);
    x.resize(in.with_n(count));
    for (std::size_t i = 0; i < count; ++i)
      std::copy_n(images.data() + indices[first + i] * sample, sample, x.data() + i * sample);
    housenet::predict_probabilities(m.members, x, p, po);
    std::copy_n(p.data(), count * k, probs.data() + first * k);
  }
  return probs;
}

inline housenet::tensor<float> photo_probabilities(const model_file& m, const face_detector& det,
                                                   const dataset_index& data, std::vector<std::size_t>& indices,
                                                   const prediction_options& opt) {
  const std::size_t k = m.classes.size();
  std::vector<float> rows;
  std::vector<std::size_t> kept;
  std::size_t unreadable = 0, no_face = 0;
  for (std::size_t i : indices) {
    housenet::image img;
    try {
      img = housenet::load(data.samples[i].path.string());
    } catch (const housenet::error& e) {
      std::fprintf(stderr, "housenet eval: skipping: %s\n", e.what());
      ++unreadable;
      continue;
    }
    const std::vector<housenet::rect> faces = det.detect(img);
    if (faces.empty()) {
      ++no_face;
      continue;
    }
    const housenet::rect largest = *std::max_element(faces.begin(), faces.end(), [](const auto& a, const auto& b) {
      return double(a.width) * a.height < double(b.width) * b.height;  // the first of equals
    });
    const housenet::tensor<float> p = face_probabilities(m, img, {largest}, opt);
    rows.insert(rows.end(), p.data(), p.data() + k);
    kept.push_back(i);
  }
  if (unreadable || no_face)
    std::fprintf(stderr, "housenet eval: %zu unreadable photo%s and %zu without a face left out\n", unreadable,
                 unreadable == 1 ? "" : "s", no_face);
  if (kept.empty()) throw app_error("eval --detect: no face found in any photo");
  indices = kept;
  housenet::tensor<float> probs(housenet::shape{kept.size(), k});
  std::copy(rows.begin(), rows.end(), probs.data());
  return probs;
}

// The eval figures of probabilities: predicted = argmax, loss = mean -log p(true class) (p at
// least 1e-12), error. (summarize() adds the balanced accuracy and the rest.)
inline eval_result score(const housenet::tensor<float>& probs, const dataset_index& data,
                         const std::vector<std::size_t>& indices) {
  eval_result r;
  if (indices.empty()) return r;
  const std::size_t k = data.classes.size();
  double loss = 0;
  std::size_t errors = 0;
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const float* p = probs.data() + i * k;
    const std::size_t t = std::size_t(data.samples[indices[i]].label), best = label_of(p, k);
    r.predicted.push_back(int(best));
    loss -= std::log(std::max(double(p[t]), 1e-12));
    errors += best != t;
  }
  r.loss = loss / double(indices.size());
  r.error = double(errors) / double(indices.size());
  return r;
}

// truth[i]: the true class of row i. Equal-width bins of the top probability over [0, 1].
inline double expected_calibration_error(const housenet::tensor<float>& probs, const std::vector<int>& truth,
                                         std::size_t bins = 15) {
  const std::size_t n = truth.size(), k = n ? probs.size() / n : 0;
  if (n == 0 || k == 0) return 0.0;
  std::vector<double> conf(bins, 0.0), correct(bins, 0.0), count(bins, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const float* p = probs.data() + i * k;
    const std::size_t best = label_of(p, k);
    const std::size_t b = std::min(bins - 1, std::size_t(double(p[best]) * double(bins)));
    conf[b] += double(p[best]);
    correct[b] += std::size_t(truth[i]) == best ? 1.0 : 0.0;
    count[b] += 1.0;
  }
  double ece = 0;
  for (std::size_t b = 0; b < bins; ++b)
    if (count[b] > 0) ece += count[b] / double(n) * std::fabs(correct[b] / count[b] - conf[b] / count[b]);
  return ece;
}

}  // namespace app

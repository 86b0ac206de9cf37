// examples/app/faces.hpp: the network side of the app — building one, feeding it face images,
// and scoring a data set (with the library's loss, housenet/loss.hpp). Classifying faces as sort
// and eval do (test-time flip, ensembles) is classify.hpp.
//
//   make_network(arch, classes, seed)      "seed" (the blog's network) or "small"
//   load_faces(data, input_shape, command) every image of the data set, decoded once and resized
//                                          to the network's input, RGB in [0, 1]: one N x 3 x H x W
//                                          tensor; unreadable files warned about and left out
//   centre_views(wide, input_shape)        the centre H x W of each image (train --context)
//   face_to(img, box, input_shape, out)    one face of a photo the same way (classify.hpp)
//   evaluate(net, images, data, indices)   eval-mode loss (the library's cross-entropy, the
//                                          training loss's arithmetic), error rate, predictions
//   summarize(result, data, indices)       accuracy, balanced accuracy, per-class, confusion matrix
//   eval_json(summary, classes)            the one JSON line of `eval --json` (and MODEL.test.json;
//                                          "ece" and "identities" when measured: eval only)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <housenet/housenet.hpp>
#include <housenet/loss.hpp>
#include <housenet/networks.hpp>
#include <housenet/vision.hpp>

#include "dataset.hpp"
#include "json.hpp"

namespace app {

inline housenet::sequential<float> make_network(const std::string& arch, std::size_t classes, std::uint64_t seed) {
  if (arch == "small") return housenet::make_small_network<float>(classes, seed);
  housenet::seed_network_options o;
  o.seed = seed;
  return housenet::make_seed_network<float>(classes, o);
}

// A 3-channel copy (gray replicated); RGB images are returned as they are.
inline housenet::image to_rgb(const housenet::image& img) {
  if (img.channels() == 3) return img;
  housenet::image out(img.width(), img.height(), 3);
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x)
      for (int c = 0; c < 3; ++c) out.at(x, y, c) = img.at(x, y, 0);
  return out;
}

// r grown by margin * its size on every side, clamped to the image.
inline housenet::rect widen(const housenet::rect& r, double margin, const housenet::image& img) {
  const int dx = int(std::lround(margin * r.width)), dy = int(std::lround(margin * r.height));
  return housenet::clamp_rect(housenet::rect{r.x - dx, r.y - dy, r.width + 2 * dx, r.height + 2 * dy}, img.width(),
                              img.height());
}

// r with the surroundings `crop --context` keeps: a box that, resized to size + 2 * context_px
// pixels, shows r as the centre size x size (to the nearest photo pixel). May leave the photo
// (housenet::crop_padded).
inline housenet::rect with_context(const housenet::rect& r, int context_px, int size) {
  const int dx = int(std::lround(double(r.width) * context_px / size));
  const int dy = int(std::lround(double(r.height) * context_px / size));
  return housenet::rect{r.x - dx, r.y - dy, r.width + 2 * dx, r.height + 2 * dy};
}

// The network's view of a face: crop r of img, RGB, resized (area filter) to the input's H x W,
// values / 255 in C x H x W order, written to out (in.sample_size() floats).
inline void face_to(const housenet::image& img, const housenet::rect& r, const housenet::shape& in, float* out) {
  housenet::image face = to_rgb(housenet::crop(img, r));
  if (face.width() != int(in.w()) || face.height() != int(in.h()))
    face = housenet::resize(face, int(in.w()), int(in.h()), housenet::resize_filter::area);
  housenet::tensor<float> t;
  housenet::to_tensor(face, t);
  HOUSENET_CHECK(t.size() == in.sample_size(), "app: face tensor ", t.shape().str(), ", expected ", in.str());
  std::copy_n(t.data(), t.size(), out);
}

// Every readable image of the data set, whole, as the network sees it: N x C x H x W. Each file
// is read and decoded once. A file that cannot be read as an image gets one warning line on stderr
// ("housenet <command>: skipping: <why>") and is left out of data.samples (the others keep their
// order and labels); a count follows the warnings. Throws when no image is left.
inline housenet::tensor<float> load_faces(dataset_index& data, const housenet::shape& in, const char* command) {
  const std::size_t per_image = in.sample_size();
  housenet::tensor<float> all(in.with_n(data.samples.size()));
  std::vector<sample> kept;
  kept.reserve(data.samples.size());
  for (auto& s : data.samples) {
    housenet::image img;
    try {
      img = housenet::load(s.path.string());
    } catch (const housenet::error& e) {
      std::fprintf(stderr, "housenet %s: skipping: %s\n", command, e.what());
      continue;
    }
    face_to(img, housenet::rect{0, 0, img.width(), img.height()}, in, all.data() + kept.size() * per_image);
    kept.push_back(std::move(s));
  }
  const std::size_t dropped = data.samples.size() - kept.size();
  data.samples = std::move(kept);
  if (dropped)
    std::fprintf(stderr, "housenet %s: %zu unreadable file%s skipped\n", command, dropped, dropped == 1 ? "" : "s");
  if (data.samples.empty()) throw app_error("no readable image in the class folders");
  if (!dropped) return all;
  housenet::tensor<float> out(in.with_n(data.samples.size()));
  std::copy_n(all.data(), out.size(), out.data());
  return out;
}

// The centre in.h() x in.w() of every image of `wide` (N x C x H x W, H - h and W - w even): the
// face boxes of crops with surroundings (train --context).
inline housenet::tensor<float> centre_views(const housenet::tensor<float>& wide, const housenet::shape& in) {
  const housenet::shape& s = wide.shape();
  HOUSENET_CHECK(s.h() >= in.h() && s.w() >= in.w() && (s.h() - in.h()) % 2 == 0 && (s.w() - in.w()) % 2 == 0,
                 "app: centre_views of ", s.str(), " to ", in.str());
  housenet::tensor<float> out(in.with_n(s.n()));
  const std::size_t top = (s.h() - in.h()) / 2, left = (s.w() - in.w()) / 2;
  for (std::size_t n = 0; n < s.n(); ++n)
    for (std::size_t c = 0; c < s.c(); ++c)
      for (std::size_t y = 0; y < in.h(); ++y)
        std::copy_n(wide.data() + ((n * s.c() + c) * s.h() + top + y) * s.w() + left, in.w(),
                    out.data() + ((n * s.c() + c) * in.h() + y) * in.w());
  return out;
}

// The house colours (by class name, case-insensitive); other classes get a fixed palette.
inline housenet::colour class_colour(const std::string& name, std::size_t index) {
  const std::string n = lower(name);
  if (n == "gryffindor") return {174, 0, 1};
  if (n == "hufflepuff") return {240, 199, 94};
  if (n == "ravenclaw") return {34, 80, 180};
  if (n == "slytherin") return {26, 120, 60};
  static const housenet::colour palette[] = {{230, 25, 75}, {60, 180, 75}, {255, 225, 25}, {0, 130, 200},
                                             {245, 130, 48}, {145, 30, 180}, {70, 240, 240}, {240, 50, 230}};
  return palette[index % (sizeof palette / sizeof palette[0])];
}

// A grid of thumbnails (at most 10 per row, 100 px), each with its file name under it.
inline housenet::image contact_sheet(const std::vector<std::pair<std::string, housenet::image>>& items) {
  const int cell = 100, cols = int(std::min<std::size_t>(10, items.size())), pad = 6, text = 14;
  const int rows = int((items.size() + std::size_t(cols) - 1) / std::size_t(cols));
  housenet::image sheet(cols * (cell + pad) + pad, rows * (cell + pad + text) + pad, 3, 255);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const int cx = pad + int(i % std::size_t(cols)) * (cell + pad), cy = pad + int(i / std::size_t(cols)) * (cell + pad + text);
    const housenet::image t = housenet::resize(to_rgb(items[i].second), cell, cell, housenet::resize_filter::area);
    for (int y = 0; y < cell; ++y)
      for (int x = 0; x < cell; ++x)
        for (int c = 0; c < 3; ++c) sheet.at(cx + x, cy + y, c) = t.at(x, y, c);
    std::string label = items[i].first;
    if (label.size() > 4 && label.compare(label.size() - 4, 4, ".png") == 0) label.resize(label.size() - 4);
    if (label.size() > 16) label = label.substr(0, 9) + "~" + label.substr(label.size() - 6);  // keep "__<n>__<k>"
    housenet::draw_text(sheet, cx, cy + cell + 3, label, housenet::colour{0, 0, 0}, 1);
  }
  return sheet;
}

struct eval_result {
  double loss = 0, error = 0;
  double balanced_accuracy = 0;  // mean over the classes present of the per-class accuracy
  std::vector<int> predicted;    // per index given
};

// Eval mode (batch-norm running statistics, no dropout), in batches of 32.
inline eval_result evaluate(housenet::sequential<float>& net, const housenet::tensor<float>& images,
                            const dataset_index& data, const std::vector<std::size_t>& indices) {
  eval_result r;
  if (indices.empty()) return r;
  const housenet::shape in = net.input_shape();
  const std::size_t sample = in.sample_size(), k = net.output_shape().sample_size();
  housenet::tensor<float> x;
  std::vector<int> labels;
  double loss = 0;
  std::size_t errors = 0;
  for (std::size_t first = 0; first < indices.size(); first += 32) {
    const std::size_t count = std::min<std::size_t>(32, indices.size() - first);
    x.resize(in.with_n(count));
    labels.resize(count);
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t s = indices[first + i];
      std::copy_n(images.data() + s * sample, sample, x.data() + i * sample);
      labels[i] = data.samples[s].label;
    }
    // An eval-mode forward through the model's own buffers (the training activations, free
    // between epochs): the same arithmetic as predict(), without predict's second set of
    // per-thread buffers (290 MB at batch 32 for the seed network).
    const housenet::tensor<float>& logits = net.forward(x, housenet::context{housenet::mode::eval, net.step()});
    // The library's loss (the training loss's arithmetic), unweighted, per image; no gradient.
    for (const double l : housenet::cross_entropy_per_row(logits, labels)) loss += l;
    const std::vector<int> predicted = housenet::predicted_classes(logits);
    for (std::size_t i = 0; i < count; ++i) errors += predicted[i] != labels[i];
    r.predicted.insert(r.predicted.end(), predicted.begin(), predicted.end());
  }
  std::vector<std::size_t> hit(k, 0), total(k, 0);
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const std::size_t t = std::size_t(data.samples[indices[i]].label);
    ++total[t];
    hit[t] += std::size_t(r.predicted[i]) == t;
  }
  std::size_t present = 0;
  for (std::size_t c = 0; c < k; ++c)
    if (total[c]) r.balanced_accuracy += double(hit[c]) / double(total[c]), ++present;
  if (present) r.balanced_accuracy /= double(present);
  r.loss = loss / double(indices.size());
  r.error = double(errors) / double(indices.size());
  return r;
}

// What `housenet eval` reports about a scored set (and train's MODEL.test.json).
struct eval_summary {
  std::vector<std::vector<std::size_t>> confusion;  // [true class][predicted class]
  std::vector<double> per_class;                    // accuracy per true class; NaN with no image
  std::vector<std::size_t> per_class_images;
  double accuracy = 0, balanced_accuracy = 0, loss = 0;
  std::size_t images = 0;
  double ece = -1;  // expected calibration error (eval); < 0: not measured (train's MODEL.test.json)
  std::size_t identities = 0, identities_one_label = 0;  // identities with 2+ images (eval)
};

// r: evaluate(net, images, data, indices) of the same indices.
inline eval_summary summarize(const eval_result& r, const dataset_index& data, const std::vector<std::size_t>& indices) {
  const std::size_t k = data.classes.size();
  eval_summary s;
  s.confusion.assign(k, std::vector<std::size_t>(k, 0));
  for (std::size_t i = 0; i < indices.size(); ++i)
    ++s.confusion[std::size_t(data.samples[indices[i]].label)][std::size_t(r.predicted[i])];
  s.per_class.assign(k, 0.0);
  s.per_class_images.assign(k, 0);
  std::size_t present = 0;
  for (std::size_t c = 0; c < k; ++c) {
    std::size_t n = 0;
    for (std::size_t p = 0; p < k; ++p) n += s.confusion[c][p];
    s.per_class_images[c] = n;
    s.per_class[c] = n ? double(s.confusion[c][c]) / double(n) : std::nan("");
    if (n) s.balanced_accuracy += s.per_class[c], ++present;
  }
  s.balanced_accuracy = present ? s.balanced_accuracy / double(present) : 0.0;
  s.accuracy = 1.0 - r.error;
  s.loss = r.loss;
  s.images = indices.size();
  return s;
}

// One line: {"accuracy", "balanced_accuracy", "per_class", "confusion", "classes", "images", "loss"}.
inline std::string eval_json(const eval_summary& s, const std::vector<std::string>& classes) {
  json_writer j;
  j.begin_object().field("accuracy", s.accuracy).field("balanced_accuracy", s.balanced_accuracy);
  j.key("per_class").begin_object();
  for (std::size_t c = 0; c < classes.size(); ++c) j.field(classes[c], s.per_class[c]);
  j.end_object().key("confusion").begin_array();
  for (const auto& row : s.confusion) {
    j.begin_array();
    for (std::size_t v : row) j.value(v);
    j.end_array();
  }
  j.end_array().key("classes").begin_array();
  for (const auto& c : classes) j.value(c);
  j.end_array().field("images", s.images).field("loss", s.loss);
  if (s.ece >= 0) j.field("ece", s.ece);
  if (s.identities) j.key("identities").begin_object().field("one_label", s.identities_one_label).field("of", s.identities).end_object();
  j.end_object();
  return j.str();
}

}  // namespace app

// examples/app/dataset.hpp: a folder of face images as a labelled data set.
//
//   DATA_DIR/<class>/<identity>__<n>.png    one sub-folder per class (sorted by name = label order);
//                                           the identity is the file name before the first "__"
//                                           (the whole stem when there is none).
//   scan_dataset(dir)          lists the samples; errors when there are no classes or no images.
//   split_dataset(...)         train/test indices: random (the blog's) or grouped by identity (no
//                              person on both sides). Deterministic from the seed.
//   fold_split(...)            fold k of n for cross-validation: identities (group) or images
//                              (random) dealt to folds so that each fold gets about the same
//                              number of images of every class (stratified). Deterministic.
//   augment(x, rng, ...)       in place on one CHW sample in [0,1]: horizontal flip, a small shift
//                              (edge pixels repeated; both housenet/augment.hpp's), colour jitter
//                              (brightness, contrast, per channel gain). Deterministic from the
//                              generator it is given.
//   augment_with_context(...) the same with real surroundings (train --context): a random view of
//                              a crop with context (shift, scale, flip), then the colour jitter.
//   class_weights(...)         N / (K * n_c) over the training samples: a class-weighted loss.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <housenet/augment.hpp>
#include <housenet/random.hpp>

#include "files.hpp"

namespace app {

struct sample {
  fs::path path;
  int label = 0;
  std::string identity;
};

struct dataset_index {
  std::vector<std::string> classes;
  std::vector<sample> samples;
  std::vector<std::size_t> count_per_class() const {
    std::vector<std::size_t> c(classes.size(), 0);
    for (const auto& s : samples) ++c[std::size_t(s.label)];
    return c;
  }
};

inline std::string identity_of(const fs::path& file) {
  const std::string stem = file.stem().string();
  const auto p = stem.find("__");
  return p == std::string::npos ? stem : stem.substr(0, p);
}

inline dataset_index scan_dataset(const fs::path& dir) {
  dataset_index d;
  for (const auto& sub : list_subdirs(dir)) {
    const auto files = list_images(sub);
    const int label = int(d.classes.size());
    d.classes.push_back(sub.filename().string());
    for (const auto& f : files) d.samples.push_back({f, label, identity_of(f)});
  }
  if (d.classes.empty())
    throw app_error("'" + dir.string() + "' has no class sub-folders (expected DATA_DIR/<class>/<image>)");
  if (d.samples.empty()) throw app_error("'" + dir.string() + "' has no images in its class folders");
  return d;
}

struct split {
  std::vector<std::size_t> train, test;
};

// A Fisher-Yates shuffle driven by the library's generator (std::shuffle's is unspecified).
template <class T>
void shuffle_in_place(std::vector<T>& v, housenet::prng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.uniform_int(i)]);
}

// test_count images go to the test side (random), or whole identities until at least test_count
// images are there (group). The result lists are sorted (order does not depend on the shuffle).
inline split split_dataset(const dataset_index& d, std::size_t test_count, bool group, std::uint64_t seed) {
  const std::size_t n = d.samples.size();
  if (test_count >= n)
    throw app_error("the test side would take " + std::to_string(test_count) + " of the " + std::to_string(n) +
                    " images: nothing left to train on");
  housenet::prng rng(seed ^ 0x5eed5011177ull);
  split s;
  std::vector<char> is_test(n, 0);
  if (!group) {
    std::vector<std::size_t> idx(n);
    for (std::size_t i = 0; i < n; ++i) idx[i] = i;
    shuffle_in_place(idx, rng);
    for (std::size_t i = 0; i < test_count; ++i) is_test[idx[i]] = 1;
  } else {
    std::map<std::string, std::vector<std::size_t>> groups;  // sorted by identity: deterministic
    for (std::size_t i = 0; i < n; ++i) groups[d.samples[i].identity].push_back(i);
    std::vector<const std::vector<std::size_t>*> order;
    for (const auto& g : groups) order.push_back(&g.second);
    if (order.size() < 2 && test_count > 0)
      throw app_error("--split group needs at least two identities (file names '<identity>__<n>.png'); found " +
                      std::to_string(order.size()));
    shuffle_in_place(order, rng);
    std::size_t taken = 0;
    for (const auto* g : order) {
      if (taken >= test_count) break;
      if (n - taken - g->size() == 0) continue;  // never take everything
      for (std::size_t i : *g) is_test[i] = 1;
      taken += g->size();
    }
  }
  for (std::size_t i = 0; i < n; ++i) (is_test[i] ? s.test : s.train).push_back(i);
  if (s.train.empty()) throw app_error("the split left no training images");
  return s;
}

// Cross-validation: the test side is fold `fold` (1-based) of `folds`.
inline split fold_split(const dataset_index& d, std::size_t folds, std::size_t fold, bool group, std::uint64_t seed) {
  const std::size_t n = d.samples.size(), k = d.classes.size();
  if (folds < 2 || fold < 1 || fold > folds)
    throw app_error("--fold " + std::to_string(fold) + " of --folds " + std::to_string(folds) + ": need 1 <= fold <= folds, folds >= 2");
  // Units: identities (group) or single images (random); each with its images and majority class.
  std::map<std::string, std::vector<std::size_t>> by_id;
  std::vector<std::vector<std::size_t>> units;
  if (group) {
    for (std::size_t i = 0; i < n; ++i) by_id[d.samples[i].identity].push_back(i);
    for (auto& g : by_id) units.push_back(g.second);
  } else {
    for (std::size_t i = 0; i < n; ++i) units.push_back({i});
  }
  if (units.size() < folds)
    throw app_error("--folds " + std::to_string(folds) + ": only " + std::to_string(units.size()) +
                    (group ? " identities" : " images"));
  housenet::prng rng(seed ^ 0xf01d5eedull);
  shuffle_in_place(units, rng);
  // Largest units first (stable after the shuffle), each to the fold with the fewest images of
  // its class so far (ties: fewest images overall, then the lowest fold).
  std::stable_sort(units.begin(), units.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  std::vector<std::vector<std::size_t>> per_class(folds, std::vector<std::size_t>(k, 0));
  std::vector<std::size_t> total(folds, 0), fold_of(n, 0);
  for (const auto& u : units) {
    const std::size_t c = std::size_t(d.samples[u[0]].label);
    std::size_t best = 0;
    for (std::size_t f = 1; f < folds; ++f)
      if (per_class[f][c] < per_class[best][c] ||
          (per_class[f][c] == per_class[best][c] && total[f] < total[best]))
        best = f;
    for (std::size_t i : u) fold_of[i] = best;
    per_class[best][c] += u.size();
    total[best] += u.size();
  }
  split s;
  for (std::size_t i = 0; i < n; ++i) (fold_of[i] == fold - 1 ? s.test : s.train).push_back(i);
  if (s.train.empty() || s.test.empty()) throw app_error("--fold " + std::to_string(fold) + ": an empty side");
  return s;
}

inline std::vector<double> class_weights(const dataset_index& d, const std::vector<std::size_t>& train) {
  const std::size_t k = d.classes.size();
  std::vector<std::size_t> count(k, 0);
  for (std::size_t i : train) ++count[std::size_t(d.samples[i].label)];
  std::vector<double> w(k, 0.0);
  for (std::size_t c = 0; c < k; ++c) w[c] = count[c] ? double(train.size()) / (double(k) * double(count[c])) : 0.0;
  return w;
}

// The colour part of augment(): drawn after the geometry, in this order.
struct colour_change {
  float brightness = 0, contrast = 1;
  float gain[4] = {1, 1, 1, 1};
};

inline colour_change random_colour_change(housenet::prng& rng, std::size_t c) {
  colour_change k;
  k.brightness = float(rng.uniform(-0.1, 0.1));
  k.contrast = float(rng.uniform(0.8, 1.2));
  for (std::size_t ch = 0; ch < std::min<std::size_t>(c, 4); ++ch) k.gain[ch] = float(rng.uniform(0.9, 1.1));
  return k;
}

// dst[i] = clamp((mean + (src[i] - mean) * contrast) * gain + brightness, 0, 1) over one plane
// of channel ch (src == dst allowed).
inline void apply_colour_change(const colour_change& k, std::size_t ch, float mean, const float* src, float* dst,
                                std::size_t n) {
  const float g = ch < 4 ? k.gain[ch] : 1.0f;
  for (std::size_t i = 0; i < n; ++i) {
    const float v = (mean + (src[i] - mean) * k.contrast) * g + k.brightness;
    dst[i] = std::clamp(v, 0.0f, 1.0f);
  }
}

inline double plane_mean(const float* p, std::size_t n) {
  double mean = 0;
  for (std::size_t i = 0; i < n; ++i) mean += p[i];
  return mean / double(n);
}

// x: one sample, C x H x W floats in [0, 1]. The flip and shift are the library's
// (housenet/augment.hpp: the same draws, edge padding); the colour jitter is the app's own.
inline void augment(float* x, std::size_t c, std::size_t h, std::size_t w, housenet::prng& rng) {
  const housenet::flip_shift t = housenet::random_flip_shift(rng, std::max<std::size_t>(1, w / 12));  // ~8 px on 100x100
  const colour_change k = random_colour_change(rng, c);
  std::vector<float> tmp(h * w);
  for (std::size_t ch = 0; ch < c; ++ch) {
    float* p = x + ch * h * w;
    const float mean = float(plane_mean(p, h * w));
    housenet::apply_flip_shift(t, p, tmp.data(), h, w, housenet::pad_mode::edge);
    apply_colour_change(k, ch, mean, tmp.data(), p, h * w);
  }
}

// train --context: the network's h x w view of a face crop that has surroundings (crop --context):
// the crop is C x H x W with H - h = W - w = 2 * context (even, >= 0), the face box its centre.
//   box_jitter {flip, scale, dy, dx}: the view's box is the face box scaled by `scale` about its
//       centre moved by (dy, dx) pixels, mirrored left-right when flip.
//   random_box_jitter(rng, max_shift, max_scale)  draws flip (uniform() < 0.5), scale uniform in
//       [1 - max_scale, 1 + max_scale], dy, dx uniform in [-max_shift, max_shift], in that order.
//   box_view(crop, c, H, W, h, w, j, out)  bilinear; samples beyond the crop take its edge. With
//       the identity jitter the view is the exact centre h x w.
//   augment_with_context(crop, c, H, W, h, w, rng, out)  a random view (shift up to w/12, scale
//       0.9-1.1, flip), then augment()'s colour jitter.
struct box_jitter {
  bool flip = false;
  double scale = 1, dy = 0, dx = 0;
};

inline box_jitter random_box_jitter(housenet::prng& rng, double max_shift, double max_scale) {
  box_jitter j;
  j.flip = rng.uniform() < 0.5;
  j.scale = rng.uniform(1.0 - max_scale, 1.0 + max_scale);
  j.dy = rng.uniform(-max_shift, max_shift);
  j.dx = rng.uniform(-max_shift, max_shift);
  return j;
}

inline void box_view(const float* crop, std::size_t c, std::size_t H, std::size_t W, std::size_t h, std::size_t w,
                     const box_jitter& j, float* out) {
  // Output pixel (y, x) samples the crop at (cy + dy + (y - (h - 1) / 2) * scale, likewise x):
  // with the identity jitter, crop pixel (y + (H - h) / 2, x + (W - w) / 2).
  const double cy = (double(H) - 1) / 2 + j.dy, cx = (double(W) - 1) / 2 + j.dx;
  const std::size_t plane = H * W;
  for (std::size_t y = 0; y < h; ++y) {
    const double sy = std::clamp(cy + (double(y) - (double(h) - 1) / 2) * j.scale, 0.0, double(H) - 1);
    const std::size_t y0 = std::size_t(sy), y1 = std::min(y0 + 1, H - 1);
    const float fy = float(sy - double(y0));
    for (std::size_t x = 0; x < w; ++x) {
      const double xs = double(j.flip ? w - 1 - x : x);
      const double sx = std::clamp(cx + (xs - (double(w) - 1) / 2) * j.scale, 0.0, double(W) - 1);
      const std::size_t a = std::size_t(sx), b = std::min(a + 1, W - 1);  // a == b at the last column
      const float fx = float(sx - double(a));
      for (std::size_t ch = 0; ch < c; ++ch) {
        const float* r0 = crop + ch * plane + y0 * W;
        const float* r1 = crop + ch * plane + y1 * W;
        const float top = r0[a] + (r0[b] - r0[a]) * fx;
        const float bottom = r1[a] + (r1[b] - r1[a]) * fx;
        out[(ch * h + y) * w + x] = top + (bottom - top) * fy;
      }
    }
  }
}

inline void augment_with_context(const float* crop, std::size_t c, std::size_t H, std::size_t W, std::size_t h,
                                 std::size_t w, housenet::prng& rng, float* out) {
  const box_jitter j = random_box_jitter(rng, double(std::max<std::size_t>(1, w / 12)), 0.1);
  const colour_change k = random_colour_change(rng, c);
  box_view(crop, c, H, W, h, w, j, out);
  for (std::size_t ch = 0; ch < c; ++ch) {
    float* p = out + ch * h * w;
    apply_colour_change(k, ch, float(plane_mean(p, h * w)), p, p, h * w);
  }
}

}  // namespace app

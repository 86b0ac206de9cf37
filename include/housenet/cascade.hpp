// housenet/cascade.hpp: OpenCV cascade files and a Viola-Jones detector that gives OpenCV 4.6's boxes.
//
// WHAT THIS IS
//   cascade::load(path) / cascade::from_string(xml, name) read an OpenCV cascade classifier XML
//   file: the current format (type_id "opencv-cascade-classifier": stageType BOOST, featureType
//   HAAR with 2-3 rectangles, upright or tilted, or LBP with categorical splits; stumps and trees)
//   and the old "opencv-haar-classifier" format, which is converted on load as OpenCV does.
//   Every cascade of Debian's opencv-data (haarcascades/, lbpcascades/) loads. Anything else is
//   one housenet::error "cascade: <file>:<line>: <what>" (HOG features, missing nodes, bad counts,
//   a feature index or rectangle out of range, a truncated file, ...).
//
//   c.detect_multi_scale(img, {scale_factor, min_neighbors, min_size, max_size}) returns the
//   boxes OpenCV 4.6's CascadeClassifier::detectMultiScale returns for the same 8-bit gray image
//   and parameters (no flags, no histogram equalisation), sorted by (y, x, width, height). A
//   3-channel (RGB) image is converted first with rgb_to_gray (OpenCV's fixed-point weights).
//   docs/cascade.md and shared/docs/cascade-spec.md give the exact arithmetic: the pyramid of
//   scales, OpenCV's fixed-point bilinear resize, 32-bit integral / squared / tilted integral
//   images, the variance gate, stage evaluation with the stage-0 skip rule, groupRectangles
//   (eps 0.2) and clipping to the image.
//
//   requires: scale_factor > 1 (finite), min_neighbors >= 0 (0 returns the raw, ungrouped
//             windows), sizes >= 0 (max_size 0x0 = the image size), a non-empty image.
//   ensures:  the result does not depend on the thread count (rows of each pyramid level are
//             cut into blocks with parallel.hpp; each window's result is a pure function).
//
// FILES (one concern each; this header is the one to include)
//   cascade/types.hpp      detect_options, the loaded cascade's arrays, OpenCV's rounding
//   cascade/parse.hpp      the XML reader (both formats, every check)
//   cascade/pyramid.hpp    the scales, OpenCV's INTER_LINEAR_EXACT resize, the integral images
//   cascade/scan.hpp       the portable window scan of one level
//   cascade/scan_simd.hpp  the same scan, 8 windows at a time (its kernels: simd/cascade.hpp)
//   cascade/group.hpp      group_rectangles (cv::groupRectangles)
//
// THREAD SAFETY
//   A loaded cascade is immutable: detect_multi_scale on a const cascade may run from several
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cascade/group.hpp"
#include "cascade/parse.hpp"
#include "cascade/pyramid.hpp"
#include "cascade/scan.hpp"
#include "cascade/scan_simd.hpp"
#include "cascade/types.hpp"
#include "error.hpp"
#include "image.hpp"
#include "parallel.hpp"

HOUSENET_BEGIN_NAMESPACE

class cascade {
 public:
  using feature_type = detail::cascade_feature_type;  // haar, lbp

  static cascade load(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    HOUSENET_CHECK(f.good(), "cascade: ", path, ": cannot open file");
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    HOUSENET_CHECK(!f.bad(), "cascade: ", path, ": read error");
    return from_string(text, path);
  }

  static cascade from_string(std::string_view xml, const std::string& name = "<string>") {
    cascade c;
    c.d_ = detail::parse_cascade(xml, name);
    return c;
  }

  feature_type type() const { return d_.type; }
  int window_width() const { return d_.win_w; }
  int window_height() const { return d_.win_h; }
  std::size_t stage_count() const { return d_.stages.size(); }
  std::size_t feature_count() const { return d_.features.size(); }
  std::size_t tree_count() const { return d_.trees.size(); }
  bool has_tilted_features() const { return d_.has_tilted; }
  bool stumps_only() const { return d_.max_nodes_per_tree == 1; }
  const std::string& name() const { return d_.name; }

  std::vector<rect> detect_multi_scale(const image& img, const detect_options& o = {}) const {
    std::vector<rect> cand = detect_candidates(img, o);
    std::vector<rect> out;
    if (o.min_neighbors <= 0)
      out = std::move(cand);
    else
      out = group_rectangles(cand, o.min_neighbors, 0.2);
    // clip to the image (CascadeClassifier::detectMultiScale's clipObjects)
    std::vector<rect> clipped;
    for (const rect& r : out) {
      const rect c = clamp_rect(r, img.width(), img.height());
      if (c.width > 0 && c.height > 0) clipped.push_back(c);
    }
    std::sort(clipped.begin(), clipped.end());
    return clipped;
  }

  // The raw windows accepted by the cascade on every pyramid level (before grouping), sorted.
  std::vector<rect> detect_candidates(const image& img, const detect_options& o = {}) const {
    check_options(o);
    HOUSENET_CHECK(!img.empty(), "cascade: detect_multi_scale: empty image (", img.width(), "x", img.height(), ")");
    const image gray_conv = img.channels() == 1 ? image() : rgb_to_gray(img);
    const image& gray = img.channels() == 1 ? img : gray_conv;
    const std::vector<float> scales = pyramid_scales(gray.width(), gray.height(), o);
    std::vector<rect> cand;
    if (num_threads() > 1 && scales.size() > 1) {
      // levels in parallel (largest first, handed out in order by the pool); the rows of a level
      // then run inline in its thread. Each level's windows go to its own list: same result.
      std::vector<std::vector<rect>> per_level(scales.size());
      parallel_blocks(scales.size(), [&](std::size_t i) {
        detail::level_data L;
        detail::simd_level S;
        build_level(gray, scales[i], L);
        scan_level(L, S, per_level[i]);
      });
      for (const auto& v : per_level) cand.insert(cand.end(), v.begin(), v.end());
    } else {
      detail::level_data L;  // its buffers and S's are reused from level to level
      detail::simd_level S;
      for (float s : scales) {
        build_level(gray, s, L);
        scan_level(L, S, cand);
      }
    }
    std::sort(cand.begin(), cand.end());
    return cand;
  }

  // The pyramid scales OpenCV uses for an image of this size (exposed for tests and docs).
  std::vector<float> pyramid_scales(int img_w, int img_h, const detect_options& o) const {
    check_options(o);
    return detail::pyramid_scales(d_.win_w, d_.win_h, img_w, img_h, o);
  }

 private:
  void check_options(const detect_options& o) const {
    HOUSENET_CHECK(std::isfinite(o.scale_factor) && o.scale_factor > 1.0,
                   "cascade: detect_multi_scale: scale_factor must be > 1, got ", o.scale_factor);
    HOUSENET_CHECK(o.min_size.width >= 0 && o.min_size.height >= 0, "cascade: detect_multi_scale: min_size ",
                   o.min_size.width, "x", o.min_size.height, " must not be negative");
    HOUSENET_CHECK(o.max_size.width >= 0 && o.max_size.height >= 0, "cascade: detect_multi_scale: max_size ",
                   o.max_size.width, "x", o.max_size.height, " must not be negative");
    HOUSENET_CHECK(d_.win_w > 0 && !d_.stages.empty(), "cascade: detect_multi_scale on an empty cascade");
  }

  void build_level(const image& gray, float scale, detail::level_data& L) const {
    detail::build_level(gray, scale, d_.type == feature_type::haar, d_.has_tilted, L);
  }

  void scan_level(const detail::level_data& L, detail::simd_level& S, std::vector<rect>& out) const {
    if (detail::simd_usable(d_))
      detail::scan_level_simd(d_, L, S, out);
    else
      detail::scan_level(d_, L, out);
  }

  detail::cascade_data d_;
};

HOUSENET_END_NAMESPACE

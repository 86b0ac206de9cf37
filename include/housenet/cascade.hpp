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
// THREAD SAFETY
//   A loaded cascade is immutable: detect_multi_scale on a const cascade may run from several
//   threads at once.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "detail/xml.hpp"
#include "error.hpp"
#include "image.hpp"
#include "parallel.hpp"
#include "simd.hpp"

HOUSENET_BEGIN_NAMESPACE

struct size2 {
  int width = 0, height = 0;
};

struct detect_options {
  double scale_factor = 1.1;
  int min_neighbors = 3;
  size2 min_size{0, 0};
  size2 max_size{0, 0};  // 0x0: the image size
};

// OpenCV's groupRectangles(rects, min_neighbors, eps): clusters of similar rectangles averaged,
// clusters with <= min_neighbors members dropped, small clusters inside large ones dropped.
// min_neighbors <= 0 returns rects unchanged. Result order: by class, unspecified.
inline std::vector<rect> group_rectangles(const std::vector<rect>& rects, int min_neighbors, double eps = 0.2);

namespace detail {

inline int cv_round(double v) { return int(std::lrint(v)); }

// Forces v to be rounded to its type here: an empty asm the compiler cannot see through, so
// a * b + c is never contracted into one fused multiply-add (GCC contracts across statements
// with -ffp-contract=fast, its default in GNU mode, whenever the target has FMA, e.g. with
// -march=native). OpenCV's arithmetic rounds every product; so must ours. Costs no instruction.
template <class T>
HOUSENET_ALWAYS_INLINE T fp_round(T v) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && defined(__SSE2__)
  __asm__("" : "+x"(v));
#elif defined(__GNUC__) && defined(__aarch64__)
  __asm__("" : "+w"(v));
#elif defined(__GNUC__)
  __asm__("" : "+m"(v));
#endif
  return v;
}
inline int cv_round(float v) { return int(std::lrintf(v)); }

struct cascade_rect {
  int x = 0, y = 0, w = 0, h = 0;
  float weight = 0.f;
};
struct cascade_feature {
  cascade_rect r[3];  // Haar: up to 3 weighted rectangles; LBP: r[0] is the block
  int nrects = 0;
  bool tilted = false;
};
struct cascade_node {
  int left = 0, right = 0, feature = 0;
  float threshold = 0.f;
};
struct cascade_tree {
  int node_ofs = 0, node_count = 0, leaf_ofs = 0;
};
struct cascade_stage {
  int first_tree = 0, ntrees = 0;
  float threshold = 0.f;  // already minus 1e-5f, as OpenCV stores it
};

// One level of the pyramid: the scaled image's integrals, laid out as OpenCV does
// (stride = sw + 1; the tilted integral follows the sum in the same buffer).
struct level_data {
  int sw = 0, sh = 0, stride = 0;
  float scale = 1.f;
  int step = 2;
  std::vector<std::uint8_t> img;
  std::vector<std::uint32_t> sum;  // sum (+ tilted at tofs)
  std::vector<std::uint32_t> sq;
  std::size_t tofs = 0;
};

}  // namespace detail

class cascade {
 public:
  enum class feature_type { haar, lbp };

  static cascade load(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    HOUSENET_CHECK(f.good(), "cascade: ", path, ": cannot open file");
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    HOUSENET_CHECK(!f.bad(), "cascade: ", path, ": read error");
    return from_string(text, path);
  }

  static cascade from_string(std::string_view xml, const std::string& name = "<string>") {
    cascade c;
    c.parse(xml, name);
    return c;
  }

  feature_type type() const { return type_; }
  int window_width() const { return win_w_; }
  int window_height() const { return win_h_; }
  std::size_t stage_count() const { return stages_.size(); }
  std::size_t feature_count() const { return features_.size(); }
  std::size_t tree_count() const { return trees_.size(); }
  bool has_tilted_features() const { return has_tilted_; }
  bool stumps_only() const { return max_nodes_per_tree_ == 1; }
  const std::string& name() const { return name_; }

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
  std::vector<rect> detect_candidates(const image& img, const detect_options& o = {}) const;

  // The pyramid scales OpenCV uses for an image of this size (exposed for tests and docs).
  std::vector<float> pyramid_scales(int img_w, int img_h, const detect_options& o) const {
    check_options(o);
    std::vector<float> scales;
    const int max_w = (o.max_size.width == 0 || o.max_size.height == 0) ? img_w : o.max_size.width;
    const int max_h = (o.max_size.width == 0 || o.max_size.height == 0) ? img_h : o.max_size.height;
    int iterations = 0;
    for (double f = 1;; f *= o.scale_factor) {
      HOUSENET_CHECK(++iterations <= 100000, "cascade: detect_multi_scale: scale_factor ", o.scale_factor,
                     " is too close to 1 (more than 100000 pyramid levels)");
      const int ww = detail::cv_round(win_w_ * f), wh = detail::cv_round(win_h_ * f);
      if (ww > max_w || wh > max_h || ww > img_w || wh > img_h) break;
      if (ww < o.min_size.width || wh < o.min_size.height) continue;
      scales.push_back(float(f));
    }
    return scales;
  }

 private:
  void check_options(const detect_options& o) const {
    HOUSENET_CHECK(std::isfinite(o.scale_factor) && o.scale_factor > 1.0,
                   "cascade: detect_multi_scale: scale_factor must be > 1, got ", o.scale_factor);
    HOUSENET_CHECK(o.min_size.width >= 0 && o.min_size.height >= 0, "cascade: detect_multi_scale: min_size ",
                   o.min_size.width, "x", o.min_size.height, " must not be negative");
    HOUSENET_CHECK(o.max_size.width >= 0 && o.max_size.height >= 0, "cascade: detect_multi_scale: max_size ",
                   o.max_size.width, "x", o.max_size.height, " must not be negative");
    HOUSENET_CHECK(win_w_ > 0 && !stages_.empty(), "cascade: detect_multi_scale on an empty cascade");
  }

  void parse(std::string_view xml, const std::string& name);
  void parse_new(const detail::xml::document& doc, const detail::xml::element& top);
  void parse_old(const detail::xml::document& doc, const detail::xml::element& top);
  void finish(const detail::xml::document& doc, int line);

  void build_level(const image& gray, float scale, detail::level_data& L) const;
  void scan_level(const detail::level_data& L, std::vector<rect>& out) const;
  void scan_level_simd(const detail::level_data& L, std::vector<rect>& out) const;
  bool simd_usable() const;

  std::string name_;
  feature_type type_ = feature_type::haar;
  int win_w_ = 0, win_h_ = 0;
  int cat_count_ = 0, subset_size_ = 0;
  bool has_tilted_ = false;
  int max_nodes_per_tree_ = 0;
  std::vector<detail::cascade_feature> features_;
  std::vector<detail::cascade_node> nodes_;
  std::vector<detail::cascade_tree> trees_;
  std::vector<detail::cascade_stage> stages_;
  std::vector<float> leaves_;
  std::vector<std::int32_t> subsets_;  // subset_size_ ints per node (LBP)
};

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------
namespace detail {

// Whitespace-separated numbers of an element's text.
inline std::vector<double> cascade_numbers(const xml::document& doc, const xml::element& e, const char* what) {
  std::vector<double> out;
  const std::string& s = e.text;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
    if (i >= s.size()) break;
    std::size_t j = i;
    while (j < s.size() && !(s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r')) ++j;
    const char* b = s.data() + i;
    const char* en = s.data() + j;
    if (*b == '+') ++b;
    double v = 0;
    const auto r = std::from_chars(b, en, v);
    if (r.ec != std::errc() || r.ptr != en || !std::isfinite(v))
      doc.fail_at(e.line, concat(what, ": '", std::string(s.data() + i, s.data() + j), "' is not a number"));
    out.push_back(v);
    i = j;
  }
  return out;
}

inline int cascade_int(const xml::document& doc, const xml::element& e, double v, const char* what) {
  if (!(v >= -2147483648.0 && v <= 2147483647.0) || v != std::floor(v))
    doc.fail_at(e.line, concat(what, ": ", v, " is not an integer"));
  return int(v);
}

inline const xml::element& cascade_child(const xml::document& doc, const xml::element& e, const char* name) {
  const xml::element* c = doc.child(e, name);
  if (!c) doc.fail_at(e.line, concat("<", e.name, "> has no <", name, ">"));
  return *c;
}

inline double cascade_scalar(const xml::document& doc, const xml::element& e, const char* name) {
  const xml::element& c = cascade_child(doc, e, name);
  const std::vector<double> v = cascade_numbers(doc, c, name);
  if (v.size() != 1) doc.fail_at(c.line, concat("<", name, "> must hold one number, found ", v.size()));
  return v[0];
}

inline std::string cascade_word(const xml::element& e) {
  std::size_t b = 0, en = e.text.size();
  while (b < en && (e.text[b] == ' ' || e.text[b] == '\n' || e.text[b] == '\t' || e.text[b] == '\r')) ++b;
  while (en > b && (e.text[en - 1] == ' ' || e.text[en - 1] == '\n' || e.text[en - 1] == '\t' ||
                    e.text[en - 1] == '\r'))
    --en;
  return e.text.substr(b, en - b);
}

inline cascade_feature cascade_haar_feature(const xml::document& doc, const xml::element& fe, int W, int H) {
  cascade_feature f;
  const xml::element& rects = cascade_child(doc, fe, "rects");
  for (const xml::element* r : doc.children(rects)) {
    if (f.nrects == 3) doc.fail_at(r->line, "a Haar feature has more than 3 rectangles");
    const std::vector<double> v = cascade_numbers(doc, *r, "rect");
    if (v.size() != 5) doc.fail_at(r->line, concat("a Haar rectangle needs 5 numbers (x y w h weight), found ", v.size()));
    cascade_rect cr;
    cr.x = cascade_int(doc, *r, v[0], "rect x");
    cr.y = cascade_int(doc, *r, v[1], "rect y");
    cr.w = cascade_int(doc, *r, v[2], "rect width");
    cr.h = cascade_int(doc, *r, v[3], "rect height");
    cr.weight = float(v[4]);
    f.r[f.nrects++] = cr;
  }
  if (f.nrects < 2) doc.fail_at(rects.line, concat("a Haar feature needs 2 or 3 rectangles, found ", f.nrects));
  if (const xml::element* t = doc.child(fe, "tilted")) {
    const std::vector<double> v = cascade_numbers(doc, *t, "tilted");
    if (v.size() != 1 || (v[0] != 0 && v[0] != 1)) doc.fail_at(t->line, "<tilted> must be 0 or 1");
    f.tilted = v[0] != 0;
  }
  for (int i = 0; i < f.nrects; ++i) {
    const cascade_rect& r = f.r[i];
    const long long x = r.x, y = r.y, w = r.w, h = r.h;  // 64-bit: no overflow for any int read
    bool ok;
    if (!f.tilted)
      ok = x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= W && y + h <= H;
    else
      ok = w > 0 && h > 0 && x - h >= 0 && y >= 0 && x + w <= W && y + w + h <= H;
    if (!ok)
      doc.fail_at(fe.line, concat("rectangle ", r.x, " ", r.y, " ", r.w, " ", r.h, (f.tilted ? " (tilted)" : ""),
                                  " lies outside the ", W, "x", H, " window"));
  }
  return f;
}

}  // namespace detail

inline void cascade::parse(std::string_view xml, const std::string& name) {
  name_ = name;
  const std::string ctx = "cascade: " + name;
  HOUSENET_CHECK(!xml.empty(), ctx, ":1: empty file");
  const detail::xml::document doc = detail::xml::document::parse(xml, ctx);
  const detail::xml::element& root = doc.root();
  if (root.name != "opencv_storage") doc.fail_at(root.line, "the root element is <" + root.name + ">, expected <opencv_storage>");
  if (root.first_child == detail::xml::npos) doc.fail_at(root.line, "<opencv_storage> is empty");
  const detail::xml::element& top = doc.at(root.first_child);
  const std::string* type_id = detail::xml::document::attribute(top, "type_id");
  if (type_id && *type_id == "opencv-haar-classifier")
    parse_old(doc, top);
  else if (doc.child(top, "stageType") || doc.child(top, "featureType"))
    parse_new(doc, top);
  else if (doc.child(top, "size") && doc.child(top, "stages"))
    parse_old(doc, top);
  else
    doc.fail_at(top.line, "<" + top.name + "> is not a cascade classifier (no stageType/featureType)");
  finish(doc, top.line);
}

inline void cascade::parse_new(const detail::xml::document& doc, const detail::xml::element& top) {
  using namespace detail;
  const xml::element& st = cascade_child(doc, top, "stageType");
  if (cascade_word(st) != "BOOST") doc.fail_at(st.line, "unsupported stageType '" + cascade_word(st) + "' (expected BOOST)");
  const xml::element& ft = cascade_child(doc, top, "featureType");
  const std::string fts = cascade_word(ft);
  if (fts == "HAAR") type_ = feature_type::haar;
  else if (fts == "LBP") type_ = feature_type::lbp;
  else doc.fail_at(ft.line, "unsupported featureType '" + fts + "' (expected HAAR or LBP)");
  const double w = cascade_scalar(doc, top, "width"), h = cascade_scalar(doc, top, "height");
  win_w_ = cascade_int(doc, *doc.child(top, "width"), w, "width");
  win_h_ = cascade_int(doc, *doc.child(top, "height"), h, "height");
  if (win_w_ < 3 || win_h_ < 3 || win_w_ > 4096 || win_h_ > 4096)
    doc.fail_at(top.line, concat("window size ", win_w_, "x", win_h_, " is not in 3..4096"));
  const xml::element& fp = cascade_child(doc, top, "featureParams");
  const xml::element& mc = cascade_child(doc, fp, "maxCatCount");
  const std::vector<double> mcv = cascade_numbers(doc, mc, "maxCatCount");
  if (mcv.size() != 1) doc.fail_at(mc.line, "<maxCatCount> must hold one number");
  cat_count_ = cascade_int(doc, mc, mcv[0], "maxCatCount");
  if (type_ == feature_type::haar && cat_count_ != 0)
    doc.fail_at(mc.line, concat("maxCatCount must be 0 for HAAR features, got ", cat_count_));
  if (type_ == feature_type::lbp && cat_count_ != 256)
    doc.fail_at(mc.line, concat("maxCatCount must be 256 for LBP features, got ", cat_count_));
  subset_size_ = cat_count_ > 0 ? (cat_count_ + 31) / 32 : 0;
  const int node_step = 3 + (cat_count_ > 0 ? subset_size_ : 1);

  // features
  const xml::element& feats = cascade_child(doc, top, "features");
  for (const xml::element* fe : doc.children(feats)) {
    if (type_ == feature_type::haar) {
      cascade_feature f = cascade_haar_feature(doc, *fe, win_w_, win_h_);
      has_tilted_ = has_tilted_ || f.tilted;
      features_.push_back(f);
    } else {
      const xml::element& re = cascade_child(doc, *fe, "rect");
      const std::vector<double> v = cascade_numbers(doc, re, "rect");
      if (v.size() != 4) doc.fail_at(re.line, concat("an LBP rect needs 4 numbers (x y w h), found ", v.size()));
      cascade_feature f;
      f.nrects = 1;
      f.r[0].x = cascade_int(doc, re, v[0], "rect x");
      f.r[0].y = cascade_int(doc, re, v[1], "rect y");
      f.r[0].w = cascade_int(doc, re, v[2], "rect width");
      f.r[0].h = cascade_int(doc, re, v[3], "rect height");
      const cascade_rect& r = f.r[0];
      if (!(r.x >= 0 && r.y >= 0 && r.w > 0 && r.h > 0 && (long long)r.x + 3LL * r.w <= win_w_ &&
            (long long)r.y + 3LL * r.h <= win_h_))
        doc.fail_at(re.line, concat("LBP rect ", r.x, " ", r.y, " ", r.w, " ", r.h, " (3x3 blocks) lies outside the ",
                                    win_w_, "x", win_h_, " window"));
      features_.push_back(f);
    }
  }
  if (features_.empty()) doc.fail_at(feats.line, "<features> is empty");

  // stages
  const xml::element& stages = cascade_child(doc, top, "stages");
  for (const xml::element* se : doc.children(stages)) {
    cascade_stage stage;
    stage.threshold = float(cascade_scalar(doc, *se, "stageThreshold")) - 1e-5f;
    stage.first_tree = int(trees_.size());
    const xml::element& weak = cascade_child(doc, *se, "weakClassifiers");
    for (const xml::element* we : doc.children(weak)) {
      const xml::element& in = cascade_child(doc, *we, "internalNodes");
      const xml::element& lv = cascade_child(doc, *we, "leafValues");
      const std::vector<double> iv = cascade_numbers(doc, in, "internalNodes");
      const std::vector<double> lvv = cascade_numbers(doc, lv, "leafValues");
      if (iv.empty() || iv.size() % std::size_t(node_step) != 0)
        doc.fail_at(in.line, concat("internalNodes has ", iv.size(), " numbers, expected a positive multiple of ", node_step));
      const int nc = int(iv.size() / std::size_t(node_step));
      if (lvv.size() != std::size_t(nc) + 1)
        doc.fail_at(lv.line, concat("leafValues has ", lvv.size(), " values, expected ", nc + 1, " for ", nc, " nodes"));
      cascade_tree t;
      t.node_ofs = int(nodes_.size());
      t.node_count = nc;
      t.leaf_ofs = int(leaves_.size());
      for (int k = 0; k < nc; ++k) {
        const double* p = iv.data() + std::size_t(k) * node_step;
        cascade_node n;
        n.left = cascade_int(doc, in, p[0], "node left");
        n.right = cascade_int(doc, in, p[1], "node right");
        n.feature = cascade_int(doc, in, p[2], "node feature index");
        for (int child : {n.left, n.right})
          if (!((child > k && child < nc) || (child <= 0 && child >= -nc)))  // (no -INT_MIN)
            doc.fail_at(in.line, concat("node ", k, " has child ", child, ", expected a later node (", k + 1, "..", nc - 1,
                                        ") or a leaf (0..-", nc, ")"));
        if (n.feature < 0 || std::size_t(n.feature) >= features_.size())
          doc.fail_at(in.line, concat("feature index ", n.feature, " is out of range (", features_.size(), " features)"));
        if (cat_count_ > 0) {
          for (int j = 0; j < subset_size_; ++j) subsets_.push_back(cascade_int(doc, in, p[3 + j], "category mask"));
        } else {
          n.threshold = float(p[3]);
        }
        nodes_.push_back(n);
      }
      for (double v : lvv) leaves_.push_back(float(v));
      max_nodes_per_tree_ = std::max(max_nodes_per_tree_, nc);
      trees_.push_back(t);
      ++stage.ntrees;
    }
    if (stage.ntrees == 0) doc.fail_at(weak.line, "a stage has no weak classifiers");
    stages_.push_back(stage);
  }
  if (stages_.empty()) doc.fail_at(stages.line, "<stages> is empty");
  if (const xml::element* sn = doc.child(top, "stageNum")) {
    const std::vector<double> v = cascade_numbers(doc, *sn, "stageNum");
    if (v.size() != 1 || v[0] != double(stages_.size()))
      doc.fail_at(sn->line, concat("stageNum says ", (v.empty() ? -1.0 : v[0]), " but <stages> has ", stages_.size()));
  }
}

// The old "opencv-haar-classifier" format, converted like OpenCV's haar_cvt: every tree becomes
// one weak classifier, every node gets its own feature, leaves are numbered in reading order
// (left_val before right_val), the stage parent/next structure is dropped.
inline void cascade::parse_old(const detail::xml::document& doc, const detail::xml::element& top) {
  using namespace detail;
  type_ = feature_type::haar;
  cat_count_ = 0;
  subset_size_ = 0;
  const xml::element& sz = cascade_child(doc, top, "size");
  const std::vector<double> s = cascade_numbers(doc, sz, "size");
  if (s.size() != 2) doc.fail_at(sz.line, "<size> must hold 2 numbers (width height)");
  win_w_ = cascade_int(doc, sz, s[0], "width");
  win_h_ = cascade_int(doc, sz, s[1], "height");
  if (win_w_ < 3 || win_h_ < 3 || win_w_ > 4096 || win_h_ > 4096)
    doc.fail_at(sz.line, concat("window size ", win_w_, "x", win_h_, " is not in 3..4096"));
  const xml::element& stages = cascade_child(doc, top, "stages");
  for (const xml::element* se : doc.children(stages)) {
    cascade_stage stage;
    stage.threshold = float(cascade_scalar(doc, *se, "stage_threshold")) - 1e-5f;
    stage.first_tree = int(trees_.size());
    const xml::element& trees = cascade_child(doc, *se, "trees");
    for (const xml::element* te : doc.children(trees)) {
      cascade_tree t;
      t.node_ofs = int(nodes_.size());
      t.leaf_ofs = int(leaves_.size());
      const std::vector<const xml::element*> tnodes = doc.children(*te);
      const int nc = int(tnodes.size());
      if (nc == 0) doc.fail_at(te->line, "a tree has no nodes");
      int nleaves = 0;
      for (int k = 0; k < nc; ++k) {
        const xml::element& ne = *tnodes[std::size_t(k)];
        cascade_feature f = cascade_haar_feature(doc, cascade_child(doc, ne, "feature"), win_w_, win_h_);
        has_tilted_ = has_tilted_ || f.tilted;
        cascade_node n;
        n.feature = int(features_.size());
        features_.push_back(f);
        n.threshold = float(cascade_scalar(doc, ne, "threshold"));
        if (doc.child(ne, "left_val")) {
          n.left = -nleaves++;
          leaves_.push_back(float(cascade_scalar(doc, ne, "left_val")));
        } else {
          n.left = cascade_int(doc, ne, cascade_scalar(doc, ne, "left_node"), "left_node");
          if (n.left <= k || n.left >= nc) doc.fail_at(ne.line, concat("left_node ", n.left, " is not a later node of the tree"));
        }
        if (doc.child(ne, "right_val")) {
          n.right = -nleaves++;
          leaves_.push_back(float(cascade_scalar(doc, ne, "right_val")));
        } else {
          n.right = cascade_int(doc, ne, cascade_scalar(doc, ne, "right_node"), "right_node");
          if (n.right <= k || n.right >= nc) doc.fail_at(ne.line, concat("right_node ", n.right, " is not a later node of the tree"));
        }
        nodes_.push_back(n);
      }
      if (nleaves != nc + 1) doc.fail_at(te->line, concat("a tree of ", nc, " nodes has ", nleaves, " leaves, expected ", nc + 1));
      t.node_count = nc;
      max_nodes_per_tree_ = std::max(max_nodes_per_tree_, nc);
      trees_.push_back(t);
      ++stage.ntrees;
    }
    if (stage.ntrees == 0) doc.fail_at(trees.line, "a stage has no trees");
    stages_.push_back(stage);
  }
  if (stages_.empty()) doc.fail_at(stages.line, "<stages> is empty");
}

inline void cascade::finish(const detail::xml::document& doc, int line) {
  if (!std::isfinite(stages_[0].threshold)) doc.fail_at(line, "non-finite stage threshold");
  for (const auto& st : stages_)
    if (!std::isfinite(st.threshold)) doc.fail_at(line, "non-finite stage threshold");
  for (float v : leaves_)
    if (!std::isfinite(v)) doc.fail_at(line, "non-finite leaf value");
  for (const auto& n : nodes_)
    if (!std::isfinite(n.threshold)) doc.fail_at(line, "non-finite node threshold");
}

// ---------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------
namespace detail {

// OpenCV 4.6 cv::resize(src, dst, (dw, dh), INTER_LINEAR_EXACT) for 8-bit gray, bit-exact: this
// is what the cascade detector uses for its pyramid (FeatureEvaluator::setImage). Coefficients
// are 8.8 fixed point from the double position (dx + 0.5) * r - 0.5, r = 1 / (dw / sw); the
// horizontal pass keeps 8.8 values, the vertical pass rounds (h0*c0 + h1*c1 + 2^15) >> 16.
// Positions left of (right of) the source take its first (last) pixel / row.
struct linear_exact_axis {
  std::vector<int> ofs;  // source index of the first tap
  std::vector<std::uint32_t> c0, c1;
  int lo = 0, hi = 0;  // [0, lo): before the source; [hi, n): after it
  linear_exact_axis(int src, int dst) : ofs(static_cast<std::size_t>(dst), 0), c0(static_cast<std::size_t>(dst), 0), c1(static_cast<std::size_t>(dst), 0) {
    const double inv_scale = double(dst) / src;
    const double scale = 1. / inv_scale;
    lo = 0;
    hi = dst;
    for (int v = 0; v < dst; ++v) {
      const double f = fp_round(scale * (double(v) + 0.5)) - 0.5;  // softdouble: never fused
      const int iv = int(std::floor(f));
      if (iv >= 0 && src > 1) {
        if (iv < src - 1) {
          ofs[std::size_t(v)] = iv;
          const std::uint32_t k1 = std::uint32_t(std::lrint((f - double(iv)) * 256.0));
          c1[std::size_t(v)] = k1;
          c0[std::size_t(v)] = k1 < 256u ? 256u - k1 : 0u;
        } else {
          ofs[std::size_t(v)] = src - 1;
          hi = std::min(hi, v);
        }
      } else {
        lo = std::max(lo, v + 1);
      }
    }
  }
};

inline void resize_linear_exact_cv(const std::uint8_t* src, int sw, int sh, std::uint8_t* dst, int dw, int dh) {
  if (dw == sw && dh == sh) {
    std::copy(src, src + std::size_t(sw) * sh, dst);
    return;
  }
  const linear_exact_axis ax(sw, dw), ay(sh, dh);
  const int xlo = std::min(ax.lo, ax.hi), xhi = ax.hi;
  // horizontal pass of source row sy into out (8.8 fixed point, uint16 range)
  auto hpass = [&](int sy, std::vector<std::uint32_t>& out) {
    const std::uint8_t* p = src + std::size_t(sy) * sw;
    int i = 0;
    for (; i < xlo; ++i) out[std::size_t(i)] = std::uint32_t(p[0]) << 8;
    for (; i < xhi; ++i) {
      const std::uint8_t* px = p + ax.ofs[std::size_t(i)];
      out[std::size_t(i)] = ax.c0[std::size_t(i)] * px[0] + ax.c1[std::size_t(i)] * px[1];
    }
    const std::uint32_t last = std::uint32_t(p[ax.ofs[std::size_t(dw - 1)]]) << 8;
    for (; i < dw; ++i) out[std::size_t(i)] = last;
  };
  std::vector<std::uint32_t> h0(static_cast<std::size_t>(dw)), h1(static_cast<std::size_t>(dw));
  int row0 = -1, row1 = -1;  // source rows held in h0, h1
  for (int dy = 0; dy < dh; ++dy) {
    std::uint8_t* d = dst + std::size_t(dy) * dw;
    if (dy < ay.lo || dy >= ay.hi) {
      const int sy = dy < ay.lo ? 0 : sh - 1;
      if (row0 != sy) {
        hpass(sy, h0);
        row0 = sy;
        if (row1 == sy) row1 = -1;
      }
      for (int i = 0; i < dw; ++i) d[i] = std::uint8_t(std::min<std::uint32_t>((h0[std::size_t(i)] + 128u) >> 8, 255u));
      continue;
    }
    const int sy = ay.ofs[std::size_t(dy)];
    if (row0 != sy) {
      if (row1 == sy) {
        std::swap(h0, h1);
        row0 = sy;
        row1 = -1;
      } else {
        hpass(sy, h0);
        row0 = sy;
      }
    }
    if (row1 != sy + 1) {
      hpass(sy + 1, h1);
      row1 = sy + 1;
    }
    const std::uint32_t b0 = ay.c0[std::size_t(dy)], b1 = ay.c1[std::size_t(dy)];
    for (int i = 0; i < dw; ++i) {
      const std::uint32_t v = (h0[std::size_t(i)] * b0 + h1[std::size_t(i)] * b1 + 32768u) >> 16;
      d[i] = std::uint8_t(v > 255u ? 255u : v);
    }
  }
}

}  // namespace detail

inline void cascade::build_level(const image& gray, float scale, detail::level_data& L) const {
  const int W = gray.width(), H = gray.height();
  L.scale = scale;
  L.sw = detail::cv_round(float(W) / scale);
  L.sh = detail::cv_round(float(H) / scale);
  L.step = scale >= 2.f ? 1 : 2;
  L.stride = L.sw + 1;
  const int sw = L.sw, sh = L.sh, st = L.stride;
  L.img.resize(std::size_t(sw) * sh);
  detail::resize_linear_exact_cv(gray.data(), W, H, L.img.data(), sw, sh);
  const std::size_t plane = std::size_t(st) * (sh + 1);
  L.tofs = plane;
  L.sum.assign(has_tilted_ ? 2 * plane : plane, 0u);
  const bool need_sq = type_ == feature_type::haar;
  if (need_sq) L.sq.assign(plane, 0u);
  std::uint32_t* S = L.sum.data();
  std::uint32_t* Q = need_sq ? L.sq.data() : nullptr;
  for (int y = 0; y < sh; ++y) {
    const std::uint8_t* p = L.img.data() + std::size_t(y) * sw;
    std::uint32_t* srow = S + std::size_t(y + 1) * st;
    const std::uint32_t* sprev = S + std::size_t(y) * st;
    std::uint32_t s = 0;
    srow[0] = 0;
    if (Q) {
      std::uint32_t* qrow = Q + std::size_t(y + 1) * st;
      const std::uint32_t* qprev = Q + std::size_t(y) * st;
      std::uint32_t q = 0;
      qrow[0] = 0;
      for (int x = 0; x < sw; ++x) {
        s += p[x];
        q += std::uint32_t(p[x]) * p[x];
        srow[x + 1] = sprev[x + 1] + s;
        qrow[x + 1] = qprev[x + 1] + q;
      }
    } else {
      for (int x = 0; x < sw; ++x) {
        s += p[x];
        srow[x + 1] = sprev[x + 1] + s;
      }
    }
  }
  if (has_tilted_) {
    // T(X, Y) = sum of I(x, y) over y < Y, |x - X + 1| <= Y - 1 - y.  With Tri(a, b) = T(a + 1, b + 1):
    // Tri(a, b) = Tri(a-1, b-1) + Tri(a+1, b-1) - Tri(a, b-2) + I(a, b) + I(a, b-1), over a padded
    // column range where Tri is provably zero outside.
    const int pad = sh + 2;
    const int n = sw + 2 * pad;
    std::vector<std::uint32_t> r2(std::size_t(n), 0u), r1(std::size_t(n), 0u), r0(std::size_t(n), 0u);
    std::uint32_t* T = S + L.tofs;
    auto pix = [&](int a, int b) -> std::uint32_t {
      if (a < 0 || a >= sw || b < 0 || b >= sh) return 0u;
      return L.img[std::size_t(b) * sw + a];
    };
    for (int b = 0; b < sh; ++b) {
      for (int i = 0; i < n; ++i) {
        const int a = i - pad;
        const std::uint32_t left = i > 0 ? r1[std::size_t(i - 1)] : 0u;
        const std::uint32_t right = i + 1 < n ? r1[std::size_t(i + 1)] : 0u;
        r0[std::size_t(i)] = left + right - r2[std::size_t(i)] + pix(a, b) + pix(a, b - 1);
      }
      // T row b+1, columns X = 0..sw: Tri(X-1, b)
      std::uint32_t* trow = T + std::size_t(b + 1) * st;
      for (int X = 0; X <= sw; ++X) trow[X] = r0[std::size_t(X - 1 + pad)];
      std::swap(r2, r1);
      std::swap(r1, r0);
    }
  }
}

namespace detail {

// A Haar feature compiled for one pyramid level: offsets relative to the window's top-left
// integral entry (sum plane, or the tilted plane for tilted features).
struct opt_haar {
  int ofs[3][4];
  float weight[3];
};
struct opt_lbp {
  int ofs[16];
};

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// AVX2 path: every cascade whose trees have at most 7 nodes (all of Debian's), upright or tilted
// Haar features, or LBP. Eight neighbouring windows of a row are evaluated at once. The integral
// images are split into `step` column planes (plane j holds columns j, j + step, ...), so the
// windows x = step*k, k = k0..k0+7, read each rectangle corner with one contiguous load. Every
// lane does exactly the scalar arithmetic (int32 wrap-around sums, float feature values, double
// stage sums, double variance), with separate multiply and add instructions (the target has no
// FMA), so the results are bit-identical to the scalar path; the stage-0 skip rule is applied
// lane by lane, in order. Trees are walked in all lanes at once: node j's decision is computed
// only when some lane stands on it, and a lane moves to its child with a blend (children always
// have higher indices than their parent, checked on load, so one pass over the nodes suffices).
// ---------------------------------------------------------------------------------------------
namespace detail {

struct simd_node {
  int ofs[16];   // Haar: 4 corners x up to 3 rectangles; LBP: the 4x4 grid corners
  float w[3];    // Haar weights
  float thr;     // Haar threshold
  int three;     // Haar: third rectangle present (weight != 0)
  int left, right;  // tree walk state of the children: node index > 0, or -1 - leaf
  std::int32_t subset[8];  // LBP category mask
};
struct simd_weak {
  int first_node = 0, n = 1;
  float leaves[8] = {0, 0, 0, 0, 0, 0, 0, 0};
};
struct simd_level {
  std::vector<std::uint32_t> sum, sq;  // step planes of pstride x (sh + 1); tilted planes follow the sum's
  int pstride = 0;
  std::size_t plane = 0, tilt_base = 0;
  int nk = 0, step = 1;
  int nofs[4] = {0, 0, 0, 0};
  double area = 0;
};

// (dx, dy) of a corner relative to the window -> offset in the plane layout
inline int simd_corner(const simd_level& S, int dx, int dy) {
  return int(std::size_t(dx % S.step) * S.plane) + dy * S.pstride + dx / S.step;
}

inline void simd_planes(const std::uint32_t* src, int stride, int sw, int sh, int step, int pstride, std::uint32_t* dst) {
  const std::size_t plane = std::size_t(pstride) * std::size_t(sh + 1);
  for (int j = 0; j < step; ++j)
    for (int y = 0; y <= sh; ++y) {
      const std::uint32_t* s = src + std::size_t(y) * stride;
      std::uint32_t* d = dst + std::size_t(j) * plane + std::size_t(y) * pstride;
      int c = 0;
      for (int x = j; x <= sw; x += step) d[c++] = s[x];
    }
}

#if HOUSENET_X86
__attribute__((target("avx2"))) inline __m256i simd_sum4(const std::uint32_t* p, const int* o) {
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + o[0]));
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + o[1]));
  const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + o[2]));
  const __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + o[3]));
  return _mm256_add_epi32(_mm256_sub_epi32(_mm256_sub_epi32(a, b), c), d);
}

__attribute__((target("avx2"))) inline __m256d simd_u32_to_pd(__m128i v) {
  const __m256d d = _mm256_cvtepi32_pd(v);  // as signed
  const __m256d neg = _mm256_cmp_pd(d, _mm256_setzero_pd(), _CMP_LT_OQ);
  return _mm256_add_pd(d, _mm256_and_pd(neg, _mm256_set1_pd(4294967296.0)));
}

// Haar node decision per lane: all-ones where (feature value * inv) < threshold.
__attribute__((target("avx2"))) inline __m256 simd_haar_left(const std::uint32_t* p, __m256 inv, const simd_node& nd) {
  const __m256 f0 = _mm256_cvtepi32_ps(simd_sum4(p, nd.ofs));
  const __m256 f1 = _mm256_cvtepi32_ps(simd_sum4(p, nd.ofs + 4));
  // each product rounded on its own (no FMA contraction, see fp_round)
  __m256 a = _mm256_mul_ps(_mm256_set1_ps(nd.w[0]), f0), b = _mm256_mul_ps(_mm256_set1_ps(nd.w[1]), f1);
  __asm__("" : "+x"(a), "+x"(b));
  __m256 v = _mm256_add_ps(a, b);
  if (nd.three) {
    const __m256 f2 = _mm256_cvtepi32_ps(simd_sum4(p, nd.ofs + 8));
    __m256 c = _mm256_mul_ps(_mm256_set1_ps(nd.w[2]), f2);
    __asm__("" : "+x"(c));
    v = _mm256_add_ps(v, c);
  }
  v = _mm256_mul_ps(v, inv);
  return _mm256_cmp_ps(v, _mm256_set1_ps(nd.thr), _CMP_LT_OQ);
}

__attribute__((target("avx2"))) inline __m256i simd_blk(const __m256i* L, int a, int b, int c, int d) {
  return _mm256_add_epi32(_mm256_sub_epi32(_mm256_sub_epi32(L[a], L[b]), L[c]), L[d]);
}
// (x >= c) ? v : 0, per lane
__attribute__((target("avx2"))) inline __m256i simd_ge(__m256i x, __m256i c, int v) {
  return _mm256_andnot_si256(_mm256_cmpgt_epi32(c, x), _mm256_set1_epi32(v));
}

// LBP node decision per lane: all-ones where the code's bit is set in the node's mask.
__attribute__((target("avx2"))) inline __m256 simd_lbp_left(const std::uint32_t* p, const simd_node& nd) {
  __m256i L[16];
  for (int k = 0; k < 16; ++k) L[k] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + nd.ofs[k]));
  const __m256i c = simd_blk(L, 5, 6, 9, 10);
  const __m256i code = _mm256_or_si256(
      _mm256_or_si256(_mm256_or_si256(simd_ge(simd_blk(L, 0, 1, 4, 5), c, 128), simd_ge(simd_blk(L, 1, 2, 5, 6), c, 64)),
                      _mm256_or_si256(simd_ge(simd_blk(L, 2, 3, 6, 7), c, 32), simd_ge(simd_blk(L, 6, 7, 10, 11), c, 16))),
      _mm256_or_si256(_mm256_or_si256(simd_ge(simd_blk(L, 10, 11, 14, 15), c, 8), simd_ge(simd_blk(L, 9, 10, 13, 14), c, 4)),
                      _mm256_or_si256(simd_ge(simd_blk(L, 8, 9, 12, 13), c, 2), simd_ge(simd_blk(L, 4, 5, 8, 9), c, 1))));
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i subset = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(nd.subset));
  const __m256i word = _mm256_permutevar8x32_epi32(subset, _mm256_srli_epi32(code, 5));
  const __m256i b = _mm256_and_si256(_mm256_srlv_epi32(word, _mm256_and_si256(code, _mm256_set1_epi32(31))), one);
  return _mm256_castsi256_ps(_mm256_cmpeq_epi32(b, one));
}

template <bool Haar>
__attribute__((target("avx2"))) inline __m256 simd_left(const std::uint32_t* p, __m256 inv, const simd_node& nd) {
  if (Haar) return simd_haar_left(p, inv, nd);
  return simd_lbp_left(p, nd);
}

// Sum of one stage's weak classifiers in 8 lanes; returns the lanes whose sum is NOT below the
// threshold.
template <bool Haar>
__attribute__((target("avx2"))) inline int simd_stage(const std::uint32_t* p, __m256 inv, const simd_weak* wk, int n,
                                                      const simd_node* nodes, double thr) {
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  for (int i = 0; i < n; ++i, ++wk) {
    __m256 leaf;
    if (wk->n == 1) {
      const __m256 m = simd_left<Haar>(p, inv, nodes[wk->first_node]);
      leaf = _mm256_blendv_ps(_mm256_set1_ps(wk->leaves[1]), _mm256_set1_ps(wk->leaves[0]), m);
    } else {
      __m256i state = _mm256_setzero_si256();
      const simd_node* nd = nodes + wk->first_node;
      for (int j = 0; j < wk->n; ++j) {
        const __m256 at = _mm256_castsi256_ps(_mm256_cmpeq_epi32(state, _mm256_set1_epi32(j)));
        if (!_mm256_movemask_ps(at)) continue;
        const __m256 m = simd_left<Haar>(p, inv, nd[j]);
        const __m256 child = _mm256_blendv_ps(_mm256_castsi256_ps(_mm256_set1_epi32(nd[j].right)),
                                              _mm256_castsi256_ps(_mm256_set1_epi32(nd[j].left)), m);
        state = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(state), child, at));
      }
      // every lane is on a leaf now: state = -1 - leaf
      const __m256i leaf_idx = _mm256_sub_epi32(_mm256_set1_epi32(-1), state);
      leaf = _mm256_permutevar8x32_ps(_mm256_loadu_ps(wk->leaves), leaf_idx);
    }
    lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(leaf)));
    hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(leaf, 1)));
  }
  const __m256d t = _mm256_set1_pd(thr);
  return _mm256_movemask_pd(_mm256_cmp_pd(lo, t, _CMP_NLT_UQ)) |
         (_mm256_movemask_pd(_mm256_cmp_pd(hi, t, _CMP_NLT_UQ)) << 4);
}

// One row of windows (k = 0..nk-1); appends the k of every face window to hits.
template <bool Haar>
__attribute__((target("avx2"))) inline void simd_row(const simd_level& S, int y, const simd_weak* weak,
                                                     const simd_node* nodes, const int* stage_n,
                                                     const double* stage_thr, int nstages, std::vector<int>& hits) {
  const std::size_t rowbase = std::size_t(y) * S.pstride;
  const std::uint32_t* sum = S.sum.data() + rowbase;
  const std::uint32_t* sq = Haar ? S.sq.data() + rowbase : nullptr;
  int next = 0;  // next position the scan visits (skip rule)
  const __m256d area = _mm256_set1_pd(S.area);
  for (int k0 = 0; k0 < S.nk; k0 += 8) {
    const int valid = S.nk - k0 >= 8 ? 0xff : ((1 << (S.nk - k0)) - 1);
    const std::uint32_t* p = sum + k0;
    __m256 inv = _mm256_set1_ps(1.f);
    int gate = valid;
    if (Haar) {
      const __m256i s1 = simd_sum4(p, S.nofs);
      const __m256i s2 = simd_sum4(sq + k0, S.nofs);
      const __m256d s1lo = _mm256_cvtepi32_pd(_mm256_castsi256_si128(s1));
      const __m256d s1hi = _mm256_cvtepi32_pd(_mm256_extracti128_si256(s1, 1));
      const __m256d s2lo = simd_u32_to_pd(_mm256_castsi256_si128(s2));
      const __m256d s2hi = simd_u32_to_pd(_mm256_extracti128_si256(s2, 1));
      __m256d alo = _mm256_mul_pd(area, s2lo), blo = _mm256_mul_pd(s1lo, s1lo);
      __m256d ahi = _mm256_mul_pd(area, s2hi), bhi = _mm256_mul_pd(s1hi, s1hi);
      __asm__("" : "+x"(alo), "+x"(blo), "+x"(ahi), "+x"(bhi));  // no FMA contraction
      const __m256d nflo = _mm256_sub_pd(alo, blo);
      const __m256d nfhi = _mm256_sub_pd(ahi, bhi);
      const __m256d one = _mm256_set1_pd(1.0);
      const __m128 ilo = _mm256_cvtpd_ps(_mm256_div_pd(one, _mm256_sqrt_pd(nflo)));
      const __m128 ihi = _mm256_cvtpd_ps(_mm256_div_pd(one, _mm256_sqrt_pd(nfhi)));
      inv = _mm256_set_m128(ihi, ilo);
      const __m256d tenth = _mm256_set1_pd(1e-1), zero = _mm256_setzero_pd();
      const __m256d oklo = _mm256_and_pd(_mm256_cmp_pd(nflo, zero, _CMP_GT_OQ),
                                         _mm256_cmp_pd(_mm256_mul_pd(area, _mm256_cvtps_pd(ilo)), tenth, _CMP_LT_OQ));
      const __m256d okhi = _mm256_and_pd(_mm256_cmp_pd(nfhi, zero, _CMP_GT_OQ),
                                         _mm256_cmp_pd(_mm256_mul_pd(area, _mm256_cvtps_pd(ihi)), tenth, _CMP_LT_OQ));
      gate &= _mm256_movemask_pd(oklo) | (_mm256_movemask_pd(okhi) << 4);
    }
    int pass0 = 0;
    if (gate) pass0 = simd_stage<Haar>(p, inv, weak, stage_n[0], nodes, stage_thr[0]) & gate;
    // the skip rule, lane by lane: a window rejected by stage 0 (gate passed, stage 0 failed)
    // makes the scan skip the next position
    int active = 0;
    for (int i = 0; i < 8; ++i) {
      const int k = k0 + i;
      if (!((valid >> i) & 1)) break;
      if (k < next) continue;
      const bool g = (gate >> i) & 1, s0 = (pass0 >> i) & 1;
      if (g && !s0) {
        next = k + 2;
      } else {
        next = k + 1;
        if (s0) active |= 1 << i;
      }
    }
    if (!active) continue;
    std::size_t first = std::size_t(stage_n[0]);
    for (int si = 1; si < nstages && active; ++si) {
      active &= simd_stage<Haar>(p, inv, weak + first, stage_n[si], nodes, stage_thr[si]);
      first += std::size_t(stage_n[si]);
    }
    for (int i = 0; i < 8; ++i)
      if ((active >> i) & 1) hits.push_back(k0 + i);
  }
}
#endif

}  // namespace detail

inline bool cascade::simd_usable() const {
#if HOUSENET_X86
  return max_nodes_per_tree_ <= 7 && active_isa() != isa::scalar;
#else
  return false;
#endif
}

inline void cascade::scan_level_simd(const detail::level_data& L, std::vector<rect>& out) const {
#if HOUSENET_X86
  using namespace detail;
  const int W = win_w_, H = win_h_;
  const int nx = L.sw - W, ny = L.sh - H;
  if (nx < 0 || ny < 0) return;
  simd_level S;
  S.step = L.step;
  S.nk = nx / S.step + 1;
  S.pstride = (L.sw + 1 + S.step - 1) / S.step + 16;
  S.plane = std::size_t(S.pstride) * std::size_t(L.sh + 1);
  const std::size_t planes = S.plane * std::size_t(S.step);
  S.tilt_base = planes;
  S.sum.assign((has_tilted_ ? 2 * planes : planes) + 16, 0u);
  simd_planes(L.sum.data(), L.stride, L.sw, L.sh, S.step, S.pstride, S.sum.data());
  if (has_tilted_) simd_planes(L.sum.data() + L.tofs, L.stride, L.sw, L.sh, S.step, S.pstride, S.sum.data() + planes);
  const bool haar = type_ == feature_type::haar;
  if (haar) {
    S.sq.assign(planes + 16, 0u);
    simd_planes(L.sq.data(), L.stride, L.sw, L.sh, S.step, S.pstride, S.sq.data());
  }
  S.nofs[0] = simd_corner(S, 1, 1);
  S.nofs[1] = simd_corner(S, W - 1, 1);
  S.nofs[2] = simd_corner(S, 1, H - 1);
  S.nofs[3] = simd_corner(S, W - 1, H - 1);
  S.area = double(W - 2) * double(H - 2);

  std::vector<simd_weak> weak;
  std::vector<simd_node> nodes;
  std::vector<int> stage_n;
  std::vector<double> stage_thr;
  auto state = [](int child) { return child > 0 ? child : -1 + child; };
  for (const cascade_stage& stg : stages_) {
    stage_n.push_back(stg.ntrees);
    stage_thr.push_back(double(stg.threshold));
    for (int ti = 0; ti < stg.ntrees; ++ti) {
      const cascade_tree& t = trees_[std::size_t(stg.first_tree + ti)];
      simd_weak w;
      w.first_node = int(nodes.size());
      w.n = t.node_count;
      // OpenCV's stump path takes leafValues[0] / [1] as the left / right leaf
      for (int k = 0; k <= t.node_count; ++k) w.leaves[k] = leaves_[std::size_t(t.leaf_ofs + k)];
      for (int j = 0; j < t.node_count; ++j) {
        const cascade_node& nd = nodes_[std::size_t(t.node_ofs + j)];
        const cascade_feature& f = features_[std::size_t(nd.feature)];
        simd_node s{};
        s.left = state(nd.left);
        s.right = state(nd.right);
        if (haar) {
          const int base = f.tilted ? int(S.tilt_base) : 0;
          for (int k = 0; k < f.nrects; ++k) {
            const cascade_rect& r = f.r[k];
            s.w[k] = r.weight;
            if (!f.tilted) {
              s.ofs[4 * k + 0] = simd_corner(S, r.x, r.y);
              s.ofs[4 * k + 1] = simd_corner(S, r.x + r.w, r.y);
              s.ofs[4 * k + 2] = simd_corner(S, r.x, r.y + r.h);
              s.ofs[4 * k + 3] = simd_corner(S, r.x + r.w, r.y + r.h);
            } else {
              s.ofs[4 * k + 0] = base + simd_corner(S, r.x, r.y);
              s.ofs[4 * k + 1] = base + simd_corner(S, r.x - r.h, r.y + r.h);
              s.ofs[4 * k + 2] = base + simd_corner(S, r.x + r.w, r.y + r.w);
              s.ofs[4 * k + 3] = base + simd_corner(S, r.x + r.w - r.h, r.y + r.w + r.h);
            }
          }
          s.three = f.nrects == 3 && s.w[2] != 0.0f;
          s.thr = nd.threshold;
        } else {
          const cascade_rect& r = f.r[0];
          for (int yy = 0; yy < 4; ++yy)
            for (int xx = 0; xx < 4; ++xx) s.ofs[yy * 4 + xx] = simd_corner(S, r.x + xx * r.w, r.y + yy * r.h);
          for (int k = 0; k < 8; ++k)
            s.subset[k] = subsets_[std::size_t(t.node_ofs + j) * std::size_t(subset_size_) + std::size_t(k)];
        }
        nodes.push_back(s);
      }
      weak.push_back(w);
    }
  }
  const float scale = L.scale;
  const int ww = cv_round(float(W) * scale), wh = cv_round(float(H) * scale);
  const int nrows = ny / S.step + 1;
  const std::size_t nblocks = std::size_t(std::min<int>(nrows, std::max(1, num_threads()) * 4));
  std::vector<std::vector<rect>> found(nblocks);
  parallel_blocks(nblocks, [&](std::size_t b) {
    const auto r = block_range(std::size_t(nrows), nblocks, b);
    std::vector<int> hits;
    for (std::size_t ri = r.first; ri < r.second; ++ri) {
      const int y = int(ri) * S.step;
      hits.clear();
      if (haar)
        simd_row<true>(S, y, weak.data(), nodes.data(), stage_n.data(), stage_thr.data(), int(stage_n.size()), hits);
      else
        simd_row<false>(S, y, weak.data(), nodes.data(), stage_n.data(), stage_thr.data(), int(stage_n.size()), hits);
      for (int k : hits)
        found[b].push_back(rect{cv_round(float(k * S.step) * scale), cv_round(float(y) * scale), ww, wh});
    }
  });
  for (auto& v : found) out.insert(out.end(), v.begin(), v.end());
#else
  (void)L;
  (void)out;
#endif
}

inline void cascade::scan_level(const detail::level_data& L, std::vector<rect>& out) const {
  using namespace detail;
  const int st = L.stride;
  const int W = win_w_, H = win_h_;
  const int nx = L.sw - W, ny = L.sh - H;  // last valid x, y
  if (nx < 0 || ny < 0) return;
  const int step = L.step;
  const float scale = L.scale;
  const int ww = cv_round(float(W) * scale), wh = cv_round(float(H) * scale);
  if (simd_usable()) {
    scan_level_simd(L, out);
    return;
  }
  const std::uint32_t* S = L.sum.data();
  const std::uint32_t* Q = L.sq.data();

  // compile features for this stride
  std::vector<opt_haar> oh;
  std::vector<opt_lbp> ol;
  if (type_ == feature_type::haar) {
    oh.resize(features_.size());
    for (std::size_t i = 0; i < features_.size(); ++i) {
      const cascade_feature& f = features_[i];
      opt_haar& o = oh[i];
      for (int k = 0; k < 3; ++k) {
        if (k >= f.nrects) {
          o.weight[k] = 0.f;
          for (int j = 0; j < 4; ++j) o.ofs[k][j] = 0;
          continue;
        }
        const cascade_rect& r = f.r[k];
        o.weight[k] = r.weight;
        if (!f.tilted) {
          o.ofs[k][0] = r.x + st * r.y;
          o.ofs[k][1] = r.x + r.w + st * r.y;
          o.ofs[k][2] = r.x + st * (r.y + r.h);
          o.ofs[k][3] = r.x + r.w + st * (r.y + r.h);
        } else {
          const int t = int(L.tofs);
          o.ofs[k][0] = t + r.x + st * r.y;
          o.ofs[k][1] = t + r.x - r.h + st * (r.y + r.h);
          o.ofs[k][2] = t + r.x + r.w + st * (r.y + r.w);
          o.ofs[k][3] = t + r.x + r.w - r.h + st * (r.y + r.w + r.h);
        }
      }
    }
  } else {
    ol.resize(features_.size());
    for (std::size_t i = 0; i < features_.size(); ++i) {
      const cascade_rect& r = features_[i].r[0];
      for (int yy = 0; yy < 4; ++yy)
        for (int xx = 0; xx < 4; ++xx) ol[i].ofs[yy * 4 + xx] = (r.x + xx * r.w) + st * (r.y + yy * r.h);
    }
  }

  // normalisation rectangle (1, 1, W-2, H-2)
  const int n0 = 1 + st * 1, n1 = (W - 1) + st * 1, n2 = 1 + st * (H - 1), n3 = (W - 1) + st * (H - 1);
  const double area = double(W - 2) * double(H - 2);

  auto sum4 = [](const std::uint32_t* p, const int* o) -> int {
    return int(std::int32_t(p[o[0]] - p[o[1]] - p[o[2]] + p[o[3]]));
  };
  auto haar_value = [&](const std::uint32_t* p, const opt_haar& o, float inv) -> float {
    float v = fp_round(o.weight[0] * float(sum4(p, o.ofs[0]))) + fp_round(o.weight[1] * float(sum4(p, o.ofs[1])));
    if (o.weight[2] != 0.0f) v += fp_round(o.weight[2] * float(sum4(p, o.ofs[2])));
    return v * inv;
  };
  auto lbp_code = [](const std::uint32_t* p, const opt_lbp& f) -> int {
    const int* o = f.ofs;
    auto blk = [&](int a, int b, int c, int d) { return int(std::int32_t(p[o[a]] - p[o[b]] - p[o[c]] + p[o[d]])); };
    const int c = blk(5, 6, 9, 10);
    return (blk(0, 1, 4, 5) >= c ? 128 : 0) | (blk(1, 2, 5, 6) >= c ? 64 : 0) | (blk(2, 3, 6, 7) >= c ? 32 : 0) |
           (blk(6, 7, 10, 11) >= c ? 16 : 0) | (blk(10, 11, 14, 15) >= c ? 8 : 0) | (blk(9, 10, 13, 14) >= c ? 4 : 0) |
           (blk(8, 9, 12, 13) >= c ? 2 : 0) | (blk(4, 5, 8, 9) >= c ? 1 : 0);
  };

  // Result of the cascade at (x, y): 1 face, 0 rejected by stage 0, < 0 other rejections.
  auto run_at = [&](int x, int y) -> int {
    const std::uint32_t* p = S + std::size_t(y) * st + x;
    float inv = 1.f;
    if (type_ == feature_type::haar) {
      const std::uint32_t* q = Q + std::size_t(y) * st + x;
      const int s1 = int(std::int32_t(p[n0] - p[n1] - p[n2] + p[n3]));
      const std::uint32_t s2 = q[n0] - q[n1] - q[n2] + q[n3];
      double nf = detail::fp_round(area * double(s2)) - detail::fp_round(double(s1) * double(s1));
      if (!(nf > 0.)) return -1;
      nf = std::sqrt(nf);
      inv = float(1. / nf);
      if (!(area * double(inv) < 1e-1)) return -1;
    }
    const int nstages = int(stages_.size());
    for (int si = 0; si < nstages; ++si) {
      const cascade_stage& stg = stages_[std::size_t(si)];
      double sum = 0;
      for (int ti = 0; ti < stg.ntrees; ++ti) {
        const cascade_tree& t = trees_[std::size_t(stg.first_tree + ti)];
        int idx = 0;
        do {
          const int ni = t.node_ofs + idx;
          const cascade_node& nd = nodes_[std::size_t(ni)];
          if (type_ == feature_type::haar) {
            const double v = haar_value(p, oh[std::size_t(nd.feature)], inv);
            idx = v < double(nd.threshold) ? nd.left : nd.right;
          } else {
            const int c = lbp_code(p, ol[std::size_t(nd.feature)]);
            const std::int32_t* subset = subsets_.data() + std::size_t(ni) * subset_size_;
            idx = (std::uint32_t(subset[c >> 5]) & (1u << (c & 31))) ? nd.left : nd.right;
          }
        } while (idx > 0);
        sum += double(leaves_[std::size_t(t.leaf_ofs - idx)]);
      }
      if (sum < double(stg.threshold)) return -si;
    }
    return 1;
  };

  const int nrows = ny / step + 1;
  const std::size_t nblocks = std::size_t(std::min<int>(nrows, std::max(1, num_threads()) * 4));
  std::vector<std::vector<rect>> found(nblocks);
  parallel_blocks(nblocks, [&](std::size_t b) {
    const auto r = block_range(std::size_t(nrows), nblocks, b);
    for (std::size_t ri = r.first; ri < r.second; ++ri) {
      const int y = int(ri) * step;
      for (int x = 0; x <= nx; x += step) {
        const int res = run_at(x, y);
        if (res > 0)
          found[b].push_back(rect{cv_round(float(x) * scale), cv_round(float(y) * scale), ww, wh});
        if (res == 0) x += step;
      }
    }
  });
  for (auto& v : found) out.insert(out.end(), v.begin(), v.end());
}

inline std::vector<rect> cascade::detect_candidates(const image& img, const detect_options& o) const {
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
      build_level(gray, scales[i], L);
      scan_level(L, per_level[i]);
    });
    for (const auto& v : per_level) cand.insert(cand.end(), v.begin(), v.end());
  } else {
    detail::level_data L;
    for (float s : scales) {
      build_level(gray, s, L);
      scan_level(L, cand);
    }
  }
  std::sort(cand.begin(), cand.end());
  return cand;
}

// ---------------------------------------------------------------------------------------------
// Grouping (cv::groupRectangles)
// ---------------------------------------------------------------------------------------------
inline std::vector<rect> group_rectangles(const std::vector<rect>& rects, int min_neighbors, double eps) {
  if (min_neighbors <= 0 || rects.empty()) return rects;
  const std::size_t n = rects.size();
  // union-find partition by the "similar" relation (connected components, as cv::partition)
  std::vector<std::size_t> parent(n);
  for (std::size_t i = 0; i < n; ++i) parent[i] = i;
  auto find = [&](std::size_t i) {
    while (parent[i] != i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  auto similar = [eps](const rect& a, const rect& b) {
    const double delta = eps * (std::min(a.width, b.width) + std::min(a.height, b.height)) * 0.5;
    return std::abs(a.x - b.x) <= delta && std::abs(a.y - b.y) <= delta &&
           std::abs(a.x + a.width - b.x - b.width) <= delta && std::abs(a.y + a.height - b.y - b.height) <= delta;
  };
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j)
      if (similar(rects[i], rects[j])) {
        const std::size_t a = find(i), b = find(j);
        if (a != b) parent[std::max(a, b)] = std::min(a, b);
      }
  std::vector<int> label(n, -1);
  std::vector<std::size_t> root_label(n, std::size_t(-1));
  int nclasses = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t r = find(i);
    if (root_label[r] == std::size_t(-1)) root_label[r] = std::size_t(nclasses++);
    label[i] = int(root_label[r]);
  }
  std::vector<long long> sx(static_cast<std::size_t>(nclasses), 0), sy(static_cast<std::size_t>(nclasses), 0), sw(static_cast<std::size_t>(nclasses), 0),
      sh(static_cast<std::size_t>(nclasses), 0);
  std::vector<int> cnt(static_cast<std::size_t>(nclasses), 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = std::size_t(label[i]);
    sx[c] += rects[i].x;
    sy[c] += rects[i].y;
    sw[c] += rects[i].width;
    sh[c] += rects[i].height;
    ++cnt[c];
  }
  std::vector<rect> avg(static_cast<std::size_t>(nclasses));
  for (std::size_t c = 0; c < std::size_t(nclasses); ++c) {
    const float s = 1.f / float(cnt[c]);
    // OpenCV: int sums (Rect fields) times a float, cvRound
    avg[c] = rect{detail::cv_round(float(int(sx[c])) * s), detail::cv_round(float(int(sy[c])) * s),
                  detail::cv_round(float(int(sw[c])) * s), detail::cv_round(float(int(sh[c])) * s)};
  }
  std::vector<rect> out;
  for (std::size_t i = 0; i < std::size_t(nclasses); ++i) {
    const rect r1 = avg[i];
    const int n1 = cnt[i];
    if (n1 <= min_neighbors) continue;
    bool inside = false;
    for (std::size_t j = 0; j < std::size_t(nclasses); ++j) {
      const int n2 = cnt[j];
      if (j == i || n2 <= min_neighbors) continue;
      const rect r2 = avg[j];
      const int dx = detail::cv_round(r2.width * eps), dy = detail::cv_round(r2.height * eps);
      if (r1.x >= r2.x - dx && r1.y >= r2.y - dy && r1.x + r1.width <= r2.x + r2.width + dx &&
          r1.y + r1.height <= r2.y + r2.height + dy && (n2 > std::max(3, n1) || n1 < 3)) {
        inside = true;
        break;
      }
    }
    if (!inside) out.push_back(r1);
  }
  return out;
}

HOUSENET_END_NAMESPACE

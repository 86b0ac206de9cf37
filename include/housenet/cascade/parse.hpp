// housenet/cascade/parse.hpp: reading OpenCV's cascade classifier XML into a cascade_data.
//
// WHAT THIS IS
//   detail::parse_cascade(xml, name) reads the current format (type_id
//   "opencv-cascade-classifier": stageType BOOST, featureType HAAR with 2-3 rectangles, upright or
//   tilted, or LBP with categorical splits; stumps and trees) and the old
//   "opencv-haar-classifier" format, converted on load as OpenCV's haar_cvt does. Everything the
//   scans rely on is checked here (child indices, feature indices, rectangles inside the window,
//   finite numbers); anything else is one housenet::error "cascade: <name>:<line>: <what>".
//   docs/cascade.md lists the checks. cascade::load / cascade::from_string (cascade.hpp) call it.
//
//   Not API (detail): may change.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../detail/number.hpp"
#include "../detail/xml.hpp"
#include "../error.hpp"
#include "types.hpp"

HOUSENET_BEGIN_NAMESPACE
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
    if (!parse_double(b, en, v) || !std::isfinite(v))
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

inline void parse_new_format(cascade_data& cd, const xml::document& doc, const xml::element& top) {
  const xml::element& st = cascade_child(doc, top, "stageType");
  if (cascade_word(st) != "BOOST") doc.fail_at(st.line, "unsupported stageType '" + cascade_word(st) + "' (expected BOOST)");
  const xml::element& ft = cascade_child(doc, top, "featureType");
  const std::string fts = cascade_word(ft);
  if (fts == "HAAR") cd.type = cascade_feature_type::haar;
  else if (fts == "LBP") cd.type = cascade_feature_type::lbp;
  else doc.fail_at(ft.line, "unsupported featureType '" + fts + "' (expected HAAR or LBP)");
  const double w = cascade_scalar(doc, top, "width"), h = cascade_scalar(doc, top, "height");
  cd.win_w = cascade_int(doc, *doc.child(top, "width"), w, "width");
  cd.win_h = cascade_int(doc, *doc.child(top, "height"), h, "height");
  if (cd.win_w < 3 || cd.win_h < 3 || cd.win_w > 4096 || cd.win_h > 4096)
    doc.fail_at(top.line, concat("window size ", cd.win_w, "x", cd.win_h, " is not in 3..4096"));
  const xml::element& fp = cascade_child(doc, top, "featureParams");
  const xml::element& mc = cascade_child(doc, fp, "maxCatCount");
  const std::vector<double> mcv = cascade_numbers(doc, mc, "maxCatCount");
  if (mcv.size() != 1) doc.fail_at(mc.line, "<maxCatCount> must hold one number");
  cd.cat_count = cascade_int(doc, mc, mcv[0], "maxCatCount");
  if (cd.type == cascade_feature_type::haar && cd.cat_count != 0)
    doc.fail_at(mc.line, concat("maxCatCount must be 0 for HAAR features, got ", cd.cat_count));
  if (cd.type == cascade_feature_type::lbp && cd.cat_count != 256)
    doc.fail_at(mc.line, concat("maxCatCount must be 256 for LBP features, got ", cd.cat_count));
  cd.subset_size = cd.cat_count > 0 ? (cd.cat_count + 31) / 32 : 0;
  const int node_step = 3 + (cd.cat_count > 0 ? cd.subset_size : 1);

  // features
  const xml::element& feats = cascade_child(doc, top, "features");
  for (const xml::element* fe : doc.children(feats)) {
    if (cd.type == cascade_feature_type::haar) {
      cascade_feature f = cascade_haar_feature(doc, *fe, cd.win_w, cd.win_h);
      cd.has_tilted = cd.has_tilted || f.tilted;
      cd.features.push_back(f);
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
      if (!(r.x >= 0 && r.y >= 0 && r.w > 0 && r.h > 0 && (long long)r.x + 3LL * r.w <= cd.win_w &&
            (long long)r.y + 3LL * r.h <= cd.win_h))
        doc.fail_at(re.line, concat("LBP rect ", r.x, " ", r.y, " ", r.w, " ", r.h, " (3x3 blocks) lies outside the ",
                                    cd.win_w, "x", cd.win_h, " window"));
      cd.features.push_back(f);
    }
  }
  if (cd.features.empty()) doc.fail_at(feats.line, "<features> is empty");

  // stages
  const xml::element& stages = cascade_child(doc, top, "stages");
  for (const xml::element* se : doc.children(stages)) {
    cascade_stage stage;
    stage.threshold = float(cascade_scalar(doc, *se, "stageThreshold")) - 1e-5f;
    stage.first_tree = int(cd.trees.size());
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
      t.node_ofs = int(cd.nodes.size());
      t.node_count = nc;
      t.leaf_ofs = int(cd.leaves.size());
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
        if (n.feature < 0 || std::size_t(n.feature) >= cd.features.size())
          doc.fail_at(in.line, concat("feature index ", n.feature, " is out of range (", cd.features.size(), " features)"));
        if (cd.cat_count > 0) {
          for (int j = 0; j < cd.subset_size; ++j) cd.subsets.push_back(cascade_int(doc, in, p[3 + j], "category mask"));
        } else {
          n.threshold = float(p[3]);
        }
        cd.nodes.push_back(n);
      }
      for (double v : lvv) cd.leaves.push_back(float(v));
      cd.max_nodes_per_tree = std::max(cd.max_nodes_per_tree, nc);
      cd.trees.push_back(t);
      ++stage.ntrees;
    }
    if (stage.ntrees == 0) doc.fail_at(weak.line, "a stage has no weak classifiers");
    cd.stages.push_back(stage);
  }
  if (cd.stages.empty()) doc.fail_at(stages.line, "<stages> is empty");
  if (const xml::element* sn = doc.child(top, "stageNum")) {
    const std::vector<double> v = cascade_numbers(doc, *sn, "stageNum");
    if (v.size() != 1 || v[0] != double(cd.stages.size()))
      doc.fail_at(sn->line, concat("stageNum says ", (v.empty() ? -1.0 : v[0]), " but <stages> has ", cd.stages.size()));
  }
}

// The old "opencv-haar-classifier" format, converted like OpenCV's haar_cvt: every tree becomes
// one weak classifier, every node gets its own feature, leaves are numbered in reading order
// (left_val before right_val), the stage parent/next structure is dropped.
inline void parse_old_format(cascade_data& cd, const xml::document& doc, const xml::element& top) {
  cd.type = cascade_feature_type::haar;
  cd.cat_count = 0;
  cd.subset_size = 0;
  const xml::element& sz = cascade_child(doc, top, "size");
  const std::vector<double> s = cascade_numbers(doc, sz, "size");
  if (s.size() != 2) doc.fail_at(sz.line, "<size> must hold 2 numbers (width height)");
  cd.win_w = cascade_int(doc, sz, s[0], "width");
  cd.win_h = cascade_int(doc, sz, s[1], "height");
  if (cd.win_w < 3 || cd.win_h < 3 || cd.win_w > 4096 || cd.win_h > 4096)
    doc.fail_at(sz.line, concat("window size ", cd.win_w, "x", cd.win_h, " is not in 3..4096"));
  const xml::element& stages = cascade_child(doc, top, "stages");
  for (const xml::element* se : doc.children(stages)) {
    cascade_stage stage;
    stage.threshold = float(cascade_scalar(doc, *se, "stage_threshold")) - 1e-5f;
    stage.first_tree = int(cd.trees.size());
    const xml::element& trees = cascade_child(doc, *se, "trees");
    for (const xml::element* te : doc.children(trees)) {
      cascade_tree t;
      t.node_ofs = int(cd.nodes.size());
      t.leaf_ofs = int(cd.leaves.size());
      const std::vector<const xml::element*> tnodes = doc.children(*te);
      const int nc = int(tnodes.size());
      if (nc == 0) doc.fail_at(te->line, "a tree has no nodes");
      int nleaves = 0;
      for (int k = 0; k < nc; ++k) {
        const xml::element& ne = *tnodes[std::size_t(k)];
        cascade_feature f = cascade_haar_feature(doc, cascade_child(doc, ne, "feature"), cd.win_w, cd.win_h);
        cd.has_tilted = cd.has_tilted || f.tilted;
        cascade_node n;
        n.feature = int(cd.features.size());
        cd.features.push_back(f);
        n.threshold = float(cascade_scalar(doc, ne, "threshold"));
        if (doc.child(ne, "left_val")) {
          n.left = -nleaves++;
          cd.leaves.push_back(float(cascade_scalar(doc, ne, "left_val")));
        } else {
          n.left = cascade_int(doc, ne, cascade_scalar(doc, ne, "left_node"), "left_node");
          if (n.left <= k || n.left >= nc) doc.fail_at(ne.line, concat("left_node ", n.left, " is not a later node of the tree"));
        }
        if (doc.child(ne, "right_val")) {
          n.right = -nleaves++;
          cd.leaves.push_back(float(cascade_scalar(doc, ne, "right_val")));
        } else {
          n.right = cascade_int(doc, ne, cascade_scalar(doc, ne, "right_node"), "right_node");
          if (n.right <= k || n.right >= nc) doc.fail_at(ne.line, concat("right_node ", n.right, " is not a later node of the tree"));
        }
        cd.nodes.push_back(n);
      }
      if (nleaves != nc + 1) doc.fail_at(te->line, concat("a tree of ", nc, " nodes has ", nleaves, " leaves, expected ", nc + 1));
      t.node_count = nc;
      cd.max_nodes_per_tree = std::max(cd.max_nodes_per_tree, nc);
      cd.trees.push_back(t);
      ++stage.ntrees;
    }
    if (stage.ntrees == 0) doc.fail_at(trees.line, "a stage has no trees");
    cd.stages.push_back(stage);
  }
  if (cd.stages.empty()) doc.fail_at(stages.line, "<stages> is empty");
}

inline void check_finite(const cascade_data& cd, const xml::document& doc, int line) {
  if (!std::isfinite(cd.stages[0].threshold)) doc.fail_at(line, "non-finite stage threshold");
  for (const auto& st : cd.stages)
    if (!std::isfinite(st.threshold)) doc.fail_at(line, "non-finite stage threshold");
  for (float v : cd.leaves)
    if (!std::isfinite(v)) doc.fail_at(line, "non-finite leaf value");
  for (const auto& n : cd.nodes)
    if (!std::isfinite(n.threshold)) doc.fail_at(line, "non-finite node threshold");
}

// Reads a cascade file's text; `name` names it in the error messages.
inline cascade_data parse_cascade(std::string_view text, const std::string& name) {
  cascade_data cd;
  cd.name = name;
  const std::string ctx = "cascade: " + name;
  HOUSENET_CHECK(!text.empty(), ctx, ":1: empty file");
  const xml::document doc = xml::document::parse(text, ctx);
  const xml::element& root = doc.root();
  if (root.name != "opencv_storage") doc.fail_at(root.line, "the root element is <" + root.name + ">, expected <opencv_storage>");
  if (root.first_child == xml::npos) doc.fail_at(root.line, "<opencv_storage> is empty");
  const xml::element& top = doc.at(root.first_child);
  const std::string* type_id = xml::document::attribute(top, "type_id");
  if (type_id && *type_id == "opencv-haar-classifier")
    parse_old_format(cd, doc, top);
  else if (doc.child(top, "stageType") || doc.child(top, "featureType"))
    parse_new_format(cd, doc, top);
  else if (doc.child(top, "size") && doc.child(top, "stages"))
    parse_old_format(cd, doc, top);
  else
    doc.fail_at(top.line, "<" + top.name + "> is not a cascade classifier (no stageType/featureType)");
  check_finite(cd, doc, top.line);
  return cd;
}

}  // namespace detail
HOUSENET_END_NAMESPACE

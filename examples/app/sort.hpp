// examples/app/sort.hpp: one photo sorted, the way `housenet sort` does it and the web page
// (web/housenet_web.cpp) too, so that both give the same answer.
//
//   sort_photo(img, name, det, model, margin [, text])
//       finds every face of img, classifies them all in one batch (each box widened by margin
//       times its size first), draws each box with its caption ("Ravenclaw 71%") in the house
//       colour on img, and returns the JSON line of `sort --json`:
//       {"image": name, "faces": [{"box": [x, y, w, h], "label": L, "probs": {class: p, ...}}, ...]}
//       text (optional) receives the lines `sort` prints without --json.
#pragma once

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include <housenet/housenet.hpp>
#include <housenet/vision.hpp>

#include "detector.hpp"
#include "faces.hpp"
#include "json.hpp"
#include "models.hpp"

namespace app {

inline std::string sort_photo(housenet::image& img, const std::string& name, const face_detector& det,
                              const model_file& m, double margin, std::string* text = nullptr) {
  const std::vector<housenet::rect> faces = det.detect(img);
  const housenet::tensor<float> probs = classify_faces(m.net, img, faces, margin);  // [faces, k]
  const std::size_t k = m.classes.size();

  std::ostringstream out;
  out << name << ": "
      << (faces.empty() ? "no face found" : std::to_string(faces.size()) + (faces.size() == 1 ? " face" : " faces"))
      << "\n";
  json_writer j;
  j.begin_object().field("image", name).key("faces").begin_array();
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const float* p = probs.data() + i * k;
    const std::size_t best = std::size_t(std::max_element(p, p + k) - p);
    const housenet::rect& r = faces[i];
    j.begin_object().key("box").begin_array().value(r.x).value(r.y).value(r.width).value(r.height).end_array();
    j.field("label", m.classes[best]).key("probs").begin_object();
    for (std::size_t c = 0; c < k; ++c) j.field(m.classes[c], double(p[c]));
    j.end_object().end_object();
    char caption[128];
    std::snprintf(caption, sizeof caption, "%s %.0f%%", m.classes[best].c_str(), 100.0 * p[best]);
    housenet::draw_label(img, r, caption, class_colour(m.classes[best], best));
    out << "  [" << r.x << ", " << r.y << ", " << r.width << ", " << r.height << "] " << caption << "  (";
    for (std::size_t c = 0; c < k; ++c) {
      char b[96];
      std::snprintf(b, sizeof b, "%s%s %.2f", c ? ", " : "", m.classes[c].c_str(), p[c]);
      out << b;
    }
    out << ")\n";
  }
  j.end_array().end_object();
  if (text) *text = out.str();
  return j.str();
}

}  // namespace app

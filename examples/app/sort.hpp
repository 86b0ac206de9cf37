// examples/app/sort.hpp: one photo sorted, the way `housenet sort` does it and the web page
// (web/housenet_web.cpp) too, so that both give the same answer.
//
//   sort_photo(img, name, det, model, options [, text])
//       finds every face of img, classifies them all in one batch as classify.hpp's
//       face_probabilities does (each box widened by options.margin times its size first; the
//       mean over the face and its mirror unless options.flip is off; an ensemble's mean), draws
//       each box with its caption ("Ravenclaw 71%") in the house colour on img, every caption
//       inside the image and none over another (draw_labels), and returns the JSON line of
//       `sort --json`:
//       {"image": name, "faces": [{"box": [x, y, w, h], "label": L, "probs": {class: p, ...}}, ...]}
//       text (optional) receives the lines `sort` prints without --json.
//   sort_photo(img, name, det, model, margin [, text])   the same with sort's default options
#pragma once

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include <housenet/housenet.hpp>
#include <housenet/vision.hpp>

#include "classify.hpp"
#include "detector.hpp"
#include "faces.hpp"
#include "json.hpp"
#include "models.hpp"

namespace app {

inline std::string sort_photo(housenet::image& img, const std::string& name, const face_detector& det,
                              const model_file& m, const prediction_options& opt, std::string* text = nullptr) {
  const std::vector<housenet::rect> faces = det.detect(img);
  // All the faces of the photo in one batch (with their mirrors, and every ensemble member).
  const housenet::tensor<float> probs = face_probabilities(m, img, faces, opt);  // [faces, k]
  const std::size_t k = m.classes.size();

  std::ostringstream out;
  out << name << ": "
      << (faces.empty() ? "no face found" : std::to_string(faces.size()) + (faces.size() == 1 ? " face" : " faces"))
      << "\n";
  json_writer j;
  j.begin_object().field("image", name).key("faces").begin_array();
  std::vector<std::string> captions;
  std::vector<housenet::colour> colours;
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const float* p = probs.data() + i * k;
    const std::size_t best = label_of(p, k);
    const housenet::rect& r = faces[i];
    j.begin_object().key("box").begin_array().value(r.x).value(r.y).value(r.width).value(r.height).end_array();
    j.field("label", m.classes[best]).key("probs").begin_object();
    for (std::size_t c = 0; c < k; ++c) j.field(m.classes[c], double(p[c]));
    j.end_object().end_object();
    char caption[128];
    std::snprintf(caption, sizeof caption, "%s %.0f%%", m.classes[best].c_str(), 100.0 * double(p[best]));
    captions.push_back(caption);
    colours.push_back(class_colour(m.classes[best], best));
    out << "  [" << r.x << ", " << r.y << ", " << r.width << ", " << r.height << "] " << caption << "  (";
    for (std::size_t c = 0; c < k; ++c) {
      char b[96];
      std::snprintf(b, sizeof b, "%s%s %.2f", c ? ", " : "", m.classes[c].c_str(), p[c]);
      out << b;
    }
    out << ")\n";
  }
  housenet::draw_labels(img, faces, captions, colours);  // every caption inside the image, none over another
  j.end_array().end_object();
  if (text) *text = out.str();
  return j.str();
}

inline std::string sort_photo(housenet::image& img, const std::string& name, const face_detector& det,
                              const model_file& m, double margin, std::string* text = nullptr) {
  prediction_options opt;
  opt.margin = margin;
  return sort_photo(img, name, det, m, opt, text);
}

}  // namespace app

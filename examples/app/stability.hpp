// examples/app/stability.hpp: `housenet eval DIR --stability`: does a face keep its label when
// nothing about the face changes?
//
// For every image under DIR (recursively, sorted), faces found by the detector (every face, or
// the largest with --largest; with --crops each whole image is one face, as `eval` reads crops),
// labelled by the app's prediction path (classify.hpp: flip, jitter, the model or ensemble):
//   (a) mirror   the photo mirrored, faces detected again; a face counts when a detection in the
//                mirror has IoU >= 0.5 with its mirrored box (--crops: the mirrored crop)
//   (b) box      each box shifted by 5% of its width left and right, by 5% of its height up and
//                down, and scaled by 0.95 and 1.05 about its centre: 6 trials per face
//                (not with --crops: a crop has no pixels around the face)
//   (c) JPEG     the photo encoded as JPEG at quality 75 and decoded, faces detected again and
//                matched by IoU >= 0.5 (--crops: the re-encoded crop)
//   (d) identity files named <identity>__<n>: the share of identities with 2 or more files whose
//                files all get one label (the largest face of each photo; --crops: the crop)
// Each share is of the faces (trials, identities) it could be measured on; the counts say how
// many could not (a face the detector did not find again). Text, or one JSON line (--json).
#pragma once

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <housenet/vision.hpp>

#include "classify.hpp"
#include "cli.hpp"
#include "dataset.hpp"
#include "detector.hpp"
#include "files.hpp"
#include "json.hpp"
#include "models.hpp"

namespace app {

inline void add_stability_options(arg_parser& cli) {
  cli.flag("stability", "instead of scoring: how stable the labels of the faces of the photos under DIR are")
      .flag("crops", "with --stability: every image is one face crop (no detector)")
      .flag("largest", "with --stability: only the largest face of each photo");
}

struct stability_counts {
  std::size_t images = 0, faces = 0, no_face = 0;
  std::size_t mirror_found = 0, mirror_kept = 0;
  std::size_t box_trials = 0, box_kept = 0, box_faces_all_kept = 0;
  std::size_t jpeg_found = 0, jpeg_kept = 0;
  std::size_t identities = 0, identities_one_label = 0;  // identities with 2 or more images
};

// Identities with 2 or more entries, and how many of them have one label throughout. An empty
// identity counts for nothing.
inline std::pair<std::size_t, std::size_t> identity_agreement(const std::vector<std::string>& identity,
                                                              const std::vector<std::size_t>& label) {
  std::map<std::string, std::vector<std::size_t>> by;
  for (std::size_t i = 0; i < identity.size(); ++i)
    if (!identity[i].empty()) by[identity[i]].push_back(label[i]);
  std::size_t n = 0, one = 0;
  for (const auto& g : by) {
    if (g.second.size() < 2) continue;
    ++n;
    one += std::all_of(g.second.begin(), g.second.end(), [&](std::size_t l) { return l == g.second[0]; });
  }
  return {n, one};
}

inline double iou(const housenet::rect& a, const housenet::rect& b) {
  const double w = std::min(a.x + a.width, b.x + b.width) - std::max(a.x, b.x);
  const double h = std::min(a.y + a.height, b.y + b.height) - std::max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0.0;
  const double inter = w * h;
  return inter / (double(a.width) * a.height + double(b.width) * b.height - inter);
}

// The index of the box in `among` with the highest IoU with r (the first of equals), if that IoU
// is at least 0.5; else -1.
inline long best_match(const housenet::rect& r, const std::vector<housenet::rect>& among) {
  long best = -1;
  double best_iou = 0;
  for (std::size_t j = 0; j < among.size(); ++j) {
    const double v = iou(r, among[j]);
    if (v >= 0.5 && v > best_iou) best = long(j), best_iou = v;
  }
  return best;
}

// The 6 perturbations of (b).
inline std::vector<housenet::rect> shifted_boxes(const housenet::rect& r) {
  const int dx = int(std::lround(0.05 * r.width)), dy = int(std::lround(0.05 * r.height));
  return {{r.x - dx, r.y, r.width, r.height}, {r.x + dx, r.y, r.width, r.height}, {r.x, r.y - dy, r.width, r.height},
          {r.x, r.y + dy, r.width, r.height}, scaled_box(r, 0.95), scaled_box(r, 1.05)};
}

// Every image file under dir, sorted.
inline std::vector<fs::path> list_images_recursive(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw app_error("'" + dir.string() + "' is not a folder");
  std::vector<fs::path> out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file() && is_image_name(it->path())) out.push_back(it->path());
  if (ec) throw app_error("cannot list '" + dir.string() + "': " + ec.message());
  std::sort(out.begin(), out.end());
  if (out.empty()) throw app_error("'" + dir.string() + "' has no images");
  return out;
}

inline stability_counts measure_stability(const model_file& m, const face_detector& det, const fs::path& dir,
                                          bool crops, bool largest, const prediction_options& opt) {
  stability_counts s;
  std::vector<std::string> identity;
  std::vector<std::size_t> identity_label;
  const std::size_t k = m.classes.size();
  const auto faces_of = [&](const housenet::image& img) {
    if (crops) return std::vector<housenet::rect>{{0, 0, img.width(), img.height()}};
    std::vector<housenet::rect> f = det.detect(img);
    if (largest && f.size() > 1) {
      std::stable_sort(f.begin(), f.end(), [](const housenet::rect& a, const housenet::rect& b) {
        return double(a.width) * a.height > double(b.width) * b.height;
      });
      f.resize(1);
    }
    return f;
  };
  const auto labels = [&](const housenet::image& img, const std::vector<housenet::rect>& boxes) {
    const housenet::tensor<float> p = face_probabilities(m, img, boxes, opt);
    std::vector<std::size_t> l(boxes.size());
    for (std::size_t i = 0; i < boxes.size(); ++i) l[i] = label_of(p.data() + i * k, k);
    return l;
  };
  for (const fs::path& file : list_images_recursive(dir)) {
    const housenet::image img = housenet::load(file.string());
    ++s.images;
    const std::vector<housenet::rect> boxes = faces_of(img);
    if (boxes.empty()) {
      ++s.no_face;
      continue;
    }
    s.faces += boxes.size();
    const std::vector<std::size_t> base = labels(img, boxes);
    if (file.stem().string().find("__") != std::string::npos) {  // (d): the largest face
      std::size_t big = 0;
      for (std::size_t i = 1; i < boxes.size(); ++i)
        if (double(boxes[i].width) * boxes[i].height > double(boxes[big].width) * boxes[big].height) big = i;
      identity.push_back(identity_of(file));
      identity_label.push_back(base[big]);
    }
    // (a) the mirror image
    const housenet::image mirrored = housenet::mirror_horizontal(img);
    const std::vector<housenet::rect> mboxes = faces_of(mirrored);
    const std::vector<std::size_t> mlab = labels(mirrored, mboxes);
    for (std::size_t i = 0; i < boxes.size(); ++i) {
      const housenet::rect& r = boxes[i];
      const long j = best_match(housenet::rect{img.width() - r.x - r.width, r.y, r.width, r.height}, mboxes);
      if (j < 0) continue;
      ++s.mirror_found;
      s.mirror_kept += mlab[std::size_t(j)] == base[i];
    }
    // (b) shifted and scaled boxes
    if (!crops) {
      std::vector<housenet::rect> trials;
      for (const auto& r : boxes)
        for (const auto& t : shifted_boxes(r)) trials.push_back(housenet::clamp_rect(t, img.width(), img.height()));
      const std::vector<std::size_t> tl = labels(img, trials);
      for (std::size_t i = 0; i < boxes.size(); ++i) {
        std::size_t kept = 0;
        for (std::size_t t = 0; t < 6; ++t) kept += tl[i * 6 + t] == base[i];
        s.box_trials += 6;
        s.box_kept += kept;
        s.box_faces_all_kept += kept == 6;
      }
    }
    // (c) JPEG at quality 75
    const std::vector<unsigned char> jpeg = housenet::encode(img, "jpg", 75);
    const housenet::image again = housenet::load_from_memory(jpeg.data(), jpeg.size(), file.string() + " (JPEG q75)");
    const std::vector<housenet::rect> jboxes = faces_of(again);
    const std::vector<std::size_t> jlab = labels(again, jboxes);
    for (std::size_t i = 0; i < boxes.size(); ++i) {
      const long j = best_match(boxes[i], jboxes);
      if (j < 0) continue;
      ++s.jpeg_found;
      s.jpeg_kept += jlab[std::size_t(j)] == base[i];
    }
  }
  const auto agree = identity_agreement(identity, identity_label);
  s.identities = agree.first;
  s.identities_one_label = agree.second;
  return s;
}

inline std::string stability_text(const stability_counts& s, bool crops) {
  std::string out;
  char buf[256];
  const auto share = [](std::size_t a, std::size_t b) { return b ? double(a) / double(b) : std::nan(""); };
  std::snprintf(buf, sizeof buf, "%zu images, %zu faces%s\n", s.images, s.faces,
                s.no_face ? (", " + std::to_string(s.no_face) + " images without a face").c_str() : "");
  out += buf;
  std::snprintf(buf, sizeof buf, "(a) mirrored               %6.3f  (%zu of %zu faces found again keep their label; %zu not found again)\n",
                share(s.mirror_kept, s.mirror_found), s.mirror_kept, s.mirror_found, s.faces - s.mirror_found);
  out += buf;
  if (crops) {
    out += "(b) box +-5% shift/scale      -    (not measured on crops)\n";
  } else {
    std::snprintf(buf, sizeof buf, "(b) box +-5%% shift/scale    %6.3f  (%zu of %zu trials; %zu of %zu faces keep it in all 6)\n",
                  share(s.box_kept, s.box_trials), s.box_kept, s.box_trials, s.box_faces_all_kept, s.faces);
    out += buf;
  }
  std::snprintf(buf, sizeof buf, "(c) JPEG quality 75        %6.3f  (%zu of %zu faces found again keep their label; %zu not found again)\n",
                share(s.jpeg_kept, s.jpeg_found), s.jpeg_kept, s.jpeg_found, s.faces - s.jpeg_found);
  out += buf;
  if (s.identities)
    std::snprintf(buf, sizeof buf, "(d) identities             %6.3f  (%zu of %zu identities with 2 or more images get one label)\n",
                  share(s.identities_one_label, s.identities), s.identities_one_label, s.identities);
  else
    std::snprintf(buf, sizeof buf, "(d) identities                 -    (no identity with 2 or more files named <identity>__<n>)\n");
  out += buf;
  return out;
}

inline std::string stability_json(const stability_counts& s, bool crops) {
  json_writer j;
  const auto part = [&](const char* name, std::size_t kept, std::size_t of, const char* of_name,
                        const char* kept_name = "kept") {
    j.key(name).begin_object().field(kept_name, kept).field(of_name, of);
    j.field("share", of ? double(kept) / double(of) : std::nan("")).end_object();
  };
  j.begin_object().field("images", s.images).field("faces", s.faces).field("no_face", s.no_face);
  part("mirror", s.mirror_kept, s.mirror_found, "found");
  if (!crops) {
    part("box", s.box_kept, s.box_trials, "trials");
    j.field("box_faces_all_kept", s.box_faces_all_kept);
  }
  part("jpeg", s.jpeg_kept, s.jpeg_found, "found");
  part("identities", s.identities_one_label, s.identities, "of", "one_label");
  j.end_object();
  return j.str();
}

}  // namespace app

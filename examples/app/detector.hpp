// examples/app/detector.hpp: the face detector as the app uses it: the cascade file (bundled by
// default) and OpenCV's detectMultiScale parameters from the command line.
//
//   add_detector_options(cli)   --cascade XML, --scale-factor 1.1, --min-neighbors 3, --min-size 30,
//                               --max-size N (0: no limit)
//   detector_options(cli)       the detectMultiScale parameters, checked (also the web page's)
//   make_detector(cli)          loads the cascade once
//   face_detector::detect(img)  boxes on the gray version of img, in the image's pixels
#pragma once

#include <string>
#include <vector>

#include <housenet/parallel.hpp>
#include <housenet/vision.hpp>

#include "cli.hpp"
#include "files.hpp"

namespace app {

constexpr const char* default_cascade_name = "haarcascade_frontalface_default.xml";

inline void add_detector_options(arg_parser& cli) {
  cli.option("cascade", "XML", "", std::string("an OpenCV cascade file (default: the bundled ") + default_cascade_name + ")")
      .option("scale-factor", "F", "1.1", "image pyramid step (> 1)")
      .option("min-neighbors", "N", "3", "overlapping detections needed to keep a face")
      .option("min-size", "N", "30", "smallest face side in pixels")
      .option("max-size", "N", "0", "largest face side in pixels (0: no limit)")
      .option("threads", "N", "", "worker threads (default: HOUSENET_NUM_THREADS or all cores)");
}

class face_detector {
 public:
  face_detector(housenet::cascade c, housenet::detect_options o) : cascade_(std::move(c)), opt_(o) {}
  std::vector<housenet::rect> detect(const housenet::image& img) const {
    return cascade_.detect_multi_scale(housenet::rgb_to_gray(img), opt_);
  }

 private:
  housenet::cascade cascade_;
  housenet::detect_options opt_;
};

// The detectMultiScale parameters of the command line, checked.
inline housenet::detect_options detector_options(const arg_parser& cli) {
  housenet::detect_options o;
  o.scale_factor = cli.get_double("scale-factor", 1.0001, 4.0);
  o.min_neighbors = int(cli.get_int("min-neighbors", 0, 1000));
  const int min_size = int(cli.get_int("min-size", 1, 1 << 20));
  const int max_size = int(cli.get_int("max-size", 0, 1 << 20));
  o.min_size = {min_size, min_size};
  o.max_size = {max_size, max_size};
  return o;
}

inline face_detector make_detector(const arg_parser& cli) {
  std::string path = cli.get("cascade");
  if (path.empty()) {
    const fs::path p = find_data_file(default_cascade_name);
    if (p.empty())
      throw app_error(std::string("the bundled cascade ") + default_cascade_name + " is not in any of: " +
                      data_dirs_list() + " (pass --cascade XML)");
    path = p.string();
  }
  if (cli.has("threads")) housenet::set_num_threads(int(cli.get_int("threads", 1, 1024)));
  return face_detector(housenet::cascade::load(path), detector_options(cli));
}

}  // namespace app

// scripts/make-cascade-parity-data.cpp: makes the self-contained cascade parity data in
// tests/data/ with OpenCV 4.6 (run by hand, never in CI; its outputs are committed).
//
//   Build and run (Debian 12: libopencv-dev, opencv-data; the astronaut from python3-skimage):
//     apt-get download python3-skimage && dpkg-deb -x python3-skimage_0.19.3-8_all.deb skimage
//     g++ -O2 -std=c++17 scripts/make-cascade-parity-data.cpp -o /tmp/make-parity \
//         $(pkg-config --cflags --libs opencv4)
//     /tmp/make-parity skimage/usr/lib/python3/dist-packages/skimage/data/astronaut.png .
//
// Writes, under <repo>/tests/data/:
//   astronaut_gray.png   the astronaut portrait (NASA, public domain; skimage/data/astronaut.png
//                        of Debian python3-skimage 0.19.3-8), cv::cvtColor BGR2GRAY, then
//                        cv::resize to 320x320 with INTER_AREA
//   scene_gray.png       a synthetic 480x320 gray scene: a smooth deterministic background with
//                        the astronaut's head pasted at three sizes, one of them mirrored
//   plates_gray.png      a synthetic 360x200 scene with three drawn licence plates
//   cascade_expected.jsonl  one line per (image, cascade, parameters):
//                        {"image", "cascade", "scale_factor", "min_neighbors", "min_size",
//                         "max_size", "faces": [[x, y, w, h], ...]} with faces sorted by
//                        (y, x, w, h): CascadeClassifier::detectMultiScale's output, flags 0.
//   "cascade" is a repository path (data/..., tests/data/...) or an absolute path under
//   /usr/share/opencv4 (opencv-data; the test skips those lines when the file is absent).
// PNG is lossless, so housenet decodes exactly the bytes OpenCV saw.
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <tuple>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s ASTRONAUT_PNG REPO_DIR\n", argv[0]);
    return 2;
  }
  const std::string repo = argv[2];
  const std::string out_dir = repo + "/tests/data/";
  cv::Mat colour = cv::imread(argv[1], cv::IMREAD_COLOR);
  if (colour.empty() || colour.cols != 512 || colour.rows != 512) {
    std::fprintf(stderr, "cannot read the 512x512 astronaut from %s\n", argv[1]);
    return 1;
  }
  cv::Mat gray;
  cv::cvtColor(colour, gray, cv::COLOR_BGR2GRAY);

  // 1. the portrait, smaller (keeps the test fast and the file small)
  cv::Mat portrait;
  cv::resize(gray, portrait, cv::Size(320, 320), 0, 0, cv::INTER_AREA);
  cv::imwrite(out_dir + "astronaut_gray.png", portrait);

  // 2. a synthetic scene: smooth background + the head at three sizes, one mirrored
  cv::Mat scene(320, 480, CV_8UC1);
  for (int y = 0; y < scene.rows; ++y)
    for (int x = 0; x < scene.cols; ++x) {
      const double v = 120 + 40 * std::sin(x * 0.031) * std::cos(y * 0.023) + 25 * std::sin((x + 2 * y) * 0.011);
      scene.at<uchar>(y, x) = cv::saturate_cast<uchar>(v);
    }
  const cv::Mat head = gray(cv::Rect(150, 40, 150, 150));  // forehead to chin of the portrait
  const std::vector<std::tuple<int, int, int, bool>> pastes = {
      {20, 30, 130, false}, {200, 60, 90, true}, {330, 150, 64, false}};
  for (const auto& [x, y, s, mirror] : pastes) {
    cv::Mat h;
    cv::resize(head, h, cv::Size(s, s), 0, 0, cv::INTER_AREA);
    if (mirror) cv::flip(h, h, 1);
    h.copyTo(scene(cv::Rect(x, y, s, s)));
  }
  cv::imwrite(out_dir + "scene_gray.png", scene);

  // 3. a synthetic licence plate scene (for the old-format, tilted-feature plate cascade)
  cv::Mat plates(200, 360, CV_8UC1, cv::Scalar(90));
  for (int y = 0; y < plates.rows; ++y)
    for (int x = 0; x < plates.cols; ++x) plates.at<uchar>(y, x) = cv::saturate_cast<uchar>(70 + (x + y) / 6);
  const std::vector<std::tuple<int, int, double, std::string>> plate_list = {
      {20, 20, 1.0, "A123BC 77"}, {40, 110, 0.7, "K456MO 99"}, {230, 140, 0.45, "E789XH 50"}};
  for (const auto& [x, y, f, text] : plate_list) {
    const int w = int(260 * f), h = int(56 * f);
    cv::rectangle(plates, cv::Rect(x, y, w, h), cv::Scalar(235), cv::FILLED);
    cv::rectangle(plates, cv::Rect(x, y, w, h), cv::Scalar(20), std::max(1, int(3 * f)));
    cv::putText(plates, text, cv::Point(x + int(10 * f), y + int(44 * f)), cv::FONT_HERSHEY_SIMPLEX, 1.3 * f,
                cv::Scalar(15), std::max(1, int(4 * f)), cv::LINE_AA);
  }
  cv::imwrite(out_dir + "plates_gray.png", plates);

  // 4. expected boxes
  struct params {
    double scale;
    int min_neighbors;
    cv::Size min_size, max_size;
  };
  const std::vector<params> ps = {
      {1.1, 3, {0, 0}, {0, 0}},
      {1.2, 0, {0, 0}, {0, 0}},      // raw windows, ungrouped
      {1.05, 2, {40, 40}, {150, 150}},
  };
  const std::vector<std::string> cascades = {
      "data/haarcascade_frontalface_default.xml",
      "data/lbpcascade_frontalface_improved.xml",
      "tests/data/haarcascade_licence_plate_rus_16stages.xml",  // old format, tilted features
      "/usr/share/opencv4/haarcascades/haarcascade_eye_tree_eyeglasses.xml",  // trees + tilted
      "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt_tree.xml",  // trees
      "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml",
      "/usr/share/opencv4/haarcascades/haarcascade_profileface.xml",
      "/usr/share/opencv4/haarcascades/haarcascade_smile.xml",  // tilted stumps
      "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface.xml",
  };
  const std::vector<std::string> images = {"astronaut_gray.png", "scene_gray.png", "plates_gray.png"};
  std::ofstream out(out_dir + "cascade_expected.jsonl");
  for (const auto& c : cascades) {
    cv::CascadeClassifier cc(c[0] == '/' ? c : repo + "/" + c);
    if (cc.empty()) {
      std::fprintf(stderr, "cannot load %s\n", c.c_str());
      return 1;
    }
    for (const auto& im : images) {
      const cv::Mat g = cv::imread(out_dir + im, cv::IMREAD_GRAYSCALE);
      for (const auto& p : ps) {
        std::vector<cv::Rect> r;
        cc.detectMultiScale(g, r, p.scale, p.min_neighbors, 0, p.min_size, p.max_size);
        std::sort(r.begin(), r.end(), [](const cv::Rect& a, const cv::Rect& b) {
          return std::make_tuple(a.y, a.x, a.width, a.height) < std::make_tuple(b.y, b.x, b.width, b.height);
        });
        out << "{\"image\": \"" << im << "\", \"cascade\": \"" << c << "\", \"scale_factor\": " << p.scale
            << ", \"min_neighbors\": " << p.min_neighbors << ", \"min_size\": [" << p.min_size.width << ", "
            << p.min_size.height << "], \"max_size\": [" << p.max_size.width << ", " << p.max_size.height
            << "], \"faces\": [";
        for (std::size_t i = 0; i < r.size(); ++i)
          out << (i ? ", " : "") << "[" << r[i].x << ", " << r[i].y << ", " << r[i].width << ", " << r[i].height << "]";
        out << "]}\n";
        std::printf("%-70s %-20s %.2f mn=%d: %zu boxes\n", c.c_str(), im.c_str(), p.scale, p.min_neighbors, r.size());
      }
    }
  }
  return 0;
}

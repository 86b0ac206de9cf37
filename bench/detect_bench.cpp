// bench/detect_bench.cpp: housenet's Viola-Jones detector against OpenCV 4.6's
// CascadeClassifier::detectMultiScale on the same gray frames and parameters, in one run.
//
//   Case names: <impl>/<frame>/<cascade>/threads:<n>
//     impl    housenet | opencv (opencv only when built with HOUSENET_BENCH_OPENCV)
//     frame   vga (640x480) | fhd (1920x1080): shared/data/faces-dev/timing/*.pgm, or a
//             synthetic frame of the same size when shared/ is absent
//     cascade haar (haarcascade_frontalface_default) | lbp (lbpcascade_frontalface_improved)
//   Parameters: scale_factor 1.1, min_neighbors 3, min_size 30x30 (those of faces-dev/expected).
//   Before timing, every (frame, cascade) is run once by both and the box sets are compared
//   (stderr); the "equal" counter of the opencv cases says 1 when they were identical.
//
//   "Time" is wall-clock time per detection (the one to compare at 2 threads); "CPU" is the
//   calling thread's CPU time.
//
//   Run (Release build, -DHOUSENET_BUILD_BENCH=ON):
//     build/bench/detect_bench
//     build/bench/detect_bench --benchmark_filter='vga/haar'
#include <benchmark/benchmark.h>

#include <housenet/parallel.hpp>
#include <housenet/vision.hpp>

#if HOUSENET_BENCH_OPENCV
#  include <opencv2/core.hpp>
#  include <opencv2/objdetect.hpp>
#endif

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace hn = housenet;

namespace {

const std::string shared_dir = HOUSENET_SHARED_DIR;
const std::string source_dir = HOUSENET_SOURCE_DIR;

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

// A deterministic textured frame with a few bright/dark blobs when the timing frames are absent.
hn::image synthetic_frame(int w, int h) {
  hn::image img(w, h, 1);
  std::uint32_t s = 12345;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      s = s * 1664525u + 1013904223u;
      const int v = 96 + ((x / 37 + y / 29) % 5) * 20 + int((s >> 24) % 24);
      img.at(x, y) = std::uint8_t(std::min(v, 255));
    }
  return img;
}

hn::image load_frame(const std::string& name, int w, int h) {
  const std::string path = shared_dir + "/data/faces-dev/timing/" + name;
  if (exists(path)) return hn::load(path);
  std::fprintf(stderr, "detect_bench: %s absent, using a synthetic %dx%d frame\n", path.c_str(), w, h);
  return synthetic_frame(w, h);
}

hn::detect_options options() {
  hn::detect_options o;
  o.scale_factor = 1.1;
  o.min_neighbors = 3;
  o.min_size = {30, 30};
  return o;
}

struct frame_case {
  std::string name;
  hn::image img;
};
struct cascade_case {
  std::string name, file;
  hn::cascade c;
};

#if HOUSENET_BENCH_OPENCV
std::vector<hn::rect> run_opencv(cv::CascadeClassifier& cc, const hn::image& img) {
  const cv::Mat m(img.height(), img.width(), CV_8UC1, const_cast<std::uint8_t*>(img.data()));
  std::vector<cv::Rect> r;
  cc.detectMultiScale(m, r, 1.1, 3, 0, cv::Size(30, 30));
  std::vector<hn::rect> out;
  for (const auto& b : r) out.push_back(hn::rect{b.x, b.y, b.width, b.height});
  std::sort(out.begin(), out.end());
  return out;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);

  static std::vector<frame_case> frames;
  frames.push_back({"vga", load_frame("vga_640x480.pgm", 640, 480)});
  frames.push_back({"fhd", load_frame("fhd_1920x1080.pgm", 1920, 1080)});
  static std::vector<cascade_case> cascades;
  for (const auto& [name, file] : std::vector<std::pair<std::string, std::string>>{
           {"haar", "haarcascade_frontalface_default.xml"}, {"lbp", "lbpcascade_frontalface_improved.xml"}})
    cascades.push_back({name, file, hn::cascade::load(source_dir + "/data/" + file)});

#if HOUSENET_BENCH_OPENCV
  static std::map<std::string, cv::CascadeClassifier> cv_cascades;
  static std::map<std::string, int> equal;
  for (auto& c : cascades) {
    cv_cascades[c.name] = cv::CascadeClassifier(source_dir + "/data/" + c.file);
    for (auto& f : frames) {
      const auto a = c.c.detect_multi_scale(f.img, options());
      const auto b = run_opencv(cv_cascades[c.name], f.img);
      const bool same = a == b;
      equal[f.name + "/" + c.name] = same;
      std::fprintf(stderr, "detect_bench: %s/%s: housenet %zu boxes, opencv %zu boxes: %s\n", f.name.c_str(),
                   c.name.c_str(), a.size(), b.size(), same ? "identical" : "DIFFERENT");
    }
  }
#endif

  for (const int threads : {1, 2}) {
    for (auto& f : frames) {
      for (auto& c : cascades) {
        const std::string suffix = f.name + "/" + c.name + "/threads:" + std::to_string(threads);
        const hn::image* img = &f.img;
        const hn::cascade* cas = &c.c;
        benchmark::RegisterBenchmark(("housenet/" + suffix).c_str(), [img, cas, threads](benchmark::State& s) {
          hn::set_num_threads(threads);
          std::size_t n = 0;
          for (auto _ : s) {
            auto boxes = cas->detect_multi_scale(*img, options());
            n = boxes.size();
            benchmark::DoNotOptimize(boxes.data());
          }
          s.counters["boxes"] = double(n);
        })->Unit(benchmark::kMillisecond);
#if HOUSENET_BENCH_OPENCV
        const std::string key = f.name + "/" + c.name;
        const std::string cname = c.name;
        benchmark::RegisterBenchmark(("opencv/" + suffix).c_str(), [img, cname, key, threads](benchmark::State& s) {
          cv::setNumThreads(threads);
          std::size_t n = 0;
          for (auto _ : s) {
            auto boxes = run_opencv(cv_cascades[cname], *img);
            n = boxes.size();
            benchmark::DoNotOptimize(boxes.data());
          }
          s.counters["boxes"] = double(n);
          s.counters["equal"] = double(equal[key]);
        })->Unit(benchmark::kMillisecond);
#endif
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

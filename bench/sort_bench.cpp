// bench/sort_bench.cpp: what `housenet sort` (and the web page, web/) does per photo: detect every
// face, classify them in one batch, draw the boxes and captions (app::sort_photo), with the
// bundled cascade and model. The native counterpart of the browser's figure (tests/browser.mjs
// --bench; docs/performance.md, "In the browser").
//
//   Case names: <isa>/<photo>/threads:<n>
//     isa    scalar | avx2 | avx512 (those this CPU has)
//     photo  sample (data/samples/astronaut.png, 512x512) | fhd (shared/data/faces-dev/timing/
//            fhd_1920x1080.pgm, or the sample tiled to 1920x1080 when shared/ is absent)
//
//   Run (Release build, -DHOUSENET_BUILD_BENCH=ON):  build/bench/sort_bench
#include <benchmark/benchmark.h>

#include <housenet/parallel.hpp>
#include <housenet/simd.hpp>
#include <housenet/vision.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "app/detector.hpp"
#include "app/models.hpp"
#include "app/sort.hpp"

namespace hn = housenet;

namespace {

const std::string shared_dir = HOUSENET_SHARED_DIR;
const std::string source_dir = HOUSENET_SOURCE_DIR;

hn::image fhd_frame(const hn::image& sample) {
  const std::string path = shared_dir + "/data/faces-dev/timing/fhd_1920x1080.pgm";
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return hn::load(path);
  std::fprintf(stderr, "sort_bench: %s absent, using the sample tiled to 1920x1080\n", path.c_str());
  hn::image img(1920, 1080, sample.channels());
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x)
      for (int c = 0; c < img.channels(); ++c) img.at(x, y, c) = sample.at(x % sample.width(), y % sample.height(), c);
  return img;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  static const app::model_file model = app::load_model_file(source_dir + "/data/houses.hsnt");
  static const app::face_detector det(hn::cascade::load(source_dir + "/data/haarcascade_frontalface_default.xml"),
                                      hn::detect_options{1.1, 3, {30, 30}, {0, 0}});
  static std::vector<std::pair<std::string, hn::image>> photos;
  photos.emplace_back("sample", hn::load(source_dir + "/data/samples/astronaut.png"));
  photos.emplace_back("fhd", fhd_frame(photos[0].second));

  for (const hn::isa i : {hn::isa::scalar, hn::isa::avx2, hn::isa::avx512}) {
    if (!hn::isa_supported(i)) continue;
    for (const auto& p : photos) {
      const hn::image* img = &p.second;
      benchmark::RegisterBenchmark((std::string(hn::isa_name(i)) + "/" + p.first + "/threads:1").c_str(),
                                   [img, i](benchmark::State& s) {
                                     hn::set_num_threads(1);
                                     hn::set_isa(i);
                                     std::size_t faces = 0;
                                     for (auto _ : s) {
                                       s.PauseTiming();
                                       hn::image copy = *img;
                                       s.ResumeTiming();
                                       const std::string json = app::sort_photo(copy, "photo", det, model, 0.0);
                                       faces = (std::size_t(std::count(json.begin(), json.end(), '{')) - 1) / 2;  // a face: 2
                                       benchmark::DoNotOptimize(json.data());
                                     }
                                     s.counters["faces"] = double(faces);
                                   })
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// bench/sort25_bench.cpp: what `housenet sort` does to a group photo, on one thread: detect every
// face, classify them all (the app's prediction path, examples/app/classify.hpp), draw the boxes
// and captions. The photo: the face of the bundled sample portrait (data/samples/astronaut.png,
// its detected box widened by half its size on every side) resized to 300x300 and tiled 5 x 5: a
// 1500x1500 "group photo" in which the detector finds 25 faces of 150 px. The model:
// data/houses.hsnt (or $HOUSENET_BENCH_MODEL).
//
//   Case names: sort25/all_members:<0|1>/flip:<0|1>
//     all_members  0: member 1 of the bundled model alone; 1: every member (the ensemble)
//     flip         1: test-time flip (each face and its mirror), as `sort` does by default
//   plus detect25 (the detector alone: scale factor 1.1, 3 neighbours, 30 px) and
//   classify25/... (the classification alone, the detections given). Counters: faces found (25
//   expected), members used. One thread: "CPU" is the work; "Time" (wall) is the same on an idle
//   machine and longer on a shared one.
//
//   Run (Release build, -DHOUSENET_BUILD_BENCH=ON):
//     build/bench/sort25_bench --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <housenet/parallel.hpp>
#include <housenet/vision.hpp>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "../examples/app/classify.hpp"

namespace hn = housenet;

namespace {

const std::string data_dir = std::string(HOUSENET_SOURCE_DIR) + "/data";

std::string model_path() {
  const char* m = std::getenv("HOUSENET_BENCH_MODEL");
  return m && *m ? m : data_dir + "/houses.hsnt";
}

hn::detect_options sort_options() {  // housenet sort's defaults
  hn::detect_options o;
  o.min_size = {30, 30};
  return o;
}

struct fixture {
  hn::image photo;
  hn::cascade detector;
  app::model_file all, first;
};

const fixture& get() {
  static const fixture f = [] {
    hn::set_num_threads(1);
    fixture x{hn::image(1500, 1500, 3, 128), hn::cascade::load(data_dir + "/haarcascade_frontalface_default.xml"),
              app::load_model_file(model_path()), {}};
    const hn::image sample = hn::load(data_dir + "/samples/astronaut.png");
    const std::vector<hn::rect> one = x.detector.detect_multi_scale(hn::rgb_to_gray(sample), sort_options());
    if (one.size() != 1) throw std::runtime_error("sort_bench: expected one face on the sample");
    const hn::image tile = hn::resize(hn::crop(sample, app::widen(one[0], 0.5, sample)), 300, 300);
    for (int ty = 0; ty < 5; ++ty)
      for (int tx = 0; tx < 5; ++tx)
        for (int y = 0; y < 300; ++y)
          for (int xx = 0; xx < 300; ++xx)
            for (int c = 0; c < 3; ++c) x.photo.at(tx * 300 + xx, ty * 300 + y, c) = tile.at(xx, y, c);
    x.first = app::load_model_file(model_path());
    x.first.members.resize(1);
    x.first.is_ensemble = false;
    return x;
  }();
  return f;
}

std::vector<hn::rect> detect(const fixture& f) {
  return f.detector.detect_multi_scale(hn::rgb_to_gray(f.photo), sort_options());
}

void bm_detect(benchmark::State& st) {
  const fixture& f = get();
  std::size_t n = 0;
  for (auto _ : st) n = detect(f).size();
  st.counters["faces"] = double(n);
}

void bm_classify(benchmark::State& st) {
  const fixture& f = get();
  const app::model_file& m = st.range(0) ? f.all : f.first;
  app::prediction_options o;
  o.flip = st.range(1) != 0;
  const std::vector<hn::rect> faces = detect(f);
  for (auto _ : st) benchmark::DoNotOptimize(app::face_probabilities(m, f.photo, faces, o));
  st.counters["faces"] = double(faces.size());
  st.counters["members"] = double(m.members.size());
}

void bm_sort(benchmark::State& st) {
  const fixture& f = get();
  const app::model_file& m = st.range(0) ? f.all : f.first;
  app::prediction_options o;
  o.flip = st.range(1) != 0;
  std::size_t n = 0;
  for (auto _ : st) {
    hn::image img = f.photo;
    const std::vector<hn::rect> faces = detect(f);
    const hn::tensor<float> p = app::face_probabilities(m, img, faces, o);
    std::vector<std::string> captions(faces.size(), "Ravenclaw 41%");
    std::vector<hn::colour> colours(faces.size(), hn::colour{34, 80, 180});
    hn::draw_labels(img, faces, captions, colours);
    benchmark::DoNotOptimize(p.data());
    n = faces.size();
  }
  st.counters["faces"] = double(n);
  st.counters["members"] = double(m.members.size());
}

void names(benchmark::internal::Benchmark* b) {
  b->ArgNames({"all_members", "flip"});
  for (int members : {0, 1})
    for (int flip : {0, 1}) b->Args({members, flip});
  b->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(bm_detect)->Name("detect25")->Unit(benchmark::kMillisecond);
BENCHMARK(bm_classify)->Name("classify25")->Apply(names);
BENCHMARK(bm_sort)->Name("sort25")->Apply(names);

BENCHMARK_MAIN();

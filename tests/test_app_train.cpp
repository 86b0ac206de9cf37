// Unit tests of the housenet app's training side (examples/app/faces.hpp, checkpoint.hpp): loading
// a data set folder (one decode per file, unreadable files left out), the eval JSON, and the
// checkpoint's hand-editable fields.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <housenet/image.hpp>
#include <housenet/model_io.hpp>

#include "../examples/app/checkpoint.hpp"
#include "../examples/app/dataset.hpp"
#include "../examples/app/faces.hpp"
#include "support.hpp"

namespace fs = std::filesystem;

namespace {

using scratch = housenet_test::scratch_dir;

housenet::image solid(int w, int h, std::uint8_t v) {
  housenet::image img(w, h, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) img.at(x, y, c) = std::uint8_t(v + 10 * c + (x + y) % 7);
  return img;
}

void write_text(const std::string& path, const std::string& s) { std::ofstream(path, std::ios::binary) << s; }

// The app's errors are std::exceptions of its own type as well as housenet::errors.
std::string error_of(const std::function<void()>& f) { return housenet_test::error_of<std::exception>(f); }

}  // namespace

TEST_CASE("load_faces: one tensor of the readable images; unreadable ones left out, order and labels kept") {
  scratch d("app-train");
  fs::create_directories(d.path() / "a");
  fs::create_directories(d.path() / "b");
  housenet::save(solid(20, 16, 10), d("a/a1.png"));
  write_text(d("a/a2.png"), "not an image");
  housenet::save(solid(30, 30, 100), d("a/a3.png"));
  write_text(d("b/b1.png"), "");
  housenet::save(solid(12, 40, 200), d("b/b2.png"));
  app::dataset_index data = app::scan_dataset(d.path());
  REQUIRE(data.samples.size() == 5);
  const housenet::shape in{1, 3, 8, 8};
  const housenet::tensor<float> t = app::load_faces(data, in, "test");
  REQUIRE(data.samples.size() == 3);
  CHECK(data.samples[0].path.filename() == "a1.png");
  CHECK(data.samples[1].path.filename() == "a3.png");
  CHECK(data.samples[2].path.filename() == "b2.png");
  CHECK(data.samples[0].label == 0);
  CHECK(data.samples[1].label == 0);
  CHECK(data.samples[2].label == 1);
  CHECK(t.shape() == in.with_n(3));
  // Row i is exactly what face_to makes of sample i's file.
  for (std::size_t i = 0; i < 3; ++i) {
    const housenet::image img = housenet::load(data.samples[i].path.string());
    std::vector<float> one(in.sample_size());
    app::face_to(img, housenet::rect{0, 0, img.width(), img.height()}, in, one.data());
    CHECK(std::equal(one.begin(), one.end(), t.data() + i * in.sample_size()));
  }

  // Nothing readable: one clear error.
  scratch e("app-train");
  fs::create_directories(e.path() / "a");
  write_text(e("a/x.png"), "nope");
  app::dataset_index bad = app::scan_dataset(e.path());
  CHECK(error_of([&] { app::load_faces(bad, in, "test"); }) == "no readable image in the class folders");
}

TEST_CASE("summarize + eval_json: the one line of eval --json and MODEL.test.json") {
  app::dataset_index data;
  data.classes = {"a", "b", "c"};
  for (int label : {0, 0, 1, 1, 1, 0}) data.samples.push_back({fs::path("x.png"), label, "x"});
  const std::vector<std::size_t> idx = {0, 2, 3, 4, 5};  // sample 1 not scored
  app::eval_result r;
  r.predicted = {0, 1, 0, 1, 1};  // true: 0 1 1 1 0
  r.error = 2.0 / 5.0;
  r.loss = 0.5;
  const app::eval_summary s = app::summarize(r, data, idx);
  CHECK(s.confusion == std::vector<std::vector<std::size_t>>{{1, 1, 0}, {1, 2, 0}, {0, 0, 0}});
  CHECK(s.per_class_images == std::vector<std::size_t>{2, 3, 0});
  CHECK(s.balanced_accuracy == doctest::Approx((0.5 + 2.0 / 3.0) / 2));  // c has no image: not counted
  CHECK(app::eval_json(s, data.classes) ==
        R"({"accuracy": 0.6, "balanced_accuracy": 0.583333, "per_class": {"a": 0.5, "b": 0.666667, "c": null}, )"
        R"("confusion": [[1, 1, 0], [1, 2, 0], [0, 0, 0]], "classes": ["a", "b", "c"], "images": 5, "loss": 0.5})");
}

TEST_CASE("load_checkpoint: a hand-edited field is one clear error naming the file and the field") {
  scratch d("app-train");
  const std::string path = d("m.hsnt.ckpt");
  app::train_options o;
  o.arch = "small";
  o.optimizer = "sgd";
  o.split = "random";
  const std::vector<std::string> classes = {"a", "b"};
  housenet::sequential<float> net = app::make_network(o.arch, classes.size(), 1);
  auto optim = app::make_optimizer(o);
  app::train_state st;
  st.epoch = 1;
  st.batch = 3;
  st.loss_sum = 1.25;
  st.errors = 2;
  st.seen = 24;
  st.best_epoch = 1;
  st.best_error = 0.5;
  st.rows.push_back(app::epoch_row{1, 0.7, 0.4, 0.8, 0.5, 1.5, 0.5});
  app::save_training_checkpoint(path, o, net, *optim, classes, st);

  {  // as written: loads
    housenet::sequential<float> n2 = app::make_network(o.arch, classes.size(), 2);
    auto opt2 = app::make_optimizer(o);
    const app::train_state back = app::load_training_checkpoint(path, o, n2, *opt2);
    CHECK(back.batch == 3);
    CHECK(back.loss_sum == 1.25);
    CHECK(back.best_epoch == 1);
    CHECK(back.rows.size() == 1);
  }
  // Rewrites the checkpoint with one metadata field changed (the library keeps the CRC right).
  const auto edited = [&](const std::string& key, const std::string& value) {
    auto opt2 = app::make_optimizer(o);
    housenet::loaded_checkpoint<float> c = housenet::load_checkpoint<float>(path, *opt2);
    bool found = false;
    for (auto& kv : c.state.meta)
      if (kv.first == key) kv.second = value, found = true;
    REQUIRE(found);
    const std::string out = d("edited.ckpt");
    housenet::save_checkpoint(out, c.model, *opt2, classes, c.state);
    housenet::sequential<float> n2 = app::make_network(o.arch, classes.size(), 2);
    auto opt3 = app::make_optimizer(o);
    return error_of([&] { app::load_training_checkpoint(out, o, n2, *opt3); });
  };
  const std::string f = d("edited.ckpt");
  CHECK(edited("batch_in_epoch", "12x") == "checkpoint: " + f + ": field 'batch_in_epoch' is not a number ('12x')");
  CHECK(edited("batch_in_epoch", "-1") == "checkpoint: " + f + ": field 'batch_in_epoch' is not a number ('-1')");
  CHECK(edited("seen", "99999999999999999999999") ==
        "checkpoint: " + f + ": field 'seen' is out of range ('99999999999999999999999')");
  CHECK(edited("loss_sum", "1.5e") == "checkpoint: " + f + ": field 'loss_sum' is not a number ('1.5e')");
  CHECK(edited("best_error", "nan") == "checkpoint: " + f + ": field 'best_error' is not a number ('nan')");
  CHECK(edited("best_epoch", "5") == "checkpoint: " + f + ": field 'best_epoch' is out of range ('5')");
  CHECK(edited("best_epoch", "0") == "checkpoint: " + f + ": field 'best_epoch' is out of range ('0')");
}

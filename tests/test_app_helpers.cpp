// Unit tests of the housenet app's helpers (examples/app/*.hpp) that need no image or model:
// command line (parser, --help, the command table and exit statuses), JSON, data set folders and
// splits, augmentation, learning curves, atomic files.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "../examples/app/cli.hpp"
#include "../examples/app/dataset.hpp"
#include "../examples/app/faces.hpp"
#include "../examples/app/files.hpp"
#include "../examples/app/json.hpp"
#include "../examples/app/report.hpp"
#include "support.hpp"

namespace {

struct argv_builder {
  std::vector<std::string> s;
  std::vector<char*> p;
  explicit argv_builder(std::vector<std::string> a) : s(std::move(a)) {
    for (auto& x : s) p.push_back(x.data());
  }
  int argc() const { return int(p.size()); }
  char** argv() { return p.data(); }
};

app::arg_parser make_parser() {
  app::arg_parser cli("train", "housenet train DATA -o MODEL", "test");
  cli.option("output", "MODEL", "", "out", "o")
      .option("epochs", "N", "100", "epochs")
      .option("lr", "X", "0.01", "lr")
      .option("split", "random|group", "random", "split")
      .flag("augment", "augment")
      .positionals(1, 1);
  return cli;
}

void touch(const std::filesystem::path& p) { std::ofstream(p) << "x"; }

}  // namespace

TEST_CASE("arg_parser: options, flags, positionals, defaults") {
  auto cli = make_parser();
  argv_builder a({"housenet", "train", "data", "-o", "m.hsnt", "--epochs=7", "--augment", "--lr", "-0.5"});
  cli.parse(a.argc(), a.argv(), 2);
  REQUIRE(cli.args().size() == 1);
  CHECK(cli.args()[0] == "data");
  CHECK(cli.get("output") == "m.hsnt");
  CHECK(cli.get_int("epochs", 1, 10) == 7);
  CHECK(cli.has("augment"));
  CHECK(cli.get_double("lr", -1, 1) == doctest::Approx(-0.5));
  CHECK(cli.get_choice("split", {"random", "group"}) == "random");
}

TEST_CASE("arg_parser: integers are 64-bit wherever long is not (train --seed on wasm32)") {
  auto cli = make_parser();
  argv_builder a({"housenet", "train", "data", "--epochs", "9223372036854775807", "--lr", "-9223372036854775808"});
  cli.parse(a.argc(), a.argv(), 2);
  CHECK(cli.get_int("epochs", 0, INT64_MAX) == INT64_MAX);
  CHECK(cli.get_int("lr", INT64_MIN, 0) == INT64_MIN);
  CHECK_THROWS_WITH_AS(cli.get_int("epochs", 0, INT64_MAX - 1), doctest::Contains("is out of range"), app::usage_error);
  argv_builder b({"housenet", "train", "data", "--epochs", "9223372036854775808"});
  auto cli2 = make_parser();
  cli2.parse(b.argc(), b.argv(), 2);
  CHECK_THROWS_WITH_AS(cli2.get_int("epochs", 0, INT64_MAX), doctest::Contains("is not an integer"), app::usage_error);
}

TEST_CASE("arg_parser: every mistake is a usage_error naming the command") {
  const std::vector<std::vector<std::string>> bad = {
      {"housenet", "train"},                                // missing positional
      {"housenet", "train", "a", "b"},                      // too many
      {"housenet", "train", "a", "--nope"},                 // unknown option
      {"housenet", "train", "a", "-o"},                     // missing value
      {"housenet", "train", "a", "--augment=1"},            // value on a flag
  };
  for (const auto& b : bad) {
    auto cli = make_parser();
    argv_builder a(b);
    CHECK_THROWS_AS(cli.parse(a.argc(), a.argv(), 2), app::usage_error);
  }
  auto cli = make_parser();
  argv_builder a({"housenet", "train", "d", "--epochs", "x", "--split", "zz"});
  cli.parse(a.argc(), a.argv(), 2);
  CHECK_THROWS_WITH_AS(cli.get_int("epochs", 1, 10), doctest::Contains("train: --epochs: 'x' is not an integer"),
                       app::usage_error);
  CHECK_THROWS_AS(cli.get_choice("split", {"random", "group"}), app::usage_error);
}

TEST_CASE("arg_parser: --help stops the parse with the command's help, wherever it is") {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"housenet", "train", "--help"},                  // no positional needed
           {"housenet", "train", "d", "--epochs", "x", "-h"},  // values not checked
           {"housenet", "train", "a", "b", "--help", "--nope"}}) {
    auto cli = make_parser();
    argv_builder h(args);
    std::string text;
    try {
      cli.parse(h.argc(), h.argv(), 2);
    } catch (const app::help_request& r) {
      text = r.text;
    }
    CHECK(text.find("usage: housenet train DATA -o MODEL\n") == 0);
    CHECK(text.find("  -h, --help ") != std::string::npos);
  }
  auto cli = make_parser();
  argv_builder after_dashes({"housenet", "train", "--", "--help"});  // a file named --help
  cli.parse(after_dashes.argc(), after_dashes.argv(), 2);
  CHECK(cli.args() == std::vector<std::string>{"--help"});
  auto cli2 = make_parser();
  argv_builder unknown_first({"housenet", "train", "d", "--nope", "--help"});  // left to right
  CHECK_THROWS_AS(cli2.parse(unknown_first.argc(), unknown_first.argv(), 2), app::usage_error);
}

namespace {
int returns_7(int, char**) { return 7; }
int asks_for_help(int argc, char** argv) {
  app::arg_parser cli("help-me", "housenet help-me", "test");
  cli.parse(argc, argv, 2);
  return 5;
}
int usage_mistake(int, char**) { throw app::usage_error("bad: option"); }
int fails(int, char**) { throw app::app_error("broken"); }
int runs_out_of_memory(int, char**) { throw std::bad_alloc(); }
}  // namespace

TEST_CASE("command table: the overview lists it, the dispatch runs it, exceptions become exit statuses") {
  const std::vector<app::command> table = {
      {"seven", "seven ARGS", "returns 7", returns_7},
      {"help-me", "help-me", "parses --help", asks_for_help},
      {"usage", "usage X", "a command-line mistake", usage_mistake},
      {"fails", "fails", "a failure", fails},
      {"a-rather-long-name", "a-rather-long-name X", "longer than the column", runs_out_of_memory},
  };
  CHECK(app::overview(table) ==
        "usage: housenet <command> [options]   (housenet <command> --help for each)\n"
        "\n"
        "  seven ARGS          returns 7\n"
        "  help-me             parses --help\n"
        "  usage X             a command-line mistake\n"
        "  fails               a failure\n"
        "  a-rather-long-name X longer than the column\n"
        "  --version           the version\n");
  const auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "housenet");
    argv_builder a(args);
    return app::run_command_line(table, a.argc(), a.argv(), "1.2.3");
  };
  CHECK(run({"seven", "x"}) == 7);
  CHECK(run({"help-me"}) == 5);
  CHECK(run({"help-me", "--help"}) == 0);
  CHECK(run({"usage"}) == 2);
  CHECK(run({"fails"}) == 1);
  CHECK(run({"a-rather-long-name"}) == 1);
  CHECK(run({"nope"}) == 2);
  CHECK(run({}) == 2);
  for (const char* h : {"--help", "-h", "help", "--version", "version"}) CHECK(run({h}) == 0);
}

TEST_CASE("json_writer: escaping, separators, numbers") {
  app::json_writer j;
  j.begin_object().field("image", std::string("a \"b\"\\\n\x01.jpg")).key("faces").begin_array();
  j.begin_array().value(1).value(2).end_array().begin_array().end_array().end_array();
  j.field("p", 0.25).field("nan", std::nan("")).field("ok", true).end_object();
  CHECK(j.str() == "{\"image\": \"a \\\"b\\\"\\\\\\n\\u0001.jpg\", \"faces\": [[1, 2], []], \"p\": 0.25, "
                   "\"nan\": null, \"ok\": true}");
}

TEST_CASE("scan_dataset: classes sorted, identities, errors") {
  const housenet_test::scratch_dir tmp("app-helpers");
  const auto d = tmp.path();
  std::filesystem::create_directories(d / "b");
  std::filesystem::create_directories(d / "a");
  std::filesystem::create_directories(d / ".hidden");
  touch(d / "a" / "harry__1.png");
  touch(d / "a" / "harry__2.PNG");
  touch(d / "a" / "notes.txt");
  touch(d / "b" / "draco.jpg");
  const auto ds = app::scan_dataset(d);
  REQUIRE(ds.classes == std::vector<std::string>{"a", "b"});
  REQUIRE(ds.samples.size() == 3);
  CHECK(ds.samples[0].identity == "harry");
  CHECK(ds.samples[2].identity == "draco");
  CHECK(ds.samples[2].label == 1);
  CHECK(ds.count_per_class() == std::vector<std::size_t>{2, 1});
  CHECK_THROWS_AS(app::scan_dataset(d / "a"), app::app_error);   // no class folders
  CHECK_THROWS_AS(app::scan_dataset(d / "nope"), app::app_error);
  std::filesystem::remove_all(d);
}

TEST_CASE("split_dataset: sizes, determinism, groups never straddle") {
  app::dataset_index ds;
  ds.classes = {"x", "y"};
  for (int id = 0; id < 10; ++id)
    for (int k = 0; k < 3; ++k)
      ds.samples.push_back({"p" + std::to_string(id) + "__" + std::to_string(k) + ".png", id % 2, "p" + std::to_string(id)});
  const auto r1 = app::split_dataset(ds, 7, false, 3), r2 = app::split_dataset(ds, 7, false, 3);
  CHECK(r1.test.size() == 7);
  CHECK(r1.train.size() == 23);
  CHECK(r1.test == r2.test);
  CHECK(app::split_dataset(ds, 7, false, 4).test != r1.test);
  const auto g = app::split_dataset(ds, 7, true, 3);
  CHECK(g.test.size() == 9);  // whole identities of 3: the first count >= 7
  std::set<std::string> test_ids;
  for (auto i : g.test) test_ids.insert(ds.samples[i].identity);
  for (auto i : g.train) CHECK(test_ids.count(ds.samples[i].identity) == 0);
  CHECK_THROWS_AS(app::split_dataset(ds, 30, false, 1), app::app_error);
  const auto w = app::class_weights(ds, r1.train);
  CHECK(w.size() == 2);
}

TEST_CASE("augment: deterministic, in range, changes the image") {
  std::vector<float> a(3 * 10 * 12), b;
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = float(i % 17) / 16.0f;
  b = a;
  std::vector<float> c = a;
  housenet::prng r1(5), r2(5);
  app::augment(a.data(), 3, 10, 12, r1);
  app::augment(b.data(), 3, 10, 12, r2);
  CHECK(a == b);
  CHECK(a != c);
  for (float v : a) CHECK((v >= 0.0f && v <= 1.0f));
}

TEST_CASE("box_view: identity is the centre, a shift moves it, flip mirrors it, bilinear between pixels") {
  // A crop of 2 channels, 9 x 11 around a 5 x 7 face box (context 2 on every side).
  const std::size_t C = 2, H = 9, W = 11, h = 5, w = 7;
  std::vector<float> crop(C * H * W);
  for (std::size_t i = 0; i < crop.size(); ++i) crop[i] = float((i * 37) % 101) / 100.0f;
  const auto at = [&](std::size_t c, std::size_t y, std::size_t x) { return crop[(c * H + y) * W + x]; };
  std::vector<float> v(C * h * w);
  app::box_view(crop.data(), C, H, W, h, w, app::box_jitter{}, v.data());
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t y = 0; y < h; ++y)
      for (std::size_t x = 0; x < w; ++x) CHECK(v[(c * h + y) * w + x] == at(c, y + 2, x + 2));
  // Whole-pixel shift and flip: exact pixels of the crop.
  app::box_view(crop.data(), C, H, W, h, w, app::box_jitter{true, 1.0, -1.0, 2.0}, v.data());
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t y = 0; y < h; ++y)
      for (std::size_t x = 0; x < w; ++x) CHECK(v[(c * h + y) * w + x] == at(c, y + 1, (w - 1 - x) + 4));
  // Half a pixel right: the mean of two neighbours (float arithmetic of the bilinear weights).
  app::box_view(crop.data(), C, H, W, h, w, app::box_jitter{false, 1.0, 0.0, 0.5}, v.data());
  for (std::size_t y = 0; y < h; ++y)
    for (std::size_t x = 0; x < w; ++x)
      CHECK(v[y * w + x] == doctest::Approx((at(0, y + 2, x + 2) + at(0, y + 2, x + 3)) / 2).epsilon(1e-6));
  // A scale of 2 about the centre: the view's corners land 2 (h - 1) / 2 pixels from the centre,
  // and beyond the crop the edge is repeated.
  app::box_view(crop.data(), C, H, W, h, w, app::box_jitter{false, 2.0, 0.0, 0.0}, v.data());
  CHECK(v[0] == at(0, 0, 0));                      // (4 - 4, 5 - 6 -> clamped to 0)
  CHECK(v[(h / 2) * w + w / 2] == at(0, 4, 5));    // the centre stays
  CHECK(v[(h - 1) * w + (w - 1)] == at(0, 8, 10));  // (4 + 4, 5 + 6 -> clamped to 10)

  // augment_with_context: deterministic from the generator, in [0, 1], not the plain centre.
  std::vector<float> a(C * h * w), b(C * h * w), centre(C * h * w);
  app::box_view(crop.data(), C, H, W, h, w, app::box_jitter{}, centre.data());
  housenet::prng r1(9), r2(9);
  app::augment_with_context(crop.data(), C, H, W, h, w, r1, a.data());
  app::augment_with_context(crop.data(), C, H, W, h, w, r2, b.data());
  CHECK(a == b);
  CHECK(a != centre);
  for (float x : a) CHECK((x >= 0.0f && x <= 1.0f));
}

TEST_CASE("centre_views and with_context: the face box inside a crop with surroundings") {
  housenet::tensor<float> wide(housenet::shape{2, 3, 8, 10});
  for (std::size_t i = 0; i < wide.size(); ++i) wide.data()[i] = float(i);
  const housenet::tensor<float> c = app::centre_views(wide, housenet::shape{1, 3, 4, 6});
  REQUIRE(c.shape() == housenet::shape({2, 3, 4, 6}));
  for (std::size_t n = 0; n < 2; ++n)
    for (std::size_t ch = 0; ch < 3; ++ch)
      for (std::size_t y = 0; y < 4; ++y)
        for (std::size_t x = 0; x < 6; ++x)
          CHECK(c.data()[((n * 3 + ch) * 4 + y) * 6 + x] == wide.data()[((n * 3 + ch) * 8 + y + 2) * 10 + x + 2]);
  CHECK_THROWS(app::centre_views(wide, housenet::shape{1, 3, 5, 6}));  // odd border
  // A 200 px box with 20 of 100 pixels of context: 40 photo pixels per side.
  CHECK(app::with_context(housenet::rect{10, 20, 200, 100}, 20, 100) == housenet::rect{-30, 0, 280, 140});
}

TEST_CASE("learning curves: csv rows and an svg") {
  std::vector<app::epoch_row> rows = {{1, 1.2, 0.6, 1.3, 0.7, 2.0}, {2, 0.9, 0.4, 1.1, 0.5, 2.1}};
  const std::string csv = app::curves_csv(rows);
  CHECK(csv.find("epoch,train_loss,train_error,test_loss,test_error,seconds,test_balanced_accuracy\n") == 0);
  CHECK(csv.find("\n2,0.900000,0.400000,1.100000,0.500000,2.100,0.000000\n") != std::string::npos);
  const std::string svg = app::curves_svg(rows, "a <title> & more");
  CHECK(svg.find("<svg") == 0);
  CHECK(svg.find("min 0.500 (epoch 2)") != std::string::npos);
  CHECK(svg.find("&lt;title> &amp; more") != std::string::npos);
  CHECK(app::format_duration(3725) == "1:02:05");
}

TEST_CASE("write_file_atomic: replaces, leaves no temp file") {
  const housenet_test::scratch_dir tmp("app-helpers");
  const auto d = tmp.path();
  const auto f = (d / "x.txt").string();
  app::write_file_atomic(f, "one");
  app::write_file_atomic(f, "two");
  CHECK(app::read_file(f) == "two");
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(d)) files += e.is_regular_file();
  CHECK(files == 1);
  CHECK_THROWS_AS(app::write_file_atomic((d / "no" / "x").string(), "x"), app::app_error);
  CHECK_THROWS_AS(app::read_file((d / "none").string()), app::app_error);
  CHECK(app::file_hash("a") != app::file_hash("b"));
  std::filesystem::remove_all(d);
}

TEST_CASE("fold_split: the test folds partition the data, identities never straddle, classes spread") {
  app::dataset_index ds;
  ds.classes = {"x", "y"};
  for (int id = 0; id < 20; ++id)
    for (int k = 0; k <= id % 3; ++k)
      ds.samples.push_back({"p" + std::to_string(id) + "__" + std::to_string(k) + ".png", id % 2, "p" + std::to_string(id)});
  std::vector<int> times(ds.samples.size(), 0);
  for (std::size_t f = 1; f <= 4; ++f) {
    const auto s = app::fold_split(ds, 4, f, true, 9);
    CHECK(s.train.size() + s.test.size() == ds.samples.size());
    std::set<std::string> test_ids;
    std::size_t per_class[2] = {0, 0};
    for (auto i : s.test) {
      ++times[i];
      test_ids.insert(ds.samples[i].identity);
      ++per_class[ds.samples[i].label];
    }
    for (auto i : s.train) CHECK(test_ids.count(ds.samples[i].identity) == 0);
    CHECK(per_class[0] >= 2);
    CHECK(per_class[1] >= 2);
    CHECK(s.test == app::fold_split(ds, 4, f, true, 9).test);
  }
  for (int t : times) CHECK(t == 1);
  CHECK_THROWS_AS(app::fold_split(ds, 4, 5, true, 9), app::app_error);
  CHECK_THROWS_AS(app::fold_split(ds, 1, 1, true, 9), app::app_error);
}

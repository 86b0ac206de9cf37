// Tests of housenet/cascade.hpp: cascade files, OpenCV 4.6 box parity, bad input, threads.
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/random.hpp>
#include <housenet/vision.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <functional>
#include <map>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <tuple>
#include <vector>

namespace hn = housenet;
using housenet_test::contains;
using housenet_test::error_of;
using housenet_test::read_file;

namespace {

const std::string shared_dir = HOUSENET_SHARED_DIR;
const std::string source_dir = HOUSENET_SOURCE_DIR;
const std::string faces_dev = shared_dir + "/data/faces-dev";

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

// Value of "key" in a one-line JSON object: the raw text after the colon (string without quotes).
std::string json_field(const std::string& line, const std::string& key) {
  const auto k = line.find("\"" + key + "\"");
  REQUIRE(k != std::string::npos);
  std::size_t p = line.find(':', k) + 1;
  while (line[p] == ' ') ++p;
  if (line[p] == '"') return line.substr(p + 1, line.find('"', p + 1) - p - 1);
  if (line[p] == '[') {
    int depth = 0;
    std::size_t e = p;
    for (; e < line.size(); ++e) {
      if (line[e] == '[') ++depth;
      if (line[e] == ']' && --depth == 0) break;
    }
    return line.substr(p, e - p + 1);
  }
  std::size_t e = p;
  while (e < line.size() && line[e] != ',' && line[e] != '}') ++e;
  return line.substr(p, e - p);
}

std::vector<int> json_ints(std::string s) {
  for (char& c : s)
    if (c == '[' || c == ']' || c == ',') c = ' ';
  std::istringstream is(s);
  std::vector<int> v;
  int x;
  while (is >> x) v.push_back(x);
  return v;
}

std::vector<hn::rect> to_rects(const std::vector<int>& v) {
  std::vector<hn::rect> r;
  for (std::size_t i = 0; i + 3 < v.size(); i += 4) r.push_back(hn::rect{v[i], v[i + 1], v[i + 2], v[i + 3]});
  return r;
}

// One line of an expected-boxes JSONL file: {"image": "...", ..., "faces": [[x,y,w,h], ...], ...}
struct expected_entry {
  std::string image;
  std::vector<hn::rect> faces;
};

std::vector<expected_entry> read_expected(const std::string& path) {
  std::vector<expected_entry> out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    if (line.find('{') == std::string::npos) continue;
    expected_entry e;
    const auto ip = line.find("\"image\"");
    REQUIRE(ip != std::string::npos);
    const auto q1 = line.find('"', line.find(':', ip) + 1);
    const auto q2 = line.find('"', q1 + 1);
    e.image = line.substr(q1 + 1, q2 - q1 - 1);
    const auto fp = line.find("\"faces\"");
    REQUIRE(fp != std::string::npos);
    std::size_t p = line.find('[', fp) + 1;  // outer list
    while (true) {
      while (p < line.size() && (line[p] == ' ' || line[p] == ',')) ++p;
      if (p >= line.size() || line[p] == ']') break;
      REQUIRE(line[p] == '[');
      const auto close = line.find(']', p);
      std::string inner = line.substr(p + 1, close - p - 1);
      std::replace(inner.begin(), inner.end(), ',', ' ');
      std::istringstream is(inner);
      hn::rect r;
      is >> r.x >> r.y >> r.width >> r.height;
      e.faces.push_back(r);
      p = close + 1;
    }
    out.push_back(e);
  }
  return out;
}

std::string show(const std::vector<hn::rect>& v) {
  std::ostringstream os;
  for (const auto& r : v) os << "[" << r.x << "," << r.y << "," << r.width << "," << r.height << "]";
  return os.str();
}

double iou(const hn::rect& a, const hn::rect& b) {
  const int x0 = std::max(a.x, b.x), y0 = std::max(a.y, b.y);
  const int x1 = std::min(a.x + a.width, b.x + b.width), y1 = std::min(a.y + a.height, b.y + b.height);
  if (x1 <= x0 || y1 <= y0) return 0;
  const double inter = double(x1 - x0) * (y1 - y0);
  return inter / (double(a.area()) + double(b.area()) - inter);
}

hn::detect_options dev_options() {
  hn::detect_options o;
  o.scale_factor = 1.1;
  o.min_neighbors = 3;
  o.min_size = {30, 30};
  return o;
}

std::string gray_name(const std::string& image) {  // "images/x.jpg" -> "gray/images_x.pgm"
  std::string base = image;
  std::replace(base.begin(), base.end(), '/', '_');
  const auto dot = base.rfind('.');
  return "gray/" + base.substr(0, dot) + ".pgm";
}

struct cascade_case {
  const char* xml;
  const char* expected;
};
const cascade_case dev_cascades[] = {
    {"haarcascade_frontalface_default.xml", "haar_frontalface_default.jsonl"},
    {"lbpcascade_frontalface_improved.xml", "lbp_frontalface_improved.jsonl"},
};

}  // namespace

TEST_CASE("cascade: the bundled cascades load") {
  const hn::cascade haar = hn::cascade::load(source_dir + "/data/haarcascade_frontalface_default.xml");
  CHECK(haar.type() == hn::cascade::feature_type::haar);
  CHECK(haar.window_width() == 24);
  CHECK(haar.window_height() == 24);
  CHECK(haar.stage_count() == 25);
  CHECK(haar.stumps_only());
  const hn::cascade lbp = hn::cascade::load(source_dir + "/data/lbpcascade_frontalface_improved.xml");
  CHECK(lbp.type() == hn::cascade::feature_type::lbp);
  CHECK(lbp.window_width() == 45);
  CHECK(lbp.window_height() == 45);
}

// The cascade's numbers go through detail::parse_double: std::from_chars where the standard
// library has it, else (emscripten's libc++) the strtod fallback. Both must give the same bits.
TEST_CASE("cascade numbers: parse_double and its strtod fallback give from_chars' bits") {
  std::vector<std::string> tokens;
  for (const char* file : {"haarcascade_frontalface_default.xml", "lbpcascade_frontalface_improved.xml"}) {
    std::istringstream words(read_file(source_dir + "/data/" + file));
    for (std::string w; words >> w;) {
      const auto b = w.find_first_of("-.0123456789");  // numbers inside <tag>1.5</tag> and attributes
      if (b == std::string::npos) continue;
      const auto e = w.find_first_not_of("-+.0123456789eE", b);
      tokens.push_back(w.substr(b, e == std::string::npos ? std::string::npos : e - b));
    }
  }
  REQUIRE(tokens.size() > 10000);
  hn::prng r(2024);
  for (int i = 0; i < 20000; ++i) {  // finite doubles of every magnitude, at several precisions
    std::uint64_t bits = r.next_u64();
    double d;
    std::memcpy(&d, &bits, 8);
    if (!std::isfinite(d)) continue;
    char buf[400];
    for (const char* fmt : {"%.17g", "%.9g", "%.3e", "%.25f"}) {
      std::snprintf(buf, sizeof buf, fmt, d);
      tokens.emplace_back(buf);
    }
  }
  // (edge cases: numbers, then out of range, then not a whole number as from_chars reads it)
  const std::vector<std::string> good = {
      "0", "-0", "1", "1.", ".5", "-.5", "1e5", "1E+05", "1e-5", "00012.5000", "inf", "-INF", "Infinity", "nan",
      "nan(0x1)", "4e-320", "2.4703282292062328e-324", "1.7976931348623157e308", "9007199254740993",
      "0.1000000000000000055511151231257827"};
  const std::vector<std::string> bad = {
      "1e400", "-1e400", "1e-400", "2.4703282292062327e-324", "1.7976931348623159e308",
      "", "-", ".", "e5", "+1", " 1", "1 ", "1e", "1e+", "1.5.2", "0x10", "1x", "--1", "nan(", "inf1", "1e5e5"};
  for (const auto& t : good) {
    double v;
    CHECK_MESSAGE(hn::detail::parse_double(t.data(), t.data() + t.size(), v), t);
  }
  for (const auto& t : bad) {
    double v;
    CHECK_MESSAGE(!hn::detail::parse_double(t.data(), t.data() + t.size(), v), t);
  }
  tokens.insert(tokens.end(), good.begin(), good.end());
  tokens.insert(tokens.end(), bad.begin(), bad.end());

  for (const std::string& t : tokens) {
    CAPTURE(t);
    const char* b = t.data();
    const char* e = t.data() + t.size();
    double v1 = -7, v2 = -7;
    const bool ok1 = hn::detail::parse_double(b, e, v1), ok2 = hn::detail::parse_double_strtod(b, e, v2);
    CHECK(ok1 == ok2);
    if (ok1 && ok2 && !std::isnan(v1)) CHECK(std::memcmp(&v1, &v2, 8) == 0);
#if defined(__cpp_lib_to_chars)
    double v3 = -7;
    const auto res = std::from_chars(b, e, v3);
    CHECK(ok2 == (res.ec == std::errc() && res.ptr == e));
    if (ok2 && !std::isnan(v3)) CHECK(std::memcmp(&v2, &v3, 8) == 0);
#endif
  }
  // Printed with 17 digits, every finite double reads back as itself (both paths).
  for (int i = 0; i < 20000; ++i) {
    std::uint64_t bits = r.next_u64();
    double d, back = 0;
    std::memcpy(&d, &bits, 8);
    if (!std::isfinite(d)) continue;
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    REQUIRE(hn::detail::parse_double_strtod(buf, buf + std::strlen(buf), back));
    CHECK(std::memcmp(&back, &d, 8) == 0);
  }
}

TEST_CASE("cascade: parity with OpenCV 4.6 on faces-dev gray images" * doctest::test_suite("shared")) {
  if (!exists(faces_dev + "/expected")) return housenet_test::skip(faces_dev + " is absent");
  for (const auto& cc : dev_cascades) {
    const hn::cascade c = hn::cascade::load(source_dir + "/data/" + cc.xml);
    const auto expected = read_expected(faces_dev + "/expected/" + cc.expected);
    REQUIRE(!expected.empty());
    int images = 0, equal = 0;
    for (const auto& e : expected) {
      const std::string path = e.image.rfind("timing/", 0) == 0 ? faces_dev + "/" + e.image
                                                                 : faces_dev + "/" + gray_name(e.image);
      if (e.image.find("fhd") != std::string::npos) continue;  // large: covered by detect_bench
      const hn::image g = hn::load(path);
      REQUIRE(g.channels() == 1);
      std::vector<hn::rect> want = e.faces;
      std::sort(want.begin(), want.end());
      const std::vector<hn::rect> got = c.detect_multi_scale(g, dev_options());
      INFO(std::string(cc.xml) << " " << path << "\n  got      " << show(got) << "\n  expected " << show(want));
      CHECK(got == want);
      ++images;
      equal += got == want;
    }
    MESSAGE(std::string(cc.xml) << ": " << equal << "/" << images << " images with box sets equal to OpenCV 4.6's");
  }
}

TEST_CASE("cascade: colour originals decoded by housenet match OpenCV's boxes (IoU >= 0.9)" * doctest::test_suite("shared")) {
  if (!exists(faces_dev + "/expected")) return housenet_test::skip(faces_dev + " is absent");
  for (const auto& cc : dev_cascades) {
    const hn::cascade c = hn::cascade::load(source_dir + "/data/" + cc.xml);
    int total = 0, matched = 0, identical = 0, extra = 0;
    double min_iou = 1.0;
    for (const auto& e : read_expected(faces_dev + "/expected/" + cc.expected)) {
      if (e.image.rfind("images/", 0) != 0) continue;
      const hn::image img = hn::load(faces_dev + "/" + e.image);
      const std::vector<hn::rect> got = c.detect_multi_scale(hn::rgb_to_gray(img), dev_options());
      std::vector<bool> used(got.size(), false);
      for (const hn::rect& want : e.faces) {
        ++total;
        double best = 0;
        std::size_t bi = got.size();
        for (std::size_t i = 0; i < got.size(); ++i)
          if (!used[i] && iou(want, got[i]) > best) {
            best = iou(want, got[i]);
            bi = i;
          }
        if (best >= 0.9) {
          used[bi] = true;
          ++matched;
          identical += got[bi] == want;
          min_iou = std::min(min_iou, best);
        }
      }
      for (bool u : used) extra += !u;
    }
    MESSAGE(std::string(cc.xml) << ": " << matched << "/" << total << " OpenCV boxes matched at IoU >= 0.9 (" << identical
                   << " identical, worst matched IoU " << min_iou << "), " << extra << " extra housenet boxes");
    CHECK(matched >= 0.95 * total);
  }
}

namespace {

// The lines of tests/data/cascade_expected.jsonl whose cascade is in the repository (system =
// false) or in Debian's opencv-data (system = true): each run, its boxes checked. Returns how many.
int check_parity_lines(bool system) {
  std::ifstream f(source_dir + "/tests/data/cascade_expected.jsonl");
  REQUIRE(f.good());
  std::string line;
  std::map<std::string, hn::cascade> cascades;
  std::map<std::string, hn::image> images;
  int checked = 0;
  while (std::getline(f, line)) {
    if (line.find('{') == std::string::npos) continue;
    const std::string cpath = json_field(line, "cascade");
    if ((cpath[0] == '/') != system) continue;
    const std::string full = system ? cpath : source_dir + "/" + cpath;
    if (!cascades.count(full)) cascades.emplace(full, hn::cascade::load(full));
    const std::string ipath = source_dir + "/tests/data/" + json_field(line, "image");
    if (!images.count(ipath)) images.emplace(ipath, hn::load(ipath));
    hn::detect_options o;
    o.scale_factor = std::stod(json_field(line, "scale_factor"));
    o.min_neighbors = std::stoi(json_field(line, "min_neighbors"));
    const auto mn = json_ints(json_field(line, "min_size")), mx = json_ints(json_field(line, "max_size"));
    o.min_size = {mn.at(0), mn.at(1)};
    o.max_size = {mx.at(0), mx.at(1)};
    std::vector<hn::rect> want = to_rects(json_ints(json_field(line, "faces")));
    std::sort(want.begin(), want.end());
    const auto got = cascades.at(full).detect_multi_scale(images.at(ipath), o);
    INFO(line << "\n  got " << show(got));
    CHECK(got == want);
    ++checked;
  }
  MESSAGE(checked << " (image, cascade, parameters) cases checked");
  return checked;
}

const std::string opencv_data = "/usr/share/opencv4";

}  // namespace

TEST_CASE("cascade: self-contained parity with OpenCV 4.6 (tests/data, generated by scripts/make-cascade-parity-data.cpp)") {
  CHECK(check_parity_lines(false) == 27);  // the lines of data/ and tests/data/ cascades
}

TEST_CASE("cascade: self-contained parity with OpenCV 4.6, Debian's opencv-data cascades" *
          doctest::test_suite("opencv-data")) {
  if (!exists(opencv_data + "/haarcascades"))
    return housenet_test::skip(opencv_data + " is absent (Debian's opencv-data)");
  CHECK(check_parity_lines(true) == 54);
}

TEST_CASE("cascade: every cascade of Debian's opencv-data loads" * doctest::test_suite("opencv-data")) {
  const std::string root = opencv_data;
  if (!exists(root + "/haarcascades")) return housenet_test::skip(root + " is absent (Debian's opencv-data)");
  int n = 0;
  for (const char* dir : {"haarcascades", "lbpcascades"}) {
    const std::string d = root + "/" + dir;
    DIR* dp = ::opendir(d.c_str());
    REQUIRE(dp != nullptr);
    std::vector<std::string> files;
    while (dirent* e = ::readdir(dp)) {
      const std::string name = e->d_name;
      if (name.size() > 4 && name.substr(name.size() - 4) == ".xml") files.push_back(d + "/" + name);
    }
    ::closedir(dp);
    for (const auto& file : files) {
      INFO(file);
      const hn::cascade c = hn::cascade::load(file);
      CHECK(c.stage_count() > 0);
      CHECK(c.window_width() > 0);
      ++n;
    }
  }
  MESSAGE(n << " cascade files loaded");
  CHECK(n >= 22);
}

namespace {
hn::image scene() { return hn::load(source_dir + "/tests/data/scene_gray.png"); }
}  // namespace

TEST_CASE("cascade: the result does not depend on the thread count") {
  const housenet_test::settings_guard restore;
  const hn::image img = scene();
  for (const char* xml : {"haarcascade_frontalface_default.xml", "lbpcascade_frontalface_improved.xml"}) {
    const hn::cascade c = hn::cascade::load(source_dir + "/data/" + xml);
    hn::detect_options raw;
    raw.min_neighbors = 0;
    hn::set_num_threads(1);
    const auto ref = c.detect_multi_scale(img, raw);
    const auto ref_grouped = c.detect_multi_scale(img);
    CHECK(!ref.empty());
    for (int t : {2, 3, 5}) {
      hn::set_num_threads(t);
      CHECK(c.detect_multi_scale(img, raw) == ref);
      CHECK(c.detect_multi_scale(img) == ref_grouped);
    }
  }
}

TEST_CASE("cascade: the SIMD and scalar paths give the same windows") {
  const housenet_test::settings_guard restore;
  const hn::image img = scene();
  for (const char* xml : {"haarcascade_frontalface_default.xml", "lbpcascade_frontalface_improved.xml"}) {
    const hn::cascade c = hn::cascade::load(source_dir + "/data/" + xml);
    hn::detect_options raw;
    raw.min_neighbors = 0;
    raw.scale_factor = 1.15;
    hn::set_isa(hn::isa::scalar);
    const auto scalar = c.detect_multi_scale(img, raw);
    for (hn::isa i : {hn::isa::avx2, hn::isa::avx512, hn::isa::simd128}) {
      if (!hn::isa_supported(i)) continue;
      CAPTURE(hn::isa_name(i));
      hn::set_isa(i);
      CHECK(c.detect_multi_scale(img, raw) == scalar);
    }
    CHECK(!scalar.empty());
  }
}

TEST_CASE("cascade: pyramid scales and window sizes follow OpenCV") {
  const hn::cascade c = hn::cascade::load(source_dir + "/data/haarcascade_frontalface_default.xml");
  hn::detect_options o;
  o.min_size = {30, 30};
  const auto s = c.pyramid_scales(500, 375, o);
  REQUIRE(!s.empty());
  CHECK(s.front() == doctest::Approx(1.331).epsilon(1e-6));  // 24 * 1.21 = 29.04 -> 29 < 30: skipped
  for (float f : s) CHECK(std::lrint(24 * double(f)) <= 375);
  o.max_size = {100, 100};
  const auto s2 = c.pyramid_scales(500, 375, o);
  CHECK(std::lrint(24 * double(s2.back())) <= 100);
  CHECK(s2.size() < s.size());
}

TEST_CASE("cascade: group_rectangles") {
  std::vector<hn::rect> r = {{10, 10, 20, 20}, {11, 10, 20, 20}, {10, 11, 20, 20}, {11, 11, 20, 20}, {100, 100, 20, 20}};
  // 4 similar windows: kept with min_neighbors 3 (n = 4 > 3), the lone one dropped
  const auto g = hn::group_rectangles(r, 3);
  REQUIRE(g.size() == 1);
  CHECK(g[0] == hn::rect{10, 10, 20, 20});  // (42/4 = 10.5 -> 10 ties to even)
  CHECK(hn::group_rectangles(r, 4).empty());  // needs n > 4
  CHECK(hn::group_rectangles(r, 0).size() == r.size());
  // a small cluster inside a big one is dropped
  std::vector<hn::rect> nested;
  for (int i = 0; i < 6; ++i) nested.push_back({0, 0, 100, 100});
  for (int i = 0; i < 4; ++i) nested.push_back({30, 30, 30, 30});
  const auto g2 = hn::group_rectangles(nested, 2);
  REQUIRE(g2.size() == 1);
  CHECK(g2[0] == hn::rect{0, 0, 100, 100});
}

// ---- bad input ------------------------------------------------------------------------------

TEST_CASE("cascade: bad cascade files are one clear error naming the file and line") {
  const std::string good = read_file(source_dir + "/data/haarcascade_frontalface_default.xml");
  REQUIRE(good.size() > 100000);
  SUBCASE("truncated") {
    const std::string e = error_of([&] { hn::cascade::from_string(good.substr(0, good.size() / 2), "cut.xml"); });
    CHECK(contains(e, "cascade: cut.xml:"));
    const std::string e2 =
        error_of([&] { hn::cascade::from_string(good.substr(0, good.find('>', good.size() / 2) + 1), "cut.xml"); });
    CHECK(contains(e2, "cascade: cut.xml:"));
    CHECK(contains(e2, "unexpected end of file"));
    CHECK(contains(e2, "is not closed"));
  }
  SUBCASE("truncated at every few bytes of the header") {
    for (std::size_t n = 0; n < 2200; n += 37) {
      const std::string e = error_of([&] { hn::cascade::from_string(good.substr(0, n), "cut.xml"); });
      CHECK(contains(e, "cascade: cut.xml:"));
    }
  }
  SUBCASE("wrong featureType") {
    std::string x = good;
    x.replace(x.find("<featureType>HAAR"), 17, "<featureType>HOG");
    const std::string e = error_of([&] { hn::cascade::from_string(x, "hog.xml"); });
    CHECK(contains(e, "cascade: hog.xml:"));
    CHECK(contains(e, "featureType 'HOG'"));
  }
  SUBCASE("missing features") {
    std::string x = good;
    const auto a = x.find("<features>"), b = x.find("</features>");
    x.erase(a, b + 11 - a);
    const std::string e = error_of([&] { hn::cascade::from_string(x, "nofeat.xml"); });
    CHECK(contains(e, "cascade: nofeat.xml:"));
    CHECK(contains(e, "<features>"));
  }
  SUBCASE("feature index out of range") {
    std::string x = good;
    const auto p = x.find("0 -1 0 -3.1511999666690826e-02");
    REQUIRE(p != std::string::npos);
    x.replace(p, 6, "0 -1 99999");
    const std::string e = error_of([&] { hn::cascade::from_string(x, "idx.xml"); });
    CHECK(contains(e, "cascade: idx.xml:"));
    CHECK(contains(e, "feature index 99999 is out of range"));
  }
  SUBCASE("wrong leaf count") {
    std::string x = good;
    const auto p = x.find("<leafValues>");
    const auto q = x.find("</leafValues>", p);
    x.replace(p + 12, q - p - 12, " 1.0 ");
    const std::string e = error_of([&] { hn::cascade::from_string(x, "leaf.xml"); });
    CHECK(contains(e, "cascade: leaf.xml:"));
    CHECK(contains(e, "leafValues has 1 values, expected 2"));
  }
  SUBCASE("rectangle outside the window") {
    std::string x = good;
    const auto p = x.find("<rects>");
    const auto q = x.find("<_>", p);
    const auto r = x.find("</_>", q);
    x.replace(q + 3, r - q - 3, "20 20 10 10 -1.");
    const std::string e = error_of([&] { hn::cascade::from_string(x, "rect.xml"); });
    CHECK(contains(e, "lies outside the 24x24 window"));
  }
  SUBCASE("not XML, empty, deeply nested, not a cascade") {
    CHECK(contains(error_of([] { hn::cascade::from_string("", "e.xml"); }), "cascade: e.xml:1: empty file"));
    CHECK(contains(error_of([] { hn::cascade::from_string("\x89PNG garbage", "g.xml"); }), "cascade: g.xml:1:"));
    std::string deep = "<opencv_storage>";
    for (int i = 0; i < 100000; ++i) deep += "<a>";
    CHECK(contains(error_of([&] { hn::cascade::from_string(deep, "deep.xml"); }), "nested deeper than"));
    CHECK(contains(error_of([] { hn::cascade::from_string("<opencv_storage><x>1</x></opencv_storage>", "x.xml"); }),
              "not a cascade classifier"));
    CHECK(contains(error_of([] { hn::cascade::from_string("<a><b></a></b>", "m.xml"); }), "does not match"));
    CHECK(contains(error_of([] { hn::cascade::load("/nonexistent/dir/c.xml"); }), "cascade: /nonexistent/dir/c.xml: cannot open"));
  }
}

TEST_CASE("cascade: bad detection input is one clear error") {
  const hn::cascade c = hn::cascade::load(source_dir + "/data/lbpcascade_frontalface_improved.xml");
  CHECK(contains(error_of([&] { c.detect_multi_scale(hn::image()); }), "cascade: detect_multi_scale: empty image (0x0)"));
  CHECK(contains(error_of([&] { c.detect_multi_scale(hn::image(0, 10, 1)); }), "empty image"));
  const hn::image img(64, 64, 1, 128);
  hn::detect_options o;
  o.scale_factor = 1.0;
  CHECK(contains(error_of([&] { c.detect_multi_scale(img, o); }), "scale_factor must be > 1"));
  o.scale_factor = std::nan("");
  CHECK(contains(error_of([&] { c.detect_multi_scale(img, o); }), "scale_factor must be > 1"));
  o = hn::detect_options{};
  o.min_size = {-1, 5};
  CHECK(contains(error_of([&] { c.detect_multi_scale(img, o); }), "min_size -1x5 must not be negative"));
  o = hn::detect_options{};
  o.max_size = {5, -2};
  CHECK(contains(error_of([&] { c.detect_multi_scale(img, o); }), "max_size"));
  // an image smaller than the window: no levels, no boxes, no error
  CHECK(c.detect_multi_scale(hn::image(20, 20, 1, 7)).empty());
}

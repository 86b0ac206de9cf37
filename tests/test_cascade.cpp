// Tests of housenet/cascade.hpp: cascade files, OpenCV 4.6 box parity, bad input, threads.
#include <doctest/doctest.h>

#include <housenet/vision.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <tuple>
#include <vector>

namespace hn = housenet;

namespace {

const std::string shared_dir = HOUSENET_SHARED_DIR;
const std::string source_dir = HOUSENET_SOURCE_DIR;
const std::string faces_dev = shared_dir + "/data/faces-dev";

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

[[maybe_unused]] std::string read_text(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
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

[[maybe_unused]] double iou(const hn::rect& a, const hn::rect& b) {
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

TEST_CASE("cascade: parity with OpenCV 4.6 on faces-dev gray images") {
  if (!exists(faces_dev + "/expected")) {
    MESSAGE("skipped: " << faces_dev << " is absent");
    return;
  }
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

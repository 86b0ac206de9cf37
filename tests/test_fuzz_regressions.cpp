// Inputs the fuzzers (fuzz/) or the hardening review found to crash or misbehave, replayed through
// the same entry points: each must now give one housenet::error (or load), never UB. The files are
// fuzz/regressions/<target>-<what>.<ext>; the expected message is checked where it is stable.
// Built with the rest of the tests, so CI replays them under ASan + UBSan too.
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/cascade.hpp>
#include <housenet/detail/crc32.hpp>
#include <housenet/image.hpp>
#include <housenet/model_io.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace housenet;
namespace fs = std::filesystem;

namespace {

const fs::path dir = fs::path(HOUSENET_SOURCE_DIR) / "fuzz" / "regressions";

using housenet_test::error_of;

// The error of parsing `xml` as a cascade and running it on a small image ("" when none).
std::string cascade_error_of(const std::string& xml, const std::string& name = "attrs.xml") {
  return error_of([&] {
    const cascade c = cascade::from_string(xml, name);
    image img(48, 40, 1, 7);
    (void)c.detect_multi_scale(img);
  });
}

std::string read(const fs::path& p) { return housenet_test::read_file(p.string()); }

std::string cascade_error(const std::string& file) {
  const std::string xml = read(dir / file);
  REQUIRE(!xml.empty());
  return cascade_error_of(xml, file);
}

// A model file (valid CRC and sizes) whose header lines after "layers=" are `layer_lines`, with the
// given records (name, dims, values).
struct record {
  std::string name;
  std::vector<std::uint64_t> dims;
  float value;
};
std::string model_file(std::size_t classes, const std::string& input, const std::vector<std::string>& layer_lines,
                       const std::vector<record>& records) {
  std::string rec;
  const auto u32 = [](std::string& o, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) o.push_back(char(v >> (8 * i)));
  };
  const auto u64 = [](std::string& o, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) o.push_back(char(v >> (8 * i)));
  };
  for (const auto& r : records) {
    u32(rec, std::uint32_t(r.name.size()));
    rec += r.name;
    u32(rec, std::uint32_t(r.dims.size()));
    std::uint64_t n = 1;
    for (auto d : r.dims) u64(rec, d), n *= d;
    for (std::uint64_t i = 0; i < n; ++i) {
      std::uint32_t u;
      std::memcpy(&u, &r.value, 4);
      u32(rec, u);
    }
  }
  std::string h = "housenet_version=0.1.0\ndtype=f32\nbyte_order=little\npayload_bytes=" +
                  std::to_string(rec.size() + 4) + "\ninput=" + input + "\nclasses=" + std::to_string(classes) +
                  "\nlabels=\nlayers=" + std::to_string(layer_lines.size()) + "\n";
  for (const auto& l : layer_lines) h += "layer=" + l + "\n";
  h += "records=" + std::to_string(records.size()) + "\nmodel_step=0\n";
  std::string b = "HSNT";
  u32(b, 1);
  u32(b, 0);
  u64(b, h.size());
  b += h + rec;
  u32(b, detail::crc32(b.data(), b.size()));
  return b;
}

std::string model_error(const std::string& bytes) {
  return error_of([&] { (void)model_from_bytes<float>(bytes.data(), bytes.size(), "m.hsnt"); });
}

}  // namespace

TEST_CASE("fuzz regression: an element with thousands of attributes is refused (was quadratic)") {
  std::string attrs;
  for (int i = 0; i < 65; ++i) attrs += " a" + std::to_string(i) + "=\"\"";
  CHECK(cascade_error_of("<opencv_storage><cascade" + attrs + "/></opencv_storage>") ==
        "cascade: attrs.xml:1: more than 64 attributes in <cascade>");
  attrs.clear();
  for (int i = 0; i < 64; ++i) attrs += " a" + std::to_string(i) + "=\"\"";
  CHECK(cascade_error_of("<opencv_storage><cascade" + attrs + "/></opencv_storage>") ==
        "cascade: attrs.xml:1: <cascade> is not a cascade classifier (no stageType/featureType)");
}

TEST_CASE("fuzz regression: a layer line with thousands of keys is refused (was quadratic)") {
  std::string keys;
  for (int i = 0; i < 65; ++i) keys += " k" + std::to_string(i) + "=0";
  CHECK(model_error(model_file(3, "3", {"relu/1" + keys}, {})) == "m.hsnt: layer 1: 65 key=value items (at most 64)");
  CHECK(model_error(model_file(3, "3", {"relu/1 k0=0"}, {})) == "m.hsnt: layer 1: make_layer: relu/1: unknown key 'k0'");
  CHECK(model_error(model_file(3, "3", {"relu/1"}, {})) == "");
}

TEST_CASE("fuzz regression: records are matched to parameters by name in any order (indexed lookup)") {
  std::vector<std::string> layers;
  std::vector<record> recs;
  for (int i = 1; i <= 300; ++i) {
    layers.push_back("linear/1 out_features=1 bias=1 init=lecun");
    recs.push_back({std::to_string(i) + ".linear.weight", {1, 1}, float(i)});
    recs.push_back({std::to_string(i) + ".linear.bias", {1}, -float(i)});
  }
  std::vector<record> reversed(recs.rbegin(), recs.rend());
  const std::string file = model_file(1, "1", layers, reversed);
  REQUIRE(model_error(file) == "");
  const loaded_model<float> m = model_from_bytes<float>(file.data(), file.size(), "m.hsnt");
  // every record landed in the parameter of its name
  std::size_t right = 0;
  for (const auto& p : m.model.parameters()) {
    const int layer = std::stoi(p.name);
    const float want = p.name.find("weight") != std::string::npos ? float(layer) : -float(layer);
    right += m.model.values().data()[p.offset] == want;
  }
  CHECK(right == 600);
  CHECK(m.model.num_params() == 600);
  std::vector<record> dup = reversed;
  dup.back() = dup.front();
  CHECK(model_error(model_file(1, "1", layers, dup)) == "m.hsnt: record '300.linear.bias' appears twice");
  std::vector<record> unknown = reversed;
  unknown.back().name = "301.linear.weight";
  CHECK(model_error(model_file(1, "1", layers, unknown)) ==
        "m.hsnt: record '301.linear.weight' is not a parameter of the network");
}

TEST_CASE("fuzz regression: a Haar rectangle whose x + width overflows int is rejected") {
  CHECK(cascade_error("cascade-rect-overflow-upright.xml") ==
        "cascade: cascade-rect-overflow-upright.xml:37: rectangle 2147483647 2 8 6 lies outside the 12x12 window");
  CHECK(cascade_error("cascade-rect-overflow-tilted.xml") ==
        "cascade: cascade-rect-overflow-tilted.xml:57: rectangle -2147483647 0 4 4 (tilted) lies outside the 12x12 window");
}

TEST_CASE("fuzz regression: a tree node whose child is INT_MIN is rejected (was -INT_MIN)") {
  CHECK(cascade_error("cascade-node-child-int-min.xml") ==
        "cascade: cascade-node-child-int-min.xml:32: node 0 has child -2147483648, expected a later node (1..0) "
        "or a leaf (0..-1)");
}

TEST_CASE("fuzz regression: every file of fuzz/regressions gives a result or one error") {
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    const std::string bytes = read(e.path());
    CAPTURE(name);
    ++files;
    // a result, or one housenet::error of one line (error_of fails the case otherwise)
    if (name.rfind("cascade-", 0) == 0) {
      (void)cascade_error_of(bytes, name);
    } else if (name.rfind("model-", 0) == 0) {
      (void)error_of([&] { (void)model_from_bytes<float>(bytes.data(), bytes.size(), name); });
    } else if (name.rfind("image-", 0) == 0) {
      (void)error_of([&] { (void)load_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), name); });
    }
  }
  CHECK(files >= 2);
}

TEST_CASE("fuzz regression: a JPEG scan using an undefined Huffman table is refused (stb asserted)") {
  const std::string bytes = read(dir / "image-undefined-huffman-table.jpg");
  CHECK_THROWS_WITH_AS(load_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), "x.jpg"),
                       "image: cannot read 'x.jpg': corrupt JPEG: a scan uses a Huffman table that is not defined",
                       error);
  // a DHT whose 16 counts add up past 256 codes (stb overran its tables) and an over-full one
  std::string dht = "\xFF\xD8\xFF\xC4";
  dht += std::string("\x00\x13\x00", 3) + std::string(16, '\x20');  // 16 x 32 = 512 codes
  CHECK_THROWS_WITH_AS(load_from_memory(reinterpret_cast<const unsigned char*>(dht.data()), dht.size(), "y.jpg"),
                       doctest::Contains("corrupt JPEG: bad Huffman table"), error);
}

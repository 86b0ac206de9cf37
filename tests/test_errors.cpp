// docs/errors.md, library rows: every bad input of the table gives exactly the documented one-line
// housenet::error (and never a crash). The app rows are tests/errors_cli.sh (tests/errors.cmake).
// Each TEST_CASE names its row of docs/errors.md.
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/cascade.hpp>
#include <housenet/image.hpp>
#include <housenet/layers.hpp>
#include <housenet/model_io.hpp>
#include <housenet/sequential.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

using namespace housenet;
namespace fs = std::filesystem;

namespace {

using housenet_test::error_of;
using scratch_dir = housenet_test::scratch_dir;

image noise(int w, int h, int c) {
  image img(w, h, c);
  std::uint32_t s = 12345;
  for (std::size_t i = 0; i < img.size_bytes(); ++i) {
    s = s * 1664525u + 1013904223u;
    img.data()[i] = std::uint8_t(s >> 24);
  }
  return img;
}

// A PNG signature and an IHDR chunk claiming w x h (no pixel data).
std::vector<unsigned char> png_header(std::uint32_t w, std::uint32_t h, unsigned colour_type) {
  std::vector<unsigned char> b = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  for (std::uint32_t v : {w, h})
    for (int k = 3; k >= 0; --k) b.push_back(std::uint8_t(v >> (8 * k)));
  for (unsigned v : {8u, colour_type, 0u, 0u, 0u}) b.push_back(std::uint8_t(v));
  for (int k = 0; k < 4; ++k) b.push_back(0);  // CRC (stb does not check it)
  return b;
}

sequential<float> tiny_model() {
  sequential<float> n;
  n.add<conv2d<float>>(2, 3);
  n.add<relu<float>>();
  n.add<flatten<float>>();
  n.add<linear<float>>(3);
  n.setup(shape{1, 1, 5, 5}, 1);
  return n;
}

const std::string source_dir = HOUSENET_SOURCE_DIR;

}  // namespace

TEST_CASE("errors.md: empty file (image, model, cascade)") {
  const scratch_dir d("errors");
  housenet_test::write_file(d("empty.jpg"), "");
  housenet_test::write_file(d("empty.hsnt"), "");
  housenet_test::write_file(d("empty.xml"), "");
  CHECK(error_of([&] { load(d("empty.jpg")); }) == "image: cannot read '" + d("empty.jpg") + "': empty file");
  CHECK(error_of([&] { load_model(d("empty.hsnt")); }) == d("empty.hsnt") + ": not a housenet model file (empty)");
  CHECK(error_of([&] { cascade::load(d("empty.xml")); }) == "cascade: " + d("empty.xml") + ":1: empty file");
}

TEST_CASE("errors.md: truncated PNG and JPEG") {
  const scratch_dir d("errors");
  const image img = noise(64, 48, 3);
  const std::vector<unsigned char> png = encode(img, "png"), jpg = encode(img, "jpg");
  housenet_test::write_file(d("half.png"), std::vector<unsigned char>(png.begin(), png.begin() + std::ptrdiff_t(png.size() / 2)));
  housenet_test::write_file(d("half.jpg"), std::vector<unsigned char>(jpg.begin(), jpg.begin() + std::ptrdiff_t(jpg.size() / 2)));
  housenet_test::write_file(d("head.jpg"), std::vector<unsigned char>(jpg.begin(), jpg.begin() + 100));
  CHECK(error_of([&] { load(d("half.png")); }) ==
        "image: cannot read '" + d("half.png") + "': outofdata (corrupt or truncated file)");
  CHECK(error_of([&] { load(d("half.jpg")); }) ==
        "image: cannot read '" + d("half.jpg") + "': expected marker (corrupt or truncated file)");
  // Cut inside its header: its first bytes say JPEG, and the message says so.
  CHECK(error_of([&] { load(d("head.jpg")); }) ==
        "image: cannot read '" + d("head.jpg") + "': corrupt or truncated JPEG: no SOF");
}

TEST_CASE("errors.md: an image header claiming 100000x100000 (or more pixels than the limit)") {
  const scratch_dir d("errors");
  housenet_test::write_file(d("huge.png"), png_header(100000, 100000, 2));
  housenet_test::write_file(d("big.png"), png_header(20000, 20000, 0));
  CHECK(error_of([&] { load(d("huge.png")); }) ==
        "image: cannot read '" + d("huge.png") + "': 100000x100000 pixels exceeds the limit of 100000000 pixels");
  CHECK(error_of([&] { load(d("big.png")); }) ==
        "image: cannot read '" + d("big.png") + "': 20000x20000 pixels exceeds the limit of 100000000 pixels");
}

TEST_CASE("errors.md: a text file named .jpg") {
  const scratch_dir d("errors");
  housenet_test::write_file(d("notes.jpg"), "these are my notes, not a photo\n");
  CHECK(error_of([&] { load(d("notes.jpg")); }) ==
        "image: cannot read '" + d("notes.jpg") +
            "': unknown image type (not a JPEG, PNG, BMP, GIF or PGM/PPM file)");
}

TEST_CASE("errors.md: a cascade with a wrong featureType") {
  const std::string xml = housenet_test::read_file(source_dir + "/fuzz/seeds/cascade/mini_haar.xml");
  REQUIRE(!xml.empty());
  std::string bad = xml;
  bad.replace(bad.find("HAAR"), 4, "HOG");
  CHECK(error_of([&] { cascade::from_string(bad, "hog.xml"); }) ==
        "cascade: hog.xml:4: unsupported featureType 'HOG' (expected HAAR or LBP)");
}

TEST_CASE("errors.md: a cascade cut in half") {
  const std::string xml = housenet_test::read_file(source_dir + "/data/haarcascade_frontalface_default.xml");
  REQUIRE(xml.size() > 1000);
  const std::string half = xml.substr(0, xml.size() / 2);
  const std::string m = error_of([&] { cascade::from_string(half, "half.xml"); });
  CHECK(m == "cascade: half.xml:11739: unterminated tag <internalNo>");
  // Cut between two elements instead: the first element left open is named.
  const std::string at_tag = xml.substr(0, xml.find("<_>", xml.size() / 2));
  CHECK(error_of([&] { cascade::from_string(at_tag, "cut.xml"); }).rfind("cascade: cut.xml:", 0) == 0);
  CHECK(error_of([&] { cascade::from_string(at_tag, "cut.xml"); }).find("is not closed") != std::string::npos);
}

TEST_CASE("errors.md: a model of another format version") {
  const scratch_dir d("errors");
  std::vector<std::uint8_t> b = model_to_bytes(tiny_model(), {"a", "b", "c"});
  b[4] = 3;  // format_version (u32 at byte 4)
  housenet_test::write_file(d("v3.hsnt"), b);
  CHECK(error_of([&] { load_model(d("v3.hsnt")); }) ==
        d("v3.hsnt") + ": format version 3 not supported (this build reads 1-2)");
}

TEST_CASE("errors.md: a model with a flipped byte") {
  const scratch_dir d("errors");
  std::vector<std::uint8_t> b = model_to_bytes(tiny_model(), {"a", "b", "c"});
  b[b.size() - 40] ^= 0x01;  // a weight
  housenet_test::write_file(d("flipped.hsnt"), b);
  CHECK(error_of([&] { load_model(d("flipped.hsnt")); }) == d("flipped.hsnt") + ": checksum mismatch (file damaged?)");
  // Every single flipped bit anywhere is an error, never a wrong model.
  const std::vector<std::uint8_t> good = model_to_bytes(tiny_model(), {"a", "b", "c"});
  std::size_t errors = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::vector<std::uint8_t> c = good;
    c[i] ^= std::uint8_t(1u << (i % 8));
    errors += !error_of([&] { model_from_bytes<float>(c.data(), c.size(), "m"); }).empty();
  }
  CHECK(errors == good.size());
}

TEST_CASE("errors.md: a truncated model") {
  const scratch_dir d("errors");
  const std::vector<std::uint8_t> b = model_to_bytes(tiny_model(), {"a", "b", "c"});
  housenet_test::write_file(d("cut.hsnt"), std::vector<std::uint8_t>(b.begin(), b.end() - 100));
  CHECK(error_of([&] { load_model(d("cut.hsnt")); }) ==
        d("cut.hsnt") + ": truncated at byte " + std::to_string(b.size() - 100) + " (the header announces " +
            std::to_string(b.size()) + " bytes)");
}

TEST_CASE("errors.md: a missing output directory") {
  const scratch_dir d("errors");
  const std::string m = d("no/such/dir/m.hsnt");
  CHECK(error_of([&] { save_model(tiny_model(), {}, m); }) ==
        m + ": cannot create a temporary file next to it: No such file or directory");
  const std::string p = d("no/such/dir/out.png");
  const std::string e = error_of([&] { save(noise(4, 4, 3), p); });
  CHECK(e.rfind("image: cannot write '" + p + "': cannot create " + p + ".tmp-", 0) == 0);
}

TEST_CASE("errors.md: a read-only output path") {
  const scratch_dir d("errors");
  // As root, permissions do not stop writes: use a folder of a read-only file system instead.
  std::string dir = d("ro");
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec);
  if (::geteuid() == 0) dir = "/proc";
  const std::string m = dir + "/m.hsnt";
  const std::string e = error_of([&] { save_model(tiny_model(), {}, m); });
  CHECK(e.rfind(m + ": cannot create a temporary file next to it: ", 0) == 0);
  CHECK(!fs::exists(m));
  const std::string p = dir + "/out.png";
  const std::string e2 = error_of([&] { save(noise(4, 4, 3), p); });
  CHECK(e2.rfind("image: cannot write '" + p + "': cannot create ", 0) == 0);
}

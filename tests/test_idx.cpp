// IDX and gzip reading (housenet/data/idx.hpp, data/gzip.hpp) against files made by other tools
// (tests/data/idx/make_fixtures.py: Python's struct, gzip and zlib, and the gzip program), and
// every documented error on damaged, truncated, mislabelled and mismatched inputs.
#include <doctest/doctest.h>

#include <housenet/data/idx.hpp>
#include <housenet/detail/crc32.hpp>

#include "support.hpp"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace housenet;
using housenet_test::error_of;
using housenet_test::scratch_dir;
using housenet_test::write_file;
namespace fs = std::filesystem;

namespace {

const fs::path dir = fs::path(HOUSENET_SOURCE_DIR) / "tests" / "data" / "idx";

std::vector<std::uint8_t> bytes_of(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  REQUIRE(f.good());
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// The fixtures' images: pixel (i, y, x) = (37 i + 11 y + 3 x) % 256, 3 images of 4 x 5.
std::vector<std::uint8_t> expected_pixels() {
  std::vector<std::uint8_t> v;
  for (int i = 0; i < 3; ++i)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 5; ++x) v.push_back(std::uint8_t((37 * i + 11 * y + 3 * x) % 256));
  return v;
}

std::string gunzip_error(const std::vector<std::uint8_t>& b, std::size_t max_bytes = default_max_gunzip_bytes) {
  return error_of([&] { (void)gunzip(b.data(), b.size(), "x.gz", max_bytes); });
}
std::string idx_error(const std::vector<std::uint8_t>& b, std::size_t max_bytes = default_max_idx_bytes) {
  return error_of([&] { (void)idx_from_bytes(b.data(), b.size(), "x.idx", max_bytes); });
}

}  // namespace

TEST_CASE("gunzip: files from gzip, Python's gzip module and a hand-made header with every optional field") {
  const auto raw = bytes_of(dir / "images-idx3-ubyte");
  REQUIRE(raw.size() == 16 + 60);
  for (const char* name : {"images-idx3-ubyte.gz", "images-stored.gz", "images-fixed.gz"}) {
    CAPTURE(name);
    const auto gz = bytes_of(dir / name);
    CHECK(is_gzip(gz.data(), gz.size()));
    CHECK(gunzip(gz.data(), gz.size(), name) == raw);
  }
  const auto labels = bytes_of(dir / "labels-idx1-ubyte.gz");
  CHECK(gunzip(labels.data(), labels.size(), "l.gz") == bytes_of(dir / "labels-idx1-ubyte"));
  CHECK_FALSE(is_gzip(raw.data(), raw.size()));
}

TEST_CASE("gunzip: a stream ending in its last two bytes (Debian's stb_image 2.27 alone fails it)") {
  const auto gz = bytes_of(dir / "labels200-idx1-ubyte.gz");
  // What gunzip works around: the deflate data alone, without the trailer after it, is refused.
  std::vector<char> out(300);
  CHECK(stbi_zlib_decode_noheader_buffer(out.data(), int(out.size()), reinterpret_cast<const char*>(gz.data()) + 10,
                                         int(gz.size()) - 18) < 0);
  const std::vector<std::uint8_t> raw = gunzip(gz.data(), gz.size(), "l.gz");
  REQUIRE(raw.size() == 208);
  for (int i = 0; i < 200; ++i) CHECK(raw[8 + std::size_t(i)] == (i * i + i / 2) % 10);
}

TEST_CASE("idx: images and labels, plain and gzip'd, read alike") {
  for (const char* suffix : {"", ".gz"}) {
    CAPTURE(suffix);
    const idx_array im = read_idx((dir / (std::string("images-idx3-ubyte") + suffix)).string());
    CHECK(im.dims == std::vector<std::uint32_t>{3, 4, 5});
    CHECK(im.dims_str() == "3x4x5");
    CHECK(im.data == expected_pixels());
    const labelled_images d = read_idx_dataset((dir / (std::string("images-idx3-ubyte") + suffix)).string(),
                                               (dir / (std::string("labels-idx1-ubyte") + suffix)).string(), 10);
    CHECK(d.count == 3);
    CHECK(d.height == 4);
    CHECK(d.width == 5);
    CHECK(d.labels == std::vector<int>{2, 0, 9});
    CHECK(d.pixels == expected_pixels());
    CHECK(d.image(2)[0] == 74);
  }
}

TEST_CASE("idx: load_mnist_split finds DIR/<split>-*-ubyte.gz, else the plain file") {
  scratch_dir s("idx");
  write_file(s("t10k-images-idx3-ubyte"), bytes_of(dir / "images-idx3-ubyte"));
  write_file(s("t10k-labels-idx1-ubyte.gz"), bytes_of(dir / "labels-idx1-ubyte.gz"));
  const labelled_images d = load_mnist_split(s.str(), "t10k");
  CHECK(d.count == 3);
  CHECK(d.labels == std::vector<int>{2, 0, 9});
  CHECK(error_of([&] { (void)load_mnist_split(s.str(), "train"); }).find("train-labels-idx1-ubyte.gz: cannot open") !=
        std::string::npos);
  CHECK(error_of([&] { (void)load_mnist_split(s.str(), "test"); }) ==
        "load_mnist_split: split 'test' is neither train nor t10k");
  CHECK(fashion_mnist_classes().size() == 10);
  CHECK(fashion_mnist_classes()[9] == "Ankle boot");
}

TEST_CASE("idx: gather_batch normalises and pixel_mean_std matches a direct computation") {
  const labelled_images d = read_idx_dataset((dir / "images-idx3-ubyte.gz").string(),
                                             (dir / "labels-idx1-ubyte.gz").string(), 10);
  double s = 0, s2 = 0;
  for (std::uint8_t p : d.pixels) s += p / 255.0, s2 += (p / 255.0) * (p / 255.0);
  const double n = double(d.pixels.size()), mean = s / n, sd = std::sqrt(s2 / n - mean * mean);
  const auto ms = pixel_mean_std(d);
  CHECK(ms.first == doctest::Approx(mean).epsilon(1e-12));
  CHECK(ms.second == doctest::Approx(sd).epsilon(1e-12));
  const auto one = pixel_mean_std(d, {1});
  double s1 = 0;
  for (std::size_t j = 0; j < 20; ++j) s1 += d.image(1)[j] / 255.0;
  CHECK(one.first == doctest::Approx(s1 / 20).epsilon(1e-12));

  tensor<float> x;
  std::vector<int> labels;
  gather_batch(d, {2, 0}, 0, 2, 0.25, 0.5, x, labels);
  CHECK(x.shape() == shape{2, 1, 4, 5});
  CHECK(labels == std::vector<int>{9, 2});
  for (std::size_t j = 0; j < 20; ++j) {
    CHECK(x.data()[j] == float((d.image(2)[j] / 255.0 - 0.25) / 0.5));
    CHECK(x.data()[20 + j] == float((d.image(0)[j] / 255.0 - 0.25) / 0.5));
  }
  CHECK(error_of([&] { gather_batch(d, {0, 1}, 1, 2, 0.0, 1.0, x, labels); }) ==
        "gather_batch: items 1..3 of an order of 2");
  CHECK(error_of([&] { gather_batch(d, {7}, 0, 1, 0.0, 1.0, x, labels); }) == "gather_batch: item 7 of a data set of 3");
  CHECK(error_of([&] { gather_batch(d, {0}, 0, 1, 0.0, 0.0, x, labels); }) == "gather_batch: mean 0 / stddev 0 invalid");
}

TEST_CASE("gunzip: damaged, truncated and forged files give one clear error") {
  const auto gz = bytes_of(dir / "images-idx3-ubyte.gz");
  const auto fixed = bytes_of(dir / "images-fixed.gz");

  CHECK(gunzip_error({}) == "x.gz: not a gzip file (it starts with nothing: the file is empty)");
  CHECK(gunzip_error({0, 0, 8, 3, 0}) == "x.gz: not a gzip file (it starts with 00 00 08 03, not 1f 8b)");
  CHECK(gunzip_error({0x1f, 0x8b, 8, 0}) == "x.gz: truncated gzip file (4 bytes; the smallest is 18)");
  auto b = gz;
  b[2] = 7;
  CHECK(gunzip_error(b) == "x.gz: compression method 7 not supported (gzip uses deflate, 8)");
  b = gz;
  b[3] |= 0x80;
  CHECK(gunzip_error(b) == "x.gz: reserved header flags set (0x88; damaged file?)");

  // Cut short: every length from 0 to the whole file minus one is an error, never a crash.
  for (std::size_t n = 0; n < gz.size(); ++n) {
    const std::vector<std::uint8_t> cut(gz.begin(), gz.begin() + long(n));
    CAPTURE(n);
    CHECK(!gunzip_error(cut).empty());
  }
  for (std::size_t n = 0; n < fixed.size(); ++n) {
    const std::vector<std::uint8_t> cut(fixed.begin(), fixed.begin() + long(n));
    CAPTURE(n);
    CHECK(!gunzip_error(cut).empty());
  }
  // The header's file name without its terminating zero (the file ends inside it).
  CHECK(gunzip_error(std::vector<std::uint8_t>(gz.begin(), gz.begin() + 25)) ==
        "x.gz: the header's FNAME field runs into the trailer (truncated?)");
  b = fixed;
  b[11] = 0xFF;  // FEXTRA's length (bytes 10-11): past the end
  CHECK(gunzip_error(b) == "x.gz: the header's FEXTRA field runs into the trailer (truncated?)");
  b = fixed;
  b[20] ^= 1;  // a letter of the file name: the header CRC no longer matches
  CHECK(gunzip_error(b) == "x.gz: header CRC-16 mismatch (damaged file)");

  // Trailer: a forged size, a wrong CRC, a size above the caller's limit.
  const auto set_le32 = [](std::vector<std::uint8_t>& v, std::size_t at, std::uint32_t x) {
    for (int i = 0; i < 4; ++i) v[at + std::size_t(i)] = std::uint8_t(x >> (8 * i));
  };
  b = gz;
  set_le32(b, b.size() - 4, 0x7FFFFF00u);
  CHECK(gunzip_error(b) == "x.gz: inflates to 2147483392 bytes (the trailer says), more than the limit of 1073741824");
  b = gz;
  set_le32(b, b.size() - 4, 1u << 29);
  CHECK(gunzip_error(b).find("x.gz: the trailer's size 536870912 is impossible for ") == 0);
  b = gz;
  set_le32(b, b.size() - 4, 74);
  CHECK(gunzip_error(b) ==
        "x.gz: the deflate data is corrupt or truncated, or inflates to more than the 74 bytes the trailer says");
  b = gz;
  set_le32(b, b.size() - 4, 75);
  CHECK(gunzip_error(b) == "x.gz: inflates to 76 bytes, the trailer says 75 (truncated or damaged?)");
  b = gz;
  set_le32(b, b.size() - 4, 77);
  CHECK(gunzip_error(b) == "x.gz: inflates to 76 bytes, the trailer says 77 (truncated or damaged?)");
  b = gz;
  b[b.size() - 8] ^= 0x40;
  CHECK(gunzip_error(b) ==
        "x.gz: CRC-32 mismatch (damaged file, or several gzip members, which this reader does not take)");
  CHECK(gunzip_error(gz, 75) == "x.gz: inflates to 76 bytes (the trailer says), more than the limit of 75");

  // Damaged deflate data: the stored file's first block claims another type (3 is reserved).
  b = bytes_of(dir / "images-stored.gz");
  b[10] = 0x07;
  CHECK(gunzip_error(b) ==
        "x.gz: the deflate data is corrupt or truncated, or inflates to more than the 76 bytes the trailer says");

  // Valid gzip of two members: refused, not half-read.
  const auto two = bytes_of(dir / "two-members.gz");
  CHECK(gunzip_error(two).find("x.gz: ") == 0);
  CHECK_FALSE(gunzip_error(two).empty());

  // Every single-bit flip of the file: an error or the original bytes (the CRC-32 sees the rest).
  const auto raw = bytes_of(dir / "images-idx3-ubyte");
  std::size_t refused = 0;
  for (std::size_t i = 0; i < gz.size() * 8; ++i) {
    b = gz;
    b[i / 8] ^= std::uint8_t(1u << (i % 8));
    std::vector<std::uint8_t> got;
    try {
      got = gunzip(b.data(), b.size(), "x.gz");
    } catch (const error&) {
      ++refused;
      continue;
    }
    CAPTURE(i);
    CHECK(got == raw);  // a bit of MTIME, OS or the file name
  }
  CHECK(refused > gz.size() * 8 / 2);
}

TEST_CASE("idx: wrong types, truncated and padded files, mislabelled and mismatched pairs") {
  const auto im = bytes_of(dir / "images-idx3-ubyte");
  CHECK(idx_error({0, 0, 8}) == "x.idx: truncated IDX file (3 bytes; the magic number alone is 4)");
  CHECK(idx_error({0x1f, 0x8b, 8, 0}) == "x.idx: not an IDX file (it starts with 1f 8b 08 00)");
  CHECK(idx_error(bytes_of(dir / "float-idx1")) ==
        "x.idx: IDX element type 0x0d (float) not supported; this reader takes unsigned bytes (0x08)");
  CHECK(idx_error({0, 0, 8, 0}) == "x.idx: the IDX header has no sizes (0 dimensions)");
  CHECK(idx_error({0, 0, 8, 3, 0, 0, 0, 3}) == "x.idx: truncated: the header of 3 sizes needs 16 bytes, the file has 8");
  CHECK(idx_error(std::vector<std::uint8_t>(im.begin(), im.end() - 1)) ==
        "x.idx: truncated: the sizes 3x4x5 need 60 bytes of data, the file has 59");
  auto b = im;
  b.push_back(0);
  b.push_back(0);
  CHECK(idx_error(b) == "x.idx: 2 bytes after the data of 3x4x5 (damaged file?)");
  // Sizes whose product overflows 64 bits: refused before any allocation.
  CHECK(idx_error({0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1}) ==
        "x.idx: truncated: the sizes 4294967295x4294967295x4294967295 need more than 2^62 bytes of data, the file has 1");
  CHECK(idx_error(im, 70) == "x.idx: 76 bytes, more than the limit of 70");
  CHECK(idx_from_bytes(im.data(), im.size(), "x").data == expected_pixels());
  for (std::size_t n = 0; n < im.size(); ++n) {  // every truncation
    CAPTURE(n);
    CHECK(!idx_error(std::vector<std::uint8_t>(im.begin(), im.begin() + long(n))).empty());
  }

  // Pairs: the files swapped, counts that differ, a label out of range.
  const std::string images = (dir / "images-idx3-ubyte").string(), labels = (dir / "labels-idx1-ubyte.gz").string();
  CHECK(error_of([&] { (void)read_idx_dataset(labels, labels, 10); }) ==
        "labels-idx1-ubyte.gz: expected images (3 sizes: count x rows x columns), found 1 size (a labels file?)");
  CHECK(error_of([&] { (void)read_idx_dataset(images, images, 10); }) ==
        "images-idx3-ubyte: expected labels (1 size: the count), found 3 sizes (an images file?)");
  CHECK(error_of([&] { (void)read_idx_dataset(images, labels, 9); }) ==
        "labels-idx1-ubyte.gz: label 9 of item 2 is out of range 0..8");
  scratch_dir s("idx");
  write_file(s("two-labels"), std::vector<std::uint8_t>{0, 0, 8, 1, 0, 0, 0, 2, 1, 1});
  write_file(s("no-images"), std::vector<std::uint8_t>{0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28});
  write_file(s("no-labels"), std::vector<std::uint8_t>{0, 0, 8, 1, 0, 0, 0, 0});
  write_file(s("bad.gz"), std::vector<std::uint8_t>{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3});
  CHECK(error_of([&] { (void)read_idx_dataset(images, s("two-labels"), 10); }) ==
        "images-idx3-ubyte, two-labels: 3 images but 2 labels");
  CHECK(error_of([&] { (void)read_idx_dataset(s("no-images"), s("no-labels"), 10); }) ==
        "no-images: no images");
  CHECK(error_of([&] { (void)read_idx(s("bad.gz")); }) ==
        "bad.gz: truncated gzip file (13 bytes; the smallest is 18)");
  CHECK(error_of([&] { (void)read_idx(s("missing")); }).find("missing: cannot open: ") !=
        std::string::npos);
  CHECK(error_of([&] { (void)read_idx(images, 50); }) == images + ": 76 bytes is too large for a data file");
}

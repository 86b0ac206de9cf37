// Tests of housenet/image.hpp: load/save round trips, formats, EXIF orientation, gray, crop,
// resize, drawing at any size, to_tensor, and bad files.
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/vision.hpp>

#include <stb_image_write.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace hn = housenet;
using housenet_test::contains;
using housenet_test::error_of;
using housenet_test::list_dir;
using housenet_test::write_file;

namespace {

hn::image pattern(int w, int h, int c) {
  hn::image img(w, h, c);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k) img.at(x, y, k) = std::uint8_t((x * 7 + y * 13 + k * 85) & 255);
  return img;
}

const hn::colour red{255, 0, 0}, green{0, 255, 0}, blue{0, 0, 255}, white{255, 255, 255};

// 64x32 RGB: quadrants top-left red, top-right green, bottom-left blue, bottom-right white.
hn::image quadrants() {
  hn::image img(64, 32, 3);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 64; ++x) {
      const hn::colour c = y < 16 ? (x < 32 ? red : green) : (x < 32 ? blue : white);
      img.at(x, y, 0) = c.r;
      img.at(x, y, 1) = c.g;
      img.at(x, y, 2) = c.b;
    }
  return img;
}

// The JPEG bytes with an APP1 Exif segment (TIFF byte order II or MM) holding Orientation = o,
// inserted right after SOI.
std::vector<unsigned char> with_exif(const std::vector<unsigned char>& jpeg, int o, bool big_endian) {
  std::vector<unsigned char> tiff;
  auto u16 = [&](unsigned v) {
    if (big_endian) {
      tiff.push_back((unsigned char)(v >> 8));
      tiff.push_back((unsigned char)v);
    } else {
      tiff.push_back((unsigned char)v);
      tiff.push_back((unsigned char)(v >> 8));
    }
  };
  auto u32 = [&](unsigned v) {
    if (big_endian) {
      u16(v >> 16);
      u16(v & 0xffff);
    } else {
      u16(v & 0xffff);
      u16(v >> 16);
    }
  };
  tiff.push_back(big_endian ? 'M' : 'I');
  tiff.push_back(big_endian ? 'M' : 'I');
  u16(42);
  u32(8);  // IFD0 offset
  u16(2);  // two entries: an unrelated one first
  u16(0x010F); u16(2); u32(4); tiff.insert(tiff.end(), {'A', 'B', 'C', 0});  // Make, ASCII, inline
  u16(0x0112); u16(3); u32(1); u16(unsigned(o)); u16(0);                     // Orientation, SHORT
  u32(0);  // no next IFD
  std::vector<unsigned char> seg = {'E', 'x', 'i', 'f', 0, 0};
  seg.insert(seg.end(), tiff.begin(), tiff.end());
  const std::size_t len = seg.size() + 2;
  std::vector<unsigned char> out = {0xFF, 0xD8, 0xFF, 0xE1, (unsigned char)(len >> 8), (unsigned char)len};
  out.insert(out.end(), seg.begin(), seg.end());
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

hn::colour pixel(const hn::image& img, int x, int y) {
  return hn::colour{img.at(x, y, 0), img.at(x, y, 1), img.at(x, y, 2)};
}
bool near(hn::colour a, hn::colour b) {
  return std::abs(a.r - b.r) < 40 && std::abs(a.g - b.g) < 40 && std::abs(a.b - b.b) < 40;
}

}  // namespace

TEST_CASE("image: PNG round trips (RGB and gray), atomically written") {
  const housenet_test::scratch_dir tmp("image");
  const std::string dir = tmp.str();
  for (int c : {1, 3}) {
    const hn::image img = pattern(37, 23, c);
    const std::string path = dir + "/p" + std::to_string(c) + ".png";
    hn::save(img, path);
    const hn::image back = hn::load(path);
    CHECK(back == img);
    hn::save(pattern(5, 5, c), path);  // overwrite in place
    CHECK(hn::load(path) == pattern(5, 5, c));
  }
  const auto files = list_dir(dir);
  CHECK(files.size() == 2);  // no temporary files left behind
  CHECK(contains(error_of([&] { hn::save(pattern(4, 4, 3), dir + "/no/such/dir/x.png"); }), "image: cannot write"));
  CHECK(contains(error_of([&] { hn::save(pattern(4, 4, 3), dir + "/x.tiff"); }), "unknown format"));
  CHECK(contains(error_of([&] { hn::save(hn::image(), dir + "/x.png"); }), "empty image"));
  CHECK(list_dir(dir).size() == 2);
}

TEST_CASE("image: JPEG round trip is close") {
  const hn::image img = quadrants();
  const housenet_test::scratch_dir tmp("image");
  const std::string path = tmp("q.jpg");
  hn::save(img, path, 95);
  const hn::image back = hn::load(path);
  REQUIRE(back.width() == 64);
  REQUIRE(back.height() == 32);
  REQUIRE(back.channels() == 3);
  double err = 0;
  for (std::size_t i = 0; i < img.size_bytes(); ++i) err += std::abs(int(img.data()[i]) - int(back.data()[i]));
  CHECK(err / double(img.size_bytes()) < 6.0);
}

TEST_CASE("image: BMP, GIF, PGM and PPM load") {
  const hn::image img = pattern(9, 7, 3);
  std::vector<unsigned char> bmp;
  REQUIRE(stbi_write_bmp_to_func(hn::detail::write_bytes_cb, &bmp, 9, 7, 3, img.data()));
  CHECK(hn::load_from_memory(bmp.data(), bmp.size(), "x.bmp") == img);

  // PGM (P5) and PPM (P6), 3x2
  std::vector<unsigned char> pgm = {'P', '5', '\n', '3', ' ', '2', '\n', '2', '5', '5', '\n', 0, 10, 20, 30, 40, 255};
  const hn::image g = hn::load_from_memory(pgm.data(), pgm.size(), "x.pgm");
  REQUIRE(g.channels() == 1);
  CHECK(g.width() == 3);
  CHECK(g.height() == 2);
  CHECK(g.at(2, 1) == 255);
  CHECK(g.at(1, 0) == 10);
  std::vector<unsigned char> ppm = {'P', '6', ' ', '2', ' ', '1', ' ', '2', '5', '5', '\n', 1, 2, 3, 4, 5, 6};
  const hn::image p = hn::load_from_memory(ppm.data(), ppm.size(), "x.ppm");
  REQUIRE(p.channels() == 3);
  CHECK(p.at(1, 0, 2) == 6);

  // GIF89a, 2x1, global palette {black, white}, pixels white black (LZW min code size 2)
  const unsigned char gif[] = {'G', 'I', 'F', '8', '9', 'a', 2, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255,
                               ',', 0, 0, 0, 0, 2, 0, 1, 0, 0, 2, 2, 0x4C, 0x01, 0, ';'};
  const hn::image gi = hn::load_from_memory(gif, sizeof gif, "x.gif");
  CHECK(gi.width() == 2);
  CHECK(gi.height() == 1);
  CHECK(gi.channels() == 3);
}

TEST_CASE("image: the EXIF orientation of a JPEG is applied (all 8, both byte orders)") {
  const std::vector<unsigned char> jpeg = hn::encode(quadrants(), "jpg", 95);
  // expected colours of the corners (top-left, top-right, bottom-left, bottom-right) after the
  // transform; stored: TL red, TR green, BL blue, BR white.
  struct expect {
    int o;
    hn::colour tl, tr, bl, br;
  };
  const expect table[] = {
      {1, red, green, blue, white}, {2, green, red, white, blue},  // mirror horizontal
      {3, white, blue, green, red},                                // rotate 180
      {4, blue, white, red, green},                                // mirror vertical
      {5, red, blue, green, white},                                // transpose
      {6, blue, red, white, green},                                // rotate 90 clockwise
      {7, white, green, blue, red},                                // transverse
      {8, green, white, red, blue},                                // rotate 90 counter-clockwise
  };
  for (bool be : {false, true}) {
    for (const expect& e : table) {
      const std::vector<unsigned char> bytes = with_exif(jpeg, e.o, be);
      CHECK(hn::detail::jpeg_exif_orientation(bytes.data(), bytes.size()) == e.o);
      const hn::image img = hn::load_from_memory(bytes.data(), bytes.size(), "o.jpg");
      INFO("orientation " << e.o << (be ? " MM" : " II"));
      const bool swapped = e.o >= 5;
      REQUIRE(img.width() == (swapped ? 32 : 64));
      REQUIRE(img.height() == (swapped ? 64 : 32));
      const int W = img.width() - 1, H = img.height() - 1;
      CHECK(near(pixel(img, 3, 3), e.tl));
      CHECK(near(pixel(img, W - 3, 3), e.tr));
      CHECK(near(pixel(img, 3, H - 3), e.bl));
      CHECK(near(pixel(img, W - 3, H - 3), e.br));
    }
  }
  // every prefix of a JPEG with Exif parses without reading past the end (ASan) and gives 1..8
  const std::vector<unsigned char> bytes = with_exif(jpeg, 6, false);
  for (std::size_t n = 0; n <= 120 && n <= bytes.size(); ++n) {
    const int o = hn::detail::jpeg_exif_orientation(bytes.data(), n);
    CHECK((o >= 1 && o <= 8));
  }
  // corrupt values: out-of-range orientation, IFD offset past the end
  std::vector<unsigned char> bad = with_exif(jpeg, 9, false);
  CHECK(hn::detail::jpeg_exif_orientation(bad.data(), bad.size()) == 1);
  bad = with_exif(jpeg, 6, false);
  bad[6 + 6 + 4] = 0xF0;  // IFD0 offset low byte
  CHECK(hn::detail::jpeg_exif_orientation(bad.data(), bad.size()) == 1);
}

TEST_CASE("image: rgb_to_gray uses OpenCV's fixed-point weights") {
  hn::image img(256, 3, 3);
  for (int x = 0; x < 256; ++x)
    for (int y = 0; y < 3; ++y) {
      img.at(x, y, 0) = std::uint8_t(x);
      img.at(x, y, 1) = std::uint8_t((x * 3 + y * 50) & 255);
      img.at(x, y, 2) = std::uint8_t((255 - x + y * 17) & 255);
    }
  const hn::image g = hn::rgb_to_gray(img);
  REQUIRE(g.channels() == 1);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 256; ++x) {
      const int r = img.at(x, y, 0), gg = img.at(x, y, 1), b = img.at(x, y, 2);
      CHECK(g.at(x, y) == ((1868 * b + 9617 * gg + 4899 * r + 8192) >> 14));
    }
  // OpenCV's values for pure colours
  hn::image px(4, 1, 3);
  const hn::colour cs[] = {red, green, blue, white};
  for (int i = 0; i < 4; ++i) {
    px.at(i, 0, 0) = cs[i].r;
    px.at(i, 0, 1) = cs[i].g;
    px.at(i, 0, 2) = cs[i].b;
  }
  const hn::image pg = hn::rgb_to_gray(px);
  CHECK(pg.at(0, 0) == 76);
  CHECK(pg.at(1, 0) == 150);
  CHECK(pg.at(2, 0) == 29);
  CHECK(pg.at(3, 0) == 255);
  CHECK(hn::rgb_to_gray(g) == g);
}

TEST_CASE("image: crop is clamped; resize") {
  const hn::image img = pattern(20, 10, 3);
  const hn::image c = hn::crop(img, hn::rect{15, 5, 10, 10});
  REQUIRE(c.width() == 5);
  REQUIRE(c.height() == 5);
  CHECK(c.at(0, 0, 1) == img.at(15, 5, 1));
  CHECK(c.at(4, 4, 2) == img.at(19, 9, 2));
  const hn::image neg = hn::crop(img, hn::rect{-5, -5, 8, 8});
  CHECK(neg.width() == 3);
  CHECK(neg.at(0, 0) == img.at(0, 0));
  CHECK(contains(error_of([&] { hn::crop(img, hn::rect{30, 0, 5, 5}); }), "outside the 20x10 image"));
  CHECK(contains(error_of([&] { hn::crop(img, hn::rect{2, 2, 0, 5}); }), "image: crop"));

  // crop_padded: every pixel of the rectangle; outside the image, the nearest edge pixel.
  const hn::image p = hn::crop_padded(img, hn::rect{-2, 7, 6, 5});
  REQUIRE(p.width() == 6);
  REQUIRE(p.height() == 5);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 6; ++x)
      for (int c = 0; c < 3; ++c)
        CHECK(p.at(x, y, c) == img.at(std::clamp(x - 2, 0, 19), std::clamp(7 + y, 0, 9), c));
  const hn::image inside = hn::crop_padded(img, hn::rect{3, 2, 5, 4});
  CHECK(inside == hn::crop(img, hn::rect{3, 2, 5, 4}));
  const hn::image far = hn::crop_padded(img, hn::rect{100, -50, 2, 2});  // wholly outside: the corner
  CHECK(far.at(1, 1, 2) == img.at(19, 0, 2));
  CHECK(contains(error_of([&] { hn::crop_padded(img, hn::rect{0, 0, 0, 3}); }), "image: crop_padded"));

  const hn::image flat(33, 17, 3, 77);
  for (auto f : {hn::resize_filter::area, hn::resize_filter::bilinear}) {
    const hn::image r = hn::resize(flat, 100, 100, f);
    CHECK(r.width() == 100);
    CHECK(r.height() == 100);
    CHECK(r.channels() == 3);
    bool all = true;
    for (std::size_t i = 0; i < r.size_bytes(); ++i) all = all && r.data()[i] == 77;
    CHECK(all);
  }
  // area: 2x2 blocks of 0/200 average to 100
  hn::image cb(8, 8, 1);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) cb.at(x, y) = ((x + y) & 1) ? 200 : 0;
  const hn::image half = hn::resize(cb, 4, 4);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) CHECK(std::abs(int(half.at(x, y)) - 100) <= 1);
  CHECK(contains(error_of([&] { hn::resize(cb, 0, 4); }), "image: resize"));
  CHECK(contains(error_of([&] { hn::resize(hn::image(), 4, 4); }), "empty image"));
}

TEST_CASE("image: drawing never leaves the image and scales with its size") {
  for (int w : {1, 2, 3}) {
    for (int c : {1, 3}) {
      hn::image tiny(w, w + 1, c, 9);
      hn::draw_rect(tiny, hn::rect{-10, -10, 100, 100}, red, 5);
      hn::draw_rect(tiny, hn::rect{1, 1, 1, 1}, green);
      hn::draw_rect(tiny, hn::rect{2147483000, 2147483000, 2000, 2000}, green);
      hn::draw_text(tiny, -3, -4, "Gryffindor 99%", white);
      hn::draw_text(tiny, 1000, 1000, "x", white, 40);
      hn::draw_label(tiny, hn::rect{0, 0, 1, 1}, "Hufflepuff", blue);
      hn::draw_label(tiny, hn::rect{-50, -50, 10, 10}, "", blue);
      CHECK(tiny.width() == w);
    }
  }
  CHECK(hn::drawing_scale(hn::image(300, 200, 1)) == 1);
  CHECK(hn::drawing_scale(hn::image(4000, 3000, 1)) == 8);

  // a box's outline is drawn inside it, with the scaled thickness
  hn::image small(300, 200, 3);
  hn::draw_rect(small, hn::rect{10, 20, 50, 40}, green);
  CHECK(small.at(10, 20, 1) == 255);
  CHECK(small.at(59, 59, 1) == 255);
  CHECK(small.at(11, 21, 1) == 0);  // thickness 1
  CHECK(small.at(60, 60, 1) == 0);

  // the label's text on a 4000 px image is about 8x as tall as on a 300 px one
  auto ink_rows = [](const hn::image& img) {
    int top = img.height(), bottom = -1;
    for (int y = 0; y < img.height(); ++y)
      for (int x = 0; x < img.width(); ++x)
        if (img.at(x, y, 0) == 255 && img.at(x, y, 1) == 255 && img.at(x, y, 2) == 255) {
          top = std::min(top, y);
          bottom = std::max(bottom, y);
        }
    return bottom - top + 1;
  };
  hn::image a(300, 300, 3), b(4000, 3000, 3);
  hn::draw_label(a, hn::rect{50, 100, 100, 100}, "Ravenclaw", hn::colour{0, 0, 180});
  hn::draw_label(b, hn::rect{500, 1000, 1000, 1000}, "Ravenclaw", hn::colour{0, 0, 180});
  const int ha = ink_rows(a), hb = ink_rows(b);
  CHECK(ha >= 6);
  CHECK(hb >= 8 * 6);
  CHECK(hb >= 6 * ha);
}

TEST_CASE("image: to_tensor gives 1 x C x H x W in [0, 1], R G B planes") {
  const hn::image img = pattern(5, 4, 3);
  hn::tensor<float> t;
  hn::to_tensor(img, t);
  REQUIRE(t.shape() == hn::shape{1, 3, 4, 5});
  for (int k = 0; k < 3; ++k)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 5; ++x) CHECK(t(0, std::size_t(k), std::size_t(y), std::size_t(x)) == float(img.at(x, y, k)) / 255.0f);
  hn::to_tensor(pattern(2, 2, 1), t);
  CHECK(t.shape() == hn::shape{1, 1, 2, 2});
  CHECK(contains(error_of([&] { hn::to_tensor(hn::image(), t); }), "image: to_tensor"));
}

TEST_CASE("image: bad files are one clear error") {
  const housenet_test::scratch_dir tmp("image");
  const std::string d = tmp.str();
  CHECK(contains(error_of([&] { hn::load(d + "/missing.jpg"); }), "image: cannot read '" + d + "/missing.jpg': cannot open"));
  write_file(d + "/empty.jpg", {});
  CHECK(contains(error_of([&] { hn::load(d + "/empty.jpg"); }), "image: cannot read '" + d + "/empty.jpg': empty file"));
  const std::string text = "this is not an image, just some text\n";
  write_file(d + "/text.jpg", std::vector<unsigned char>(text.begin(), text.end()));
  const std::string e = error_of([&] { hn::load(d + "/text.jpg"); });
  CHECK(contains(e, "image: cannot read '" + d + "/text.jpg': "));
  CHECK(contains(e, "not a JPEG, PNG"));

  const std::vector<unsigned char> jpeg = hn::encode(pattern(64, 48, 3), "jpg");
  const std::vector<unsigned char> png = hn::encode(pattern(64, 48, 3), "png");
  for (const auto* bytes : {&jpeg, &png}) {
    const std::string et = error_of([&] { hn::load_from_memory(bytes->data(), bytes->size() / 2, "half"); });
    CHECK(contains(et, "image: cannot read 'half': "));
    CHECK(contains(et, "corrupt or truncated"));
  }

  // A JPEG whose frame header claims 65535 x 65535 pixels (the most 16-bit JPEG sizes can say;
  // 100000 x 100000 cannot be written in a JPEG header) is refused before decoding.
  std::vector<unsigned char> big = jpeg;
  std::size_t sof = 2;
  while (sof + 9 < big.size() && !(big[sof] == 0xFF && (big[sof + 1] == 0xC0 || big[sof + 1] == 0xC2)))
    sof += 2 + ((std::size_t(big[sof + 2]) << 8) | big[sof + 3]);
  REQUIRE(sof + 9 < big.size());
  big[sof + 5] = big[sof + 6] = big[sof + 7] = big[sof + 8] = 0xFF;  // height, width
  const std::string eb = error_of([&] { hn::load_from_memory(big.data(), big.size(), "huge.jpg"); });
  CHECK(contains(eb, "image: cannot read 'huge.jpg': 65535x65535 pixels exceeds the limit of 100000000 pixels"));

  // A PNG whose header claims 100000 x 100000 pixels (PNG sizes are 32-bit).
  std::vector<unsigned char> bigpng = png;
  const unsigned char dim[4] = {0x00, 0x01, 0x86, 0xA0};  // 100000
  std::memcpy(&bigpng[16], dim, 4);
  std::memcpy(&bigpng[20], dim, 4);
  const std::string ep = error_of([&] { hn::load_from_memory(bigpng.data(), bigpng.size(), "huge.png"); });
  CHECK(contains(ep, "image: cannot read 'huge.png': "));
  CHECK(contains(ep, "image: cannot read 'huge.png': 100000x100000 pixels exceeds the limit of 100000000 pixels"));

  // a 0x0 image cannot be made bigger than the limit either
  CHECK(contains(error_of([] { hn::image(20000, 20000, 3); }), "exceeds the limit"));
  CHECK(contains(error_of([] { hn::image(2, 2, 4); }), "channels must be 1 or 3"));
}

TEST_CASE("image: a failed save says why (strerror of the failing call)") {
  const housenet_test::scratch_dir tmp("image");
  const std::string d = tmp.str();
  const hn::image img = pattern(4, 4, 3);
  const std::string missing = d + "/no/such/dir/x.png";
  const std::string e = error_of([&] { hn::save(img, missing); });
  CHECK(e.rfind("image: cannot write '" + missing + "': cannot create " + missing + ".tmp-", 0) == 0);
  CHECK(e.size() > std::strlen(": No such file or directory"));
  CHECK(e.compare(e.size() - std::strlen(": No such file or directory"), std::string::npos, ": No such file or directory") == 0);
  // A folder where the file should go: the rename fails, and says why; no temporary file is left.
  const std::string dir = d + "/a-folder.png";
  REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
  const std::string er = error_of([&] { hn::save(img, dir); });
  CHECK(er.rfind("image: cannot write '" + dir + "': cannot rename " + dir + ".tmp-", 0) == 0);
  CHECK(contains(er, " to it: Is a directory"));
  for (const auto& f : list_dir(d)) CHECK(f.find(".tmp-") == std::string::npos);
  // A read-only place (as root, permissions do not stop writes: /proc does).
  std::string ro = d + "/ro";
  REQUIRE(::mkdir(ro.c_str(), 0555) == 0);
  if (::geteuid() == 0) ro = "/proc";
  const std::string eo = error_of([&] { hn::save(img, ro + "/x.png"); });
  CHECK(eo.rfind("image: cannot write '" + ro + "/x.png': cannot create " + ro + "/x.png.tmp-", 0) == 0);
  const std::size_t colon = eo.rfind(": ");
  REQUIRE(colon != std::string::npos);
  CHECK(eo.substr(colon + 2).size() > 3);                     // the reason
  CHECK(eo.substr(colon + 2).find(".tmp-") == std::string::npos);  // ... not the file name
}

TEST_CASE("image: a JPEG or PNG cut inside its header is called a corrupt or truncated JPEG / PNG") {
  const std::vector<unsigned char> jpeg = hn::encode(pattern(64, 48, 3), "jpg");
  const std::vector<unsigned char> png = hn::encode(pattern(64, 48, 3), "png");
  for (const std::size_t cut : {3, 20, 100}) {
    const std::string e = error_of([&] { hn::load_from_memory(jpeg.data(), cut, "head.jpg"); });
    CHECK(e.rfind("image: cannot read 'head.jpg': corrupt or truncated JPEG: ", 0) == 0);
    CHECK(e.size() > std::strlen("image: cannot read 'head.jpg': corrupt or truncated JPEG: "));  // a reason
  }
  for (const std::size_t cut : {4, 12, 20}) {
    const std::string e = error_of([&] { hn::load_from_memory(png.data(), cut, "head.png"); });
    CHECK(e.rfind("image: cannot read 'head.png': corrupt or truncated PNG: ", 0) == 0);
  }
  // Cut right after its IHDR chunk: the header is whole, the decoder's reason is "" (an all-NUL
  // chunk type): still a reason in the message.
  CHECK(error_of([&] { hn::load_from_memory(png.data(), 33, "ihdr.png"); }) ==
        "image: cannot read 'ihdr.png': decoding failed (corrupt or truncated file)");
  // Cut in their data, they still say what stb_image found (docs/errors.md rows 4, 5).
  CHECK(contains(error_of([&] { hn::load_from_memory(png.data(), png.size() / 2, "half.png"); }),
            "outofdata (corrupt or truncated file)"));
  // A JPEG cut in its scan data where stb_image's decoder sets no reason: not the PNG probe's
  // stale "bad png sig".
  const std::string e300 = error_of([&] { hn::load_from_memory(jpeg.data(), 300, "cut.jpg"); });
  CHECK(e300.rfind("image: cannot read 'cut.jpg': ", 0) == 0);
  CHECK(contains(e300, "(corrupt or truncated file)"));
  CHECK(!contains(e300, "png"));
  // Named .jpg, but a PNG: read as what it is.
  CHECK(hn::load_from_memory(png.data(), png.size(), "really-a-png.jpg") == pattern(64, 48, 3));
}

TEST_CASE("image: formats stb_image knows but the contract does not list are refused by their magic") {
  const hn::image img = pattern(9, 7, 3);
  std::vector<unsigned char> tga;
  REQUIRE(stbi_write_tga_to_func(hn::detail::write_bytes_cb, &tga, 9, 7, 3, img.data()));
  {  // stb_image itself would decode it: this is a refusal, not a failure
    int w = 0, h = 0, c = 0;
    unsigned char* px = stbi_load_from_memory(tga.data(), int(tga.size()), &w, &h, &c, 3);
    CHECK(px != nullptr);
    if (px) stbi_image_free(px);
  }
  const std::string tail = " (JPEG, PNG, BMP, GIF and PGM/PPM are read)";
  CHECK(error_of([&] { hn::load_from_memory(tga.data(), tga.size(), "x.tga"); }) ==
        "image: cannot read 'x.tga': unsupported format TGA" + tail);
  CHECK(error_of([&] { hn::load_from_memory(tga.data(), tga.size(), "x.png"); }) ==
        "image: cannot read 'x.png': unsupported format TGA" + tail);
  std::vector<unsigned char> psd = {'8', 'B', 'P', 'S', 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 7, 0, 0, 0, 9, 0, 8, 0, 3};
  psd.resize(64, 0);
  CHECK(error_of([&] { hn::load_from_memory(psd.data(), psd.size(), "x.psd"); }) ==
        "image: cannot read 'x.psd': unsupported format PSD" + tail);
  const std::string hdr = "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 1 +X 1\n\x80\x80\x80\x81";
  CHECK(error_of([&] { hn::load_from_memory(reinterpret_cast<const unsigned char*>(hdr.data()), hdr.size(), "x.hdr"); }) ==
        "image: cannot read 'x.hdr': unsupported format HDR" + tail);
  std::vector<unsigned char> pic = {0x53, 0x80, 0xF6, 0x34};
  pic.resize(120, 0);
  CHECK(error_of([&] { hn::load_from_memory(pic.data(), pic.size(), "x.pic"); }) ==
        "image: cannot read 'x.pic': unsupported format PIC" + tail);
  // ASCII PGM/PPM (P2/P3) is not read by stb_image: unknown, as before.
  const std::string p3 = "P3\n1 1\n255\n1 2 3\n";
  CHECK(contains(error_of([&] { hn::load_from_memory(reinterpret_cast<const unsigned char*>(p3.data()), p3.size(), "x.ppm"); }),
            "unknown image type (not a JPEG, PNG, BMP, GIF or PGM/PPM file)"));
  // The sniffer on the formats that are read (their loading is tested above).
  const std::vector<unsigned char> jpeg = hn::encode(img, "jpg"), png = hn::encode(img, "png");
  std::vector<unsigned char> bmp;
  REQUIRE(stbi_write_bmp_to_func(hn::detail::write_bytes_cb, &bmp, 9, 7, 3, img.data()));
  CHECK(std::string(hn::detail::sniff_image_format(jpeg.data(), jpeg.size())) == "JPEG");
  CHECK(std::string(hn::detail::sniff_image_format(png.data(), png.size())) == "PNG");
  CHECK(std::string(hn::detail::sniff_image_format(bmp.data(), bmp.size())) == "BMP");
  CHECK(std::string(hn::detail::sniff_image_format(tga.data(), tga.size())) == "TGA");
}

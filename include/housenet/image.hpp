// housenet/image.hpp: 8-bit images: load, save, gray, crop, resize, draw, to_tensor.
//
// WHAT THIS IS
//   image: an 8-bit, interleaved image of width x height pixels with 1 (gray) or 3 (R, G, B)
//   channels, rows stored top to bottom without padding: pixel (x, y) channel c is at
//   data()[(y * width + x) * channels + c]. A plain value type (copyable, movable).
//   rect: x, y, width, height in pixels (the top-left corner is (x, y)).
//
//   load(path) / load_from_memory(bytes, n, name)
//       JPEG, PNG, BMP, GIF (first frame), PGM/PPM (stb_image underneath). Gray sources (1 or 2
//       channels) give a 1-channel image, colour sources a 3-channel RGB image (alpha dropped).
//       The header dimensions are checked BEFORE decoding: more than max_image_pixels pixels is
//       refused. The EXIF Orientation of a JPEG (1..8) is applied, so the result is upright.
//       The format is decided from the file's first bytes (magic numbers), not its name, BEFORE
//       stb_image sees it: formats stb_image also knows but this contract does not list (PSD, HDR,
//       Softimage PIC, TGA) are refused ("unsupported format TGA (...)"), anything else that is
//       none of the five is "unknown image type". A JPEG or PNG whose header is damaged or cut
//       short says so: "corrupt or truncated JPEG: <stb_image's reason>".
//       Errors: "image: cannot read 'x.jpg': <reason>" (missing, empty, not an image, unsupported,
//       truncated, too large).
//   save(img, path [, jpeg_quality])
//       .png, .jpg/.jpeg by extension; written with file_io.hpp's atomic writer (a temporary file
//       in the same directory, fsync, rename, fsync of the directory), so a reader never sees a
//       half-written file. A failure says why, e.g.
//       "image: cannot write 'a/x.png': cannot create a/x.png.tmp-XXXXXX: No such file or directory".
//   rgb_to_gray(img)         OpenCV's fixed-point weights: Y = (4899 R + 9617 G + 1868 B + 8192) >> 14
//   crop(img, r)             r clamped to the image; an empty intersection is an error
//   crop_padded(img, r)      all of r (width, height >= 1; r may lie partly or wholly outside):
//                            a pixel outside the image repeats the nearest edge pixel
//   mirror_horizontal(img)   the mirror image (left and right swapped)
//   resize(img, w, h, f)     stb_image_resize; filter area (box, default) or bilinear (triangle)
//   draw_rect(img, r, colour [, thickness])   thickness 0 = scaled to the image size
//   draw_text(img, x, y, text, colour [, scale])   stb_easy_font glyphs; scale 0 = by image size
//   draw_label(img, r, text, colour)          a box with a filled caption bar, readable on a
//                                             300 px and on a 4000 px image alike
//   draw_labels(img, boxes, texts, colours)   several: every caption inside the image, none over
//                                             another (caption_layout says where they go)
//   to_tensor(img, t)        t becomes 1 x C x H x W float in [0, 1], channels in R, G, B order
//   Drawing clips to the image: any rectangle or text position is valid.
//
// THREAD SAFETY
//   Free functions on distinct images may run concurrently, except load*, which call stb_image
//   (its failure reason is a global, read straight after the call): do not load from two threads
//   at once if the error messages matter.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "config.hpp"

#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

#if HOUSENET_GNUC
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Wunused-function"
#  pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
namespace housenet_stb_easy_font {
#include <stb_easy_font.h>
}
#if HOUSENET_GNUC
#  pragma GCC diagnostic pop
#endif

#include "detail/exif.hpp"
#include "error.hpp"
#include "file_io.hpp"
#include "tensor.hpp"

HOUSENET_BEGIN_NAMESPACE

// Images with more pixels than this are refused before decoding (about 400 MB as RGB).
constexpr std::int64_t max_image_pixels = 100'000'000;

struct rect {
  int x = 0, y = 0, width = 0, height = 0;
  friend bool operator==(const rect& a, const rect& b) {
    return a.x == b.x && a.y == b.y && a.width == b.width && a.height == b.height;
  }
  friend bool operator!=(const rect& a, const rect& b) { return !(a == b); }
  // (y, x, width, height) order: the order of OpenCV's expected files.
  friend bool operator<(const rect& a, const rect& b) {
    if (a.y != b.y) return a.y < b.y;
    if (a.x != b.x) return a.x < b.x;
    if (a.width != b.width) return a.width < b.width;
    return a.height < b.height;
  }
  long long area() const { return (long long)width * height; }
};

struct colour {
  std::uint8_t r = 0, g = 0, b = 0;
};

class image {
 public:
  image() = default;
  image(int width, int height, int channels, std::uint8_t fill = 0) {
    HOUSENET_CHECK(width >= 0 && height >= 0, "image: bad size ", width, "x", height);
    HOUSENET_CHECK(channels == 1 || channels == 3, "image: channels must be 1 or 3, got ", channels);
    HOUSENET_CHECK((std::int64_t)width * height <= max_image_pixels, "image: ", width, "x", height,
                   " exceeds the limit of ", max_image_pixels, " pixels");
    w_ = width;
    h_ = height;
    c_ = channels;
    px_.assign(std::size_t(width) * std::size_t(height) * std::size_t(channels), fill);
  }

  int width() const { return w_; }
  int height() const { return h_; }
  int channels() const { return c_; }
  bool empty() const { return w_ == 0 || h_ == 0; }
  std::size_t size_bytes() const { return px_.size(); }
  std::size_t stride() const { return std::size_t(w_) * std::size_t(c_); }

  std::uint8_t* data() { return px_.data(); }
  const std::uint8_t* data() const { return px_.data(); }
  std::uint8_t* row(int y) { return px_.data() + std::size_t(y) * stride(); }
  const std::uint8_t* row(int y) const { return px_.data() + std::size_t(y) * stride(); }
  std::uint8_t& at(int x, int y, int c = 0) { return px_[(std::size_t(y) * w_ + x) * c_ + c]; }
  std::uint8_t at(int x, int y, int c = 0) const { return px_[(std::size_t(y) * w_ + x) * c_ + c]; }

  friend bool operator==(const image& a, const image& b) {
    return a.w_ == b.w_ && a.h_ == b.h_ && a.c_ == b.c_ && a.px_ == b.px_;
  }
  friend bool operator!=(const image& a, const image& b) { return !(a == b); }

 private:
  int w_ = 0, h_ = 0, c_ = 1;
  std::vector<std::uint8_t> px_;
};

namespace detail {

// out = the orientation-corrected copy of img (EXIF orientation 1..8).
inline image apply_exif_orientation(const image& img, int orientation) {
  if (orientation <= 1 || orientation > 8) return img;
  const int w = img.width(), h = img.height(), c = img.channels();
  const bool swap = orientation >= 5;
  image out(swap ? h : w, swap ? w : h, c);
  const int ow = out.width(), oh = out.height();
  for (int y = 0; y < oh; ++y) {
    for (int x = 0; x < ow; ++x) {
      int sx = x, sy = y;
      switch (orientation) {
        case 2: sx = w - 1 - x; sy = y; break;            // mirror horizontally
        case 3: sx = w - 1 - x; sy = h - 1 - y; break;    // rotate 180
        case 4: sx = x; sy = h - 1 - y; break;            // mirror vertically
        case 5: sx = y; sy = x; break;                    // transpose
        case 6: sx = y; sy = h - 1 - x; break;            // rotate 90 clockwise
        case 7: sx = w - 1 - y; sy = h - 1 - x; break;    // transverse
        case 8: sx = w - 1 - y; sy = x; break;            // rotate 90 counter-clockwise
        default: break;
      }
      const std::uint8_t* s = img.data() + (std::size_t(sy) * w + sx) * c;
      std::uint8_t* d = out.data() + (std::size_t(y) * ow + x) * c;
      for (int k = 0; k < c; ++k) d[k] = s[k];
    }
  }
  return out;
}

inline bool ends_with_ci(const std::string& s, const char* suffix) {
  const std::size_t n = std::strlen(suffix);
  if (s.size() < n) return false;
  for (std::size_t i = 0; i < n; ++i) {
    char a = s[s.size() - n + i];
    if (a >= 'A' && a <= 'Z') a = char(a - 'A' + 'a');
    if (a != suffix[i]) return false;
  }
  return true;
}

// The image format of a file from its first bytes: one of the formats load() reads ("JPEG",
// "PNG", "BMP", "GIF", "PNM" for binary PGM/PPM), one that stb_image would decode but load()
// refuses ("PSD", "HDR", "PIC", "TGA"), or "" (unknown).
inline const char* sniff_image_format(const unsigned char* b, std::size_t n) {
  const auto starts = [&](const char* magic, std::size_t len) { return n >= len && std::memcmp(b, magic, len) == 0; };
  if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return "JPEG";
  if (starts("\x89PNG", 4)) return "PNG";
  if (starts("BM", 2)) return "BMP";
  if (starts("GIF8", 4)) return "GIF";
  if (n >= 2 && b[0] == 'P' && (b[1] == '5' || b[1] == '6')) return "PNM";
  if (starts("8BPS", 4)) return "PSD";
  if (starts("#?RADIANCE", 10) || starts("#?RGBE", 6)) return "HDR";
  if (starts("\x53\x80\xF6\x34", 4)) return "PIC";
  // TGA has no magic number: stb_image's own header test (colour-map type, image type, sizes, depth).
  if (n >= 18) {
    const unsigned cmap = b[1], type = b[2];
    const unsigned w = unsigned(b[12]) | (unsigned(b[13]) << 8), h = unsigned(b[14]) | (unsigned(b[15]) << 8);
    const unsigned bpp = b[16], entry = b[7];
    const auto depth_ok = [](unsigned d) { return d == 8 || d == 15 || d == 16 || d == 24 || d == 32; };
    bool tga = cmap <= 1 && w >= 1 && h >= 1 && depth_ok(bpp);
    if (cmap == 1) tga = tga && (type == 1 || type == 9) && depth_ok(entry) && (bpp == 8 || bpp == 16);
    else tga = tga && (type == 2 || type == 3 || type == 10 || type == 11);
    if (tga) return "TGA";
  }
  return "";
}

// stb_image's failure reason when it is the decoder's own, else "". stbi_load probes PNG first
// and JPEG before PNM, and those probes leave their reasons ("bad png sig", "no SOI"), which a
// decoder that fails without one of its own (a PNG's all-NUL chunk type gives "") does not replace.
inline std::string stb_reason(const std::string& format) {
  const char* why = stbi_failure_reason();
  const std::string r = why ? why : "";
  if (r == "unknown image type" || (r == "bad png sig" && format != "PNG") || (r == "no SOI" && format != "JPEG"))
    return "";
  return r;
}

inline bool readable_format(const std::string& f) {
  return f == "JPEG" || f == "PNG" || f == "BMP" || f == "GIF" || f == "PNM";
}

inline void write_bytes_cb(void* ctx, void* data, int size) {
  auto* v = static_cast<std::vector<unsigned char>*>(ctx);
  const auto* p = static_cast<const unsigned char*>(data);
  v->insert(v->end(), p, p + size);
}

inline void fill_rect_clipped(image& img, int x0, int y0, int x1, int y1, colour col) {
  // fills [x0, x1) x [y0, y1), clipped
  x0 = std::max(x0, 0);
  y0 = std::max(y0, 0);
  x1 = std::min(x1, img.width());
  y1 = std::min(y1, img.height());
  if (x0 >= x1 || y0 >= y1) return;
  const int c = img.channels();
  const std::uint8_t gray = std::uint8_t((1868 * col.b + 9617 * col.g + 4899 * col.r + 8192) >> 14);
  for (int y = y0; y < y1; ++y) {
    std::uint8_t* p = img.row(y) + std::size_t(x0) * c;
    for (int x = x0; x < x1; ++x, p += c) {
      if (c == 3) {
        p[0] = col.r;
        p[1] = col.g;
        p[2] = col.b;
      } else {
        p[0] = gray;
      }
    }
  }
}


// The Huffman tables of a JPEG, checked before stb_image decodes it: Debian 12's stb_image
// asserts (aborts) on a scan that uses a table no DHT segment defined, and overruns its tables
// on a DHT whose counts sum past 256 (CVE-2022-29977, stb issue #1289; fixed upstream in 2.30).
// Markers are found as stb finds them (bytes between segments are skipped); entropy-coded data
// after a scan is skipped up to the next marker. Returns "" or the reason the file is refused.
inline std::string jpeg_huffman_problem(const unsigned char* b, std::size_t n) {
  bool dc[4] = {}, ac[4] = {}, progressive = false;
  std::size_t i = 2;
  while (i < n) {
    if (b[i] != 0xFF) {
      ++i;
      continue;
    }
    while (i < n && b[i] == 0xFF) ++i;
    if (i >= n) break;
    const unsigned m = b[i++];
    if (m == 0x00 || m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) continue;
    if (m == 0xD9 || i + 2 > n) break;
    const std::size_t len = std::size_t(b[i]) << 8 | b[i + 1];
    if (len < 2 || i + len > n) break;  // stb reports the truncation itself
    const unsigned char* seg = b + i + 2;
    const std::size_t sl = len - 2;
    if (m == 0xC2) progressive = true;
    if (m == 0xC4) {
      for (std::size_t k = 0; k < sl;) {
        if (k + 17 > sl) return "bad Huffman table (cut short)";
        const unsigned tc = seg[k] >> 4, th = seg[k] & 15;
        if (tc > 1 || th > 3) return "bad Huffman table (class or index)";
        std::size_t count = 0, code = 0;
        for (std::size_t j = 1; j <= 16; ++j) {
          count += seg[k + j];
          code += seg[k + j];
          if (code > (std::size_t(1) << j)) return "bad Huffman table (code lengths)";
          code <<= 1;
        }
        if (count > 256) return "bad Huffman table (more than 256 codes)";
        (tc ? ac : dc)[th] = true;
        k += 17 + count;
      }
    }
    i += len;
    if (m == 0xDA && sl >= 1) {
      const std::size_t ns = seg[0];
      if (sl < 1 + 2 * ns + 3) return "bad scan header";
      const unsigned ss = seg[1 + 2 * ns], ah = seg[3 + 2 * ns] >> 4;
      for (std::size_t c = 0; c < ns; ++c) {
        const unsigned td = seg[2 + 2 * c] >> 4, ta = seg[2 + 2 * c] & 15;
        const bool need_dc = ss == 0 && !(progressive && ah != 0), need_ac = !progressive || ss > 0;
        if ((need_dc && (td > 3 || !dc[td])) || (need_ac && (ta > 3 || !ac[ta])))
          return "a scan uses a Huffman table that is not defined";
      }
      // skip the entropy-coded data: up to a marker other than a stuffed 0xFF00 or a restart
      while (i + 1 < n && !(b[i] == 0xFF && b[i + 1] != 0x00 && !(b[i + 1] >= 0xD0 && b[i + 1] <= 0xD7))) ++i;
    }
  }
  return "";
}
}  // namespace detail

// Decodes an image held in memory; name is used in error messages only.
inline image load_from_memory(const unsigned char* bytes, std::size_t n, const std::string& name = "<memory>") {
  HOUSENET_CHECK(n > 0, "image: cannot read '", name, "': empty file");
  HOUSENET_CHECK(n <= std::size_t(0x7fffffff), "image: cannot read '", name, "': file too large");
  // PNG sizes are 32-bit: check them here, as stb_image's own "too large" answer is lost when
  // stbi_info goes on to try the other formats.
  static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (n >= 24 && std::memcmp(bytes, png_sig, 8) == 0) {
    const auto be32 = [&](std::size_t o) {
      return (std::uint32_t(bytes[o]) << 24) | (std::uint32_t(bytes[o + 1]) << 16) | (std::uint32_t(bytes[o + 2]) << 8) |
             std::uint32_t(bytes[o + 3]);
    };
    const std::uint64_t pw = be32(16), ph = be32(20);
    HOUSENET_CHECK(pw * ph <= std::uint64_t(max_image_pixels), "image: cannot read '", name, "': ", pw, "x", ph,
                   " pixels exceeds the limit of ", max_image_pixels, " pixels");
  }
  // The format from the magic numbers, before stb_image tries its own list (which is longer than
  // this contract's, and which forgets why a damaged JPEG or PNG failed).
  const std::string format = detail::sniff_image_format(bytes, n);
  HOUSENET_CHECK(format.empty() || detail::readable_format(format), "image: cannot read '", name,
                 "': unsupported format ", format, " (JPEG, PNG, BMP, GIF and PGM/PPM are read)");
  HOUSENET_CHECK(!format.empty(), "image: cannot read '", name,
                 "': unknown image type (not a JPEG, PNG, BMP, GIF or PGM/PPM file)");
  if (format == "JPEG") {
    const std::string problem = detail::jpeg_huffman_problem(bytes, n);
    HOUSENET_CHECK(problem.empty(), "image: cannot read '", name, "': corrupt JPEG: ", problem);
  }
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(bytes, int(n), &w, &h, &comp)) {
    // The header is damaged or cut short. stbi_info's reason is its last format's ("unknown
    // image type"); stbi_load goes straight to this format's decoder, which stops in the same
    // header (nothing is decoded or allocated) and leaves the real reason.
    int w2 = 0, h2 = 0, c2 = 0;
    unsigned char* px = stbi_load_from_memory(bytes, int(n), &w2, &h2, &c2, 0);
    if (px) stbi_image_free(px);  // not expected: stbi_info refused the header
    const std::string reason = detail::stb_reason(format);
    detail::fail(detail::concat("image: cannot read '", name, "': corrupt or truncated ",
                                format == "PNM" ? "PGM/PPM" : format, ": ", reason.empty() ? "bad header" : reason));
  }
  HOUSENET_CHECK(w > 0 && h > 0, "image: cannot read '", name, "': empty image (", w, "x", h, ")");
  HOUSENET_CHECK((std::int64_t)w * h <= max_image_pixels, "image: cannot read '", name, "': ", w, "x", h,
                 " pixels exceeds the limit of ", max_image_pixels, " pixels");
  const int want = (comp == 1 || comp == 2) ? 1 : 3;
  int w2 = 0, h2 = 0, comp2 = 0;
  unsigned char* px = stbi_load_from_memory(bytes, int(n), &w2, &h2, &comp2, want);
  if (!px) {
    const std::string reason = detail::stb_reason(format);
    detail::fail(detail::concat("image: cannot read '", name, "': ", reason.empty() ? "decoding failed" : reason,
                                " (corrupt or truncated file)"));
  }
  struct guard {
    unsigned char* p;
    ~guard() { stbi_image_free(p); }
  } g{px};
  HOUSENET_CHECK(w2 == w && h2 == h, "image: cannot read '", name, "': inconsistent size");
  image img(w, h, want);
  std::memcpy(img.data(), px, img.size_bytes());
  const int orientation = detail::jpeg_exif_orientation(bytes, n);
  if (orientation != 1) return detail::apply_exif_orientation(img, orientation);
  return img;
}

inline image load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  HOUSENET_CHECK(f.good(), "image: cannot read '", path, "': cannot open file");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  HOUSENET_CHECK(!f.bad(), "image: cannot read '", path, "': read error");
  HOUSENET_CHECK(!bytes.empty(), "image: cannot read '", path, "': empty file");
  return load_from_memory(bytes.data(), bytes.size(), path);
}

// Encodes img as PNG (".png") or JPEG (".jpg", ".jpeg") bytes.
inline std::vector<unsigned char> encode(const image& img, const std::string& format_or_path,
                                         int jpeg_quality = 92) {
  HOUSENET_CHECK(!img.empty(), "image: cannot write '", format_or_path, "': empty image");
  std::vector<unsigned char> out;
  int ok = 0;
  if (detail::ends_with_ci(format_or_path, "png")) {
    ok = stbi_write_png_to_func(detail::write_bytes_cb, &out, img.width(), img.height(), img.channels(),
                                img.data(), int(img.stride()));
  } else if (detail::ends_with_ci(format_or_path, "jpg") || detail::ends_with_ci(format_or_path, "jpeg")) {
    HOUSENET_CHECK(jpeg_quality >= 1 && jpeg_quality <= 100, "image: JPEG quality ", jpeg_quality,
                   " is not in 1..100");
    ok = stbi_write_jpg_to_func(detail::write_bytes_cb, &out, img.width(), img.height(), img.channels(),
                                img.data(), jpeg_quality);
  } else {
    detail::fail(detail::concat("image: cannot write '", format_or_path,
                                "': unknown format (use .png, .jpg or .jpeg)"));
  }
  HOUSENET_CHECK(ok && !out.empty(), "image: cannot write '", format_or_path, "': encoder failed");
  return out;
}

namespace detail {
// save()'s error messages: "image: cannot write '<path>': cannot create <temp>: <reason>", ...
inline std::string image_write_failure(const std::string& path, const write_failure& w) {
  switch (w.step) {
    case write_step::create:
      return concat("image: cannot write '", path, "': cannot create ", w.temp, ": ", w.reason);
    case write_step::rename:
      return concat("image: cannot write '", path, "': cannot rename ", w.temp, " to it: ", w.reason);
    default:
      return concat("image: cannot write '", path, "': ", write_step_text(w.step), ": ", w.reason);
  }
}
}  // namespace detail

// Writes img to path (format by extension), atomically (file_io.hpp's writer).
inline void save(const image& img, const std::string& path, int jpeg_quality = 92) {
  const std::vector<unsigned char> bytes = encode(img, path, jpeg_quality);
  write_file_atomic(path, bytes.data(), bytes.size(), detail::image_write_failure);
}

// 1-channel copy; a gray image is returned unchanged. OpenCV's COLOR_BGR2GRAY arithmetic.
inline image rgb_to_gray(const image& img) {
  if (img.channels() == 1) return img;
  image out(img.width(), img.height(), 1);
  const std::uint8_t* s = img.data();
  std::uint8_t* d = out.data();
  const std::size_t n = std::size_t(img.width()) * std::size_t(img.height());
  for (std::size_t i = 0; i < n; ++i, s += 3)
    d[i] = std::uint8_t((4899u * s[0] + 9617u * s[1] + 1868u * s[2] + 8192u) >> 14);
  return out;
}

// r intersected with the image bounds.
inline rect clamp_rect(const rect& r, int width, int height) {
  const long long x0 = std::max<long long>(r.x, 0), y0 = std::max<long long>(r.y, 0);
  const long long x1 = std::min<long long>((long long)r.x + r.width, width);
  const long long y1 = std::min<long long>((long long)r.y + r.height, height);
  if (x1 <= x0 || y1 <= y0) return rect{int(x0), int(y0), 0, 0};
  return rect{int(x0), int(y0), int(x1 - x0), int(y1 - y0)};
}

inline image crop(const image& img, const rect& r) {
  const rect c = clamp_rect(r, img.width(), img.height());
  HOUSENET_CHECK(c.width > 0 && c.height > 0, "image: crop (", r.x, ", ", r.y, ", ", r.width, "x", r.height,
                 ") is outside the ", img.width(), "x", img.height(), " image");
  image out(c.width, c.height, img.channels());
  const std::size_t row_bytes = std::size_t(c.width) * img.channels();
  for (int y = 0; y < c.height; ++y)
    std::memcpy(out.row(y), img.row(c.y + y) + std::size_t(c.x) * img.channels(), row_bytes);
  return out;
}

// Every pixel of r, also those outside the image: there the nearest edge pixel is repeated (so a
// face near the border keeps its place in a widened box).
inline image crop_padded(const image& img, const rect& r) {
  HOUSENET_CHECK(!img.empty(), "image: crop_padded of an empty image");
  HOUSENET_CHECK(r.width > 0 && r.height > 0, "image: crop_padded to ", r.width, "x", r.height, " (must be positive)");
  image out(r.width, r.height, img.channels());
  const int c = img.channels();
  for (int y = 0; y < r.height; ++y) {
    const int sy = int(std::clamp<long long>((long long)r.y + y, 0, img.height() - 1));
    for (int x = 0; x < r.width; ++x) {
      const int sx = int(std::clamp<long long>((long long)r.x + x, 0, img.width() - 1));
      std::memcpy(out.row(y) + std::size_t(x) * c, img.row(sy) + std::size_t(sx) * c, std::size_t(c));
    }
  }
  return out;
}

// The mirror image: column x becomes column width - 1 - x.
inline image mirror_horizontal(const image& img) { return detail::apply_exif_orientation(img, 2); }

enum class resize_filter { area, bilinear };

inline image resize(const image& img, int width, int height, resize_filter f = resize_filter::area) {
  HOUSENET_CHECK(!img.empty(), "image: resize of an empty image");
  HOUSENET_CHECK(width > 0 && height > 0, "image: resize to ", width, "x", height, " (must be positive)");
  image out(width, height, img.channels());
  const int ok = stbir_resize_uint8_generic(img.data(), img.width(), img.height(), int(img.stride()), out.data(),
                                            width, height, int(out.stride()), img.channels(), STBIR_ALPHA_CHANNEL_NONE,
                                            0, STBIR_EDGE_CLAMP,
                                            f == resize_filter::area ? STBIR_FILTER_BOX : STBIR_FILTER_TRIANGLE,
                                            STBIR_COLORSPACE_LINEAR, nullptr);
  HOUSENET_CHECK(ok, "image: resize to ", width, "x", height, " failed");
  return out;
}

// A line thickness / text scale that reads well at this image size (1 at 300 px, 8 at 4000 px).
inline int drawing_scale(const image& img) {
  const int m = std::max(img.width(), img.height());
  return std::max(1, int(std::lround(m / 500.0)));
}

// Outline of r, thickness pixels wide, drawn inside r. thickness 0: drawing_scale(img).
inline void draw_rect(image& img, const rect& r, colour col, int thickness = 0) {
  if (thickness <= 0) thickness = drawing_scale(img);
  if (r.width <= 0 || r.height <= 0) return;
  const long long x0 = r.x, y0 = r.y, x1 = (long long)r.x + r.width, y1 = (long long)r.y + r.height;
  auto cl = [](long long v) { return int(std::max<long long>(-1, std::min<long long>(v, 1LL << 30))); };
  const long long t = thickness;
  detail::fill_rect_clipped(img, cl(x0), cl(y0), cl(x1), cl(std::min(y0 + t, y1)), col);          // top
  detail::fill_rect_clipped(img, cl(x0), cl(std::max(y1 - t, y0)), cl(x1), cl(y1), col);          // bottom
  detail::fill_rect_clipped(img, cl(x0), cl(y0), cl(std::min(x0 + t, x1)), cl(y1), col);          // left
  detail::fill_rect_clipped(img, cl(std::max(x1 - t, x0)), cl(y0), cl(x1), cl(y1), col);          // right
}

// Size in pixels of text drawn at this scale.
inline int text_width(const std::string& text, int scale) {
  std::vector<char> buf(text.begin(), text.end());
  buf.push_back('\0');
  return housenet_stb_easy_font::stb_easy_font_width(buf.data()) * std::max(scale, 1);
}
inline int text_height(const std::string& text, int scale) {
  std::vector<char> buf(text.begin(), text.end());
  buf.push_back('\0');
  return housenet_stb_easy_font::stb_easy_font_height(buf.data()) * std::max(scale, 1);
}

// Draws text with its top-left corner at (x, y); each font pixel becomes scale x scale pixels.
inline void draw_text(image& img, int x, int y, const std::string& text, colour col, int scale = 0) {
  if (scale <= 0) scale = drawing_scale(img);
  if (text.empty()) return;
  std::vector<char> buf(text.begin(), text.end());
  buf.push_back('\0');
  std::vector<float> vb(text.size() * 300 + 64);  // ~270 bytes per character; 16 bytes per vertex
  const int quads = housenet_stb_easy_font::stb_easy_font_print(0, 0, buf.data(), nullptr, vb.data(),
                                                                int(vb.size() * sizeof(float)));
  const auto* bytes = reinterpret_cast<const unsigned char*>(vb.data());
  for (int q = 0; q < quads; ++q) {
    float v[4][2];
    for (int k = 0; k < 4; ++k) std::memcpy(v[k], bytes + (std::size_t(q) * 4 + k) * 16, 2 * sizeof(float));
    const float qx0 = std::min({v[0][0], v[1][0], v[2][0], v[3][0]});
    const float qx1 = std::max({v[0][0], v[1][0], v[2][0], v[3][0]});
    const float qy0 = std::min({v[0][1], v[1][1], v[2][1], v[3][1]});
    const float qy1 = std::max({v[0][1], v[1][1], v[2][1], v[3][1]});
    const long long X0 = (long long)x + (long long)std::lround(qx0 * scale);
    const long long X1 = (long long)x + (long long)std::lround(qx1 * scale);
    const long long Y0 = (long long)y + (long long)std::lround(qy0 * scale);
    const long long Y1 = (long long)y + (long long)std::lround(qy1 * scale);
    auto cl = [](long long v2) { return int(std::max<long long>(-1, std::min<long long>(v2, 1LL << 30))); };
    detail::fill_rect_clipped(img, cl(X0), cl(Y0), cl(X1), cl(Y1), col);
  }
}

// Where the captions of several boxes go (caption_layout) and drawing them (draw_labels).
// A caption is a bar of text_width(text, s) + 2s by 11s pixels (s = drawing_scale(img)), the text
// with its descenders inside. Each box's
// caption tries, in order: above the box, inside its top, below it, inside its bottom, then the
// same places moved up or down by whole bar heights; every place is first moved inside the image
// (a caption never crosses an edge unless it is wider or taller than the image). It takes the
// first place that overlaps no caption placed before it (the boxes in the order given); when there
// is none, the place that overlaps them least. Deterministic: the same boxes, the same places.
struct caption_box {
  rect bar;        // the filled bar
  int text_x = 0;  // where draw_text puts the text's top-left corner
  int text_y = 0;
};

namespace detail {
inline long long overlap_area(const rect& a, const rect& b) {
  const long long w = std::min<long long>((long long)a.x + a.width, (long long)b.x + b.width) - std::max(a.x, b.x);
  const long long h = std::min<long long>((long long)a.y + a.height, (long long)b.y + b.height) - std::max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}
}  // namespace detail

inline std::vector<caption_box> caption_layout(int image_width, int image_height, int scale,
                                               const std::vector<rect>& boxes, const std::vector<std::string>& texts) {
  HOUSENET_CHECK(boxes.size() == texts.size(), "image: ", boxes.size(), " boxes and ", texts.size(), " captions");
  const int s = std::max(scale, 1), pad = s;
  const int bar_h = 9 * s + 2 * pad;  // glyphs: 7 font pixels above the baseline, 2 of descenders
  const auto inside = [](long long v, long long size, long long extent) {
    return int(std::max<long long>(0, std::min<long long>(v, extent - size)));
  };
  std::vector<caption_box> placed;
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    const rect& r = boxes[i];
    const int bar_w = text_width(texts[i], s) + 2 * pad;
    const int x = inside(r.x, bar_w, image_width);
    const long long above = (long long)r.y - bar_h, below = (long long)r.y + r.height;
    std::vector<long long> ys{above, r.y, below, below - bar_h};
    for (int k = 1; k <= 4; ++k)
      for (const long long base : {above, below}) ys.push_back(base + (base == above ? -k : k) * (long long)bar_h);
    caption_box best;
    long long best_overlap = -1;
    for (const long long y0 : ys) {
      const rect bar{x, inside(y0, bar_h, image_height), bar_w, bar_h};
      long long overlap = 0;
      for (const caption_box& c : placed) overlap += detail::overlap_area(bar, c.bar);
      if (best_overlap < 0 || overlap < best_overlap) {
        best_overlap = overlap;
        best = caption_box{bar, bar.x + pad, bar.y + pad};
      }
      if (overlap == 0) break;
    }
    placed.push_back(best);
  }
  return placed;
}

// Every box's outline, then every caption (a later outline never crosses an earlier caption):
// filled bars in the box's colour with the text in black or white, whichever contrasts more.
inline void draw_labels(image& img, const std::vector<rect>& boxes, const std::vector<std::string>& texts,
                        const std::vector<colour>& colours) {
  HOUSENET_CHECK(boxes.size() == texts.size() && boxes.size() == colours.size(), "image: ", boxes.size(),
                 " boxes, ", texts.size(), " captions and ", colours.size(), " colours");
  const int s = drawing_scale(img);
  for (std::size_t i = 0; i < boxes.size(); ++i) draw_rect(img, boxes[i], colours[i], s);
  std::vector<rect> with_text;
  std::vector<std::string> shown;
  std::vector<colour> cols;
  for (std::size_t i = 0; i < boxes.size(); ++i)
    if (!texts[i].empty()) with_text.push_back(boxes[i]), shown.push_back(texts[i]), cols.push_back(colours[i]);
  const std::vector<caption_box> bars = caption_layout(img.width(), img.height(), s, with_text, shown);
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const rect& b = bars[i].bar;
    detail::fill_rect_clipped(img, b.x, b.y, b.x + b.width, b.y + b.height, cols[i]);
    const int lum = (4899 * cols[i].r + 9617 * cols[i].g + 1868 * cols[i].b) >> 14;
    draw_text(img, bars[i].text_x, bars[i].text_y, shown[i], lum > 128 ? colour{0, 0, 0} : colour{255, 255, 255}, s);
  }
}

// One box with its caption: draw_labels of one.
inline void draw_label(image& img, const rect& r, const std::string& text, colour col) {
  draw_labels(img, {r}, {text}, {col});
}

// t = 1 x C x H x W float in [0, 1] (value / 255), channel order R, G, B (or the one gray plane).
inline void to_tensor(const image& img, tensor<float>& t) {
  HOUSENET_CHECK(!img.empty(), "image: to_tensor of an empty image");
  const std::size_t c = std::size_t(img.channels()), h = std::size_t(img.height()), w = std::size_t(img.width());
  t.resize(shape{1, c, h, w});
  float* out = t.data();
  const std::uint8_t* p = img.data();
  for (std::size_t y = 0; y < h; ++y)
    for (std::size_t x = 0; x < w; ++x)
      for (std::size_t k = 0; k < c; ++k) out[(k * h + y) * w + x] = float(p[(y * w + x) * c + k]) / 255.0f;
}

HOUSENET_END_NAMESPACE

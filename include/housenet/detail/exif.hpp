// housenet/detail/exif.hpp: the EXIF Orientation tag of a JPEG file, read without a library.
//
//   jpeg_exif_orientation(bytes, n) -> 1..8, or 1 when the data is not a JPEG, has no APP1 Exif
//   segment, has no Orientation tag, or anything about it is malformed or truncated.
//
// It walks the JPEG marker segments from SOI up to SOS, and in the first APP1 segment that starts
// with "Exif\0\0" reads the TIFF header (II or MM byte order) and IFD0 for tag 0x0112 (SHORT).
// Every read is bounds-checked against the segment; it never throws and never reads past the end.
// Thread safety: a pure function. Not API: may change.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../config.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace detail {

inline int exif_orientation_from_tiff(const unsigned char* t, std::size_t n) {
  if (n < 8) return 1;
  bool le;
  if (t[0] == 'I' && t[1] == 'I') le = true;
  else if (t[0] == 'M' && t[1] == 'M') le = false;
  else return 1;
  auto u16 = [&](std::size_t o) -> std::uint32_t {
    return le ? std::uint32_t(t[o]) | (std::uint32_t(t[o + 1]) << 8)
              : (std::uint32_t(t[o]) << 8) | std::uint32_t(t[o + 1]);
  };
  auto u32 = [&](std::size_t o) -> std::uint32_t {
    return le ? std::uint32_t(t[o]) | (std::uint32_t(t[o + 1]) << 8) | (std::uint32_t(t[o + 2]) << 16) |
                    (std::uint32_t(t[o + 3]) << 24)
              : (std::uint32_t(t[o]) << 24) | (std::uint32_t(t[o + 1]) << 16) |
                    (std::uint32_t(t[o + 2]) << 8) | std::uint32_t(t[o + 3]);
  };
  if (u16(2) != 42) return 1;
  const std::uint32_t ifd = u32(4);
  if (ifd > n || n - ifd < 2) return 1;
  const std::uint32_t count = u16(ifd);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::size_t e = std::size_t(ifd) + 2 + std::size_t(i) * 12;
    if (e > n || n - e < 12) return 1;
    if (u16(e) != 0x0112) continue;
    const std::uint32_t type = u16(e + 2), cnt = u32(e + 4);
    if (type != 3 || cnt < 1) return 1;  // SHORT, value stored inline
    const std::uint32_t v = u16(e + 8);
    return (v >= 1 && v <= 8) ? int(v) : 1;
  }
  return 1;
}

inline int jpeg_exif_orientation(const unsigned char* d, std::size_t n) {
  if (n < 4 || d[0] != 0xFF || d[1] != 0xD8) return 1;
  std::size_t p = 2;
  while (p + 4 <= n) {
    if (d[p] != 0xFF) return 1;
    unsigned char m = d[p + 1];
    if (m == 0xFF) {  // fill byte
      ++p;
      continue;
    }
    if (m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01) {  // no length
      p += 2;
      continue;
    }
    if (m == 0xDA || m == 0xD9) return 1;  // start of scan / end of image: no Exif before it
    const std::size_t len = (std::size_t(d[p + 2]) << 8) | d[p + 3];
    if (len < 2 || len > n - p - 2) return 1;  // truncated segment
    const unsigned char* seg = d + p + 4;
    const std::size_t seg_n = len - 2;
    if (m == 0xE1 && seg_n >= 6 && seg[0] == 'E' && seg[1] == 'x' && seg[2] == 'i' && seg[3] == 'f' &&
        seg[4] == 0 && seg[5] == 0)
      return exif_orientation_from_tiff(seg + 6, seg_n - 6);
    p += 2 + len;
  }
  return 1;
}

}  // namespace detail
HOUSENET_END_NAMESPACE

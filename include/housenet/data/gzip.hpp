// housenet/data/gzip.hpp: gzip (RFC 1952) decompression, through stb_image's inflate.
//
// NEEDS stb (Debian libstb-dev: <stb_image.h> and the compiled libstb). stb is the vision part of
// the library (images: housenet/image.hpp), so code that includes this header links what the
// vision headers link (PkgConfig::stb). The numeric core (housenet/housenet.hpp) does not.
//
// WHAT THIS IS
//   is_gzip(data, n)                       the gzip magic (1f 8b) at the start
//   gunzip(data, n, name [, max_bytes])    the decompressed bytes of a one-member gzip file
//
//   The header is parsed here (ID1 ID2 CM FLG MTIME XFL OS, then the optional FEXTRA, FNAME,
//   FCOMMENT and FHCRC fields, FHCRC checked); the raw deflate data between the header and the
//   8-byte trailer goes to stb_image's inflate (stbi_zlib_decode_noheader_buffer) into a buffer of
//   exactly the size the trailer states (ISIZE), and the trailer's CRC-32 is checked against the
//   output (detail/crc32.hpp). Before anything is allocated, ISIZE is bounded by max_bytes, by
//   2^31 - 2 (stb_image's lengths are ints) and by what the deflate data can possibly hold
//   (deflate expands at most 1032:1), so a forged trailer cannot ask for a huge buffer.
//   One member only: the trailer is taken from the last 8 bytes, so a file of several members
//   (gzip a b > ab.gz, or bytes appended after the member) fails the size or CRC check.
//
// ERRORS (housenet::error, prefix "<name>: "), e.g.
//   "x.gz: not a gzip file (it starts with 00 00 08 03, not 1f 8b)"
//   "x.gz: truncated gzip file (12 bytes; the smallest is 18)"
//   "x.gz: compression method 7 not supported (gzip uses deflate, 8)"
//   "x.gz: the header's FNAME field runs into the trailer (truncated?)"
//   "x.gz: header CRC-16 mismatch (damaged file)"
//   "x.gz: inflates to 2000000000 bytes (the trailer says), more than the limit of 1073741824"
//   "x.gz: the trailer's size 123456789 is impossible for 42 bytes of deflate data (truncated or damaged?)"
//   "x.gz: the deflate data is corrupt or truncated, or inflates to more than the 76 bytes the
//    trailer says"
//   "x.gz: inflates to 1000 bytes, the trailer says 4000 (truncated or damaged?)"
//   "x.gz: CRC-32 mismatch (damaged file, or several gzip members, which this reader does not take)"
// THREAD SAFETY: free functions on distinct buffers may run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <stb_image.h>

#include "../detail/binary_io.hpp"
#include "../detail/crc32.hpp"
#include "../error.hpp"

HOUSENET_BEGIN_NAMESPACE

// The default limit on a decompressed size (1 GiB).
constexpr std::size_t default_max_gunzip_bytes = std::size_t(1) << 30;

inline bool is_gzip(const std::uint8_t* data, std::size_t n) {
  return n >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}


inline std::vector<std::uint8_t> gunzip(const std::uint8_t* data, std::size_t n, const std::string& name,
                                        std::size_t max_bytes = default_max_gunzip_bytes) {
  constexpr std::size_t header = 10, trailer = 8;
  HOUSENET_CHECK(n >= 2 && is_gzip(data, n), name, ": not a gzip file (it starts with ",
                 n ? detail::hex_bytes(data, n < 4 ? n : 4) : std::string("nothing: the file is empty"),
                 n ? ", not 1f 8b)" : ")");
  HOUSENET_CHECK(n >= header + trailer, name, ": truncated gzip file (", n, " bytes; the smallest is ",
                 header + trailer, ")");
  HOUSENET_CHECK(data[2] == 8, name, ": compression method ", unsigned(data[2]),
                 " not supported (gzip uses deflate, 8)");
  const unsigned flags = data[3];
  HOUSENET_CHECK((flags & 0xE0u) == 0, name, ": reserved header flags set (0x", std::hex, flags,
                 "; damaged file?)");
  const std::size_t end = n - trailer;  // the deflate data ends where the trailer starts
  std::size_t pos = header;
  if (flags & 0x04u) {  // FEXTRA: u16 length + bytes
    HOUSENET_CHECK(end - pos >= 2, name, ": the header's FEXTRA field runs into the trailer (truncated?)");
    const std::size_t xlen = std::size_t(data[pos]) | std::size_t(data[pos + 1]) << 8;
    pos += 2;
    HOUSENET_CHECK(end - pos >= xlen, name, ": the header's FEXTRA field runs into the trailer (truncated?)");
    pos += xlen;
  }
  for (unsigned bit : {0x08u, 0x10u}) {  // FNAME, FCOMMENT: zero-terminated
    if (!(flags & bit)) continue;
    while (pos < end && data[pos] != 0) ++pos;
    HOUSENET_CHECK(pos < end, name, ": the header's ", bit == 0x08u ? "FNAME" : "FCOMMENT",
                   " field runs into the trailer (truncated?)");
    ++pos;
  }
  if (flags & 0x02u) {  // FHCRC: the low 16 bits of the CRC-32 of the header so far
    HOUSENET_CHECK(end - pos >= 2, name, ": the header's FHCRC field runs into the trailer (truncated?)");
    const std::uint32_t want = std::uint32_t(data[pos]) | std::uint32_t(data[pos + 1]) << 8;
    HOUSENET_CHECK((detail::crc32(data, pos) & 0xFFFFu) == want, name, ": header CRC-16 mismatch (damaged file)");
    pos += 2;
  }
  const std::size_t deflate_bytes = end - pos;
  const std::uint32_t crc = detail::le32(data + end), isize = detail::le32(data + end + 4);
  HOUSENET_CHECK(isize <= max_bytes, name, ": inflates to ", isize, " bytes (the trailer says), more than the limit of ",
                 max_bytes);
  HOUSENET_CHECK(isize <= 0x7FFFFFFEu, name, ": inflates to ", isize,
                 " bytes (the trailer says); this reader takes at most 2147483646");
  // Deflate's best ratio is 1032:1 (258-byte matches in 2 bits); a few bytes of slack for the
  // block headers of a tiny stream.
  HOUSENET_CHECK(std::uint64_t(isize) <= std::uint64_t(deflate_bytes) * 1032u + 64u, name, ": the trailer's size ",
                 isize, " is impossible for ", deflate_bytes, " bytes of deflate data (truncated or damaged?)");
  HOUSENET_CHECK(deflate_bytes <= 0x7FFFFFF0u, name, ": ", deflate_bytes,
                 " bytes of deflate data; this reader takes at most 2147483632");
  // One byte more than the trailer says: a stream that inflates to more fails here, not silently.
  std::vector<std::uint8_t> out(std::size_t(isize) + 1);
  // The input handed over includes the trailer: Debian 12's stb_image (2.27) fails a valid stream
  // whose last codes sit in the last two bytes of its input ("bad huffman code"; fixed upstream
  // in 2.30). The decoder stops at the final block, so the trailer is never decoded as data.
  const int got = stbi_zlib_decode_noheader_buffer(reinterpret_cast<char*>(out.data()), int(out.size()),
                                                    reinterpret_cast<const char*>(data + pos),
                                                    int(deflate_bytes + trailer));
  // (stb_image's failure reason is not used: its decoder returns some failures without setting
  // one, which would leave an earlier call's reason in place.)
  HOUSENET_CHECK(got >= 0, name, ": the deflate data is corrupt or truncated, or inflates to more than the ", isize,
                 " bytes the trailer says");
  HOUSENET_CHECK(std::uint32_t(got) == isize, name, ": inflates to ", got, " bytes, the trailer says ", isize,
                 " (truncated or damaged?)");
  out.resize(isize);
  HOUSENET_CHECK(detail::crc32(out.data(), out.size()) == crc, name,
                 ": CRC-32 mismatch (damaged file, or several gzip members, which this reader does not take)");
  return out;
}

HOUSENET_END_NAMESPACE

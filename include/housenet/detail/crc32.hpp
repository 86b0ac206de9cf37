// housenet/detail/crc32.hpp: CRC-32 (IEEE 802.3 / zlib / PNG polynomial 0xEDB88320) (not API).
//
//   crc32(data, n)            the CRC of n bytes; crc32("123456789", 9) == 0xCBF43926
//   crc32_update(crc, data, n) continues a running CRC: crc32_update(crc32(a), b) == crc32(a + b)
//   crc32_bytewise(crc, data, n) the same, one byte at a time: the definition, kept for tests
//
// Slicing-by-8 (eight 256-entry tables, eight bytes per step: ~2.5 GB/s here instead of ~0.5 for
// one byte at a time; a 245 MB model file is checked in ~0.1 s). Portable C++: the bytes are
// combined with shifts, so the result does not depend on the host's byte order or alignment.
// The tables are built once (thread-safe static init).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "../config.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace detail {

// t[0] is the classic byte table; t[k][i] is the CRC of byte i followed by k zero bytes.
inline const std::array<std::array<std::uint32_t, 256>, 8>& crc32_tables() {
  static const std::array<std::array<std::uint32_t, 256>, 8> tables = [] {
    std::array<std::array<std::uint32_t, 256>, 8> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[0][i] = c;
    }
    for (std::size_t k = 1; k < 8; ++k)
      for (std::size_t i = 0; i < 256; ++i) t[k][i] = t[0][t[k - 1][i] & 0xFFu] ^ (t[k - 1][i] >> 8);
    return t;
  }();
  return tables;
}

inline std::uint32_t crc32_bytewise(std::uint32_t crc, const void* data, std::size_t n) {
  const auto& t = crc32_tables()[0];
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = ~crc;
  for (std::size_t i = 0; i < n; ++i) c = t[(c ^ p[i]) & 0xFFu] ^ (c >> 8);
  return ~c;
}

// crc is the CRC of the bytes so far (0 for none).
inline std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t n) {
  const auto& t = crc32_tables();
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = ~crc;
  for (; n >= 8; n -= 8, p += 8) {
    const std::uint32_t lo = c ^ (std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 |
                                  std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24);
    const std::uint32_t hi = std::uint32_t(p[4]) | std::uint32_t(p[5]) << 8 | std::uint32_t(p[6]) << 16 |
                             std::uint32_t(p[7]) << 24;
    c = t[7][lo & 0xFFu] ^ t[6][(lo >> 8) & 0xFFu] ^ t[5][(lo >> 16) & 0xFFu] ^ t[4][lo >> 24] ^
        t[3][hi & 0xFFu] ^ t[2][(hi >> 8) & 0xFFu] ^ t[1][(hi >> 16) & 0xFFu] ^ t[0][hi >> 24];
  }
  for (; n > 0; --n, ++p) c = t[0][(c ^ *p) & 0xFFu] ^ (c >> 8);
  return ~c;
}

inline std::uint32_t crc32(const void* data, std::size_t n) { return crc32_update(0, data, n); }

}  // namespace detail
HOUSENET_END_NAMESPACE

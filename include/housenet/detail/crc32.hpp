// housenet/detail/crc32.hpp: CRC-32 (IEEE 802.3 / zlib / PNG polynomial 0xEDB88320) (not API).
//
//   crc32(data, n)            the CRC of n bytes; crc32("123456789", 9) == 0xCBF43926
//   crc32_update(crc, data, n) continues a running CRC: crc32_update(crc32(a), b) == crc32(a + b)
//
// Table-driven, one byte at a time; the table is built once (thread-safe static init).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "../config.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace detail {

inline const std::array<std::uint32_t, 256>& crc32_table() {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

// crc is the CRC of the bytes so far (0 for none).
inline std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t n) {
  const auto& t = crc32_table();
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = ~crc;
  for (std::size_t i = 0; i < n; ++i) c = t[(c ^ p[i]) & 0xFFu] ^ (c >> 8);
  return ~c;
}

inline std::uint32_t crc32(const void* data, std::size_t n) { return crc32_update(0, data, n); }

}  // namespace detail
HOUSENET_END_NAMESPACE

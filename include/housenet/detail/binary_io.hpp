// housenet/detail/binary_io.hpp: explicit little-endian byte writing and bounds-checked reading
// (not API; used by model_io.hpp).
//
//   byte_writer   appends u32 / u64 / f32 / raw bytes to a std::vector<uint8_t>, little-endian
//                 whatever the host order.
//   f32_bytes     float arrays as little-endian bytes: one memcpy on a little-endian host.
//   byte_reader   reads the same from a [data, data + size) range. Every read checks the bytes it
//                 needs against what remains BEFORE touching memory and throws
//                 "<name>: truncated at byte N" (N = the size of the input), so a short or damaged
//                 input is an error, never an out-of-bounds read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../error.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace detail {

// Folded to a constant by the compiler.
inline std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
}
// "1f 8b 08 00": the first bytes of a file, for "not a ... file (it starts with ...)"
inline std::string hex_bytes(const std::uint8_t* p, std::size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    if (i) s += ' ';
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

inline bool host_is_little_endian() {
  const std::uint32_t one = 1;
  unsigned char first = 0;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

// in[0..n) as little-endian float32 into out[0..4n).
template <class T>
void to_f32_bytes(const T* in, std::size_t n, std::uint8_t* out) {
  if (std::is_same<T, float>::value && host_is_little_endian()) {
    if (n) std::memcpy(out, in, 4 * n);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const float v = static_cast<float>(in[i]);
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    for (int b = 0; b < 4; ++b) out[4 * i + std::size_t(b)] = std::uint8_t(u >> (8 * b));
  }
}

// Little-endian float32 bytes in[0..4n) into out[0..n).
template <class T>
void from_f32_bytes(const std::uint8_t* in, std::size_t n, T* out) {
  if (std::is_same<T, float>::value && host_is_little_endian()) {
    if (n) std::memcpy(out, in, 4 * n);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t u = 0;
    for (int b = 0; b < 4; ++b) u |= std::uint32_t(in[4 * i + std::size_t(b)]) << (8 * b);
    float v;
    std::memcpy(&v, &u, 4);
    out[i] = static_cast<T>(v);
  }
}

class byte_writer {
 public:
  std::vector<std::uint8_t>& bytes() { return buf_; }
  const std::vector<std::uint8_t>& bytes() const { return buf_; }
  std::size_t size() const { return buf_.size(); }

  void u8(std::uint8_t v) { buf_.push_back(v); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) buf_.push_back(std::uint8_t(v >> (8 * i)));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) buf_.push_back(std::uint8_t(v >> (8 * i)));
  }
  void f32(float v) {
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    u32(u);
  }
  template <class T>
  void f32_array(const T* p, std::size_t n) {
    const std::size_t at = buf_.size();
    buf_.resize(at + 4 * n);
    to_f32_bytes(p, n, buf_.data() + at);
  }
  void raw(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
  }
  void str(const std::string& s) { raw(s.data(), s.size()); }
  // Overwrites 8 bytes at pos (for a length known only later).
  void patch_u64(std::size_t pos, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) buf_[pos + std::size_t(i)] = std::uint8_t(v >> (8 * i));
  }

 private:
  std::vector<std::uint8_t> buf_;
};

class byte_reader {
 public:
  // `reported` is the size named in truncation messages (default: size), e.g. the whole file's
  // when the reader covers only the part before a trailing checksum.
  byte_reader(const std::uint8_t* data, std::size_t size, std::string name,
              std::size_t reported = ~std::size_t(0))
      : p_(data), n_(size), reported_(reported == ~std::size_t(0) ? size : reported),
        name_(std::move(name)) {}

  std::size_t pos() const { return pos_; }
  std::size_t size() const { return n_; }
  std::size_t remaining() const { return n_ - pos_; }
  const std::string& name() const { return name_; }
  const std::uint8_t* here() const { return p_ + pos_; }

  // Throws "<name>: truncated at byte <size>" unless n more bytes are available.
  void need(std::uint64_t n) const {
    HOUSENET_CHECK(n <= remaining(), name_, ": truncated at byte ", reported_, " (", what_, "needs ", n,
                   " more bytes at byte ", pos_, ")");
  }
  // What is being read, for the truncation message ("record 3 name: ").
  void set_context(std::string what) { what_ = std::move(what); }

  std::uint32_t u32() {
    need(4);
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= std::uint32_t(p_[pos_ + std::size_t(i)]) << (8 * i);
    pos_ += 4;
    return v;
  }
  std::uint64_t u64() {
    need(8);
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t(p_[pos_ + std::size_t(i)]) << (8 * i);
    pos_ += 8;
    return v;
  }
  float f32() {
    const std::uint32_t u = u32();
    float v;
    std::memcpy(&v, &u, 4);
    return v;
  }
  std::string str(std::uint64_t n) {
    need(n);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), std::size_t(n));
    pos_ += std::size_t(n);
    return s;
  }
  // n little-endian float32 values into out[0..n).
  template <class T>
  void f32_array(T* out, std::uint64_t n) {
    HOUSENET_CHECK(n <= remaining() / 4, name_, ": truncated at byte ", reported_, " (", what_, "needs ",
                   n, " floats at byte ", pos_, ")");
    from_f32_bytes(p_ + pos_, std::size_t(n), out);
    pos_ += 4 * std::size_t(n);
  }
  void skip(std::uint64_t n) {
    need(n);
    pos_ += std::size_t(n);
  }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
  std::size_t reported_;
  std::size_t pos_ = 0;
  std::string name_;
  std::string what_;
};

}  // namespace detail
HOUSENET_END_NAMESPACE

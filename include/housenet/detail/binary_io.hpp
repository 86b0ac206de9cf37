// housenet/detail/binary_io.hpp: explicit little-endian byte writing and bounds-checked reading
// (not API; used by model_io.hpp).
//
//   byte_writer   appends u32 / u64 / f32 / raw bytes to a std::vector<uint8_t>, little-endian
//                 whatever the host order.
//   byte_reader   reads the same from a [data, data + size) range. Every read checks the bytes it
//                 needs against what remains BEFORE touching memory and throws
//                 "<name>: truncated at byte N" (N = the size of the input), so a short or damaged
//                 input is an error, never an out-of-bounds read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "../error.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace detail {

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
    for (std::size_t i = 0; i < std::size_t(n); ++i) out[i] = static_cast<T>(f32());
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

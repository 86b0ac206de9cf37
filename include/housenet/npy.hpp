// housenet/npy.hpp: NumPy's .npy files of float32, how scripts hand tensors to a model and take
// its answers back (`housenet run`, docs/app.md).
//
// WHAT THIS IS
//   npy_from_bytes(data, size, name)   a .npy file held in memory -> tensor<float>
//   read_npy(path)                     the same from a file (at most 16 GiB)
//   npy_bytes(x)                       x as a .npy file (version 1.0, '<f4', C order)
//   write_npy(path, x)                 written atomically (file_io.hpp's writer)
//
//   The format (numpy.lib.format): "\x93NUMPY", major and minor version (1.0, 2.0 or 3.0), the
//   header's length (u16 little-endian for 1.x, u32 for 2.x and 3.x), the header (a Python dict
//   literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }, padded with spaces and
//   a newline so the data starts at a multiple of 64), then the elements. This reader takes what
//   housenet's tensors hold: little-endian float32 ('<f4'), C order, 1 to 4 dimensions.
//   np.save(path, x.astype(np.float32)) writes such a file.
//
// BOUNDS AND ERRORS
//   The header is at most 64 KiB and parsed by a small reader of the dict literal (keys and
//   values checked, nothing evaluated); the shape's product is checked (without overflow)
//   against the bytes that follow before anything is allocated; trailing bytes are refused.
//   Every problem is one housenet::error naming the file, e.g.
//     "x.npy: not a .npy file (it starts with 50 4b 03 04)"
//     "x.npy: data type '<f8' not supported (float32, '<f4', only: save x.astype(np.float32))"
//     "x.npy: Fortran order not supported (save np.ascontiguousarray(x))"
//     "x.npy: truncated: the shape (2, 3) needs 24 bytes of data, the file has 12"
// THREAD SAFETY: free functions without shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "detail/binary_io.hpp"
#include "error.hpp"
#include "file_io.hpp"
#include "tensor.hpp"

HOUSENET_BEGIN_NAMESPACE

namespace detail {

// The header's dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class npy_header_reader {
 public:
  npy_header_reader(const std::string& text, const std::string& name) : s_(text), name_(name) {}

  void read(std::string& descr, bool& fortran, std::vector<std::size_t>& dims) {
    bool has_descr = false, has_order = false, has_shape = false;
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      skip_space();
      if (key == "descr") {
        descr = string_literal();
        has_descr = true;
      } else if (key == "fortran_order") {
        fortran = boolean();
        has_order = true;
      } else if (key == "shape") {
        dims = tuple();
        has_shape = true;
      } else {
        fail("unknown header key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      skip_space();
      if (peek() != '}') fail("expected ',' or '}' in the header");
    }
    ++at_;
    skip_space();
    if (at_ != s_.size()) fail("text after the header's dict");
    if (!has_descr || !has_order || !has_shape) fail("the header lacks 'descr', 'fortran_order' or 'shape'");
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    detail::fail(concat(name_, ": bad .npy header (", what, ")"));
  }
  char peek() const { return at_ < s_.size() ? s_[at_] : '\0'; }
  void skip_space() {
    while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == '\n' || s_[at_] == '\r')) ++at_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++at_;
  }
  std::string string_literal() {
    skip_space();
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    const std::size_t end = s_.find(q, at_ + 1);
    if (end == std::string::npos || end - at_ > 64) fail("unterminated or long string");
    std::string r = s_.substr(at_ + 1, end - at_ - 1);
    at_ = end + 1;
    return r;
  }
  bool boolean() {
    if (s_.compare(at_, 4, "True") == 0) return at_ += 4, true;
    if (s_.compare(at_, 5, "False") == 0) return at_ += 5, false;
    fail("'fortran_order' must be True or False");
  }
  std::vector<std::size_t> tuple() {
    std::vector<std::size_t> dims;
    expect('(');
    for (;;) {
      skip_space();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') fail("a dimension must be a non-negative integer");
      std::uint64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (v > (std::uint64_t(1) << 40)) fail("a dimension too large");
        v = v * 10 + std::uint64_t(peek() - '0');
        ++at_;
      }
      if (dims.size() >= 32) fail("more than 32 dimensions");
      dims.push_back(std::size_t(v));
      skip_space();
      if (peek() == ',') ++at_;
      else if (peek() != ')') fail("expected ',' or ')' in the shape");
    }
    ++at_;
    return dims;
  }

  const std::string& s_;
  const std::string& name_;
  std::size_t at_ = 0;
};

inline std::string npy_shape_text(const std::vector<std::size_t>& dims) {
  std::string r = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) r += (i ? ", " : "") + std::to_string(dims[i]);
  return r + (dims.size() == 1 ? ",)" : ")");
}

}  // namespace detail

inline tensor<float> npy_from_bytes(const void* data, std::size_t size, const std::string& name = "<memory>") {
  const auto* b = static_cast<const std::uint8_t*>(data);
  static const char magic[] = "\x93NUMPY";
  if (size < 10 || std::memcmp(b, magic, 6) != 0) {
    detail::fail(detail::concat(name, ": not a .npy file (",
                                size ? "it starts with " + detail::hex_bytes(b, size < 4 ? size : 4) : std::string("empty"), ")"));
  }
  const unsigned major = b[6], minor = b[7];
  HOUSENET_CHECK((major == 1 || major == 2 || major == 3) && minor == 0, name, ": .npy version ", major, ".", minor,
                 " not supported (1.0, 2.0, 3.0)");
  std::size_t header_len = 0, at = 0;
  if (major == 1) {
    header_len = std::size_t(b[8]) | std::size_t(b[9]) << 8;
    at = 10;
  } else {
    HOUSENET_CHECK(size >= 12, name, ": truncated .npy header");
    header_len = std::size_t(detail::le32(b + 8));
    at = 12;
  }
  HOUSENET_CHECK(header_len <= 65536, name, ": .npy header of ", header_len, " bytes (at most 65536)");
  HOUSENET_CHECK(size - at >= header_len, name, ": truncated .npy header (", header_len, " bytes announced, ",
                 size - at, " there)");
  const std::string header(reinterpret_cast<const char*>(b + at), header_len);
  at += header_len;
  std::string descr;
  bool fortran = false;
  std::vector<std::size_t> dims;
  detail::npy_header_reader(header, name).read(descr, fortran, dims);
  HOUSENET_CHECK(descr == "<f4", name, ": data type '", descr,
                 "' not supported (float32, '<f4', only: save x.astype(np.float32))");
  HOUSENET_CHECK(!fortran, name, ": Fortran order not supported (save np.ascontiguousarray(x))");
  HOUSENET_CHECK(dims.size() >= 1 && dims.size() <= shape::max_rank, name, ": shape ", detail::npy_shape_text(dims),
                 ": ", dims.size(), " dimensions (housenet's tensors have 1 to ", shape::max_rank, ")");
  const std::size_t have = size - at;
  std::uint64_t count = 1;  // 64-bit on every target (size_t has 32 bits on wasm32)
  for (std::size_t d : dims) {
    HOUSENET_CHECK(d >= 1, name, ": shape ", detail::npy_shape_text(dims), " has no elements");
    HOUSENET_CHECK(count <= (std::uint64_t(1) << 60) / d, name, ": shape ", detail::npy_shape_text(dims), " too large");
    count *= d;
  }
  HOUSENET_CHECK(count * 4 == have, name, ": ", count * 4 < have ? "trailing bytes: " : "truncated: ", "the shape ",
                 detail::npy_shape_text(dims), " needs ", count * 4, " bytes of data, the file has ", have);
  tensor<float> x(shape::from_range(dims.begin(), dims.end()));
  detail::from_f32_bytes(b + at, x.size(), x.data());
  return x;
}

inline tensor<float> read_npy(const std::string& path) {
  const std::vector<std::uint8_t> b = detail::read_file_bytes(path, ".npy file", std::uint64_t(1) << 34);
  return npy_from_bytes(b.data(), b.size(), path);
}

inline std::vector<std::uint8_t> npy_bytes(const tensor<float>& x) {
  std::vector<std::size_t> dims;
  for (std::size_t i = 0; i < x.shape().rank(); ++i) dims.push_back(x.shape()[i]);
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + detail::npy_shape_text(dims) + ", }";
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::vector<std::uint8_t> out(10 + header.size() + 4 * x.size());
  std::memcpy(out.data(), "\x93NUMPY\x01\x00", 8);
  out[8] = std::uint8_t(header.size() & 0xFF);
  out[9] = std::uint8_t(header.size() >> 8);
  std::memcpy(out.data() + 10, header.data(), header.size());
  detail::to_f32_bytes(x.data(), x.size(), out.data() + 10 + header.size());
  return out;
}

inline void write_npy(const std::string& path, const tensor<float>& x) {
  const std::vector<std::uint8_t> b = npy_bytes(x);
  write_file_atomic(path, b.data(), b.size());
}

HOUSENET_END_NAMESPACE

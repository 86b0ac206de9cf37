// housenet/onnx/protobuf.hpp: protobuf's wire format, written and read (not API; the ONNX
// writer and reader use it). No libprotobuf: the format is five encodings.
//
// WHAT THIS IS
//   protobuf::message   a message being written: fields appended in order (varint, fixed32,
//                       fixed64, length-delimited bytes, nested messages). Large byte fields can
//                       be VIEWS of the caller's memory (bytes_view: a tensor's raw data is never
//                       copied); nested messages' lengths are computed when written, so a model
//                       of any size streams to file_io.hpp's atomic writer without a copy.
//                         protobuf::message m;
//                         m.varint(1, 7).bytes(2, "name").child(3, std::move(inner));
//                         m.write_to(write);            // write(const std::uint8_t*, std::size_t)
//   protobuf::reader    reads the fields of one message from [data, data + size): next(f) gives
//                       each field in file order (number, wire type, value or byte range).
//                       Nothing is allocated: a length-delimited field is a range of the input.
//
// BOUNDS AND ERRORS (the reader)
//   Every length is checked against the bytes that remain BEFORE it is used; a varint has at most
//   10 bytes; field number 0, the group wire types (3, 4) and the unknown ones (6, 7) are refused;
//   a packed repeated field's count is its byte length at most. Anything malformed throws one
//   housenet::error: "<name>: malformed protobuf at byte <offset>: <what>" (name: the file, offset
//   from the start of the whole input, so nested readers report file offsets).
//
// THREAD SAFETY: distinct objects are independent; a const message may be written from several
//   threads at once only after size() has been called once (it caches nested sizes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../error.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace protobuf {

enum class wire : std::uint8_t { varint = 0, fixed64 = 1, bytes = 2, fixed32 = 5 };

// ---- writing --------------------------------------------------------------------------------------

inline void append_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline std::size_t varint_size(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline void append_tag(std::string& out, std::uint32_t field, wire w) {
  HOUSENET_CHECK(field >= 1 && field < (1u << 29), "protobuf: field number ", field, " out of range");
  append_varint(out, (std::uint64_t(field) << 3) | std::uint64_t(w));
}

class message {
 public:
  message() = default;
  message(message&&) noexcept = default;
  message& operator=(message&&) noexcept = default;
  message(const message&) = delete;
  message& operator=(const message&) = delete;

  // int32, int64 (negative: ten bytes, as protobuf), uint64, bool and enum fields.
  message& varint(std::uint32_t field, std::uint64_t v) {
    std::string& s = tail();
    append_tag(s, field, wire::varint);
    append_varint(s, v);
    return *this;
  }
  message& int64(std::uint32_t field, std::int64_t v) { return varint(field, static_cast<std::uint64_t>(v)); }
  message& fixed32(std::uint32_t field, std::uint32_t v) {
    std::string& s = tail();
    append_tag(s, field, wire::fixed32);
    for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
    return *this;
  }
  message& float32(std::uint32_t field, float v) {
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    return fixed32(field, u);
  }
  message& fixed64(std::uint32_t field, std::uint64_t v) {
    std::string& s = tail();
    append_tag(s, field, wire::fixed64);
    for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
    return *this;
  }
  // string and bytes fields, copied.
  message& bytes(std::uint32_t field, const std::string& v) {
    std::string& s = tail();
    append_tag(s, field, wire::bytes);
    append_varint(s, v.size());
    s += v;
    return *this;
  }
  // A bytes field NOT copied: [p, p + n) must stay valid until the message is written.
  message& bytes_view(std::uint32_t field, const void* p, std::size_t n) {
    std::string& s = tail();
    append_tag(s, field, wire::bytes);
    append_varint(s, n);
    part v;
    v.view = static_cast<const std::uint8_t*>(p);
    v.view_size = n;
    parts_.push_back(std::move(v));
    return *this;
  }
  // A nested message field.
  message& child(std::uint32_t field, message m) {
    part c;
    c.field = field;
    c.child = std::make_unique<message>(std::move(m));
    parts_.push_back(std::move(c));
    return *this;
  }

  // The encoded size in bytes (nested sizes computed once and cached).
  std::size_t size() const {
    if (size_ != npos) return size_;
    std::size_t n = 0;
    for (const part& p : parts_) {
      n += p.bytes.size() + p.view_size;
      if (p.child) {
        const std::size_t c = p.child->size();
        n += varint_size(std::uint64_t(p.field) << 3) + varint_size(c) + c;
      }
    }
    size_ = n;
    return n;
  }

  // Calls write(const std::uint8_t* p, std::size_t n) for the encoded bytes, in order.
  template <class Write>
  void write_to(const Write& write) const {
    size();
    for (const part& p : parts_) {
      if (!p.bytes.empty()) write(reinterpret_cast<const std::uint8_t*>(p.bytes.data()), p.bytes.size());
      if (p.view_size) write(p.view, p.view_size);
      if (p.child) {
        std::string head;
        append_tag(head, p.field, wire::bytes);
        append_varint(head, p.child->size());
        write(reinterpret_cast<const std::uint8_t*>(head.data()), head.size());
        p.child->write_to(write);
      }
    }
  }

  std::vector<std::uint8_t> to_bytes() const {
    std::vector<std::uint8_t> out;
    out.reserve(size());
    write_to([&](const std::uint8_t* p, std::size_t n) { out.insert(out.end(), p, p + n); });
    return out;
  }

 private:
  static constexpr std::size_t npos = ~std::size_t(0);
  struct part {
    std::string bytes;                  // encoded scalar fields (and the head of a view)
    const std::uint8_t* view = nullptr;  // then these bytes, not owned
    std::size_t view_size = 0;
    std::uint32_t field = 0;            // or a nested message
    std::unique_ptr<message> child;
  };
  std::vector<part> parts_;
  mutable std::size_t size_ = npos;

  std::string& tail() {
    size_ = npos;
    if (parts_.empty() || parts_.back().view_size || parts_.back().child) parts_.emplace_back();
    return parts_.back().bytes;
  }
};

// ---- reading --------------------------------------------------------------------------------------

// One field as read: for wire::bytes, [data, data + size) is the payload (a range of the input);
// for the others data is where the field starts (for error offsets) and size 0.
struct field {
  std::uint32_t number = 0;
  wire type = wire::varint;
  std::uint64_t value = 0;  // varint, fixed32, fixed64
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
};

class reader {
 public:
  // Reads [data, data + size); `name` (the file) prefixes errors; `base` is the start of the whole
  // input (for offsets in messages; nullptr: data).
  reader(const std::uint8_t* data, std::size_t size, const std::string& name,
         const std::uint8_t* base = nullptr)
      : p_(data), end_(data + size), base_(base ? base : data), name_(&name) {}
  // A reader of a length-delimited field's payload (a nested message), same name and base.
  reader nested(const field& f) const {
    expect(f, wire::bytes, "a nested message");
    return reader(f.data, f.size, *name_, base_);
  }

  bool done() const { return p_ == end_; }

  // The next field, or false at the end of the message.
  bool next(field& f) {
    if (p_ == end_) return false;
    const std::uint8_t* at = p_;
    const std::uint64_t key = read_varint();
    const std::uint64_t number = key >> 3;
    const unsigned type = unsigned(key & 7);
    if (number == 0 || number >= (std::uint64_t(1) << 29)) fail_at(at, "field number " + std::to_string(number));
    f = field{};
    f.data = at;
    f.number = static_cast<std::uint32_t>(number);
    switch (type) {
      case 0:
        f.type = wire::varint;
        f.value = read_varint();
        break;
      case 1:
        f.type = wire::fixed64;
        f.value = read_fixed(8);
        break;
      case 5:
        f.type = wire::fixed32;
        f.value = read_fixed(4);
        break;
      case 2: {
        f.type = wire::bytes;
        const std::uint8_t* len_at = p_;
        const std::uint64_t n = read_varint();
        if (n > std::uint64_t(end_ - p_))
          fail_at(len_at, "length " + std::to_string(n) + " runs past the end (" +
                              std::to_string(end_ - p_) + " bytes remain)");
        f.data = p_;
        f.size = static_cast<std::size_t>(n);
        p_ += n;
        break;
      }
      default:
        fail_at(at, "wire type " + std::to_string(type) + " (field " + std::to_string(number) +
                        ") is not supported");
    }
    return true;
  }

  // ---- typed views of a field (each checks the wire type) ----------------------------------------
  std::uint64_t u64(const field& f) const {
    expect(f, wire::varint, "an integer");
    return f.value;
  }
  std::int64_t i64(const field& f) const { return static_cast<std::int64_t>(u64(f)); }
  float f32(const field& f) const {
    expect(f, wire::fixed32, "a float");
    const std::uint32_t u = static_cast<std::uint32_t>(f.value);
    float v;
    std::memcpy(&v, &u, 4);
    return v;
  }
  std::string str(const field& f, std::size_t max_size = std::size_t(1) << 20) const {
    expect(f, wire::bytes, "a string");
    if (f.size > max_size)
      fail_at(f.data, "a string of " + std::to_string(f.size) + " bytes (at most " + std::to_string(max_size) + ")");
    return std::string(reinterpret_cast<const char*>(f.data), f.size);
  }
  // A repeated int64 field, packed or not: appends its values to out, at most max_count in all.
  void append_i64(const field& f, std::vector<std::int64_t>& out, std::size_t max_count) const {
    if (f.type == wire::varint) {
      if (out.size() >= max_count) fail_at(f.data, "more than " + std::to_string(max_count) + " integers");
      out.push_back(static_cast<std::int64_t>(f.value));
      return;
    }
    expect(f, wire::bytes, "a repeated integer");
    reader r(f.data, f.size, *name_, base_);
    while (!r.done()) {
      if (out.size() >= max_count) fail_at(r.p_, "more than " + std::to_string(max_count) + " integers");
      out.push_back(static_cast<std::int64_t>(r.read_varint()));
    }
  }
  // A repeated float field, packed or not.
  void append_f32(const field& f, std::vector<float>& out, std::size_t max_count) const {
    if (f.type == wire::fixed32) {
      if (out.size() >= max_count) fail_at(f.data, "more than " + std::to_string(max_count) + " floats");
      out.push_back(f32(f));
      return;
    }
    expect(f, wire::bytes, "a repeated float");
    if (f.size % 4 != 0) fail_at(f.data, "packed floats of " + std::to_string(f.size) + " bytes");
    if (f.size / 4 > max_count - out.size())
      fail_at(f.data, "more than " + std::to_string(max_count) + " floats");
    for (std::size_t i = 0; i < f.size; i += 4) {
      std::uint32_t u = 0;
      for (int b = 0; b < 4; ++b) u |= std::uint32_t(f.data[i + std::size_t(b)]) << (8 * b);
      float v;
      std::memcpy(&v, &u, 4);
      out.push_back(v);
    }
  }

  // Throws "<name>: malformed protobuf at byte <offset of at>: <what>".
  [[noreturn]] void fail_at(const std::uint8_t* at, const std::string& what) const {
    const std::size_t off = at ? static_cast<std::size_t>(at - base_) : 0;
    detail::fail(detail::concat(*name_, ": malformed protobuf at byte ", off, ": ", what));
  }
  const std::string& name() const { return *name_; }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
  const std::uint8_t* base_;
  const std::string* name_;

  static const char* wire_name(wire w) {
    switch (w) {
      case wire::varint: return "varint";
      case wire::fixed64: return "fixed64";
      case wire::bytes: return "length-delimited";
      case wire::fixed32: return "fixed32";
    }
    return "?";
  }
  void expect(const field& f, wire w, const char* what) const {
    if (f.type != w)
      fail_at(f.data, "field " + std::to_string(f.number) + " should be " + what + " (" + wire_name(w) +
                          "), is " + wire_name(f.type));
  }
  std::uint64_t read_varint() {
    const std::uint8_t* at = p_;
    std::uint64_t v = 0;
    for (int i = 0; i < 10; ++i) {
      if (p_ == end_) fail_at(at, "varint runs past the end");
      const std::uint8_t b = *p_++;
      if (i == 9 && b > 1) fail_at(at, "varint overflows 64 bits");
      v |= std::uint64_t(b & 0x7f) << (7 * i);
      if (!(b & 0x80)) return v;
    }
    fail_at(at, "varint longer than 10 bytes");
  }
  std::uint64_t read_fixed(int n) {
    if (std::size_t(end_ - p_) < std::size_t(n)) fail_at(p_, "fixed" + std::to_string(8 * n) + " runs past the end");
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= std::uint64_t(p_[i]) << (8 * i);
    p_ += n;
    return v;
  }
};

}  // namespace protobuf
HOUSENET_END_NAMESPACE

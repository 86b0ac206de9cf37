// examples/app/json.hpp: a minimal JSON writer for the app's one-line outputs.
//
//   json_writer j;  j.begin_object(); j.key("image"); j.value("a.jpg"); j.end_object();
//   j.str() == R"({"image": "a.jpg"})"
//
// Strings are escaped per RFC 8259 (control characters as \u00XX; UTF-8 passed through); numbers
// are written with up to 6 significant digits ("%.6g"), non-finite numbers as null. Commas and
// the ": " separator are inserted automatically, so the callers only say what, not how.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace app {

inline std::string json_escape(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

inline std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

class json_writer {
 public:
  json_writer& begin_object() { return open('{'); }
  json_writer& end_object() { return close('}'); }
  json_writer& begin_array() { return open('['); }
  json_writer& end_array() { return close(']'); }
  json_writer& key(const std::string& k) {
    separator();
    out_ += json_escape(k) + ": ";
    after_key_ = true;
    return *this;
  }
  json_writer& value(const std::string& s) { return raw(json_escape(s)); }
  json_writer& value(const char* s) { return raw(json_escape(s)); }
  json_writer& value(double v) { return raw(json_number(v)); }
  json_writer& value(long long v) { return raw(std::to_string(v)); }
  json_writer& value(int v) { return raw(std::to_string(v)); }
  json_writer& value(std::size_t v) { return raw(std::to_string(v)); }
  json_writer& value(bool b) { return raw(b ? "true" : "false"); }
  template <class T>
  json_writer& field(const std::string& k, const T& v) {
    key(k);
    return value(v);
  }
  const std::string& str() const { return out_; }

 private:
  json_writer& open(char c) {
    separator();
    out_ += c;
    first_.push_back(true);
    return *this;
  }
  json_writer& close(char c) {
    out_ += c;
    if (!first_.empty()) first_.pop_back();
    return *this;
  }
  json_writer& raw(const std::string& s) {
    separator();
    out_ += s;
    return *this;
  }
  void separator() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (first_.empty()) return;
    if (!first_.back()) out_ += ", ";
    first_.back() = false;
  }

  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace app

// housenet/detail/parse_double.hpp: a decimal text to the nearest double, independent of the
// locale, where std::from_chars(double) is missing.
//
//   parse_double(first, last, v)   true when ALL of [first, last) is one number as
//                                  std::from_chars(first, last, v) reads it (chars_format::general:
//                                  [-] digits [. digits] [e|E [+|-] digits], inf, infinity, nan,
//                                  nan(chars); no leading '+', no space, no hex) and it is in
//                                  range; v is then the correctly rounded value, the same bits as
//                                  std::from_chars gives. Out of range (a non-zero number that
//                                  rounds to 0 or to infinity): false, as from_chars says
//                                  result_out_of_range; subnormal results are values.
//   parse_double_strtod(...)       the same answer without std::from_chars: the grammar checked
//                                  here, the value from strtod (correctly rounded in glibc and
//                                  musl) on a copy whose '.' is the C locale's decimal point.
//
// parse_double is std::from_chars where the standard library has it for double (libstdc++ 11+,
// __cpp_lib_to_chars), else parse_double_strtod: emscripten's libc++ 14 (and Apple's before
// 2023) declare no from_chars for floating point. tests/test_cascade.cpp compares the two.
#pragma once

#include <cerrno>
#include <charconv>
#include <clocale>
#include <cmath>
#include <cstdlib>
#include <string>

#include "../config.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace detail {

// End of the longest prefix of [p, last) that std::from_chars(double) would read (p if none).
inline const char* scan_decimal(const char* p, const char* last) {
  const char* const start = p;
  const auto lower = [](char c) { return char(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); };
  const auto word = [&](const char* at, const char* w) {  // w matched at `at`, case-insensitive
    for (; *w; ++w, ++at)
      if (at == last || lower(*at) != *w) return false;
    return true;
  };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (p != last && *p == '-') ++p;
  if (word(p, "infinity")) return p + 8;
  if (word(p, "inf")) return p + 3;
  if (word(p, "nan")) {
    p += 3;
    const char* q = p;
    if (q != last && *q == '(') {
      for (++q; q != last && (digit(*q) || (lower(*q) >= 'a' && lower(*q) <= 'z') || *q == '_');) ++q;
      if (q != last && *q == ')') return q + 1;
    }
    return p;
  }
  bool digits = false;
  for (; p != last && digit(*p); ++p) digits = true;
  if (p != last && *p == '.')
    for (++p; p != last && digit(*p); ++p) digits = true;
  if (!digits) return start;
  if (p != last && (*p == 'e' || *p == 'E')) {
    const char* q = p + 1;
    if (q != last && (*q == '+' || *q == '-')) ++q;
    if (q != last && digit(*q)) {
      while (q != last && digit(*q)) ++q;
      p = q;
    }
  }
  return p;
}

inline bool parse_double_strtod(const char* first, const char* last, double& v) {
  if (first == last || scan_decimal(first, last) != last) return false;
  std::string s(first, last);
  const char point = *std::localeconv()->decimal_point;
  if (point != '.')
    for (char& c : s)
      if (c == '.') c = point;
  errno = 0;
  char* end = nullptr;
  const double r = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return false;
  if (errno == ERANGE && (r == 0 || std::isinf(r))) return false;  // out of range (not subnormal)
  v = r;
  return true;
}

inline bool parse_double(const char* first, const char* last, double& v) {
#if defined(__cpp_lib_to_chars)
  const auto r = std::from_chars(first, last, v);
  return r.ec == std::errc() && r.ptr == last;
#else
  return parse_double_strtod(first, last, v);
#endif
}

}  // namespace detail
HOUSENET_END_NAMESPACE

// housenet/detail/number.hpp: the library's one text form of a real number (not API).
//
//   format_real(v)  the shortest of 15, 16 or 17 significant digits that reads back as exactly v
//                   ("0.9", "2e-05", "0.0005"), in the classic locale whatever the program's
//                   locale. For a float, the shortest of 6 to 9 digits that reads back as
//                   exactly that float ("0.541234553" rather than the double's 17 digits). Every number the library or the app writes for reading back (layer
//                   configs, optimizer hyperparameters, checkpoint metadata, JSON) goes through
//                   it, so a value survives a save and a load bit for bit. Non-finite values give
//                   "inf", "-inf", "nan" (callers that cannot store them check first).
//   parse_real(s, v) the inverse: the whole of s as a decimal or scientific number, in the
//                   classic locale; false for an empty string, trailing characters, or a number
//                   out of double's range. "inf" and "nan" are accepted as format_real writes them.
//   parse_double(first, last, v)  std::from_chars's reading, for many numbers fast (the cascade
//                   files' tens of thousands): true when ALL of [first, last) is one number as
//                   from_chars(double) reads it (chars_format::general: [-] digits [. digits]
//                   [e|E [+|-] digits], inf, infinity, nan, nan(chars); no leading '+', no space,
//                   no hex) and it is in range (a non-zero number that rounds to 0 or to infinity
//                   is not; subnormals are); v is then the correctly rounded value.
//                   std::from_chars where the standard library has it for double (libstdc++ 11+:
//                   __cpp_lib_to_chars), else parse_double_strtod: the same answer, the grammar
//                   checked here and the value from strtod (correctly rounded in glibc and musl) on
//                   a copy whose '.' is the locale's decimal point. Emscripten's libc++ 14 has no
//                   from_chars for double. tests/test_cascade.cpp compares the two paths.
//
// THREAD SAFETY: free functions without shared state.
#pragma once

#include <cerrno>
#include <charconv>
#include <clocale>
#include <cmath>
#include <cstdlib>
#include <locale>
#include <sstream>
#include <string>

#include "../config.hpp"

HOUSENET_BEGIN_NAMESPACE

namespace detail {

inline bool parse_real(const std::string& s, double& v) {
  if (s.empty() || s.size() > 64) return false;
  if (s == "inf" || s == "+inf") return v = HUGE_VAL, true;
  if (s == "-inf") return v = -HUGE_VAL, true;
  if (s == "nan") return v = NAN, true;
  // Only the characters of a decimal or scientific number: strtod's hex floats, "infinity" and
  // leading spaces are not part of the format.
  for (char c : s)
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
      return false;
  std::istringstream is(s);
  is.imbue(std::locale::classic());
  double r = 0;
  is >> r;
  if (is.fail() || !is.eof()) return false;   // nothing read, out of range, or characters left
  v = r;
  return true;
}

// The shortest of [min_digits, max_digits] significant digits that reads back as v (as a T).
template <class T>
std::string format_shortest(T v, int min_digits, int max_digits) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::string s;
  for (int digits = min_digits; digits <= max_digits; ++digits) {
    std::ostringstream os;
    os.imbue(std::locale::classic());
    os.precision(digits);
    os << double(v);
    s = os.str();
    double back = 0;
    if (parse_real(s, back) && static_cast<T>(back) == v) break;
  }
  return s;
}

inline std::string format_real(double v) { return format_shortest(v, 15, 17); }
inline std::string format_real(float v) { return format_shortest(v, 6, 9); }

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

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
//
// THREAD SAFETY: free functions without shared state.
#pragma once

#include <cerrno>
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

}  // namespace detail

HOUSENET_END_NAMESPACE

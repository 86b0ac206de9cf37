// detail/number.hpp: the one text form of a real number reads back bit for bit, in any locale.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include <housenet/detail/number.hpp>
#include <housenet/random.hpp>

using housenet::detail::format_real;
using housenet::detail::parse_real;

namespace {
template <class T, class Bits>
T from_bits(Bits b) {
  T v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}
}  // namespace

TEST_CASE("format_real: short forms of common values") {
  CHECK(format_real(0.9) == "0.9");
  CHECK(format_real(2e-5) == "2e-05");
  CHECK(format_real(0.0005) == "0.0005");
  CHECK(format_real(1.0) == "1");
  CHECK(format_real(-0.0) == "-0");
  CHECK(format_real(0.1 + 0.2) == "0.30000000000000004");   // needs all 17 digits
  CHECK(format_real(0.9f) == "0.9");
  CHECK(format_real(1.0f / 3.0f) == "0.33333334");
  CHECK(format_real(std::numeric_limits<double>::infinity()) == "inf");
  CHECK(format_real(-std::numeric_limits<double>::infinity()) == "-inf");
  CHECK(format_real(std::nan("")) == "nan");
}

TEST_CASE("format_real: every double and float of a random sample reads back exactly") {
  housenet::prng rng(7);
  for (int i = 0; i < 20000; ++i) {
    const double d = from_bits<double>(rng.next_u64());
    if (!std::isfinite(d)) continue;
    double back = 0;
    REQUIRE(parse_real(format_real(d), back));
    REQUIRE(std::memcmp(&back, &d, sizeof d) == 0);
    const float f = from_bits<float>(std::uint32_t(rng.next_u64()));
    if (!std::isfinite(f)) continue;
    REQUIRE(parse_real(format_real(f), back));
    REQUIRE(float(back) == f);
  }
}

TEST_CASE("parse_real: the whole string, a number, nothing else") {
  double v = 0;
  CHECK(parse_real("0.5", v));
  CHECK(v == 0.5);
  CHECK(parse_real("-1e-3", v));
  CHECK(v == -1e-3);
  CHECK(parse_real("inf", v));
  CHECK(std::isinf(v));
  for (const char* bad : {"", " 1", "1 ", "1x", "0x10", "1,5", "infinity", "1e999", "e", "--1"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_real(bad, v));
  }
  CHECK_FALSE(parse_real(std::string(100, '1'), v));
}

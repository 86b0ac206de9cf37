// housenet/detail/elementwise_math.hpp: e^x, the logistic sigmoid and tanh, one element at a time,
// written so that a loop over them vectorizes (not API; may change).
//
//   exp_f32(x)      e^x in float without branches or calls: Cody-Waite reduction x = n ln2 + r,
//                   Cephes' degree-6 polynomial for e^r, then 2^n as two exact power-of-two
//                   factors. Within 1 ulp of e^x (measured: 0.98; tests/test_elementwise.cpp)
//                   for x in [-87.33, 88.72]; +inf above 88.7228 (e^x > FLT_MAX there), 0 below
//                   -87.3365 (e^x < FLT_MIN: flushed), NaN for NaN.
//   sigmoid_of(x)   1 / (1 + e^-x): float through exp_f32 (within 3 ulp, measured 2.4; 0 below
//                   x = -88.7, where the exact value is < 4e-39), double through std::exp.
//   tanh_of(x)      float: Cephes' odd polynomial for |x| < 0.625 (no cancellation near 0), else
//                   sign(x) (1 - 2 / (e^{2|x|} + 1)), both computed and one selected; within 2 ulp
//                   (measured 1.3), exactly odd. double: std::tanh.
//   select(c, a, b) c ? a : b through bit masks. Both a and b are computed whatever c is, and the
//                   loop stays branch-free: GCC does not if-convert `c ? a : x * y` (it sinks the
//                   multiplication into the branch, which may trap), and then cannot vectorize.
//   The double versions are the library's references (gradient checks run in double); the float
//   ones are what training and inference run, checked against them over the whole float range.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../config.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace detail {

template <class T>
T select(bool c, T a, T b) {
  using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  static_assert(sizeof(T) == sizeof(U), "float or double");
  U ua, ub;
  std::memcpy(&ua, &a, sizeof(T));
  std::memcpy(&ub, &b, sizeof(T));
  const U m = c ? ~U(0) : U(0);
  ua = (ua & m) | (ub & ~m);
  std::memcpy(&a, &ua, sizeof(T));
  return a;
}

inline float exp_f32(float x) {
  const float hi = 88.7228394f, lo = -87.3365479f;
  const float xc = select(x < lo, lo, select(x > hi, hi, x));  // NaN passes through
  // n = round(xc / ln2): the magic constant 1.5 * 2^23 leaves n in the low mantissa bits
  const float t = xc * 1.44269504088896341f + 12582912.0f;
  std::uint32_t tb;
  std::memcpy(&tb, &t, sizeof tb);
  const std::int32_t n = static_cast<std::int32_t>(tb - 0x4B400000u);
  const float fn = t - 12582912.0f;
  float r = xc - fn * 0.693359375f;  // ln2 in two parts: the first exact in float
  r = r - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  // 2^n = 2^n1 * 2^n2 with both halves normal (n is in -126..128)
  const std::int32_t n1 = n >> 1, n2 = n - n1;
  const std::uint32_t b1 = static_cast<std::uint32_t>(n1 + 127) << 23, b2 = static_cast<std::uint32_t>(n2 + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, sizeof s1);
  std::memcpy(&s2, &b2, sizeof s2);
  const float v = e * s1 * s2;
  return select(x > hi, HUGE_VALF, select(x < lo, 0.0f, v));
}

inline float sigmoid_of(float x) { return 1.0f / (1.0f + exp_f32(-x)); }
inline double sigmoid_of(double x) { return 1.0 / (1.0 + std::exp(-x)); }

inline float tanh_of(float x) {
  // on |x|, then x's sign bit: exactly odd, tanh(-0) = -0
  const float ax = std::fabs(x);
  const float z = ax * ax;
  const float small =
      ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z -
       3.33332819422e-1f) * z * ax + ax;
  const float big = 1.0f - 2.0f / (exp_f32(2.0f * ax) + 1.0f);
  const float r = select(ax < 0.625f, small, big);
  std::uint32_t rb, xb;
  std::memcpy(&rb, &r, sizeof rb);
  std::memcpy(&xb, &x, sizeof xb);
  rb |= xb & 0x80000000u;
  float out;
  std::memcpy(&out, &rb, sizeof out);
  return out;
}
inline double tanh_of(double x) { return std::tanh(x); }

}  // namespace detail
HOUSENET_END_NAMESPACE

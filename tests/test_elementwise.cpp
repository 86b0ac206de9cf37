// Tests of detail/elementwise_math.hpp: the float e^x, sigmoid and tanh the element-wise layers
// run, against the double-precision library functions over the whole float range (a sweep of
// bit patterns), in units in the last place of the float result; and their limits (+-inf, NaN,
// +-0, overflow, underflow).
#include <doctest/doctest.h>

#include <housenet/detail/elementwise_math.hpp>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>

using namespace housenet;

namespace {

float from_bits(std::uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}

// |got - want| in units of the float spacing at want (results below FLT_MIN in absolute terms:
// their spacing is FLT_MIN's).
double ulps(float got, double want) {
  const float w = static_cast<float>(std::fabs(want));
  const float a = std::max(w, FLT_MIN);
  const double ulp = double(std::nextafter(a, std::numeric_limits<float>::infinity())) - double(a);
  return std::fabs(double(got) - want) / ulp;
}

// The largest error of f against ref over every float in [lo, hi] whose bit pattern is a
// multiple of `step` apart (both signs), plus both ends.
double max_ulps(const std::function<float(float)>& f, const std::function<double(double)>& ref, float lo,
                float hi, std::uint32_t step, float* worst_at) {
  double worst = 0;
  auto one = [&](float x) {
    if (!(x >= lo && x <= hi)) return;
    const double e = ulps(f(x), ref(double(x)));
    if (e > worst) worst = e, *worst_at = x;
  };
  for (std::uint64_t b = 0; b < 0x7F800000u; b += step) {
    const float x = from_bits(std::uint32_t(b));
    one(x);
    one(-x);
  }
  one(lo);
  one(hi);
  return worst;
}

}  // namespace

TEST_CASE("exp_f32: within 1 ulp of e^x on [-87.33, 88.72]; inf above, 0 below, NaN through") {
  float at = 0;
  const double e = max_ulps(detail::exp_f32, [](double x) { return std::exp(x); }, -87.3365f, 88.7228f,
                            997, &at);
  INFO("max error ", e, " ulp at x = ", at);
  CHECK(e <= 1.0);
  CHECK(detail::exp_f32(0.0f) == 1.0f);
  CHECK(detail::exp_f32(-0.0f) == 1.0f);
  CHECK(detail::exp_f32(1.0f) == doctest::Approx(2.718281828).epsilon(1e-7));
  CHECK(std::isfinite(detail::exp_f32(88.72f)));
  CHECK(detail::exp_f32(88.73f) == std::numeric_limits<float>::infinity());
  CHECK(detail::exp_f32(1000.0f) == std::numeric_limits<float>::infinity());
  CHECK(detail::exp_f32(std::numeric_limits<float>::infinity()) == std::numeric_limits<float>::infinity());
  CHECK(detail::exp_f32(-87.34f) == 0.0f);
  CHECK(detail::exp_f32(-std::numeric_limits<float>::infinity()) == 0.0f);
  CHECK(std::isnan(detail::exp_f32(std::numeric_limits<float>::quiet_NaN())));
  CHECK(detail::exp_f32(-87.33f) >= FLT_MIN);
}

TEST_CASE("sigmoid_of(float): within 3 ulp of the double sigmoid everywhere; limits") {
  float at = 0;
  const auto sig = [](float x) { return detail::sigmoid_of(x); };
  const auto ref = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  // below -87.3 the float result underflows (the exact one is < 1.2e-38): checked separately
  const double e = max_ulps(sig, ref, -87.0f, std::numeric_limits<float>::max(), 997, &at);
  INFO("max error ", e, " ulp at x = ", at);
  CHECK(e <= 3.0);
  CHECK(detail::sigmoid_of(0.0f) == 0.5f);
  CHECK(detail::sigmoid_of(std::numeric_limits<float>::infinity()) == 1.0f);
  CHECK(detail::sigmoid_of(-std::numeric_limits<float>::infinity()) == 0.0f);
  CHECK(detail::sigmoid_of(-100.0f) == 0.0f);
  CHECK(detail::sigmoid_of(-87.0f) > 0.0f);
  CHECK(std::isnan(detail::sigmoid_of(std::numeric_limits<float>::quiet_NaN())));
  CHECK(detail::sigmoid_of(0.5) == doctest::Approx(ref(0.5)).epsilon(1e-15));  // double: std::exp
}

TEST_CASE("tanh_of(float): within 2 ulp of std::tanh everywhere, odd; limits") {
  float at = 0;
  const auto th = [](float x) { return detail::tanh_of(x); };
  const auto ref = [](double x) { return std::tanh(x); };
  const double e = max_ulps(th, ref, -std::numeric_limits<float>::max(), std::numeric_limits<float>::max(), 997, &at);
  INFO("max error ", e, " ulp at x = ", at);
  CHECK(e <= 2.0);
  bool odd = true;
  for (std::uint32_t b = 0; b < 0x7F800000u; b += 104729) {
    const float x = from_bits(b);
    odd = odd && detail::tanh_of(-x) == -detail::tanh_of(x);
  }
  CHECK(odd);
  CHECK(detail::tanh_of(0.0f) == 0.0f);
  CHECK(std::signbit(detail::tanh_of(-0.0f)));
  CHECK(detail::tanh_of(1e-30f) == 1e-30f);
  CHECK(detail::tanh_of(std::numeric_limits<float>::infinity()) == 1.0f);
  CHECK(detail::tanh_of(-std::numeric_limits<float>::infinity()) == -1.0f);
  CHECK(std::isnan(detail::tanh_of(std::numeric_limits<float>::quiet_NaN())));
}

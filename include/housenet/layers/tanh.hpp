// housenet/layers/tanh.hpp: the hyperbolic tangent, like torch::nn::Tanh.
//
// WHAT THIS IS
//   y = tanh(x) elementwise, any shape of rank >= 2; dx = dy * (1 - y^2) (from the output of the
//   forward). No parameters. In float, detail::tanh_of is a polynomial near 0 and e^x through
//   detail::exp_f32 elsewhere (a few ulp, no call: the loop vectorizes); in double std::tanh
//   (detail/elementwise_math.hpp). An elementwise_layer (layers/elementwise.hpp).
//   The class is tanh_layer, not tanh: a class template housenet::tanh would make an unqualified
//   tanh(x) ambiguous in code that says `using namespace housenet;`. Its kind is "tanh".
//
// CONFIG    none; version 1.
// THREAD SAFETY: see layer.hpp.
#pragma once

#include <string>

#include "../detail/elementwise_math.hpp"
#include "elementwise.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T>
struct tanh_op {
  T forward(T x) const { return detail::tanh_of(x); }
  T backward(T /*x*/, T y, T g) const { return g * (T(1) - y * y); }
};

template <class T>
class tanh_layer : public elementwise_layer<T, tanh_op<T>> {
 public:
  static constexpr const char* kind_name = "tanh";

  tanh_layer() : elementwise_layer<T, tanh_op<T>>(kind_name) {}

 protected:
  tanh_op<T> op() const override { return {}; }
};

HOUSENET_END_NAMESPACE

// housenet/layers/sigmoid.hpp: the logistic sigmoid, like torch::nn::Sigmoid.
//
// WHAT THIS IS
//   y = 1 / (1 + e^-x) elementwise, any shape of rank >= 2; dx = dy * y * (1 - y) (from the
//   output of the forward). No parameters. In float, e^x is detail::exp_f32 (within 2 ulp, no
//   call: the loop vectorizes); in double std::exp (detail/elementwise_math.hpp). An
//   elementwise_layer (layers/elementwise.hpp): one pass, no allocation after the first batch.
//
// CONFIG    none; version 1.
// THREAD SAFETY: see layer.hpp.
#pragma once

#include <string>

#include "../detail/elementwise_math.hpp"
#include "elementwise.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T>
struct sigmoid_op {
  T forward(T x) const { return detail::sigmoid_of(x); }
  T backward(T /*x*/, T y, T g) const { return g * (y * (T(1) - y)); }
};

template <class T>
class sigmoid : public elementwise_layer<T, sigmoid_op<T>> {
 public:
  static constexpr const char* kind_name = "sigmoid";

  sigmoid() : elementwise_layer<T, sigmoid_op<T>>(kind_name) {}

 protected:
  sigmoid_op<T> op() const override { return {}; }
};

HOUSENET_END_NAMESPACE

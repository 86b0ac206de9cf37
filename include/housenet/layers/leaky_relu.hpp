// housenet/layers/leaky_relu.hpp: leaky rectified linear unit, like torch::nn::LeakyReLU.
//
// WHAT THIS IS
//   y = x for x > 0, else a*x (a: negative_slope, default 0.01 as PyTorch); any shape of rank >= 2.
//   dx = dy for x > 0, else a*dy (at exactly 0 the slope is a, as PyTorch's). No parameters.
//   a = 0 is relu (gradient included). An elementwise_layer (layers/elementwise.hpp): one
//   vectorizable pass, no allocation after the first batch.
//
// REQUIRES  a finite.
// CONFIG    negative_slope (the shortest decimal that reads back exactly); version 1.
// THREAD SAFETY: see layer.hpp.
#pragma once

#include <cmath>
#include <string>

#include "../detail/elementwise_math.hpp"
#include "elementwise.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T>
struct leaky_relu_op {
  T a;
  T forward(T x) const { return detail::select(x > T(0), x, a * x); }
  T backward(T x, T /*y*/, T g) const { return detail::select(x > T(0), g, a * g); }
};

template <class T>
class leaky_relu : public elementwise_layer<T, leaky_relu_op<T>> {
 public:
  static constexpr const char* kind_name = "leaky_relu";

  explicit leaky_relu(double negative_slope = 0.01)
      : elementwise_layer<T, leaky_relu_op<T>>(kind_name), slope_(negative_slope) {
    HOUSENET_CHECK(std::isfinite(negative_slope), "leaky_relu: negative_slope ", negative_slope,
                   " is not finite");
  }

  layer_config config() const override { return {{"negative_slope", config_real(slope_)}}; }

  double negative_slope() const { return slope_; }

 protected:
  leaky_relu_op<T> op() const override { return {static_cast<T>(slope_)}; }

 private:
  double slope_;
};

HOUSENET_END_NAMESPACE

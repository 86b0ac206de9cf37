// housenet/layers/relu.hpp: rectified linear unit, like torch::nn::ReLU.
//
// WHAT THIS IS
//   y = max(x, 0) elementwise, any shape (rank >= 2); dx = dy where x > 0, else 0 (so the
//   gradient at exactly 0 is 0, as in Chainer and PyTorch). No parameters.
//   An elementwise_layer (layers/elementwise.hpp): one vectorizable pass over contiguous memory,
//   no allocation after the first batch.
//
// CONFIG    none; version 1.
// THREAD SAFETY: see layer.hpp.
#pragma once

#include <string>

#include "../detail/elementwise_math.hpp"
#include "elementwise.hpp"

HOUSENET_BEGIN_NAMESPACE

namespace detail {
// The ReLU of v: NaN and -0 give +0. relu_bn_pool computes it with this same expression.
template <class T>
T relu_of(T v) {
  return v > T(0) ? v : T(0);
}

// x > 0 ? v : +0 (the ReLU's gradient mask), branch-free (see detail::select): a loop of it
// vectorizes.
template <class T>
T keep_if_positive(T x, T v) {
  return select(x > T(0), v, T(0));
}
}  // namespace detail

template <class T>
struct relu_op {
  T forward(T x) const { return detail::relu_of(x); }
  T backward(T x, T /*y*/, T g) const { return detail::keep_if_positive(x, g); }
};

template <class T>
class relu : public elementwise_layer<T, relu_op<T>> {
 public:
  static constexpr const char* kind_name = "relu";

  relu() : elementwise_layer<T, relu_op<T>>(kind_name) {}

 protected:
  relu_op<T> op() const override { return {}; }
};

HOUSENET_END_NAMESPACE

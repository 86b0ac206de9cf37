// housenet/layers/relu.hpp: rectified linear unit, like torch::nn::ReLU.
//
// WHAT THIS IS
//   y = max(x, 0) elementwise, any shape (rank >= 2); dx = dy where x > 0, else 0 (so the
//   gradient at exactly 0 is 0, as in Chainer and PyTorch). No parameters.
//   One vectorizable pass over contiguous memory; no allocation after the first batch.
//
// CONFIG    none; version 1.
// THREAD SAFETY: see layer.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "../parallel.hpp"
#include "layer.hpp"

HOUSENET_BEGIN_NAMESPACE

namespace detail {
// The ReLU of v: NaN and -0 give +0. relu_bn_pool computes it with this same expression.
template <class T>
T relu_of(T v) {
  return v > T(0) ? v : T(0);
}

// x > 0 ? v : +0 (the ReLU's gradient mask), as a bit mask: v is computed whatever x is, so a loop
// of it vectorizes (with a branch, the compiler may not evaluate an expression for v where x <= 0,
// and then cannot vectorize).
template <class T>
T keep_if_positive(T x, T v) {
  using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  static_assert(sizeof(T) == sizeof(U), "float or double");
  U bits;
  std::memcpy(&bits, &v, sizeof(T));
  bits &= x > T(0) ? ~U(0) : U(0);
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}
}  // namespace detail

template <class T>
class relu : public layer<T> {
 public:
  relu() { this->name_ = "relu"; }

  std::string kind() const override { return "relu"; }

  shape setup(const shape& in) override {
    HOUSENET_CHECK(in.rank() >= 2 && in.sample_size() >= 1, this->name_, ": input ", in.str(),
                   ", expected rank 2 or more");
    this->in_ = in.with_n(1);
    this->out_ = this->in_;
    return in;
  }

  void forward(const tensor<T>& x, tensor<T>& y, const context& /*ctx*/) override { infer(x, y); }

  void infer(const tensor<T>& x, tensor<T>& y) const override {
    this->check_input(x);
    y.resize(x.shape());
    const std::size_t n = x.size();
    const T* HOUSENET_RESTRICT xp = x.data();
    T* HOUSENET_RESTRICT yp = y.data();
    detail::elementwise(n, [=](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) yp[i] = detail::relu_of(xp[i]);
    });
  }

  void backward(const tensor<T>& x, const tensor<T>& /*y*/, const tensor<T>& dy,
                tensor<T>& dx) override {
    this->check_input(x);
    HOUSENET_CHECK(dy.shape() == x.shape(), this->name_, ": gradient ", dy.shape().str(),
                   ", expected ", x.shape().str());
    dx.resize(x.shape());
    const std::size_t n = x.size();
    const T* HOUSENET_RESTRICT xp = x.data();
    const T* HOUSENET_RESTRICT gp = dy.data();
    T* HOUSENET_RESTRICT dp = dx.data();
    detail::elementwise(n, [=](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) dp[i] = detail::keep_if_positive(xp[i], gp[i]);
    });
  }
};

HOUSENET_END_NAMESPACE

// housenet/layers/elementwise.hpp: the base of the element-wise activations (relu, leaky_relu,
// sigmoid, tanh).
//
// WHAT THIS IS
//   elementwise_layer<T, Op>: y[i] = op.forward(x[i]),  dx[i] = op.backward(x[i], y[i], dy[i]),
//   any input shape of rank >= 2, output of the same shape, no parameters. Op is a small value
//   type (the layer's hyperparameters, e.g. leaky_relu's slope) returned by op(); both loops are
//   one pass over contiguous memory with no branch or call the compiler cannot inline, so they
//   vectorize; they run in parallel blocks above 65536 elements (detail::elementwise), and every
//   element is computed alone: the same bits for any thread count. No allocation after the
//   first batch.
//   A derived layer gives kind(), config() and op(); forward is infer (no training state).
//
// THREAD SAFETY: see layer.hpp.
#pragma once

#include <cstddef>

#include "../parallel.hpp"
#include "layer.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T, class Op>
class elementwise_layer : public layer<T> {
 public:
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
    const Op f = op();
    const T* HOUSENET_RESTRICT xp = x.data();
    T* HOUSENET_RESTRICT yp = y.data();
    detail::elementwise(x.size(), [=](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) yp[i] = f.forward(xp[i]);
    });
  }

  void backward(const tensor<T>& x, const tensor<T>& y, const tensor<T>& dy,
                tensor<T>& dx) override {
    this->check_input(x);
    HOUSENET_CHECK(dy.shape() == x.shape() && y.shape() == x.shape(), this->name_, ": gradient ",
                   dy.shape().str(), " and output ", y.shape().str(), ", expected ", x.shape().str());
    dx.resize(x.shape());
    const Op f = op();
    const T* HOUSENET_RESTRICT xp = x.data();
    const T* HOUSENET_RESTRICT yp = y.data();
    const T* HOUSENET_RESTRICT gp = dy.data();
    T* HOUSENET_RESTRICT dp = dx.data();
    detail::elementwise(x.size(), [=](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) dp[i] = f.backward(xp[i], yp[i], gp[i]);
    });
  }

 protected:
  // The element-wise functions with the layer's hyperparameters.
  virtual Op op() const = 0;
};

HOUSENET_END_NAMESPACE

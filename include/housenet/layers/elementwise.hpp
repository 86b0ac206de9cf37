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
//   A derived layer gives its kind (constructor), config() and op(); forward is infer (no
//   training state).
//
// THREAD SAFETY: see layer.hpp.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include "../parallel.hpp"
#include "layer.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T, class Op>
class elementwise_layer : public layer<T> {
 protected:
  explicit elementwise_layer(std::string kind) : layer<T>(std::move(kind)) {}

  shape do_setup(const shape& in) override {
    HOUSENET_CHECK(in.rank() >= 2 && in.sample_size() >= 1, this->name(), ": input ", in.str(),
                   ", expected rank 2 or more");
    return in;
  }

  void do_infer(const tensor<T>& x, tensor<T>& y) const override {
    y.resize(x.shape());
    const Op f = op();
    const T* HOUSENET_RESTRICT xp = x.data();
    T* HOUSENET_RESTRICT yp = y.data();
    detail::elementwise(x.size(), [=](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) yp[i] = f.forward(xp[i]);
    });
  }

  void do_backward(const tensor<T>& x, const tensor<T>& y, const tensor<T>& dy,
                   tensor<T>& dx) override {
    HOUSENET_CHECK(y.shape() == x.shape(), this->name(), ": output ", y.shape().str(), ", expected ",
                   x.shape().str(), " (the last forward's)");
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

  // The element-wise functions with the layer's hyperparameters.
  virtual Op op() const = 0;
};

HOUSENET_END_NAMESPACE

// housenet/layers/flatten.hpp: [N, C, H, W] -> [N, C*H*W], like torch::nn::Flatten.
//
// WHAT THIS IS
//   A reshape: feature index c*H*W + y*W + x (row-major, as Chainer's reshape); the data are
//   copied unchanged, and backward copies dy back with x's shape. No parameters. (linear flattens
//   its input itself; this layer is for architectures that want the reshape explicit.)
//
// CONFIG    none; version 1.
// THREAD SAFETY: see layer.hpp.
#pragma once

#include <cstring>
#include <string>

#include "layer.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T>
class flatten : public layer<T> {
 public:
  flatten() { this->name_ = "flatten"; }

  std::string kind() const override { return "flatten"; }

  shape setup(const shape& in) override {
    HOUSENET_CHECK(in.rank() >= 2 && in.sample_size() >= 1, this->name_, ": input ", in.str(),
                   ", expected rank 2 or more");
    this->in_ = in.with_n(1);
    this->out_ = shape{1, in.sample_size()};
    return shape{in.n(), in.sample_size()};
  }

  void forward(const tensor<T>& x, tensor<T>& y, const context& /*ctx*/) override { infer(x, y); }

  void infer(const tensor<T>& x, tensor<T>& y) const override {
    this->check_input(x);
    y.resize(shape{x.shape().n(), x.shape().sample_size()});
    if (x.size()) std::memcpy(y.data(), x.data(), x.size() * sizeof(T));
  }

  void backward(const tensor<T>& x, const tensor<T>& /*y*/, const tensor<T>& dy,
                tensor<T>& dx) override {
    this->check_input(x);
    HOUSENET_CHECK(dy.size() == x.size() && dy.shape().n() == x.shape().n(), this->name_,
                   ": gradient ", dy.shape().str(), ", expected ", x.shape().n(), "x",
                   x.shape().sample_size());
    dx.resize(x.shape());
    if (dy.size()) std::memcpy(dx.data(), dy.data(), dy.size() * sizeof(T));
  }
};

HOUSENET_END_NAMESPACE

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
  static constexpr const char* kind_name = "flatten";

  flatten() : layer<T>(kind_name) {}

 protected:
  shape do_setup(const shape& in) override {
    HOUSENET_CHECK(in.rank() >= 2 && in.sample_size() >= 1, this->name(), ": input ", in.str(),
                   ", expected rank 2 or more");
    return shape{1, in.sample_size()};
  }

  void do_infer(const tensor<T>& x, tensor<T>& y) const override {
    y.resize(shape{x.shape().n(), x.shape().sample_size()});
    if (x.size()) std::memcpy(y.data(), x.data(), x.size() * sizeof(T));
  }

  void do_backward(const tensor<T>& x, const tensor<T>& /*y*/, const tensor<T>& dy,
                   tensor<T>& dx) override {
    dx.resize(x.shape());
    if (dy.size()) std::memcpy(dx.data(), dy.data(), dy.size() * sizeof(T));
  }
};

HOUSENET_END_NAMESPACE

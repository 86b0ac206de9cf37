// housenet/layers/global_avg_pool.hpp: the mean of every feature map, like
// torch::nn::AdaptiveAvgPool2d(1) (and ONNX's GlobalAveragePool).
//
// WHAT THIS IS
//   x [N, C, H, W] -> y [N, C, 1, 1],  y[n,c] = (1/(H*W)) sum_{i,j} x[n,c,i,j];
//   dx[n,c,i,j] = dy[n,c] / (H*W).
//   The output keeps rank 4 (C x 1 x 1 per sample), as PyTorch's and ONNX's: linear and flatten
//   take it as C features (the same memory), and conv2d / batch_norm2d can follow it too.
//   Any H x W: the layer adapts to whatever its input is at setup (a ResNet's last stage).
//   Each map is summed in double over 8 fixed lanes (detail::bn_sum: vectorizable, independent of
//   the thread count); maps run in parallel. No parameters, no state: forward is infer.
//
// REQUIRES  setup: rank 4.
// CONFIG    none; version 1.
// THREAD SAFETY: see layer.hpp.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>

#include "../parallel.hpp"
#include "batch_norm2d.hpp"
#include "layer.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T>
class global_avg_pool : public layer<T> {
 public:
  static constexpr const char* kind_name = "global_avg_pool";

  global_avg_pool() : layer<T>(kind_name) {}

 protected:
  shape do_setup(const shape& in) override {
    HOUSENET_CHECK(in.rank() == 4 && in.c() >= 1 && in.h() >= 1 && in.w() >= 1, this->name(),
                   ": input ", in.str(), ", expected rank 4 (NxCxHxW)");
    return shape{1, in.c(), 1, 1};
  }

  void do_infer(const tensor<T>& x, tensor<T>& y) const override {
    const std::size_t hw = x.shape().h() * x.shape().w();
    y.resize(shape{x.shape().n(), x.shape().c(), 1, 1});
    const double inv = 1.0 / double(hw);
    parallel_for(y.size(), [&](std::size_t p0, std::size_t p1) {
      for (std::size_t p = p0; p < p1; ++p) {
        double s = 0.0;
        detail::bn_sum(x.data() + p * hw, hw, s);
        y[p] = static_cast<T>(s * inv);
      }
    });
  }

  void do_backward(const tensor<T>& x, const tensor<T>& /*y*/, const tensor<T>& dy,
                   tensor<T>& dx) override {
    const shape& ys = dy.shape();  // checked against the output shape by layer::backward
    const std::size_t hw = x.shape().h() * x.shape().w();
    dx.resize(x.shape());
    const double inv = 1.0 / double(hw);
    parallel_for(ys.size(), [&](std::size_t p0, std::size_t p1) {
      for (std::size_t p = p0; p < p1; ++p)
        std::fill(dx.data() + p * hw, dx.data() + (p + 1) * hw, static_cast<T>(double(dy[p]) * inv));
    });
  }
};

HOUSENET_END_NAMESPACE

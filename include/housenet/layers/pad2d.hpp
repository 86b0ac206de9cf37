// housenet/layers/pad2d.hpp: zeros around the feature maps, like torch::nn::ZeroPad2d (and ONNX's
// Pad in constant mode with 0 on the two spatial axes).
//
// WHAT THIS IS
//   x [N, C, H, W] -> y [N, C, top + H + bottom, left + W + right]: x in the middle, zeros around;
//   dx = the middle of dy. Each side its own amount: what an asymmetric padding needs in front of
//   a convolution or pooling whose own padding is symmetric (an ONNX Conv with pads 0,0,1,1, or
//   TensorFlow's "SAME" at stride 2, becomes pad2d -> conv2d; onnx/import.hpp). Maps run in
//   parallel; no parameters, no state: forward is infer.
//
// REQUIRES  setup: rank 4; each side at most 4096.
// CONFIG    top, left, bottom, right; version 1.
// THREAD SAFETY: see layer.hpp.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>

#include "../parallel.hpp"
#include "layer.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T>
class pad2d : public layer<T> {
 public:
  static constexpr const char* kind_name = "pad2d";

  pad2d(std::size_t top, std::size_t left, std::size_t bottom, std::size_t right)
      : layer<T>(kind_name), top_(top), left_(left), bottom_(bottom), right_(right) {
    HOUSENET_CHECK(top <= 4096 && left <= 4096 && bottom <= 4096 && right <= 4096, "pad2d: padding ", top, ",",
                   left, ",", bottom, ",", right, " out of range (0..4096 each)");
  }

  layer_config config() const override {
    return {{"top", std::to_string(top_)},
            {"left", std::to_string(left_)},
            {"bottom", std::to_string(bottom_)},
            {"right", std::to_string(right_)}};
  }

  std::size_t top() const { return top_; }
  std::size_t left() const { return left_; }
  std::size_t bottom() const { return bottom_; }
  std::size_t right() const { return right_; }

 protected:
  shape do_setup(const shape& in) override {
    HOUSENET_CHECK(in.rank() == 4 && in.c() >= 1 && in.h() >= 1 && in.w() >= 1, this->name(), ": input ", in.str(),
                   ", expected rank 4 (NxCxHxW)");
    return shape{1, in.c(), top_ + in.h() + bottom_, left_ + in.w() + right_};
  }

  void do_infer(const tensor<T>& x, tensor<T>& y) const override {
    const shape& s = x.shape();
    const std::size_t h = s.h(), w = s.w(), oh = top_ + h + bottom_, ow = left_ + w + right_;
    y.resize(shape{s.n(), s.c(), oh, ow});
    parallel_for(s.n() * s.c(), [&](std::size_t p0, std::size_t p1) {
      for (std::size_t p = p0; p < p1; ++p) {
        const T* src = x.data() + p * h * w;
        T* dst = y.data() + p * oh * ow;
        std::fill(dst, dst + top_ * ow, T(0));
        for (std::size_t i = 0; i < h; ++i) {
          T* row = dst + (top_ + i) * ow;
          std::fill(row, row + left_, T(0));
          std::copy(src + i * w, src + (i + 1) * w, row + left_);
          std::fill(row + left_ + w, row + ow, T(0));
        }
        std::fill(dst + (top_ + h) * ow, dst + oh * ow, T(0));
      }
    });
  }

  void do_backward(const tensor<T>& x, const tensor<T>& /*y*/, const tensor<T>& dy, tensor<T>& dx) override {
    const shape& s = x.shape();
    const std::size_t h = s.h(), w = s.w(), oh = top_ + h + bottom_, ow = left_ + w + right_;
    dx.resize(s);
    parallel_for(s.n() * s.c(), [&](std::size_t p0, std::size_t p1) {
      for (std::size_t p = p0; p < p1; ++p)
        for (std::size_t i = 0; i < h; ++i) {
          const T* row = dy.data() + p * oh * ow + (top_ + i) * ow + left_;
          std::copy(row, row + w, dx.data() + (p * h + i) * w);
        }
    });
  }

 private:
  std::size_t top_, left_, bottom_, right_;
};

HOUSENET_END_NAMESPACE

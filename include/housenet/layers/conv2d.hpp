// housenet/layers/conv2d.hpp: 2-D convolution (cross-correlation), like torch::nn::Conv2d.
//
// WHAT THIS IS
//   x [N, C, H, W] -> y [N, K, OH, OW],  OH = (H + 2p - d(k - 1) - 1) / s + 1 (floor), OW likewise,
//   y[n,o,i,j] = b[o] + sum_{c,u,v} w[o,c,u,v] * x[n, g*C/G + c, i*s + u*d - p, j*s + v*d - p]
//   (zero padding; dilation d; G groups, output o in group g = o / (K/G), c < C/G).
//   G = 1, d = 1 is the plain convolution; G = C is depthwise (K = C, or a multiple of it).
//   Parameters: weight [K, C/G, k, k] (weight decay), bias [K] (no decay; absent when bias=false).
//   init: LeCun normal (Chainer's default) or He normal on the weight (fan_in = C/G*k*k), zero bias.
//   The arithmetic is detail::conv2d_* (detail/kernels.hpp): grouped convolutions run each group
//   on its own (depthwise ones a direct kernel), G = 1 the im2col + GEMM or Winograd kernels.
//   Eval forwards (infer(), forward() in mode::eval) that run Winograd keep the transformed weights
//   (conv3 of the seed network: 8.4 MB, ~3 ms to make at batch 1) with a copy of the weights they
//   came from, and reuse them while the weights are bit-for-bit the same (checked every call, a
//   memcmp); training forwards transform every time. The results are the same bits either way.
//
// REQUIRES  K divisible by G; setup(): a rank-4 input with C divisible by G, H + 2p >= d(k-1) + 1
//           and W + 2p >= d(k-1) + 1.
// ENSURES   forward/infer assign y; backward assigns dx and ADDS to the weight and bias gradients.
// CONFIG    out_channels, kernel, stride, padding, bias (0/1), init (lecun/he); dilation and groups
//           only when not 1 (absent: 1, so files written before they existed read unchanged);
//           version 1.
// THREAD SAFETY: see layer.hpp (infer() on a const layer is safe from several threads).
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../detail/kernels.hpp"
#include "../init.hpp"
#include "layer.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T>
class conv2d : public layer<T> {
 public:
  static constexpr const char* kind_name = "conv2d";

  explicit conv2d(std::size_t out_channels, std::size_t kernel, std::size_t stride = 1,
                  std::size_t padding = 0, bool bias = true, init_kind init = init_kind::lecun,
                  std::size_t dilation = 1, std::size_t groups = 1)
      : layer<T>(kind_name), k_(out_channels), kernel_(kernel), stride_(stride), pad_(padding), bias_(bias),
        init_(init), dilation_(dilation), groups_(groups) {
    HOUSENET_CHECK(out_channels >= 1, "conv2d: out_channels must be >= 1");
    HOUSENET_CHECK(kernel >= 1, "conv2d: kernel must be >= 1");
    HOUSENET_CHECK(stride >= 1, "conv2d: stride must be >= 1");
    HOUSENET_CHECK(dilation >= 1, "conv2d: dilation must be >= 1");
    HOUSENET_CHECK(groups >= 1 && out_channels % groups == 0, "conv2d: out_channels ", out_channels,
                   " is not a multiple of groups ", groups);
  }

  layer_config config() const override {
    layer_config c{{"out_channels", std::to_string(k_)}, {"kernel", std::to_string(kernel_)},
                   {"stride", std::to_string(stride_)},  {"padding", std::to_string(pad_)},
                   {"bias", bias_ ? "1" : "0"},           {"init", to_string(init_)}};
    if (dilation_ != 1) c.push_back({"dilation", std::to_string(dilation_)});
    if (groups_ != 1) c.push_back({"groups", std::to_string(groups_)});
    return c;
  }

  std::vector<param_spec> param_specs() const override {
    std::vector<param_spec> s{{"weight", shape{k_, dims_.group_c(), kernel_, kernel_}, true, true}};
    if (bias_) s.push_back({"bias", shape{k_}, false, true});
    return s;
  }

  std::size_t out_channels() const { return k_; }
  std::size_t kernel() const { return kernel_; }
  std::size_t stride() const { return stride_; }
  std::size_t padding() const { return pad_; }
  std::size_t dilation() const { return dilation_; }
  std::size_t groups() const { return groups_; }
  bool has_bias() const { return bias_; }
  init_kind initializer() const { return init_; }

 protected:
  shape do_setup(const shape& in) override {
    HOUSENET_CHECK(in.rank() == 4 && in.c() >= 1 && in.h() >= 1 && in.w() >= 1, this->name(),
                   ": input ", in.str(), ", expected rank 4 (NxCxHxW)");
    HOUSENET_CHECK(in.c() % groups_ == 0, this->name(), ": input ", in.str(), ": ", in.c(),
                   " channels are not a multiple of groups ", groups_);
    const std::size_t extent = dilation_ * (kernel_ - 1) + 1;  // the kernel's span on the input
    HOUSENET_CHECK(in.h() + 2 * pad_ >= extent && in.w() + 2 * pad_ >= extent, this->name(),
                   ": input ", in.str(), " is smaller than the kernel ", kernel_,
                   dilation_ != 1 ? detail::concat(" (dilation ", dilation_, ": spans ", extent, ")") : std::string(),
                   " (padding ", pad_, ")");
    dims_ = detail::conv_dims::make(1, in.c(), in.h(), in.w(), k_, kernel_, kernel_, stride_, pad_,
                                    dilation_, groups_);
    return shape{1, k_, dims_.oh, dims_.ow};
  }

  void do_init(prng& rng) override {
    init_weights(init_, this->params()[0].value, dims_.group_c() * kernel_ * kernel_, rng);
    if (bias_) constant_fill(this->params()[1].value, T(0));
  }

  void do_forward(const tensor<T>& x, tensor<T>& y, const context& ctx) override {
    run(x, y, ctx.mode == mode::eval);
  }

  void do_infer(const tensor<T>& x, tensor<T>& y) const override { run(x, y, true); }

  void do_backward(const tensor<T>& x, const tensor<T>& /*y*/, const tensor<T>& dy,
                   tensor<T>& dx) override {
    const detail::conv_dims d = dims_for(x.shape().n());
    dx.resize(x.shape());
    if (this->input_grad_needed())
      detail::conv2d_backward_data(d, dy.data(), this->params()[0].value.data(), dx.data());
    detail::conv2d_backward_weights(d, x.data(), dy.data(), this->params()[0].grad.data(),
                                    bias_ ? this->params()[1].grad.data() : static_cast<T*>(nullptr));
  }

 private:
  std::size_t k_, kernel_, stride_, pad_;
  bool bias_;
  init_kind init_;
  std::size_t dilation_, groups_;
  detail::conv_dims dims_{};

  // The eval forwards' Winograd weights (see above). Shared by the threads running infer() on a
  // const model; the mutex covers the check and the transform.
  struct wino_cache {
    std::mutex m;
    std::vector<T> w, u;  // the weights, and their transform
    bool valid = false;
  };
  std::unique_ptr<wino_cache> cache_ = std::make_unique<wino_cache>();

  void run(const tensor<T>& x, tensor<T>& y, bool eval) const {
    const detail::conv_dims d = dims_for(x.shape().n());
    y.resize(shape{d.n, d.k, d.oh, d.ow});
    const T* w = this->params()[0].value.data();
    const T* u = eval && detail::conv_use_winograd(d) ? cached_winograd_weights(d) : nullptr;
    detail::conv2d_forward(d, x.data(), w, bias_ ? this->params()[1].value.data() : static_cast<const T*>(nullptr),
                           y.data(), u);
  }

  // The transform of the current weights: the kept one while they are the same bits.
  const T* cached_winograd_weights(const detail::conv_dims& d) const {
    const T* w = this->params()[0].value.data();
    const std::size_t n = this->params()[0].value.size();
    std::lock_guard<std::mutex> lock(cache_->m);
    if (!cache_->valid || std::memcmp(cache_->w.data(), w, n * sizeof(T)) != 0) {
      cache_->valid = false;
      cache_->w.assign(w, w + n);
      cache_->u.resize(detail::wino_forward_weights_size<T>(d));
      detail::wino_forward_weights(d, w, cache_->u.data());
      cache_->valid = true;
    }
    return cache_->u.data();
  }

  detail::conv_dims dims_for(std::size_t n) const {
    detail::conv_dims d = dims_;
    d.n = n;
    return d;
  }
};

HOUSENET_END_NAMESPACE

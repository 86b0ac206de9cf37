// housenet/layers/linear.hpp: fully connected layer, like torch::nn::Linear (flattening its input).
//
// WHAT THIS IS
//   x [N, F] or [N, C, H, W] (read as [N, F], F = C*H*W, feature index c*H*W + y*W + x, i.e.
//   Chainer's reshape) -> y [N, O] = x W^T + b.
//   Parameters: weight [O, F] (weight decay), bias [O] (no decay; absent when bias=false).
//   init: LeCun normal (Chainer's default) or He normal on the weight (fan_in = F), zero bias.
//   Backward: dx = dy W (reshaped to x's shape), dW += dy^T x, db += column sums of dy.
//
// ENSURES   forward/infer assign y; backward assigns dx and ADDS to the parameter gradients.
// CONFIG    out_features, bias (0/1), init (lecun/he); version 1.
// THREAD SAFETY: see layer.hpp.
#pragma once

#include <cstddef>
#include <string>

#include "../detail/kernels.hpp"
#include "../init.hpp"
#include "layer.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T>
class linear : public layer<T> {
 public:
  static constexpr const char* kind_name = "linear";

  explicit linear(std::size_t out_features, bool bias = true, init_kind init = init_kind::lecun)
      : layer<T>(kind_name), nout_(out_features), bias_(bias), init_(init) {
    HOUSENET_CHECK(out_features >= 1, "linear: out_features must be >= 1");
  }

  layer_config config() const override {
    return {{"out_features", std::to_string(nout_)}, {"bias", bias_ ? "1" : "0"},
            {"init", to_string(init_)}};
  }

  std::vector<param_spec> param_specs() const override {
    std::vector<param_spec> s{{"weight", shape{nout_, in_features_}, true, true}};
    if (bias_) s.push_back({"bias", shape{nout_}, false, true});
    return s;
  }

  std::size_t out_features() const { return nout_; }
  std::size_t in_features() const { return in_features_; }
  bool has_bias() const { return bias_; }
  init_kind initializer() const { return init_; }

 protected:
  shape do_setup(const shape& in) override {
    HOUSENET_CHECK(in.rank() >= 2 && in.sample_size() >= 1, this->name(), ": input ", in.str(),
                   ", expected rank 2 (NxF) or more");
    in_features_ = in.sample_size();
    return shape{1, nout_};
  }

  void do_init(prng& rng) override {
    init_weights(init_, this->params()[0].value, in_features_, rng);
    if (bias_) constant_fill(this->params()[1].value, T(0));
  }

  void do_infer(const tensor<T>& x, tensor<T>& y) const override {
    const detail::linear_dims d{x.shape().n(), in_features_, nout_};
    y.resize(shape{d.n, d.out});
    detail::linear_forward(d, x.data(), this->params()[0].value.data(),
                           bias_ ? this->params()[1].value.data() : static_cast<const T*>(nullptr),
                           y.data());
  }

  void do_backward(const tensor<T>& x, const tensor<T>& /*y*/, const tensor<T>& dy,
                   tensor<T>& dx) override {
    const detail::linear_dims d{x.shape().n(), in_features_, nout_};
    dx.resize(x.shape());
    if (this->input_grad_needed()) detail::linear_backward_data(d, dy.data(), this->params()[0].value.data(), dx.data());
    detail::linear_backward_weights(d, x.data(), dy.data(), this->params()[0].grad.data(),
                                    bias_ ? this->params()[1].grad.data() : static_cast<T*>(nullptr));
  }

 private:
  std::size_t nout_;
  bool bias_;
  init_kind init_;
  std::size_t in_features_ = 0;
};

HOUSENET_END_NAMESPACE

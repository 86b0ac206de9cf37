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
  explicit linear(std::size_t out_features, bool bias = true, init_kind init = init_kind::lecun)
      : nout_(out_features), bias_(bias), init_(init) {
    this->name_ = "linear";
    HOUSENET_CHECK(out_features >= 1, "linear: out_features must be >= 1");
  }

  std::string kind() const override { return "linear"; }
  layer_config config() const override {
    return {{"out_features", std::to_string(nout_)}, {"bias", bias_ ? "1" : "0"},
            {"init", to_string(init_)}};
  }

  shape setup(const shape& in) override {
    HOUSENET_CHECK(in.rank() >= 2 && in.sample_size() >= 1, this->name_, ": input ", in.str(),
                   ", expected rank 2 (NxF) or more");
    in_features_ = in.sample_size();
    this->in_ = in.with_n(1);
    this->out_ = shape{1, nout_};
    return shape{in.n(), nout_};
  }

  std::vector<param_spec> param_specs() const override {
    std::vector<param_spec> s{{"weight", shape{nout_, in_features_}, true, true}};
    if (bias_) s.push_back({"bias", shape{nout_}, false, true});
    return s;
  }

  void init(prng& rng) override {
    check_bound();
    init_weights(init_, this->params_[0].value, in_features_, rng);
    if (bias_) constant_fill(this->params_[1].value, T(0));
  }

  void forward(const tensor<T>& x, tensor<T>& y, const context& /*ctx*/) override { infer(x, y); }

  void infer(const tensor<T>& x, tensor<T>& y) const override {
    this->check_input(x);
    check_bound();
    const detail::linear_dims d{x.shape().n(), in_features_, nout_};
    y.resize(shape{d.n, d.out});
    detail::linear_forward(d, x.data(), this->params_[0].value.data(),
                           bias_ ? this->params_[1].value.data() : static_cast<const T*>(nullptr),
                           y.data());
  }

  void backward(const tensor<T>& x, const tensor<T>& /*y*/, const tensor<T>& dy,
                tensor<T>& dx) override {
    this->check_input(x);
    check_bound();
    const detail::linear_dims d{x.shape().n(), in_features_, nout_};
    HOUSENET_CHECK(dy.shape() == (shape{d.n, d.out}), this->name_, ": gradient ",
                   dy.shape().str(), ", expected ", shape{d.n, d.out}.str());
    dx.resize(x.shape());
    if (this->input_grad_needed()) detail::linear_backward_data(d, dy.data(), this->params_[0].value.data(), dx.data());
    detail::linear_backward_weights(d, x.data(), dy.data(), this->params_[0].grad.data(),
                                    bias_ ? this->params_[1].grad.data() : static_cast<T*>(nullptr));
  }

  std::size_t out_features() const { return nout_; }
  std::size_t in_features() const { return in_features_; }
  bool has_bias() const { return bias_; }
  init_kind initializer() const { return init_; }

 private:
  std::size_t nout_;
  bool bias_;
  init_kind init_;
  std::size_t in_features_ = 0;

  void check_bound() const {
    HOUSENET_CHECK(this->params_.size() == (bias_ ? 2u : 1u), this->name_,
                   ": parameters not bound (call setup, then bind)");
  }
};

HOUSENET_END_NAMESPACE

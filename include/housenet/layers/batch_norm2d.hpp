// housenet/layers/batch_norm2d.hpp: batch normalisation per channel, like torch::nn::BatchNorm2d
// with Chainer's defaults (decay 0.9 = PyTorch momentum 0.1, eps 2e-5).
//
// WHAT THIS IS
//   x [N, C, H, W] (or [N, C], read as [N, C, 1, 1]) -> y of the same shape. M = N*H*W.
//   Train:  mean_c = (1/M) sum x,  var_c = (1/M) sum (x - mean_c)^2  (biased),
//           xhat = (x - mean_c) / sqrt(var_c + eps),  y = gamma_c * xhat + beta_c;
//           running_mean = decay*running_mean + (1-decay)*mean_c,
//           running_var  = decay*running_var  + (1-decay)*var_c*M/(M-1)   (unbiased; needs M >= 2).
//   Eval (infer(), and forward() with mode::eval): the running statistics replace the batch ones
//           and are never modified.
//   Backward after a train forward (full batch-norm backward through mean and var):
//           dbeta += sum dy,  dgamma += sum dy*xhat,
//           dx = gamma/sqrt(var+eps) * (dy - mean(dy) - xhat * mean(dy*xhat)).
//   Backward after an eval forward: the gradient of the eval function (dx = dy*gamma/sqrt(rv+eps)).
//   Parameters: gamma [C], beta [C] (trainable, no weight decay); running_mean [C], running_var [C]
//   (not trainable: saved state; init 0 and 1). gamma inits to 1, beta to 0. Read them by name:
//   gamma(), beta(), running_mean(), running_var() (relu_bn_pool does).
//   Every element is normalised by the same expression (x - m) * a + beta per channel, so equal
//   inputs of a channel give bit-identical outputs (max-pool ties depend on it). Sums are
//   accumulated in double. No allocation in forward/backward (per-channel buffers from setup()).
//
// CONFIG    decay, eps (the shortest decimal that reads back exactly); version 1.
// THREAD SAFETY: see layer.hpp.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <locale>
#include <sstream>
#include <string>
#include <vector>

#include "../init.hpp"
#include "../parallel.hpp"
#include "layer.hpp"

HOUSENET_BEGIN_NAMESPACE

namespace detail {
// Sums in double with 8 independent lanes (vectorizable, and the same bits for the same input:
// the lanes are added in a fixed order; element j of a call goes to lane j % 8).
//   bn_sum:      sum x[j]
//   bn_sum_sq:   sum (x[j] - m)^2
//   bn_sum_dot:  sum g[j] and sum g[j] * (x[j] - m), returned through s0, s1
template <class T>
void bn_sum(const T* HOUSENET_RESTRICT x, std::size_t n, double& s) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (std::size_t l = 0; l < 8; ++l) a[l] += double(x[j + l]);
  for (; j < n; ++j) a[j & 7] += double(x[j]);
  s += ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}
template <class T>
void bn_sum_sq(const T* HOUSENET_RESTRICT x, std::size_t n, double m, double& s) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (std::size_t l = 0; l < 8; ++l) {
      const double d = double(x[j + l]) - m;
      a[l] += d * d;
    }
  for (; j < n; ++j) {
    const double d = double(x[j]) - m;
    a[j & 7] += d * d;
  }
  s += ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}
template <class T>
void bn_sum_dot(const T* HOUSENET_RESTRICT g, const T* HOUSENET_RESTRICT x, std::size_t n, double m,
                double& s0, double& s1) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0}, b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (std::size_t l = 0; l < 8; ++l) {
      a[l] += double(g[j + l]);
      b[l] += double(g[j + l]) * (double(x[j + l]) - m);
    }
  for (; j < n; ++j) {
    a[j & 7] += double(g[j]);
    b[j & 7] += double(g[j]) * (double(x[j]) - m);
  }
  s0 += ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
  s1 += ((b[0] + b[1]) + (b[2] + b[3])) + ((b[4] + b[5]) + (b[6] + b[7]));
}

// The batch statistics of one channel, whose values are plane(0..n-1) (hw values each; plane(i)
// may be called more than once): two passes, the mean first, then the biased variance.
template <class Plane>
void bn_moments(std::size_t n, std::size_t hw, Plane&& plane, double& mean, double& var) {
  const double inv_m = 1.0 / double(n * hw);
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) bn_sum(plane(i), hw, s);
  mean = s * inv_m;
  double q = 0.0;
  for (std::size_t i = 0; i < n; ++i) bn_sum_sq(plane(i), hw, mean, q);
  var = q * inv_m;
}

// running = decay * running + (1 - decay) * batch; the variance unbiased (m values, m >= 2).
template <class T>
void bn_update_running(T& rmean, T& rvar, double mean, double var, std::size_t m, double decay) {
  rmean = static_cast<T>(decay * double(rmean) + (1.0 - decay) * mean);
  rvar = static_cast<T>(decay * double(rvar) + (1.0 - decay) * var * double(m) / double(m - 1));
}

// Backward after the sums of a channel, sdy = sum dy and sdyx = sum dy * (x - mean): adds the
// channel's gradients to dbeta and dgamma and returns the coefficients of
// dx = a * (dy - k0 - (x - mc) * k1) (train; eval: k0 = k1 = 0, dx = a * dy).
template <class T>
struct bn_dx_terms {
  T a, k0, k1, mc;
};
template <class T>
bn_dx_terms<T> bn_backward_terms(double sdy, double sdyx, double mean, double invstd, double inv_m, bool trained,
                                 T gamma, T& dgamma, T& dbeta) {
  sdyx *= invstd;  // sum dy * xhat
  dbeta += static_cast<T>(sdy);
  dgamma += static_cast<T>(sdyx);
  return {static_cast<T>(double(gamma) * invstd), trained ? static_cast<T>(sdy * inv_m) : T(0),
          trained ? static_cast<T>(sdyx * inv_m * invstd) : T(0), static_cast<T>(mean)};
}

// The eval-mode scale gamma / sqrt(running_var + eps).
template <class T>
T bn_eval_scale(T gamma, T rvar, double eps) {
  return static_cast<T>(double(gamma) / std::sqrt(double(rvar) + eps));
}
}  // namespace detail

template <class T>
class batch_norm2d : public layer<T> {
 public:
  static constexpr const char* kind_name = "batch_norm2d";

  explicit batch_norm2d(double decay = 0.9, double eps = 2e-5) : layer<T>(kind_name), decay_(decay), eps_(eps) {
    HOUSENET_CHECK(decay >= 0.0 && decay <= 1.0, "batch_norm2d: decay ", decay, " not in [0, 1]");
    HOUSENET_CHECK(eps > 0.0 && eps <= 1.0, "batch_norm2d: eps ", eps, " not in (0, 1]");
  }

  layer_config config() const override {
    return {{"decay", config_real(decay_)}, {"eps", config_real(eps_)}};
  }

  std::vector<param_spec> param_specs() const override {
    return {{"gamma", shape{c_}, false, true},
            {"beta", shape{c_}, false, true},
            {"running_mean", shape{c_}, false, false},
            {"running_var", shape{c_}, false, false}};
  }

  double decay() const { return decay_; }
  double eps() const { return eps_; }

  // The parameters by name, [C] each (bound: after setup and bind): gamma and beta (trainable),
  // the running mean and variance (saved state).
  param<T>& gamma() { return this->bound_param(0); }
  const param<T>& gamma() const { return this->bound_param(0); }
  param<T>& beta() { return this->bound_param(1); }
  const param<T>& beta() const { return this->bound_param(1); }
  param<T>& running_mean() { return this->bound_param(2); }
  const param<T>& running_mean() const { return this->bound_param(2); }
  param<T>& running_var() { return this->bound_param(3); }
  const param<T>& running_var() const { return this->bound_param(3); }

 protected:
  shape do_setup(const shape& in) override {
    HOUSENET_CHECK((in.rank() == 4 || in.rank() == 2) && in.sample_size() >= 1, this->name(),
                   ": input ", in.str(), ", expected rank 4 (NxCxHxW) or 2 (NxC)");
    c_ = in.c();
    hw_ = in.rank() == 4 ? in.h() * in.w() : 1;
    mean_.assign(c_, 0.0);
    invstd_.assign(c_, 0.0);
    trained_ = false;
    return in;
  }

  void do_init(prng& /*rng*/) override {
    constant_fill(gamma().value, T(1));
    constant_fill(beta().value, T(0));
    constant_fill(running_mean().value, T(0));
    constant_fill(running_var().value, T(1));
  }

  void do_forward(const tensor<T>& x, tensor<T>& y, const context& ctx) override {
    if (ctx.mode == mode::eval) {
      do_infer(x, y);
      trained_ = false;
      return;
    }
    const std::size_t n = x.shape().n(), m = n * hw_;
    HOUSENET_CHECK(m >= 2, this->name(), ": training needs more than 1 value per channel (input ",
                   x.shape().str(), ")");
    y.resize(x.shape());
    const T* g = gamma().value.data();
    const T* b = beta().value.data();
    T* rmean = running_mean().value.data();
    T* rvar = running_var().value.data();
    // channels are independent: the result does not depend on the thread count
    parallel_for(c_, [&](std::size_t c0, std::size_t c1) {
      for (std::size_t c = c0; c < c1; ++c) {
        double mean = 0.0, var = 0.0;
        detail::bn_moments(n, hw_, [&](std::size_t i) { return x.data() + (i * c_ + c) * hw_; }, mean, var);
        const double invstd = 1.0 / std::sqrt(var + eps_);
        mean_[c] = mean;
        invstd_[c] = invstd;
        normalize(x, y, c, static_cast<T>(mean), static_cast<T>(double(g[c]) * invstd), b[c]);
        detail::bn_update_running(rmean[c], rvar[c], mean, var, m, decay_);
      }
    });
    trained_ = true;
  }

  void do_infer(const tensor<T>& x, tensor<T>& y) const override {
    y.resize(x.shape());
    const T* g = gamma().value.data();
    const T* b = beta().value.data();
    const T* rmean = running_mean().value.data();
    const T* rvar = running_var().value.data();
    parallel_for(c_, [&](std::size_t c0, std::size_t c1) {
      for (std::size_t c = c0; c < c1; ++c)
        normalize(x, y, c, rmean[c], detail::bn_eval_scale(g[c], rvar[c], eps_), b[c]);
    });
  }

  void do_backward(const tensor<T>& x, const tensor<T>& /*y*/, const tensor<T>& dy,
                   tensor<T>& dx) override {
    const std::size_t n = x.shape().n();
    dx.resize(x.shape());
    const T* g = gamma().value.data();
    T* dgamma = gamma().grad.data();
    T* dbeta = beta().grad.data();
    const T* rmean = running_mean().value.data();
    const T* rvar = running_var().value.data();
    const double inv_m = 1.0 / double(n * hw_);
    parallel_for(c_, [&](std::size_t c0, std::size_t c1) {
      for (std::size_t c = c0; c < c1; ++c) {
        const double mean = trained_ ? mean_[c] : double(rmean[c]);
        const double invstd = trained_ ? invstd_[c] : 1.0 / std::sqrt(double(rvar[c]) + eps_);
        double sdy = 0.0, sdyx = 0.0;  // sum dy, sum dy*(x - mean); sum dy*xhat = sdyx*invstd
        for (std::size_t i = 0; i < n; ++i)
          detail::bn_sum_dot(dy.data() + (i * c_ + c) * hw_, x.data() + (i * c_ + c) * hw_, hw_,
                             mean, sdy, sdyx);
        // train: dx = a * (dy - sdy/M - xhat * sum(dy xhat)/M); eval: dx = a * dy.
        const auto t = detail::bn_backward_terms(sdy, sdyx, mean, invstd, inv_m, trained_, g[c], dgamma[c], dbeta[c]);
        const T a = t.a, k0 = t.k0, k1 = t.k1, mc = t.mc;
        for (std::size_t i = 0; i < n; ++i) {
          const T* HOUSENET_RESTRICT xp = x.data() + (i * c_ + c) * hw_;
          const T* HOUSENET_RESTRICT gp = dy.data() + (i * c_ + c) * hw_;
          T* HOUSENET_RESTRICT dp = dx.data() + (i * c_ + c) * hw_;
          for (std::size_t j = 0; j < hw_; ++j) dp[j] = a * (gp[j] - k0 - (xp[j] - mc) * k1);
        }
      }
    });
  }

 private:
  double decay_, eps_;
  std::size_t c_ = 0, hw_ = 0;
  std::vector<double> mean_, invstd_;  // batch statistics of the last train forward
  bool trained_ = false;               // the last forward was in train mode

  // y = (x - m) * a + b over channel c of every sample: one expression for every element.
  void normalize(const tensor<T>& x, tensor<T>& y, std::size_t c, T m, T a, T b) const {
    const std::size_t n = x.shape().n();
    for (std::size_t i = 0; i < n; ++i) {
      const T* HOUSENET_RESTRICT xp = x.data() + (i * c_ + c) * hw_;
      T* HOUSENET_RESTRICT yp = y.data() + (i * c_ + c) * hw_;
      for (std::size_t j = 0; j < hw_; ++j) yp[j] = (xp[j] - m) * a + b;
    }
  }
};

HOUSENET_END_NAMESPACE

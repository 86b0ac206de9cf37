// housenet/layers/relu_bn_pool.hpp: relu -> batch_norm2d -> max_pool2d run as one block.
//
// WHAT THIS IS
//   The seed network's stages end in ReLU -> batch norm -> max pooling. Run layer by layer, they
//   pass over the convolution's output about sixteen times (each layer reads its input and writes
//   its output, forward and backward; batch norm reads twice more for its sums): for conv1 at
//   batch 32 that is 145 MB a pass, a fifth of a training step. This block computes the same
//   thing from the convolution's output x alone:
//     forward   per channel: the batch statistics of relu(x) (two passes over the channel's planes,
//               the second from cache), then per plane: t = batch_norm(relu(x)) into a buffer in
//               cache, pooled by max_pool2d's own kernel (output, argmax); and relu(x) at each
//               argmax, kept for backward. The ReLU and batch-norm outputs are never stored.
//     backward  per channel: per plane, the pooling's backward (zeros plus dy at each argmax) and
//               relu(x) at the argmaxes (0 elsewhere) into two buffers in cache, summed as batch
//               norm sums; then per plane the pooling's backward again and dx in one pass over x.
//   Not a layer kind: a chain block (layers/chain_block.hpp) that the planner of layers/fusion.hpp
//   puts in a model's plan where match() finds the run (see sequential::set_fusion); it reads the
//   parameters, running statistics and hyperparameters of the batch_norm2d and max_pool2d layers
//   (batch_norm2d's named accessors, max_pool2d's run_plane), and model files do not change.
//
// SAME BITS AS THE THREE LAYERS
//   Every value is computed by the same expression, in the same order, as relu, batch_norm2d and
//   max_pool2d compute it (the sums share batch_norm2d's lane order; the pooling is max_pool2d's
//   run_plane), so outputs, gradients, running statistics and argmax ties are bit-identical
//   (tests/test_fusion.cpp) for finite inputs. (Batch norm's backward sums dy * (relu(x) - mean)
//   over every element, with dy = 0 off the argmaxes; the block uses 0 for relu(x) there, which
//   adds the same +-0 unless relu(x) is infinite.)
//
// REQUIRES  the three layers set up in that order on an N x C x H x W input, and bound (match()
//   checks the kinds and the rank).
// THREAD SAFETY: as a layer's (infer() is const and safe from several threads at once).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <typeinfo>
#include <vector>

#include "../parallel.hpp"
#include "batch_norm2d.hpp"
#include "chain_block.hpp"
#include "layer.hpp"
#include "max_pool2d.hpp"
#include "relu.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T>
class relu_bn_pool : public chain_block<T> {
 public:
  // The block for the run chain[i], chain[i + 1], chain[i + 2] when it is relu -> batch_norm2d ->
  // max_pool2d (those exact classes) on a rank-4 input; null otherwise.
  static std::unique_ptr<chain_block<T>> match(const std::vector<layer<T>*>& chain, std::size_t i) {
    if (i + 3 > chain.size()) return nullptr;
    layer<T>& r = *chain[i];
    layer<T>& bn = *chain[i + 1];
    layer<T>& pool = *chain[i + 2];
    if (typeid(r) != typeid(relu<T>) || typeid(bn) != typeid(batch_norm2d<T>) ||
        typeid(pool) != typeid(max_pool2d<T>) || r.input_shape().rank() != 4)
      return nullptr;
    return std::make_unique<relu_bn_pool>(static_cast<relu<T>&>(r), static_cast<batch_norm2d<T>&>(bn),
                                          static_cast<max_pool2d<T>&>(pool), i);
  }

  // The three layers (chain[first..first + 2]), set up and bound; their parameters are read at
  // every call.
  relu_bn_pool(relu<T>& r, batch_norm2d<T>& bn, max_pool2d<T>& pool, std::size_t first)
      : chain_block<T>(first, 3), relu_(&r), bn_(&bn), pool_(&pool) {
    const shape& in = r.input_shape();
    c_ = in.c(), h_ = in.h(), w_ = in.w();
    ohw_ = pool_->output_shape().h() * pool_->output_shape().w();
    mean_.assign(c_, 0.0);
    invstd_.assign(c_, 0.0);
  }

  // x: the relu layer's input. y: the pooling layer's output. Records what backward needs.
  void forward(layer_inputs<T> xs, tensor<T>& y, const context& ctx) override {
    const tensor<T>& x = one_input(xs);
    const std::size_t n = x.shape().n(), m = n * h_ * w_;
    const bool train = ctx.mode == mode::train;
    HOUSENET_CHECK(!train || m >= 2, bn_->name(), ": training needs more than 1 value per channel (input ",
                   x.shape().str(), ")");
    y.resize(shape{n, c_, pool_->output_shape().h(), pool_->output_shape().w()});
    argmax_.resize(y.size());
    rmax_.resize(y.size());
    const T* gamma = bn_->gamma().value.data();
    const T* beta = bn_->beta().value.data();
    T* rmean = bn_->running_mean().value.data();
    T* rvar = bn_->running_var().value.data();
    parallel_for(c_, [&](std::size_t c0, std::size_t c1) {
      for (std::size_t c = c0; c < c1; ++c) {
        T mc, a;
        if (train) {
          double mean = 0.0, var = 0.0;
          // relu(x) into a buffer first: a select inside batch norm's double sums does not vectorize
          T* r = plane_buffer(0);
          const std::size_t hw = h_ * w_;
          detail::bn_moments(n, hw, [&](std::size_t i) {
            const T* HOUSENET_RESTRICT p = x.data() + (i * c_ + c) * hw;
            for (std::size_t j = 0; j < hw; ++j) r[j] = detail::relu_of(p[j]);
            return static_cast<const T*>(r);
          }, mean, var);
          const double invstd = 1.0 / std::sqrt(var + bn_->eps());
          mean_[c] = mean;
          invstd_[c] = invstd;
          detail::bn_update_running(rmean[c], rvar[c], mean, var, m, bn_->decay());
          mc = static_cast<T>(mean);
          a = static_cast<T>(double(gamma[c]) * invstd);
        } else {
          mc = rmean[c];
          a = detail::bn_eval_scale(gamma[c], rvar[c], bn_->eps());
        }
        for (std::size_t i = 0; i < n; ++i) pool_plane(x, y, i, c, mc, a, beta[c], argmax_.data(), rmax_.data());
      }
    });
    trained_ = train;
  }

  // The eval-mode forward; records nothing.
  void infer(layer_inputs<T> xs, tensor<T>& y) const override {
    const tensor<T>& x = one_input(xs);
    const std::size_t n = x.shape().n();
    y.resize(shape{n, c_, pool_->output_shape().h(), pool_->output_shape().w()});
    const batch_norm2d<T>& bn = *bn_;
    const T* gamma = bn.gamma().value.data();
    const T* beta = bn.beta().value.data();
    const T* rmean = bn.running_mean().value.data();
    const T* rvar = bn.running_var().value.data();
    parallel_for(c_, [&](std::size_t c0, std::size_t c1) {
      for (std::size_t c = c0; c < c1; ++c) {
        const T a = detail::bn_eval_scale(gamma[c], rvar[c], bn.eps());
        for (std::size_t i = 0; i < n; ++i) pool_plane(x, y, i, c, rmean[c], a, beta[c], nullptr, nullptr);
      }
    });
  }

  // x: the input of the last forward; dy: the gradient w.r.t. its output (y, unused). dx is
  // ASSIGNED, gamma's and beta's gradients are ACCUMULATED (batch_norm2d's backward, through the
  // pooling and the ReLU).
  void backward(layer_inputs<T> xs, const tensor<T>& /*y*/, const tensor<T>& dy,
                layer_input_grads<T> dxs) override {
    const tensor<T>& x = one_input(xs);
    HOUSENET_CHECK(dxs.size() == 1, relu_->name(), ": backward(): ", dxs.size(), " input gradients for 1 input");
    tensor<T>& dx = dxs[0];
    const shape want = pool_->output_shape().with_n(x.shape().n());
    HOUSENET_CHECK(dy.shape() == want && dy.size() == argmax_.size(), pool_->name(), ": gradient ",
                   dy.shape().str(), " does not match the last forward (", want.str(), ")");
    const std::size_t n = x.shape().n(), hw = h_ * w_;
    dx.resize(x.shape());
    const T* gamma_v = bn_->gamma().value.data();
    T* dgamma = bn_->gamma().grad.data();
    T* dbeta = bn_->beta().grad.data();
    const T* rmean = bn_->running_mean().value.data();
    const T* rvar = bn_->running_var().value.data();
    const double inv_m = 1.0 / double(n * hw);
    parallel_for(c_, [&](std::size_t c0, std::size_t c1) {
      T* g = plane_buffer(0);  // the pooling's input gradient (batch norm's output gradient)
      T* r = plane_buffer(1);  // relu(x) where g may be non-zero, 0 elsewhere
      for (std::size_t c = c0; c < c1; ++c) {
        const double mean = trained_ ? mean_[c] : double(rmean[c]);
        const double invstd = trained_ ? invstd_[c] : 1.0 / std::sqrt(double(rvar[c]) + bn_->eps());
        // Batch norm's sums, plane by plane as batch_norm2d sums them: over g and relu(x), with
        // relu(x) replaced by 0 where g is 0 (those terms add +-0 to a sum: no change).
        double sdy = 0.0, sdyx = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
          pool_gradient(dy, i, c, g, r);
          detail::bn_sum_dot(g, r, hw, mean, sdy, sdyx);
        }
        // dx = relu'(x) * a * (g - k0 - (relu(x) - mean) * k1), batch_norm2d's expression
        const auto t = detail::bn_backward_terms(sdy, sdyx, mean, invstd, inv_m, trained_, gamma_v[c], dgamma[c], dbeta[c]);
        const T a = t.a, k0 = t.k0, k1 = t.k1, mc = t.mc;
        for (std::size_t i = 0; i < n; ++i) {
          pool_gradient(dy, i, c, g, nullptr);
          const T* HOUSENET_RESTRICT xp = x.data() + (i * c_ + c) * hw;
          const T* HOUSENET_RESTRICT gp = g;
          T* HOUSENET_RESTRICT dp = dx.data() + (i * c_ + c) * hw;
          for (std::size_t j = 0; j < hw; ++j)
            dp[j] = detail::keep_if_positive(xp[j], a * (gp[j] - k0 - (xp[j] - mc) * k1));
        }
      }
    });
  }

 private:
  // The block's one input (the relu layer's), checked.
  const tensor<T>& one_input(layer_inputs<T> xs) const {
    HOUSENET_CHECK(xs.size() == 1, relu_->name(), ": ", xs.size(), " inputs, it takes 1");
    relu_->check_input(xs[0]);
    return xs[0];
  }

  relu<T>* relu_;
  batch_norm2d<T>* bn_;
  max_pool2d<T>* pool_;
  std::size_t c_ = 0, h_ = 0, w_ = 0, ohw_ = 0;
  std::vector<double> mean_, invstd_;  // batch statistics of the last train forward
  bool trained_ = false;               // the last forward was in train mode
  std::vector<std::uint32_t> argmax_;  // per output: its window's argmax in the input plane
  std::vector<T> rmax_;                // per output: relu(x) at that argmax

  // Input plane k (0 or 1) of scratch for the calling thread, grown once, then reused.
  T* plane_buffer(int k) const {
    thread_local std::vector<T> t[2];
    if (t[k].size() < h_ * w_) t[k].resize(h_ * w_);
    return t[k].data();
  }

  // Plane (i, c) of max_pool2d's backward into g (zeros, plus each window's dy at its argmax: the
  // same sums as the layer's); with r, relu(x) at the argmaxes and 0 elsewhere.
  void pool_gradient(const tensor<T>& dy, std::size_t i, std::size_t c, T* g, T* r) const {
    const std::size_t hw = h_ * w_, o0 = (i * c_ + c) * ohw_;
    const std::uint32_t* arg = argmax_.data() + o0;
    const T* gy = dy.data() + o0;
    std::fill(g, g + hw, T(0));
    for (std::size_t o = 0; o < ohw_; ++o) g[arg[o]] += gy[o];
    if (!r) return;
    std::fill(r, r + hw, T(0));
    for (std::size_t o = 0; o < ohw_; ++o) r[arg[o]] = rmax_[o0 + o];
  }

  // Plane (i, c): t = relu(x) normalised ((r - mc) * a + b, batch_norm2d's expression, b = beta)
  // into a per-thread buffer, pooled into y; arg and rmax (both or neither) receive the argmaxes
  // and relu(x) there.
  void pool_plane(const tensor<T>& x, tensor<T>& y, std::size_t i, std::size_t c, T mc, T a, T b,
                  std::uint32_t* arg, T* rmax) const {
    const std::size_t hw = h_ * w_, pl = i * c_ + c;
    const T* HOUSENET_RESTRICT xp = x.data() + pl * hw;
    T* HOUSENET_RESTRICT tp = plane_buffer(0);
    for (std::size_t j = 0; j < hw; ++j) tp[j] = (detail::relu_of(xp[j]) - mc) * a + b;
    pool_->run_plane(tp, h_, w_, y.data() + pl * ohw_, arg ? arg + pl * ohw_ : nullptr);
    if (arg)
      for (std::size_t o = pl * ohw_; o < (pl + 1) * ohw_; ++o) rmax[o] = detail::relu_of(xp[arg[o]]);
  }
};

HOUSENET_END_NAMESPACE

// housenet/layers/max_pool2d.hpp: 2-D max pooling, like torch::nn::functional::max_pool2d.
//
// WHAT THIS IS
//   x [N, C, H, W] -> y [N, C, OH, OW], square window k, stride s, padding p (implicit -inf).
//     floor mode: OH = (H + 2p - k) / s + 1
//     ceil mode:  OH = ceil((H + 2p - k) / s) + 1, minus one if the last window would start at or
//                 beyond H + p (PyTorch's ceil_mode rule; equals Chainer's cover_all when p = 0
//                 and k >= s). Windows running past the border are clipped.
//   y = the maximum of the window; backward sends the whole dy to the FIRST maximal element of the
//   window in row-major (ky, kx) order (PyTorch's and Chainer's CPU rule; ties matter after
//   ReLU -> BatchNorm), and 0 to the others; overlapping windows add up.
//   forward() records each window's argmax for backward; infer() records nothing.
//
// REQUIRES  2p <= k (as PyTorch), H + 2p >= k, W + 2p >= k.
// CONFIG    kernel, stride, padding, ceil_mode (0/1); version 1.
// THREAD SAFETY: see layer.hpp.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "../parallel.hpp"
#include "layer.hpp"

HOUSENET_BEGIN_NAMESPACE

namespace detail {
// Pooling's output length along a dimension of length len (len + 2p >= k), floor or ceil mode
// (PyTorch's rule: in ceil mode the last window must start inside the input or its left padding).
inline std::size_t pool_out_size(std::size_t len, std::size_t k, std::size_t s, std::size_t p, bool ceil_mode) {
  const std::size_t span = len + 2 * p - k;
  std::size_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (o - 1) * s >= len + p) --o;
  return o;
}
}  // namespace detail

template <class T>
class max_pool2d : public layer<T> {
 public:
  static constexpr const char* kind_name = "max_pool2d";

  explicit max_pool2d(std::size_t kernel, std::size_t stride, std::size_t padding = 0,
                      bool ceil_mode = false)
      : layer<T>(kind_name), k_(kernel), s_(stride), p_(padding), ceil_(ceil_mode) {
    HOUSENET_CHECK(kernel >= 1, "max_pool2d: kernel must be >= 1");
    HOUSENET_CHECK(stride >= 1, "max_pool2d: stride must be >= 1");
    HOUSENET_CHECK(2 * padding <= kernel, "max_pool2d: padding ", padding,
                   " must be at most half the kernel ", kernel);
  }

  layer_config config() const override {
    return {{"kernel", std::to_string(k_)}, {"stride", std::to_string(s_)},
            {"padding", std::to_string(p_)}, {"ceil_mode", ceil_ ? "1" : "0"}};
  }

  // Output length of one dimension of length len.
  std::size_t out_size(std::size_t len) const { return detail::pool_out_size(len, k_, s_, p_, ceil_); }

  std::size_t kernel() const { return k_; }
  std::size_t stride() const { return s_; }
  std::size_t padding() const { return p_; }
  bool ceil_mode() const { return ceil_; }

 protected:
  shape do_setup(const shape& in) override {
    HOUSENET_CHECK(in.rank() == 4 && in.c() >= 1 && in.h() >= 1 && in.w() >= 1, this->name(),
                   ": input ", in.str(), ", expected rank 4 (NxCxHxW)");
    HOUSENET_CHECK(in.h() + 2 * p_ >= k_ && in.w() + 2 * p_ >= k_, this->name(), ": input ",
                   in.str(), " is smaller than the window ", k_, " (padding ", p_, ")");
    HOUSENET_CHECK(std::uint64_t(in.h()) * in.w() < (std::uint64_t(1) << 32), this->name(), ": input ", in.str(),
                   " is too large");
    oh_ = out_size(in.h());
    ow_ = out_size(in.w());
    return shape{1, in.c(), oh_, ow_};
  }

  void do_forward(const tensor<T>& x, tensor<T>& y, const context& /*ctx*/) override {
    y.resize(shape{x.shape().n(), x.shape().c(), oh_, ow_});
    argmax_.resize(y.size());
    run(x, y, argmax_.data());
  }

  void do_infer(const tensor<T>& x, tensor<T>& y) const override {
    y.resize(shape{x.shape().n(), x.shape().c(), oh_, ow_});
    run(x, y, nullptr);
  }

  void do_backward(const tensor<T>& x, const tensor<T>& /*y*/, const tensor<T>& dy,
                   tensor<T>& dx) override {
    const shape& ys = dy.shape();  // checked against the output shape by layer::backward
    HOUSENET_CHECK(argmax_.size() == dy.size(), this->name(), ": backward without forward");
    dx.resize(x.shape());
    const std::size_t planes = ys.n() * ys.c(), h = x.shape().h(), w = x.shape().w(), hw = h * w,
                      ohw = oh_ * ow_;
    // Disjoint windows that cover the plane (k == s, no padding; ceil mode's clipped last window
    // included): zero and fill one band of window rows at a time (dx is written once, from L1).
    // Otherwise zero the plane and add up. Both add each gradient to a zero: the same bits.
    const bool tiled = k_ == s_ && p_ == 0 && oh_ * s_ >= h && ow_ * s_ >= w;
    parallel_for(planes, [&](std::size_t p0, std::size_t p1) {
      for (std::size_t pl = p0; pl < p1; ++pl) {
        T* dp = dx.data() + pl * hw;
        const T* gp = dy.data() + pl * ohw;
        const std::uint32_t* ap = argmax_.data() + pl * ohw;
        if (tiled) {
          // per window row band: zero its rows while they are in L1, then place the maxima
          for (std::size_t oy = 0; oy < oh_; ++oy) {
            const std::size_t y0 = oy * s_, y1 = std::min(h, y0 + k_);
            std::fill(dp + y0 * w, dp + y1 * w, T(0));
            for (std::size_t o = oy * ow_; o < (oy + 1) * ow_; ++o) dp[ap[o]] += gp[o];
          }
        } else {
          std::fill(dp, dp + hw, T(0));
          for (std::size_t o = 0; o < ohw; ++o) dp[ap[o]] += gp[o];
        }
      }
    });
  }

 public:
  // One input plane xp [h, w] (the set-up input's) -> yp [OH, OW]; arg (may be null) receives
  // each window's argmax, an index into the plane. The forward's kernel, shared with relu_bn_pool.
  void run_plane(const T* xp, std::size_t h, std::size_t w, T* yp, std::uint32_t* arg) const {
    // The windows [full0, full1) of a row lie wholly inside it; they are scanned four at a time:
    // four independent chains of compares (one window alone waits on each compare's latency),
    // each window still in its own row-major order. The others one by one.
    const std::size_t full0 = std::min(ow_, (p_ + s_ - 1) / s_);
    const std::size_t full1 = w + p_ >= k_ ? std::max(full0, std::min(ow_, (w + p_ - k_) / s_ + 1)) : full0;
    for (std::size_t oy = 0; oy < oh_; ++oy) {
      const auto rows = window(oy, h);
      T* yr = yp + oy * ow_;
      std::uint32_t* ar = arg ? arg + oy * ow_ : nullptr;
      const auto one = [&](std::size_t ox) {
        const auto cols = window(ox, w);
        std::size_t best = rows.first * w + cols.first;
        T m = xp[best];
        for (std::size_t iy = rows.first; iy < rows.second; ++iy)
          for (std::size_t ix = cols.first; ix < cols.second; ++ix)
            if (xp[iy * w + ix] > m) {  // strict: the first maximum wins
              m = xp[iy * w + ix];
              best = iy * w + ix;
            }
        yr[ox] = m;
        if (ar) ar[ox] = static_cast<std::uint32_t>(best);
      };
      std::size_t ox = 0;
      for (; ox < full0; ++ox) one(ox);
      for (; ox + 4 <= full1; ox += 4) {
        const std::size_t x0 = ox * s_ - p_;  // the first window's first column
        std::size_t best[4];
        T m[4];
        for (std::size_t q = 0; q < 4; ++q) best[q] = rows.first * w + x0 + q * s_, m[q] = xp[best[q]];
        for (std::size_t iy = rows.first; iy < rows.second; ++iy)
          for (std::size_t kx = 0; kx < k_; ++kx)
            for (std::size_t q = 0; q < 4; ++q) {
              const std::size_t i = iy * w + x0 + q * s_ + kx;
              if (xp[i] > m[q]) m[q] = xp[i], best[q] = i;
            }
        for (std::size_t q = 0; q < 4; ++q) {
          yr[ox + q] = m[q];
          if (ar) ar[ox + q] = static_cast<std::uint32_t>(best[q]);
        }
      }
      for (; ox < ow_; ++ox) one(ox);
    }
  }

  // The input span [begin, end) of window o along a dimension of length len, clipped to it; never
  // empty (2p <= k and the ceil rule).
  std::pair<std::size_t, std::size_t> window(std::size_t o, std::size_t len) const {
    const std::size_t start = o * s_;
    return {start > p_ ? start - p_ : 0, start + k_ - p_ < len ? start + k_ - p_ : len};
  }

 private:
  std::size_t k_, s_, p_;
  bool ceil_;
  std::size_t oh_ = 0, ow_ = 0;
  std::vector<std::uint32_t> argmax_;  // per output: index of the max within its input plane

  void run(const tensor<T>& x, tensor<T>& y, std::uint32_t* arg) const {
    const std::size_t h = x.shape().h(), w = x.shape().w();
    const std::size_t planes = x.shape().n() * x.shape().c();
    // planes are independent: the result does not depend on the thread count
    parallel_for(planes, [&](std::size_t p0, std::size_t p1) {
      for (std::size_t pl = p0; pl < p1; ++pl) run_plane(x.data() + pl * h * w, h, w,
                                                     y.data() + pl * oh_ * ow_,
                                                     arg ? arg + pl * oh_ * ow_ : nullptr);
    });
  }
};

HOUSENET_END_NAMESPACE

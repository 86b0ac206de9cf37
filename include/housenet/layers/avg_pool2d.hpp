// housenet/layers/avg_pool2d.hpp: 2-D average pooling, like torch::nn::functional::avg_pool2d.
//
// WHAT THIS IS
//   x [N, C, H, W] -> y [N, C, OH, OW], square window k, stride s, zero padding p; OH and OW as
//   max_pool2d's (detail::pool_out_size): floor mode (H + 2p - k) / s + 1, or ceil mode with
//   PyTorch's rule (the last window must start inside the input or its left padding).
//   y = (sum of the window's input elements) / divisor, where along each dimension the window
//   [o*s - p, o*s - p + k) is cut at the end of the padded input (H + p) and then
//     count_include_pad = true (PyTorch's default): divisor = its size there, padding counted;
//     count_include_pad = false: divisor = the number of input elements it covers.
//   (So a ceil-mode window running past the padded input never counts what lies beyond it:
//   PyTorch's divisor, exactly.)
//   Backward: every input element of a window receives dy / divisor; overlapping windows add up.
//   No parameters, no state: forward is infer.
//   HOW: separably, one output row at a time, in a zero-padded row buffer (thread-local): the
//   window's input rows summed, then its k columns (so a window sums column by column, each
//   column top-down: PyTorch sums row-major, a rounding apart), divided by the divisor; backward
//   spreads dy / divisor over each window's columns, then adds that row to each window row. Every
//   loop runs along a row (vectorizable at stride 1); planes in parallel: the same bits for any
//   thread count.
//
// REQUIRES  k >= 1, s >= 1, 2p <= k (as PyTorch); setup: rank 4, H + 2p >= k, W + 2p >= k.
// CONFIG    kernel, stride, padding, ceil_mode (0/1), count_include_pad (0/1); version 1.
// THREAD SAFETY: see layer.hpp.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "../gemm.hpp"  // detail::scratch
#include "../parallel.hpp"
#include "layer.hpp"
#include "max_pool2d.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T>
class avg_pool2d : public layer<T> {
 public:
  static constexpr const char* kind_name = "avg_pool2d";

  explicit avg_pool2d(std::size_t kernel, std::size_t stride, std::size_t padding = 0,
                      bool ceil_mode = false, bool count_include_pad = true)
      : layer<T>(kind_name), k_(kernel), s_(stride), p_(padding), ceil_(ceil_mode),
        include_pad_(count_include_pad) {
    HOUSENET_CHECK(kernel >= 1, "avg_pool2d: kernel must be >= 1");
    HOUSENET_CHECK(stride >= 1, "avg_pool2d: stride must be >= 1");
    HOUSENET_CHECK(2 * padding <= kernel, "avg_pool2d: padding ", padding,
                   " must be at most half the kernel ", kernel);
  }

  layer_config config() const override {
    return {{"kernel", std::to_string(k_)},       {"stride", std::to_string(s_)},
            {"padding", std::to_string(p_)},      {"ceil_mode", ceil_ ? "1" : "0"},
            {"count_include_pad", include_pad_ ? "1" : "0"}};
  }

  std::size_t kernel() const { return k_; }
  std::size_t stride() const { return s_; }
  std::size_t padding() const { return p_; }
  bool ceil_mode() const { return ceil_; }
  bool count_include_pad() const { return include_pad_; }

 protected:
  shape do_setup(const shape& in) override {
    HOUSENET_CHECK(in.rank() == 4 && in.c() >= 1 && in.h() >= 1 && in.w() >= 1, this->name(),
                   ": input ", in.str(), ", expected rank 4 (NxCxHxW)");
    HOUSENET_CHECK(in.h() + 2 * p_ >= k_ && in.w() + 2 * p_ >= k_, this->name(), ": input ",
                   in.str(), " is smaller than the window ", k_, " (padding ", p_, ")");
    rows_ = windows(in.h());
    cols_ = windows(in.w());
    colcount_.clear();
    for (const span& c : cols_) colcount_.push_back(static_cast<T>(c.count));
    return shape{1, in.c(), rows_.size(), cols_.size()};
  }

  void do_infer(const tensor<T>& x, tensor<T>& y) const override {
    const std::size_t h = x.shape().h(), w = x.shape().w(), oh = rows_.size(), ow = cols_.size();
    y.resize(shape{x.shape().n(), x.shape().c(), oh, ow});
    parallel_for(x.shape().n() * x.shape().c(), [&](std::size_t p0, std::size_t p1) {
      T* HOUSENET_RESTRICT row = row_buffer(w);
      for (std::size_t pl = p0; pl < p1; ++pl) {
        const T* xp = x.data() + pl * h * w;
        for (std::size_t oy = 0; oy < oh; ++oy) {
          const span& r = rows_[oy];
          // the window rows summed, at padded columns p .. p + w (the padding stays 0)
          std::memcpy(row + p_, xp + r.begin * w, w * sizeof(T));
          for (std::size_t iy = r.begin + 1; iy < r.end; ++iy) {
            const T* HOUSENET_RESTRICT xr = xp + iy * w;
            for (std::size_t ix = 0; ix < w; ++ix) row[p_ + ix] += xr[ix];
          }
          // then the window columns, and the divisor
          T* HOUSENET_RESTRICT yr = y.data() + (pl * oh + oy) * ow;
          for (std::size_t ox = 0; ox < ow; ++ox) yr[ox] = row[ox * s_];
          for (std::size_t j = 1; j < k_; ++j)
            for (std::size_t ox = 0; ox < ow; ++ox) yr[ox] += row[ox * s_ + j];
          const T rc = static_cast<T>(r.count);
          for (std::size_t ox = 0; ox < ow; ++ox) yr[ox] = yr[ox] / (rc * colcount_[ox]);
        }
      }
    });
  }

  void do_backward(const tensor<T>& x, const tensor<T>& /*y*/, const tensor<T>& dy,
                   tensor<T>& dx) override {
    const std::size_t h = x.shape().h(), w = x.shape().w(), oh = rows_.size(), ow = cols_.size();
    const shape& ys = dy.shape();  // checked against the output shape by layer::backward
    dx.resize(x.shape());
    parallel_for(ys.n() * ys.c(), [&](std::size_t p0, std::size_t p1) {
      T* HOUSENET_RESTRICT row = row_buffer(w);
      T* HOUSENET_RESTRICT g = row + row_length(w);
      for (std::size_t pl = p0; pl < p1; ++pl) {
        T* dp = dx.data() + pl * h * w;
        std::fill(dp, dp + h * w, T(0));
        for (std::size_t oy = 0; oy < oh; ++oy) {
          const span& r = rows_[oy];
          // each window's dy / divisor, spread over its columns (padded coordinates), then added
          // to each of its rows
          const T* HOUSENET_RESTRICT gr = dy.data() + (pl * oh + oy) * ow;
          const T rc = static_cast<T>(r.count);
          for (std::size_t ox = 0; ox < ow; ++ox) g[ox] = gr[ox] / (rc * colcount_[ox]);
          std::fill(row, row + row_length(w), T(0));
          for (std::size_t j = 0; j < k_; ++j)
            for (std::size_t ox = 0; ox < ow; ++ox) row[ox * s_ + j] += g[ox];
          for (std::size_t iy = r.begin; iy < r.end; ++iy) {
            T* HOUSENET_RESTRICT dr = dp + iy * w;
            for (std::size_t ix = 0; ix < w; ++ix) dr[ix] += row[p_ + ix];
          }
        }
      }
    });
  }

 private:
  // One window along a dimension: the input elements [begin, end) and its divisor factor.
  struct span {
    std::size_t begin, end, count;
  };

  std::size_t k_, s_, p_;
  bool ceil_, include_pad_;
  std::vector<span> rows_, cols_;  // from setup()
  std::vector<T> colcount_;        // cols_[i].count, as T

  std::vector<span> windows(std::size_t len) const {
    std::vector<span> v(detail::pool_out_size(len, k_, s_, p_, ceil_));
    for (std::size_t o = 0; o < v.size(); ++o) {
      const std::size_t start = o * s_;                             // in padded coordinates
      const std::size_t stop = std::min(start + k_, len + 2 * p_);  // cut at the padded end
      v[o].begin = start > p_ ? start - p_ : 0;
      v[o].end = std::min(stop - p_, len);
      v[o].count = include_pad_ ? stop - start : v[o].end - v[o].begin;
    }
    return v;
  }

  // A row in padded coordinates, long enough for every window (ceil mode's last one may run past
  // the padded row): zero outside the input's columns.
  std::size_t row_length(std::size_t w) const { return std::max(w + 2 * p_, (cols_.size() - 1) * s_ + k_); }

  // This thread's row buffer, zeroed: a row and, after it, one value per output column.
  T* row_buffer(std::size_t w) const {
    thread_local detail::scratch<T> buf;
    const std::size_t n = row_length(w) + cols_.size();
    T* p = buf.get(n);
    std::fill(p, p + n, T(0));
    return p;
  }
};

HOUSENET_END_NAMESPACE

// housenet/layers/dropout.hpp: inverted dropout, like torch::nn::Dropout / Chainer's dropout.
//
// WHAT THIS IS
//   Train:  y = x * mask / (1 - ratio), mask_i = 1 with probability 1 - ratio, else 0.
//   Eval:   y = x (infer(), and forward() with mode::eval).
//   backward: dx = dy * mask / (1 - ratio) after a train forward, dx = dy after an eval one.
//   The mask is a pure function of (seed, ctx.step, element index i) through a counter-based
//   SplitMix64 hash, so no random state is kept: a run is reproducible from its seed and resumable
//   from the step count, and backward recomputes the mask of the last forward instead of storing it.
//   ratio = 0 is the exact identity (no multiplication).
//
// REQUIRES  0 <= ratio < 1.
// CONFIG    ratio (17 significant digits), seed; version 1.
// THREAD SAFETY: see layer.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>

#include "relu.hpp"  // detail::elementwise
#include "layer.hpp"

HOUSENET_BEGIN_NAMESPACE

namespace detail {
// SplitMix64's output function: a bijective 64-bit mixer.
inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace detail

template <class T>
class dropout : public layer<T> {
 public:
  explicit dropout(double ratio = 0.5, std::uint64_t seed = 0) : ratio_(ratio), seed_(seed) {
    this->name_ = "dropout";
    HOUSENET_CHECK(ratio >= 0.0 && ratio < 1.0, "dropout: ratio ", ratio, " not in [0, 1)");
    // drop element i when (hash >> 11) < threshold_, i.e. with probability ratio (53-bit grid)
    threshold_ = static_cast<std::uint64_t>(ratio * 9007199254740992.0);
    scale_ = static_cast<T>(1.0 / (1.0 - ratio));
  }

  std::string kind() const override { return "dropout"; }
  layer_config config() const override {
    std::ostringstream os;
    os.precision(17);
    os << ratio_;
    return {{"ratio", os.str()}, {"seed", std::to_string(seed_)}};
  }

  shape setup(const shape& in) override {
    HOUSENET_CHECK(in.rank() >= 2 && in.sample_size() >= 1, this->name_, ": input ", in.str(),
                   ", expected rank 2 or more");
    this->in_ = in.with_n(1);
    this->out_ = this->in_;
    return in;
  }

  // Whether element i is kept at training step `step` (the mask forward applies).
  bool kept(std::uint64_t step, std::size_t i) const {
    return (detail::mix64(key(step) + std::uint64_t(i) * 0x9E3779B97F4A7C15ull) >> 11) >= threshold_;
  }

  void forward(const tensor<T>& x, tensor<T>& y, const context& ctx) override {
    train_ = ctx.mode == mode::train && threshold_ > 0;
    step_ = ctx.step;
    if (!train_) {
      infer(x, y);
      return;
    }
    this->check_input(x);
    y.resize(x.shape());
    apply(x.data(), y.data(), x.size());
  }

  void infer(const tensor<T>& x, tensor<T>& y) const override {
    this->check_input(x);
    y.resize(x.shape());
    if (x.size()) std::memcpy(y.data(), x.data(), x.size() * sizeof(T));
  }

  void backward(const tensor<T>& x, const tensor<T>& /*y*/, const tensor<T>& dy,
                tensor<T>& dx) override {
    this->check_input(x);
    HOUSENET_CHECK(dy.shape() == x.shape(), this->name_, ": gradient ", dy.shape().str(),
                   ", expected ", x.shape().str());
    dx.resize(dy.shape());
    if (train_)
      apply(dy.data(), dx.data(), dy.size());
    else if (dy.size())
      std::memcpy(dx.data(), dy.data(), dy.size() * sizeof(T));
  }

  double ratio() const { return ratio_; }
  std::uint64_t seed() const { return seed_; }

 private:
  double ratio_;
  std::uint64_t seed_;
  std::uint64_t threshold_ = 0;
  T scale_ = T(1);
  bool train_ = false;       // the last forward applied a mask
  std::uint64_t step_ = 0;   // ... at this step

  std::uint64_t key(std::uint64_t step) const {
    return detail::mix64(detail::mix64(seed_ ^ 0xD6E8FEB86659FD93ull) + step);
  }
  // out[i] = in[i] * scale where kept (mask of step_), else 0.
  void apply(const T* HOUSENET_RESTRICT in, T* HOUSENET_RESTRICT out, std::size_t n) const {
    const std::uint64_t k = key(step_), th = threshold_;
    const T sc = scale_;
    detail::elementwise(n, [=](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) {
        const bool keep = (detail::mix64(k + std::uint64_t(i) * 0x9E3779B97F4A7C15ull) >> 11) >= th;
        out[i] = keep ? in[i] * sc : T(0);
      }
    });
  }
};

HOUSENET_END_NAMESPACE

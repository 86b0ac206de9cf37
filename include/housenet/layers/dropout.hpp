// housenet/layers/dropout.hpp: inverted dropout, like torch::nn::Dropout / Chainer's dropout.
//
// WHAT THIS IS
//   Train:  y = x * mask / (1 - ratio), mask_i = 1 with probability 1 - ratio, else 0.
//   Eval:   y = x (infer(), and forward() with mode::eval).
//   backward: dx = dy * mask / (1 - ratio) after a train forward, dx = dy after an eval one.
//   The mask is a pure function of (seed, ctx.step, element index i) through a counter-based hash
//   (SplitMix64 of seed and step gives a key per step and per 2^32 elements; MurmurHash3's
//   finaliser of key + i * golden ratio gives 32 bits per element), so no random state is kept: a run is reproducible from its seed and resumable
//   from the step count, and backward recomputes the mask of the last forward instead of storing it.
//   ratio = 0 is the exact identity (no multiplication).
//
// REQUIRES  0 <= ratio < 1.
// CONFIG    ratio (the shortest decimal that reads back exactly), seed; version 1.
// THREAD SAFETY: see layer.hpp.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <locale>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>

#include "../parallel.hpp"
#include "layer.hpp"

HOUSENET_BEGIN_NAMESPACE

namespace detail {
// SplitMix64's output function: a bijective 64-bit mixer.
inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
// MurmurHash3's 32-bit finaliser: a bijective mixer that vectorizes (32-bit lanes).
inline std::uint32_t fmix32(std::uint32_t h) {
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  return h ^ (h >> 16);
}
}  // namespace detail

template <class T>
class dropout : public layer<T> {
 public:
  static constexpr const char* kind_name = "dropout";

  explicit dropout(double ratio = 0.5, std::uint64_t seed = 0) : layer<T>(kind_name), ratio_(ratio), seed_(seed) {
    HOUSENET_CHECK(ratio >= 0.0 && ratio < 1.0, "dropout: ratio ", ratio, " not in [0, 1)");
    // drop element i when its 32-bit hash < threshold_, i.e. with probability ratio (2^-32 grid)
    const double t = ratio * 4294967296.0;
    threshold_ = t >= 4294967295.0 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(t);
    scale_ = static_cast<T>(1.0 / (1.0 - ratio));
  }

  layer_config config() const override {
    return {{"ratio", config_real(ratio_)}, {"seed", std::to_string(seed_)}};
  }

  // Whether element i is kept at training step `step` (the mask forward applies).
  bool kept(std::uint64_t step, std::size_t i) const {
    const std::uint32_t k = key(step, std::uint64_t(i) >> 32);
    return detail::fmix32(static_cast<std::uint32_t>(i) * 0x9E3779B9u + k) >= threshold_;
  }

  double ratio() const { return ratio_; }
  std::uint64_t seed() const { return seed_; }

 protected:
  shape do_setup(const shape& in) override {
    HOUSENET_CHECK(in.rank() >= 2 && in.sample_size() >= 1, this->name(), ": input ", in.str(),
                   ", expected rank 2 or more");
    return in;
  }

  void do_forward(const tensor<T>& x, tensor<T>& y, const context& ctx) override {
    train_ = ctx.mode == mode::train && threshold_ > 0;
    step_ = ctx.step;
    if (!train_) {
      do_infer(x, y);
      return;
    }
    y.resize(x.shape());
    apply(x.data(), y.data(), x.size());
  }

  void do_infer(const tensor<T>& x, tensor<T>& y) const override {
    y.resize(x.shape());
    if (x.size()) std::memcpy(y.data(), x.data(), x.size() * sizeof(T));
  }

  void do_backward(const tensor<T>& /*x*/, const tensor<T>& /*y*/, const tensor<T>& dy,
                   tensor<T>& dx) override {
    dx.resize(dy.shape());
    if (train_)
      apply(dy.data(), dx.data(), dy.size());
    else if (dy.size())
      std::memcpy(dx.data(), dy.data(), dy.size() * sizeof(T));
  }

 private:
  double ratio_;
  std::uint64_t seed_;
  std::uint32_t threshold_ = 0;
  T scale_ = T(1);
  bool train_ = false;       // the last forward applied a mask
  std::uint64_t step_ = 0;   // ... at this step

  // 32-bit key of a step and of a run of 2^32 elements
  std::uint32_t key(std::uint64_t step, std::uint64_t hi) const {
    const std::uint64_t z = detail::mix64(detail::mix64(seed_ ^ 0xD6E8FEB86659FD93ull) + step);
    return static_cast<std::uint32_t>(detail::mix64(z + hi * 0x9E3779B97F4A7C15ull) >> 32);
  }
  // out[i] = in[i] * scale where kept (mask of step_), else 0.
  void apply(const T* in, T* out, std::size_t n) const {
    const std::uint32_t th = threshold_;
    const T sc = scale_;
    detail::elementwise(n, [=](std::size_t b, std::size_t e) {
      while (b < e) {  // runs of 2^32 elements share a key (one run in practice)
        const std::uint64_t hi = std::uint64_t(b) >> 32;
        const std::size_t stop = std::size_t(std::min<std::uint64_t>(e, (hi + 1) << 32));  // 32-bit size_t: e
        const std::uint32_t k = key(step_, hi);
        for (std::size_t i = b; i < stop; ++i) {
          const std::uint32_t h = detail::fmix32(static_cast<std::uint32_t>(i) * 0x9E3779B9u + k);
          const T x = in[i];  // select the input, then scale: vectorizes (0 * sc = 0 exactly)
          out[i] = (h >= th ? x : T(0)) * sc;
        }
        b = stop;
      }
    });
  }
};

HOUSENET_END_NAMESPACE

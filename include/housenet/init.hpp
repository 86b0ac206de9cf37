// housenet/init.hpp: parameter initialisers (Chainer's defaults).
//
// WHAT THIS IS
//   Fills parameter tensors from a caller-seeded housenet::prng (never any other randomness):
//     lecun_normal   N(0, 1/fan_in)   Chainer's default for convolution and linear weights
//     he_normal      N(0, 2/fan_in)   for ReLU networks trained from scratch
//     constant_fill  a constant (biases 0, batch-norm gamma 1 / beta 0, running stats 0 / 1)
//   fan_in = in_channels * kh * kw (conv) or in_features (linear).
//   Values are drawn in row-major order, so a given seed gives the same weights on every platform.
//
// THREAD SAFETY: free functions; the prng is the caller's (one per thread).
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "error.hpp"
#include "random.hpp"
#include "tensor.hpp"

HOUSENET_BEGIN_NAMESPACE

// The weight initialiser of conv2d / linear; its name is stored in the layer config.
enum class init_kind { lecun, he };

inline const char* to_string(init_kind k) { return k == init_kind::he ? "he" : "lecun"; }

// "lecun" or "he"; anything else throws "init: unknown initialiser 'x' (expected lecun or he)".
inline init_kind parse_init_kind(const std::string& s) {
  if (s == "lecun") return init_kind::lecun;
  if (s == "he") return init_kind::he;
  detail::fail(detail::concat("init: unknown initialiser '", s, "' (expected lecun or he)"));
}

// Fills v with N(0, stddev^2), drawn in row-major order.
template <class T>
void normal_fill(const tensor_view<T>& v, double stddev, prng& rng) {
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(rng.normal(0.0, stddev));
}

// LeCun normal: stddev = sqrt(1 / fan_in). Requires fan_in > 0.
template <class T>
void lecun_normal(const tensor_view<T>& v, std::size_t fan_in, prng& rng) {
  HOUSENET_CHECK(fan_in > 0, "init: fan_in is 0");
  normal_fill(v, std::sqrt(1.0 / double(fan_in)), rng);
}

// He normal: stddev = sqrt(2 / fan_in). Requires fan_in > 0.
template <class T>
void he_normal(const tensor_view<T>& v, std::size_t fan_in, prng& rng) {
  HOUSENET_CHECK(fan_in > 0, "init: fan_in is 0");
  normal_fill(v, std::sqrt(2.0 / double(fan_in)), rng);
}

template <class T>
void init_weights(init_kind k, const tensor_view<T>& v, std::size_t fan_in, prng& rng) {
  if (k == init_kind::he)
    he_normal(v, fan_in, rng);
  else
    lecun_normal(v, fan_in, rng);
}

template <class T>
void constant_fill(const tensor_view<T>& v, T value) {
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = value;
}

HOUSENET_END_NAMESPACE

// housenet/conv_algorithm.hpp: which algorithm conv2d uses (a run-time setting).
//
//   automatic  Winograd (detail/winograd.hpp) for wide stride-1 layers with a 3x3 to 5x5 kernel
//              (see detail::conv_use_winograd), im2col + GEMM otherwise. The default.
//   direct     im2col + GEMM everywhere (no Winograd rounding: ~1e-5 of the output's scale).
//   winograd   Winograd wherever it applies (stride 1, square kernel 2..7, padding < kernel).
//
// Chosen once from the environment, HOUSENET_CONV=auto|direct|winograd, else automatic;
// set_conv_algorithm() changes it for the whole program (tests, benchmarks).
//
// THREAD SAFETY: get_conv_algorithm() is safe from any thread; set_conv_algorithm() must not race
// with running layers.
#pragma once

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "config.hpp"

HOUSENET_BEGIN_NAMESPACE

enum class conv_algorithm : int { automatic = 0, direct = 1, winograd = 2 };

namespace detail {
inline conv_algorithm initial_conv_algorithm() {
  if (const char* env = std::getenv("HOUSENET_CONV")) {
    if (std::strcmp(env, "direct") == 0) return conv_algorithm::direct;
    if (std::strcmp(env, "winograd") == 0) return conv_algorithm::winograd;
  }
  return conv_algorithm::automatic;
}
inline std::atomic<int>& conv_algorithm_slot() {
  static std::atomic<int> slot{int(initial_conv_algorithm())};
  return slot;
}
}  // namespace detail

inline conv_algorithm get_conv_algorithm() {
  return conv_algorithm(detail::conv_algorithm_slot().load(std::memory_order_relaxed));
}
inline void set_conv_algorithm(conv_algorithm a) {
  detail::conv_algorithm_slot().store(int(a), std::memory_order_relaxed);
}

HOUSENET_END_NAMESPACE

// housenet/random.hpp: the library's seeded random generator.
//
// SplitMix64: tiny, fast, and the same stream on every platform and compiler (unlike the
// std:: distributions, whose outputs are implementation-defined). Every random choice the
// library makes (initialisation, dropout masks, shuffles, augmentation) comes from a prng
// seeded by the caller; the library never touches std::random_device.
//
// THREAD SAFETY: one generator per thread; fork() gives an independent child stream.
#pragma once

#include <cmath>
#include <cstdint>

#include "config.hpp"

HOUSENET_BEGIN_NAMESPACE

class prng {
 public:
  explicit prng(std::uint64_t seed = 0) : state_(seed * 0x9E3779B97F4A7C15ull) {}

  std::uint64_t next_u64() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n); n > 0. (Lemire's multiply-shift; bias < 2^-64 * n.)
  std::uint64_t uniform_int(std::uint64_t n) {
    __extension__ typedef unsigned __int128 u128;
    return static_cast<std::uint64_t>((static_cast<u128>(next_u64()) * n) >> 64);
  }
  // Standard normal (Box-Muller; both values of a pair are used).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1;
    do u1 = uniform(); while (u1 <= 0.0);
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double t = 6.283185307179586476925 * u2;
    spare_ = r * std::sin(t);
    has_spare_ = true;
    return r * std::cos(t);
  }
  double normal(double mean, double stddev) { return mean + stddev * normal(); }
  // An independent generator derived from this one (advances this one by one step).
  prng fork() { return prng(next_u64() ^ 0xD1B54A32D192ED03ull); }

  // The stream position; from_state(g.state()) continues g's stream exactly (a pending
  // Box-Muller value is dropped, so call it between whole normal() pairs or use uniforms only).
  std::uint64_t state() const { return state_; }
  static prng from_state(std::uint64_t state) {
    prng g;
    g.state_ = state;
    return g;
  }

 private:
  std::uint64_t state_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

HOUSENET_END_NAMESPACE

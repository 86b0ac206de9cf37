// tests/random_data.hpp: deterministic test data shared by the kernel tests.
#pragma once

#include <housenet/random.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace housenet_test {

// count values in [-1, 1), from the library's own generator
template <class T>
std::vector<T> random_vec(std::size_t count, std::uint64_t seed) {
  std::vector<T> v(count);
  housenet::prng g(seed);
  for (auto& x : v) x = T(g.uniform(-1.0, 1.0));
  return v;
}

}  // namespace housenet_test

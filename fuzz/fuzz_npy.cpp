// libFuzzer target: .npy reading (housenet/npy.hpp, npy_from_bytes). Any input must give a tensor
// or one housenet::error; a tensor that loads is written back by npy_bytes and must read back the
// same (shape and bits).
#include <housenet/npy.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const housenet::tensor<float> x = housenet::npy_from_bytes(data, size, "fuzz.npy");
    const std::vector<std::uint8_t> b = housenet::npy_bytes(x);
    const housenet::tensor<float> y = housenet::npy_from_bytes(b.data(), b.size(), "again.npy");
    if (!(y.shape() == x.shape()) || std::memcmp(x.data(), y.data(), 4 * x.size()) != 0) __builtin_trap();
  } catch (const housenet::error&) {
  }
  return 0;
}

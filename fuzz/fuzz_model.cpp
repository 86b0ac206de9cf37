// libFuzzer target: the model-file readers (housenet/model_io/format.hpp's decode, through the
// in-memory API of model_io/model_file.hpp and model_io/checkpoint.hpp, and ensemble_io.hpp).
// Each input is tried twice: as given, and with its trailing CRC-32 recomputed, so the fuzzer
// also reaches the header, architecture and record checks behind the checksum. Any input must
// give a model (or checkpoint, or ensemble) or one housenet::error; a small loaded model is then
// run once.
#include <housenet/detail/crc32.hpp>
#include <housenet/ensemble_io.hpp>
#include <housenet/model_io/checkpoint.hpp>
#include <housenet/model_io/model_file.hpp>
#include <housenet/optim.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace {

void use(const housenet::sequential<float>& m) {
  if (m.num_params() > (1u << 16) || m.input_shape().size() > (1u << 12)) return;
  for (std::size_t i = 0; i < m.size(); ++i)
    if (m.layer_output_shape(i).size() > (1u << 16)) return;
  housenet::tensor<float> x(m.input_shape(), 0.5f), y;
  m.predict(x, y);
  if (y.size() != m.output_shape().size()) __builtin_trap();
}

void try_bytes(const std::uint8_t* data, std::size_t size) {
  try {
    housenet::loaded_model<float> m = housenet::model_from_bytes<float>(data, size, "fuzz.hsnt");
    use(m.model);
    // A file that loads must save to the same bytes' meaning: re-encode and reload.
    const std::vector<std::uint8_t> again = housenet::model_to_bytes(m.model, m.info.labels);
    (void)housenet::model_from_bytes<float>(again.data(), again.size(), "again.hsnt");
  } catch (const housenet::error&) {
  }
  try {
    housenet::loaded_ensemble<float> e = housenet::ensemble_from_bytes<float>(data, size, "fuzz.hsnt");
    for (const auto& m : e.members) use(m);
    const std::vector<std::uint8_t> again = housenet::ensemble_to_bytes(e.members, e.info.labels);
    const housenet::loaded_ensemble<float> back = housenet::ensemble_from_bytes<float>(again.data(), again.size(), "again.hsnt");
    if (back.members.size() != e.members.size()) __builtin_trap();
  } catch (const housenet::error&) {
  }
  try {
    housenet::sgd<float>::options so;
    so.momentum = 0.9;
    housenet::sgd<float> sgd(so);
    housenet::loaded_checkpoint<float> c = housenet::checkpoint_from_bytes<float>(data, size, sgd, "fuzz.ckpt");
    use(c.model);
  } catch (const housenet::error&) {
  }
  try {
    housenet::adam<float> adam{housenet::adam<float>::options{}};
    (void)housenet::checkpoint_from_bytes<float>(data, size, adam, "fuzz.ckpt");
  } catch (const housenet::error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  housenet::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try_bytes(data, size);
  if (size >= 4) {
    std::vector<std::uint8_t> fixed(data, data + size);
    const std::uint32_t crc = housenet::detail::crc32(fixed.data(), size - 4);
    for (int i = 0; i < 4; ++i) fixed[size - 4 + std::size_t(i)] = std::uint8_t(crc >> (8 * i));
    try_bytes(fixed.data(), fixed.size());
  }
  return 0;
}

// libFuzzer target: the ONNX reader (housenet/onnx/import.hpp's onnx_from_bytes, on
// onnx/protobuf.hpp's reader). Any input must give a model or one housenet::error. A small model
// that loads is run once by predict, written back (save_onnx's model_to_onnx; it may refuse a
// layer it has no exact ONNX form for) and, when written, must load again: anything else traps.
// The same for an ensemble (onnx_ensemble_from_bytes: the Mean of Softmaxes of branches):
// predict_probabilities runs, and its export (one graph) loads again with as many members.
#include <housenet/onnx.hpp>
#include <housenet/predict.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace {

bool small(const housenet::graph<float>& m) {
  if (m.num_params() > (1u << 16) || m.input_shape().size() > (1u << 12)) return false;
  for (std::size_t i = 0; i < m.size(); ++i)
    if (m.layer_output_shape(i).size() > (1u << 16)) return false;
  return true;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  housenet::set_num_threads(1);
  return 0;
}

// An ensemble file: its members run together, and what housenet writes of them it reads back.
void ensemble(const std::uint8_t* data, std::size_t size) {
  housenet::loaded_ensemble<float> e;
  try {
    e = housenet::onnx_ensemble_from_bytes<float>(data, size, "fuzz.onnx");
  } catch (const housenet::error&) {
    return;
  }
  if (!e.is_ensemble) return;
  for (const auto& m : e.members)
    if (!small(m)) return;
  housenet::tensor<float> x(e.members[0].input_shape(), 0.5f), p;
  housenet::predict_probabilities(e.members, x, p);
  if (p.size() != e.info.classes) __builtin_trap();
  std::vector<std::uint8_t> again;
  try {
    housenet::onnx_options o;
    o.labels = e.info.labels;
    again = housenet::model_to_onnx(e.members, o);
  } catch (const housenet::error&) {
    return;
  }
  try {
    if (housenet::onnx_ensemble_from_bytes<float>(again.data(), again.size(), "again.onnx").members.size() !=
        e.members.size())
      __builtin_trap();
  } catch (const housenet::error&) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  housenet::loaded_onnx<float> m;
  try {
    m = housenet::onnx_from_bytes<float>(data, size, "fuzz.onnx");
  } catch (const housenet::error&) {
    ensemble(data, size);
    return 0;
  }
  if (!small(m.model)) return 0;
  housenet::tensor<float> x(m.model.input_shape(), 0.5f), y;
  m.model.predict(x, y);
  if (y.size() != m.model.output_shape().size()) __builtin_trap();
  std::vector<std::uint8_t> again;
  try {
    housenet::onnx_options o;
    o.labels = m.labels;
    again = housenet::model_to_onnx(m.model, o);
  } catch (const housenet::error&) {
    return 0;
  }
  try {
    (void)housenet::onnx_from_bytes<float>(again.data(), again.size(), "again.onnx");
  } catch (const housenet::error&) {
    __builtin_trap();  // what housenet writes, housenet reads
  }
  return 0;
}

// housenet/model_io/model_file.hpp: saving and loading a model (.hsnt, model_io/format.hpp).
//
// WHAT THIS IS
//   model_to_bytes(model, labels) / model_from_bytes<T>(data, size, name)   in memory
//   save_model(model, labels, path)   streamed to file_io.hpp's atomic writer
//   load_model<T>(path)               -> loaded_model<T> {model (eval mode), info}
//   load_model(path, model, &labels)  into the caller's objects, only if the whole file is valid
//   model_io.hpp's opening comment is the contract.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "../file_io.hpp"
#include "../graph.hpp"
#include "format.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T = float>
struct loaded_model {
  graph<T> model;
  model_info info;
};

namespace detail {
// A model or checkpoint file's bytes (at most 256 GiB).
inline std::vector<std::uint8_t> read_model_file(const std::string& path) {
  return read_file_bytes(path, "model file", std::uint64_t(1) << 38);
}
}  // namespace detail

// The bytes of a model file.
template <class T>
std::vector<std::uint8_t> model_to_bytes(const graph<T>& model,
                                         const std::vector<std::string>& labels = {}) {
  return detail::encode(model, labels, 0, {}, {});
}

// Writes a model file atomically, streamed: no copy of the file in memory.
template <class T>
void save_model(const graph<T>& model, const std::vector<std::string>& labels,
                const std::string& path) {
  write_file_atomic_with(path, [&](const auto& write) {
    detail::encode_to(model, labels, 0, {}, {}, write);
  });
}

// Reads a model (or a checkpoint's model) from memory; `name` prefixes the error messages.
// `layers` rebuilds the layers (a program with layers of its own passes its registry).
template <class T = float>
loaded_model<T> model_from_bytes(const void* data, std::size_t size,
                                 const std::string& name = "<memory>",
                                 const layer_registry<T>& layers = builtin_layers<T>()) {
  static const std::uint8_t empty = 0;
  detail::decoded<T> d =
      detail::decode<T>(size ? static_cast<const std::uint8_t*>(data) : &empty, size, name, layers);
  loaded_model<T> m{std::move(d.model), std::move(d.info)};
  m.model.eval();
  return m;
}

template <class T = float>
loaded_model<T> load_model(const std::string& path, const layer_registry<T>& layers = builtin_layers<T>()) {
  const std::vector<std::uint8_t> b = detail::read_model_file(path);
  return model_from_bytes<T>(b.data(), b.size(), path, layers);
}

// Loads into the caller's model (and labels, when given) only if the whole file is valid.
template <class T>
void load_model(const std::string& path, graph<T>& model,
                std::vector<std::string>* labels = nullptr,
                const layer_registry<T>& layers = builtin_layers<T>()) {
  loaded_model<T> m = load_model<T>(path, layers);
  model = std::move(m.model);
  if (labels) *labels = std::move(m.info.labels);
}

HOUSENET_END_NAMESPACE

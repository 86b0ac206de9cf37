// examples/app/models.hpp: model files as the app uses them: a network plus its class names.
// (They are written by the library's housenet::save_model, housenet/model_io.hpp: atomic.)
//
//   model_file                        a loaded model file: its network(s), classes, path and
//                                     header (member 1's); a model file has one member, an
//                                     ensemble file (housenet/ensemble_io.hpp) several, whose
//                                     mean probability is the answer (classify.hpp)
//   load_model_file(path)             the network(s) rebuilt from the file, and its classes: a
//                                     housenet file (.hsnt: it starts with "HSNT"), or an ONNX
//                                     file (housenet/onnx.hpp: the ops of docs/onnx.md)
//   load_model_or_default(path)       path, or the bundled default model when path is empty; when
//                                     there is none, says so in one line
//   initial_network(path, classes)    train --init-from: a one-network file's network, checked
//                                     against the data set's classes
//   describe_model(m)                 the text of `housenet info`
//   all_finite(values)                no NaN or infinity among them (in parallel: 61 M weights in ~10 ms)
#pragma once

#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <housenet/ensemble_io.hpp>
#include <housenet/housenet.hpp>
#include <housenet/model_io.hpp>
#ifndef HOUSENET_APP_NO_ONNX  // (the web page reads its bundled .hsnt only: ONNX is 64 KB of wasm)
#include <housenet/onnx.hpp>
#endif

#include "cli.hpp"
#include "files.hpp"

namespace app {

constexpr const char* default_model_name = "houses.hsnt";

struct model_file {
  std::vector<housenet::sequential<float>> members;  // one, or an ensemble's members
  bool is_ensemble = false;                          // the file is an ensemble file
  bool is_onnx = false;                              // an ONNX file (info: opset, producer)
  std::vector<std::string> classes;
  std::string path;
  housenet::model_info info;  // member 1's
  housenet::shape input_shape() const { return members.at(0).input_shape(); }
};

inline bool all_finite(housenet::tensor_view<const float> v) {
  std::atomic<bool> ok{true};
  const float* p = v.data();
  housenet::parallel_for(v.size(), [&](std::size_t b, std::size_t e) {
    std::uint32_t bad = 0;  // branch-free (vectorizes): the exponent bits all set means NaN or inf
    for (std::size_t i = b; i < e; ++i) {
      std::uint32_t u;
      std::memcpy(&u, p + i, 4);
      bad |= std::uint32_t((u & 0x7F800000u) == 0x7F800000u);
    }
    if (bad) ok.store(false, std::memory_order_relaxed);
  });
  return ok.load();
}

// An ONNX file: not a housenet file (those start with "HSNT") and named *.onnx.
inline bool is_onnx_path(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (ext != ".onnx") return false;
  char magic[4] = {};
  std::ifstream f(path, std::ios::binary);
  return !(f.read(magic, 4) && std::memcmp(magic, "HSNT", 4) == 0);
}

inline model_file load_model_file(const std::string& path) {
  model_file m;
  m.path = path;
  m.is_onnx = is_onnx_path(path);
#ifndef HOUSENET_APP_NO_ONNX
  housenet::loaded_ensemble<float> l =
      m.is_onnx ? housenet::load_onnx_ensemble<float>(path) : housenet::load_ensemble<float>(path);
#else
  if (m.is_onnx) throw app_error(path + ": ONNX files are not read by this build");
  housenet::loaded_ensemble<float> l = housenet::load_ensemble<float>(path);
#endif
  m.members = std::move(l.members);
  m.is_ensemble = l.is_ensemble || l.members.size() > 1;
  m.info = std::move(l.info);
  m.classes = m.info.labels;
  if (m.classes.empty())  // a file without labels: number the classes
    for (std::size_t i = 0; i < m.info.classes; ++i) m.classes.push_back("class" + std::to_string(i));
  const std::size_t outputs = m.members[0].output_shape().sample_size();
  if (m.classes.size() != outputs)
    throw app_error(path + ": " + std::to_string(m.classes.size()) + " labels for a network with " +
                    std::to_string(outputs) + " outputs");
  return m;
}

inline model_file load_model_or_default(const std::string& path) {
  if (!path.empty()) return load_model_file(path);
  const fs::path p = find_data_file(default_model_name);
  if (p.empty())
    throw app_error(std::string("no default model yet: ") + default_model_name + " is not in any of " +
                    data_dirs_list() + "; train one with 'housenet train' and pass it with -m MODEL");
  return load_model_file(p.string());
}

// train --init-from: the network of a one-network model file (.hsnt or .onnx), to train further
// on a data set with `classes`: the class count must match (a warning when the names differ).
inline housenet::sequential<float> initial_network(const std::string& path, const std::vector<std::string>& classes) {
  model_file m = load_model_file(path);
  if (m.members.size() != 1)
    throw app_error("train: --init-from " + path + " is an ensemble of " + std::to_string(m.members.size()) +
                    " models; training starts from one network");
  if (m.classes.size() != classes.size())
    throw app_error("train: --init-from " + path + " has " + std::to_string(m.classes.size()) +
                    " classes, the data set " + std::to_string(classes.size()));
  if (!m.info.labels.empty() && m.info.labels != classes)
    std::fprintf(stderr, "housenet train: warning: %s's classes are not the data set's (same count: trained as they are)\n",
                 path.c_str());
  return std::move(m.members[0]);
}

inline std::string describe_model(const model_file& m) {
  std::ostringstream os;
  std::error_code ec;
  const auto bytes = fs::file_size(m.path, ec);
  if (m.is_onnx)
    os << m.path << ": ONNX " << (m.is_ensemble ? "ensemble" : "model") << ", opset " << m.info.format_version << ", "
       << (ec ? 0 : bytes) << " bytes, written by " << (m.info.housenet_version.empty() ? "?" : m.info.housenet_version)
       << "\n";
  else
    os << m.path << ": housenet " << (m.is_ensemble ? "ensemble" : "model") << ", format version "
       << m.info.format_version << ", " << (ec ? 0 : bytes) << " bytes, written by housenet "
       << m.info.housenet_version << "\n";
  std::size_t params = 0;
  bool same = true;  // every member the same architecture: one table
  for (const auto& net : m.members) {
    params += net.num_params();
    same = same && net.summary() == m.members[0].summary();
  }
  if (m.is_ensemble)
    os << "an ensemble of " << m.members.size() << " models (the answer is the mean of their probabilities), "
       << params << " parameters in all\n";
  else
    os << "a single model\n";
  os << "classes (" << m.classes.size() << "):";
  for (const auto& c : m.classes) os << " " << c;
  os << "\ninput: " << m.input_shape().str() << "\n";
  for (std::size_t i = 0; i < m.members.size(); ++i) {
    if (same && i > 0) break;
    if (m.is_ensemble) os << (same ? std::string("each member:") : "member " + std::to_string(i + 1) + ":") << "\n";
    os << m.members[i].summary();
  }
  return os.str();
}

}  // namespace app

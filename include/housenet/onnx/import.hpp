// housenet/onnx/import.hpp: an ONNX file as a housenet model (docs/onnx.md).
//
// WHAT THIS IS
//   load_onnx<T>(path)                       -> loaded_onnx<T> {model (eval mode, set up), labels,
//                                               opset, producer}
//   onnx_from_bytes<T>(data, size, name)     the same from memory; `name` prefixes every error
//   load_onnx_ensemble<T>(path)              -> loaded_ensemble<T> (ensemble_io.hpp), what the app
//                                               loads: a one-network file gives one member
//   The model is a graph<T> of built-in layers that runs inference and trains further
//   (fine-tuning). The ops read (default domain, opsets 1..17: each op as
//   its latest version up to 17 defines it; BatchNormalization's spatial 0 of opsets < 9 is refused):
//     Conv (square kernel, equal strides and dilations, symmetric pads, group),
//     BatchNormalization (inference form; epsilon, momentum), Relu, LeakyRelu, Sigmoid, Tanh,
//     MaxPool, AveragePool (square kernel, equal strides, symmetric pads, ceil_mode,
//     count_include_pad; also export.hpp's floor-mode form with grown end pads), GlobalAveragePool,
//     Gemm (transA 0; transB 0 or 1; alpha and beta folded into the weights), Flatten (axis 1),
//     Dropout and Identity (nothing: their readers read their input), Add and Sum (of tensors),
//     Concat (axis 1).
//   Weights are float32 initializers (raw_data or float_data), copied straight from the file's
//   bytes into the model's arena: the file and the model are the only copies.
//   The class labels come from metadata_props "labels" (one per line; export.hpp writes them).
//
// BOUNDS AND ERRORS
//   The file is read whole (at most 256 GiB); protobuf.hpp bounds every length; counts are bounded
//   before anything is stored (nodes, initializers, attributes, inputs, dimensions); a tensor's
//   element count is checked against its bytes. Any problem throws one housenet::error naming the
//   file, and the node when there is one: "<file>: node 'conv2d #1' (Conv): ...". An op outside
//   the list names it and the supported list. Nothing is half-loaded: the model is returned only
//   when the whole file was read.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../detail/binary_io.hpp"
#include "../detail/number.hpp"
#include "../ensemble_io.hpp"
#include "../file_io.hpp"
#include "../graph.hpp"
#include "../layers/factory.hpp"
#include "export.hpp"
#include "protobuf.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T = float>
struct loaded_onnx {
  graph<T> model;
  std::vector<std::string> labels;  // empty when the file has none
  std::int64_t opset = 0;
  std::string producer;
};

namespace detail {

struct onnx_limits {
  static constexpr std::size_t nodes = 1u << 16, initializers = 1u << 16, attributes = 64, io = 64,
                               rank = 8, ints = 64, values = 1u << 10, name = 4096, metadata = 1u << 20;
};

struct onnx_attr {
  std::string name;
  std::int64_t type = 0;
  std::int64_t i = 0;
  float f = 0;
  bool has_i = false, has_f = false;
  std::vector<std::int64_t> ints;
};

struct onnx_node_in {
  std::string op, name, domain;
  std::vector<std::string> in, out;
  std::vector<onnx_attr> attrs;
};

struct onnx_tensor_in {
  std::string name;
  std::vector<std::int64_t> dims;
  std::int64_t type = 0;
  const std::uint8_t* raw = nullptr;  // raw_data: a range of the file
  std::size_t raw_size = 0;
  std::vector<float> floats;  // float_data
  bool external = false;
};

struct onnx_value_in {
  std::string name;
  std::vector<std::int64_t> dims;  // -1: symbolic or absent
  bool has_shape = false;
};

struct onnx_graph_in {
  std::vector<onnx_node_in> nodes;
  std::vector<onnx_tensor_in> inits;
  std::vector<onnx_value_in> inputs, outputs;
  std::int64_t opset = -1;
  std::string producer;
  std::vector<std::string> labels;
  bool has_graph = false;
};

inline std::vector<std::int64_t> onnx_read_dims(protobuf::reader& r, const protobuf::field& type_field, bool& has_shape) {
  std::vector<std::int64_t> dims;
  has_shape = false;
  protobuf::reader ty = r.nested(type_field);
  protobuf::field f;
  while (ty.next(f)) {
    if (f.number != 1) continue;  // tensor_type
    protobuf::reader tt = ty.nested(f);
    protobuf::field g;
    while (tt.next(g)) {
      if (g.number != 2) continue;  // shape
      has_shape = true;
      protobuf::reader sh = tt.nested(g);
      protobuf::field d;
      while (sh.next(d)) {
        if (d.number != 1) continue;
        if (dims.size() >= onnx_limits::rank) sh.fail_at(d.data, "a shape of more than 8 dimensions");
        protobuf::reader dr = sh.nested(d);
        protobuf::field v;
        std::int64_t value = -1;
        while (dr.next(v))
          if (v.number == 1) value = dr.i64(v);
        dims.push_back(value);
      }
    }
  }
  return dims;
}

inline onnx_value_in onnx_read_value(protobuf::reader& r, const protobuf::field& f) {
  onnx_value_in v;
  protobuf::reader m = r.nested(f);
  protobuf::field x;
  while (m.next(x)) {
    if (x.number == 1) v.name = m.str(x, onnx_limits::name);
    if (x.number == 2) v.dims = onnx_read_dims(m, x, v.has_shape);
  }
  return v;
}

inline onnx_graph_in onnx_parse(const std::uint8_t* data, std::size_t size, const std::string& name) {
  onnx_graph_in g;
  protobuf::reader m(data, size, name);
  protobuf::field f;
  while (m.next(f)) {
    if (f.number == 2) g.producer = m.str(f, onnx_limits::name);
    if (f.number == 8) {  // opset_import
      protobuf::reader o = m.nested(f);
      protobuf::field x;
      std::string domain;
      std::int64_t version = -1;
      while (o.next(x)) {
        if (x.number == 1) domain = o.str(x, onnx_limits::name);
        if (x.number == 2) version = o.i64(x);
      }
      if (domain.empty() || domain == "ai.onnx") g.opset = version;
    }
    if (f.number == 14) {  // metadata_props
      protobuf::reader e = m.nested(f);
      protobuf::field x;
      std::string k, v;
      while (e.next(x)) {
        if (x.number == 1) k = e.str(x, onnx_limits::name);
        if (x.number == 2) v = e.str(x, onnx_limits::metadata);
      }
      if (k == "labels") {
        g.labels.clear();
        std::size_t at = 0;
        while (!v.empty()) {
          const std::size_t nl = v.find('\n', at);
          g.labels.push_back(v.substr(at, nl == std::string::npos ? std::string::npos : nl - at));
          if (nl == std::string::npos) break;
          at = nl + 1;
        }
      }
    }
    if (f.number != 7) continue;
    HOUSENET_CHECK(!g.has_graph, name, ": ONNX: two graphs");
    g.has_graph = true;
    protobuf::reader gr = m.nested(f);
    protobuf::field gf;
    while (gr.next(gf)) {
      if (gf.number == 1) {  // node
        if (g.nodes.size() >= onnx_limits::nodes) gr.fail_at(gf.data, "more than 65536 nodes");
        onnx_node_in n;
        protobuf::reader nr = gr.nested(gf);
        protobuf::field x;
        while (nr.next(x)) {
          if ((x.number == 1 || x.number == 2) && (x.number == 1 ? n.in : n.out).size() >= onnx_limits::io)
            nr.fail_at(x.data, "a node with more than 64 inputs or outputs");
          if (x.number == 1) n.in.push_back(nr.str(x, onnx_limits::name));
          if (x.number == 2) n.out.push_back(nr.str(x, onnx_limits::name));
          if (x.number == 3) n.name = nr.str(x, onnx_limits::name);
          if (x.number == 4) n.op = nr.str(x, onnx_limits::name);
          if (x.number == 7) n.domain = nr.str(x, onnx_limits::name);
          if (x.number == 5) {
            if (n.attrs.size() >= onnx_limits::attributes) nr.fail_at(x.data, "a node with more than 64 attributes");
            protobuf::reader ar = nr.nested(x);
            protobuf::field y;
            onnx_attr a;
            while (ar.next(y)) {
              if (y.number == 1) a.name = ar.str(y, onnx_limits::name);
              if (y.number == 20) a.type = ar.i64(y);
              if (y.number == 2) a.f = ar.f32(y), a.has_f = true;
              if (y.number == 3) a.i = ar.i64(y), a.has_i = true;
              if (y.number == 8) ar.append_i64(y, a.ints, onnx_limits::ints);
            }
            n.attrs.push_back(std::move(a));
          }
        }
        g.nodes.push_back(std::move(n));
      } else if (gf.number == 5) {  // initializer
        if (g.inits.size() >= onnx_limits::initializers) gr.fail_at(gf.data, "more than 65536 initializers");
        onnx_tensor_in t;
        protobuf::reader tr = gr.nested(gf);
        protobuf::field x;
        while (tr.next(x)) {
          if (x.number == 1) tr.append_i64(x, t.dims, onnx_limits::rank);
          if (x.number == 2) t.type = tr.i64(x);
          if (x.number == 8) t.name = tr.str(x, onnx_limits::name);
          if (x.number == 9) {
            if (x.type != protobuf::wire::bytes) tr.str(x);  // throws the wire-type error
            t.raw = x.data;
            t.raw_size = x.size;
          }
          if (x.number == 4) tr.append_f32(x, t.floats, std::size_t(1) << 24);
          if (x.number == 13) t.external = true;
          if (x.number == 14 && tr.i64(x) == 1) t.external = true;
        }
        g.inits.push_back(std::move(t));
      } else if (gf.number == 11 || gf.number == 12) {
        auto& list = gf.number == 11 ? g.inputs : g.outputs;
        if (list.size() >= onnx_limits::initializers) gr.fail_at(gf.data, "too many graph inputs or outputs");
        list.push_back(onnx_read_value(gr, gf));
      }
    }
  }
  return g;
}

inline const char* onnx_importable_ops() {
  return "Conv, BatchNormalization, Relu, LeakyRelu, Sigmoid, Tanh, MaxPool, AveragePool, GlobalAveragePool, "
         "Gemm, Flatten, Dropout, Identity, Add, Sum, Concat";
}

inline const onnx_attr* onnx_find_attr(const onnx_node_in& n, const char* name) {
  for (const auto& a : n.attrs)
    if (a.name == name) return &a;
  return nullptr;
}
inline std::int64_t onnx_attr_i(const onnx_node_in& n, const char* name, std::int64_t def) {
  const onnx_attr* a = onnx_find_attr(n, name);
  if (!a) return def;
  HOUSENET_CHECK(a->has_i, "attribute '", name, "' is not an integer");
  return a->i;
}
// A float attribute as the double its writer most likely meant: the shortest decimal that reads
// back as that float (2e-5 written as a float32 reads back 2e-05, not 1.9999999494757503e-05), so
// a housenet model exported and imported keeps its hyperparameters, and its bits.
inline double onnx_real(float v) {
  double d = double(v);
  detail::parse_real(detail::format_real(v), d);
  return d;
}

inline float onnx_attr_f(const onnx_node_in& n, const char* name, float def) {
  const onnx_attr* a = onnx_find_attr(n, name);
  if (!a) return def;
  HOUSENET_CHECK(a->has_f, "attribute '", name, "' is not a float");
  return a->f;
}
inline std::vector<std::int64_t> onnx_attr_ints(const onnx_node_in& n, const char* name,
                                                std::vector<std::int64_t> def) {
  const onnx_attr* a = onnx_find_attr(n, name);
  return a ? a->ints : def;
}
// Both values of a 2-D attribute equal (housenet's layers are square): that value.
inline std::size_t onnx_square(const std::vector<std::int64_t>& v, const char* name, std::int64_t lo) {
  HOUSENET_CHECK(v.size() == 2, "attribute '", name, "' has ", v.size(), " values, expected 2 (2-D only)");
  HOUSENET_CHECK(v[0] == v[1], "attribute '", name, "' ", v[0], ",", v[1],
                 ": housenet's layers need the same value in both dimensions");
  HOUSENET_CHECK(v[0] >= lo && v[0] <= 4096, "attribute '", name, "' ", v[0], " out of range");
  return std::size_t(v[0]);
}
inline void onnx_no_auto_pad(const onnx_node_in& n) {
  const onnx_attr* a = onnx_find_attr(n, "auto_pad");
  HOUSENET_CHECK(!a || a->type == 0, "attribute 'auto_pad' is not supported (write explicit pads)");
}

}  // namespace detail

template <class T = float>
loaded_onnx<T> onnx_from_bytes(const void* data, std::size_t size, const std::string& name = "<memory>") {
  using namespace detail;
  static const std::uint8_t empty = 0;
  const std::uint8_t* bytes = size ? static_cast<const std::uint8_t*>(data) : &empty;
  HOUSENET_CHECK(size > 0, name, ": not an ONNX file (empty)");
  const onnx_graph_in g = onnx_parse(bytes, size, name);
  HOUSENET_CHECK(g.has_graph, name, ": not an ONNX model (no graph)");
  HOUSENET_CHECK(g.opset >= 1 && g.opset <= 17, name, ": ONNX opset ", g.opset,
                 " not supported (this build reads 1..17 of the default domain)");

  std::map<std::string, const onnx_tensor_in*> inits;
  for (const auto& t : g.inits) {
    HOUSENET_CHECK(!t.external, name, ": initializer '", t.name,
                   "': external data is not supported (save the model with its weights inside)");
    inits[t.name] = &t;
  }
  // the one graph input that is not an initializer
  const onnx_value_in* input = nullptr;
  for (const auto& v : g.inputs)
    if (!inits.count(v.name)) {
      HOUSENET_CHECK(input == nullptr, name, ": ONNX graph with several inputs ('", input->name, "', '", v.name,
                     "'); housenet models take one");
      input = &v;
    }
  HOUSENET_CHECK(input != nullptr, name, ": ONNX graph without an input");
  HOUSENET_CHECK(input->has_shape && input->dims.size() >= 2 && input->dims.size() <= shape::max_rank, name,
                 ": input '", input->name, "': needs a shape of rank 2 to 4 (N x F ... N x C x H x W), has ",
                 input->has_shape ? std::to_string(input->dims.size()) : std::string("none"));
  std::vector<std::size_t> in_dims{1};
  for (std::size_t i = 1; i < input->dims.size(); ++i) {
    HOUSENET_CHECK(input->dims[i] >= 1 && input->dims[i] <= (std::int64_t(1) << 24), name, ": input '",
                   input->name, "': dimension ", i, " must be a fixed size >= 1");
    in_dims.push_back(std::size_t(input->dims[i]));
  }
  const shape in_shape = in_dims.size() == 2   ? shape{1, in_dims[1]}
                         : in_dims.size() == 3 ? shape{1, in_dims[1], in_dims[2]}
                                               : shape{1, in_dims[1], in_dims[2], in_dims[3]};
  HOUSENET_CHECK(g.outputs.size() == 1, name, ": ONNX graph with ", g.outputs.size(),
                 " outputs; housenet models have one");

  graph<T> model;
  std::map<std::string, std::size_t> node_of;  // tensor name -> housenet node id
  std::map<std::string, shape> shape_of;       // tensor name -> its sample shape (n = 1)
  node_of[input->name] = 0;
  shape_of[input->name] = in_shape;
  struct weights {
    std::size_t layer;
    std::vector<const onnx_tensor_in*> tensors;  // one per parameter, in params() order
    std::vector<float> scale;                    // per parameter (Gemm's alpha and beta)
    bool transpose_first = false;                // Gemm transB = 0
  };
  std::vector<weights> to_copy;

  for (const onnx_node_in& n : g.nodes) {
    const std::string who = detail::concat(name, ": node '", n.name, "' (", n.op, ")");
    try {
      HOUSENET_CHECK(n.domain.empty() || n.domain == "ai.onnx", "domain '", n.domain, "' is not supported");
      HOUSENET_CHECK(!n.out.empty(), "no output");
      const auto tensor_in = [&](std::size_t k) -> std::size_t {
        HOUSENET_CHECK(k < n.in.size() && !n.in[k].empty(), "input ", k + 1, " missing");
        const auto it = node_of.find(n.in[k]);
        HOUSENET_CHECK(it != node_of.end(), "reads '", n.in[k], "', which is not the graph's input or an earlier node's output",
                       inits.count(n.in[k]) ? " (it is an initializer: constant operands are not supported here)" : "");
        return it->second;
      };
      const auto init_in = [&](std::size_t k, std::size_t rank) -> const onnx_tensor_in* {
        HOUSENET_CHECK(k < n.in.size() && !n.in[k].empty(), "input ", k + 1, " missing");
        const auto it = inits.find(n.in[k]);
        HOUSENET_CHECK(it != inits.end(), "input ", k + 1, " '", n.in[k], "' must be an initializer (a constant)");
        const onnx_tensor_in& t = *it->second;
        HOUSENET_CHECK(t.type == 1, "initializer '", t.name, "': data type ", t.type, " not supported (float32 only)");
        HOUSENET_CHECK(t.dims.size() == rank, "initializer '", t.name, "' has rank ", t.dims.size(), ", expected ", rank);
        std::size_t count = 1;
        for (std::int64_t d : t.dims) {
          HOUSENET_CHECK(d >= 1 && d <= (std::int64_t(1) << 32), "initializer '", t.name, "': dimension ", d);
          HOUSENET_CHECK(count <= (std::size_t(1) << 40) / std::size_t(d), "initializer '", t.name, "' too large");
          count *= std::size_t(d);
        }
        const std::size_t have = t.raw ? t.raw_size : 4 * t.floats.size();
        HOUSENET_CHECK(have == 4 * count, "initializer '", t.name, "': ", have, " bytes of data for ", count,
                       " float32 values");
        return &t;
      };
      std::unique_ptr<layer<T>> l;
      std::vector<std::size_t> from_ids;
      weights w;
      w.layer = model.size();
      const std::string& op = n.op;
      if (op == "Identity" || op == "Dropout" || (op == "Sum" && n.in.size() == 1)) {
        const std::size_t id = tensor_in(0);
        node_of[n.out[0]] = id;
        shape_of[n.out[0]] = shape_of.at(n.in[0]);
        continue;
      }
      if (op == "Conv") {
        onnx_no_auto_pad(n);
        from_ids.push_back(tensor_in(0));
        const onnx_tensor_in* wt = init_in(1, 4);
        const std::size_t k = onnx_square(onnx_attr_ints(n, "kernel_shape", {wt->dims[2], wt->dims[3]}), "kernel_shape", 1);
        HOUSENET_CHECK(std::size_t(wt->dims[2]) == k && std::size_t(wt->dims[3]) == k, "kernel_shape does not match the weight");
        const std::size_t s = onnx_square(onnx_attr_ints(n, "strides", {1, 1}), "strides", 1);
        const std::size_t d = onnx_square(onnx_attr_ints(n, "dilations", {1, 1}), "dilations", 1);
        const std::vector<std::int64_t> pads = onnx_attr_ints(n, "pads", {0, 0, 0, 0});
        HOUSENET_CHECK(pads.size() == 4 && pads[0] == pads[1] && pads[0] == pads[2] && pads[0] == pads[3] && pads[0] >= 0 &&
                           pads[0] <= 4096,
                       "pads must be the same on every side (housenet's conv2d pads symmetrically)");
        const std::int64_t groups = onnx_attr_i(n, "group", 1);
        HOUSENET_CHECK(groups >= 1 && groups <= wt->dims[0], "group ", groups, " out of range");
        const bool bias = n.in.size() >= 3 && !n.in[2].empty();
        l = std::make_unique<conv2d<T>>(std::size_t(wt->dims[0]), k, s, std::size_t(pads[0]), bias, init_kind::lecun, d,
                                        std::size_t(groups));
        w.tensors.push_back(wt);
        if (bias) w.tensors.push_back(init_in(2, 1));
      } else if (op == "BatchNormalization") {
        from_ids.push_back(tensor_in(0));
        HOUSENET_CHECK(onnx_attr_i(n, "training_mode", 0) == 0, "training_mode is not supported (inference form only)");
        HOUSENET_CHECK(onnx_attr_i(n, "spatial", 1) == 1, "spatial 0 (opsets before 9) is not supported");
        HOUSENET_CHECK(n.out.size() == 1, "the training outputs (running mean, var) are not supported");
        const float eps = onnx_attr_f(n, "epsilon", 1e-5f), momentum = onnx_attr_f(n, "momentum", 0.9f);
        HOUSENET_CHECK(eps > 0 && eps <= 1, "epsilon ", eps, " not in (0, 1]");
        HOUSENET_CHECK(momentum >= 0 && momentum <= 1, "momentum ", momentum, " not in [0, 1]");
        l = std::make_unique<batch_norm2d<T>>(onnx_real(momentum), onnx_real(eps));
        for (std::size_t k = 1; k <= 4; ++k) w.tensors.push_back(init_in(k, 1));
      } else if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "LeakyRelu" || op == "GlobalAveragePool") {
        from_ids.push_back(tensor_in(0));
        if (op == "Relu") l = std::make_unique<relu<T>>();
        if (op == "Sigmoid") l = std::make_unique<sigmoid<T>>();
        if (op == "Tanh") l = std::make_unique<tanh_layer<T>>();
        if (op == "LeakyRelu") l = std::make_unique<leaky_relu<T>>(onnx_real(onnx_attr_f(n, "alpha", 0.01f)));
        if (op == "GlobalAveragePool") l = std::make_unique<global_avg_pool<T>>();
      } else if (op == "MaxPool" || op == "AveragePool") {
        onnx_no_auto_pad(n);
        const bool avg = op == "AveragePool";
        from_ids.push_back(tensor_in(0));
        HOUSENET_CHECK(n.out.size() == 1, "the Indices output is not supported");
        HOUSENET_CHECK(onnx_attr_i(n, "storage_order", 0) == 0, "storage_order 1 is not supported");
        onnx_square(onnx_attr_ints(n, "dilations", {1, 1}), "dilations", 1);
        HOUSENET_CHECK(onnx_attr_ints(n, "dilations", {1, 1})[0] == 1, "dilations other than 1 are not supported");
        const std::size_t k = onnx_square(onnx_attr_ints(n, "kernel_shape", {}), "kernel_shape", 1);
        const std::size_t s = onnx_square(onnx_attr_ints(n, "strides", {1, 1}), "strides", 1);
        const std::vector<std::int64_t> pads = onnx_attr_ints(n, "pads", {0, 0, 0, 0});
        const bool ceil = onnx_attr_i(n, "ceil_mode", 0) != 0;
        const bool include_pad = avg && onnx_attr_i(n, "count_include_pad", 0) != 0;
        HOUSENET_CHECK(pads.size() == 4 && pads[0] == pads[1] && pads[0] >= 0 && pads[0] <= 4096 && pads[2] >= pads[0] &&
                           pads[3] >= pads[0] && pads[2] <= 4096 && pads[3] <= 4096,
                       "pads must be the same at both beginnings and no smaller at the ends");
        const std::size_t p = std::size_t(pads[0]);
        bool housenet_ceil = ceil;
        if (pads[2] != pads[0] || pads[3] != pads[0]) {
          // export.hpp's floor-mode form of a ceil-mode layer: the end pads only make floor mode
          // reach ceil mode's size; accepted when housenet's ceil mode gives exactly that size.
          HOUSENET_CHECK(!ceil && !include_pad,
                         "pads larger at the end are supported only in floor mode without count_include_pad");
          const shape& x = shape_of.at(n.in[0]);
          HOUSENET_CHECK(x.rank() == 4, "input of rank ", x.rank(), ", expected 4");
          for (std::size_t dim = 0; dim < 2; ++dim) {
            const std::size_t len = x[2 + dim], end = std::size_t(pads[2 + dim]);
            HOUSENET_CHECK(len + p + end >= k, "the window is larger than the padded input");
            const std::size_t want = (len + p + end - k) / s + 1;
            HOUSENET_CHECK(len + 2 * p >= k && pool_out_size(len, k, s, p, true) == want,
                           "pads ", pads[0], ",", pads[1], ",", pads[2], ",", pads[3],
                           " are not symmetric and not a ceil-mode layer's floor-mode form");
          }
          housenet_ceil = true;
        }
        if (avg)
          l = std::make_unique<avg_pool2d<T>>(k, s, p, housenet_ceil, include_pad);
        else
          l = std::make_unique<max_pool2d<T>>(k, s, p, housenet_ceil);
      } else if (op == "Flatten") {
        from_ids.push_back(tensor_in(0));
        std::int64_t axis = onnx_attr_i(n, "axis", 1);
        const std::int64_t rank = std::int64_t(shape_of.at(n.in[0]).rank());
        if (axis < 0) axis += rank;
        HOUSENET_CHECK(axis == 1, "axis ", onnx_attr_i(n, "axis", 1), " is not supported (1 only: N x rest)");
        l = std::make_unique<flatten<T>>();
      } else if (op == "Gemm") {
        from_ids.push_back(tensor_in(0));
        HOUSENET_CHECK(shape_of.at(n.in[0]).rank() == 2, "input of rank ", shape_of.at(n.in[0]).rank(), ", expected 2");
        HOUSENET_CHECK(onnx_attr_i(n, "transA", 0) == 0, "transA 1 is not supported");
        const bool transB = onnx_attr_i(n, "transB", 0) != 0;
        const float alpha = onnx_attr_f(n, "alpha", 1.0f), beta = onnx_attr_f(n, "beta", 1.0f);
        const onnx_tensor_in* wt = init_in(1, 2);
        const std::size_t out = std::size_t(transB ? wt->dims[0] : wt->dims[1]);
        const std::size_t features = std::size_t(transB ? wt->dims[1] : wt->dims[0]);
        HOUSENET_CHECK(features == shape_of.at(n.in[0])[1], "B is ", wt->dims[0], "x", wt->dims[1], " for ",
                       shape_of.at(n.in[0])[1], " input features");
        const bool bias = n.in.size() >= 3 && !n.in[2].empty() && beta != 0.0f;
        l = std::make_unique<linear<T>>(out, bias);
        w.tensors.push_back(wt);
        w.scale.push_back(alpha);
        w.transpose_first = !transB;
        if (bias) {
          const auto it = inits.find(n.in[2]);
          HOUSENET_CHECK(it != inits.end(), "C must be an initializer");
          const onnx_tensor_in* c = init_in(2, it->second->dims.size());
          std::size_t count = 1;
          for (std::int64_t d : c->dims) count *= std::size_t(d);
          HOUSENET_CHECK(count == out, "C has ", count, " values for ", out, " outputs (broadcast C is not supported)");
          w.tensors.push_back(c);
          w.scale.push_back(beta);
        }
      } else if (op == "Add" || op == "Sum" || op == "Concat") {
        for (std::size_t k = 0; k < n.in.size(); ++k) from_ids.push_back(tensor_in(k));
        HOUSENET_CHECK(from_ids.size() >= 2 && from_ids.size() <= 64, from_ids.size(), " inputs (2..64 supported)");
        if (op == "Concat") {
          std::int64_t axis = onnx_attr_i(n, "axis", 1);
          if (axis < 0) axis += std::int64_t(shape_of.at(n.in[0]).rank());
          HOUSENET_CHECK(axis == 1, "axis ", onnx_attr_i(n, "axis", 1), " is not supported (1 only: channels)");
          l = std::make_unique<concat_layer<T>>();
        } else {
          l = std::make_unique<add_layer<T>>();
        }
      } else {
        detail::fail(detail::concat("op not supported (supported: ", onnx_importable_ops(), ")"));
      }
      HOUSENET_CHECK(n.out.size() == 1 || (op == "Dropout"), n.out.size(), " outputs (one supported)");
      std::vector<shape> ins;
      for (std::size_t k = 0; k < from_ids.size(); ++k) ins.push_back(shape_of.at(n.in[k]));
      const shape out = l->setup(ins).with_n(1);
      std::vector<node> from_nodes;
      for (std::size_t id : from_ids) from_nodes.push_back(node{id});
      model.add(std::move(l), from(from_nodes));
      HOUSENET_CHECK(!node_of.count(n.out[0]), "output '", n.out[0], "' is produced twice");
      node_of[n.out[0]] = model.size();
      shape_of[n.out[0]] = out;
      if (!w.tensors.empty()) to_copy.push_back(std::move(w));
    } catch (const error& e) {
      const std::string msg = e.what();
      if (msg.rfind(name + ":", 0) == 0) throw;
      detail::fail(detail::concat(who, ": ", msg));
    }
  }

  const onnx_value_in& output = g.outputs[0];
  const auto out_it = node_of.find(output.name);
  HOUSENET_CHECK(out_it != node_of.end(), name, ": output '", output.name, "' is produced by no node");
  HOUSENET_CHECK(model.size() > 0 && out_it->second == model.size(), name, ": output '", output.name,
                 "' must be the last layer's output (housenet's model output is its last layer's)");
  model.setup_shapes(in_shape);
  if (output.has_shape) {
    const shape& s = model.output_shape();
    bool ok = output.dims.size() == s.rank();
    for (std::size_t i = 1; ok && i < s.rank(); ++i) ok = output.dims[i] < 0 || std::size_t(output.dims[i]) == s[i];
    HOUSENET_CHECK(ok, name, ": output '", output.name, "' is declared with another shape than the ops give (",
                   s.str(), ")");
  }

  // the weights, from the file's bytes into the arena
  for (const weights& w : to_copy) {
    layer<T>& l = model[w.layer];
    for (std::size_t k = 0; k < w.tensors.size(); ++k) {
      const onnx_tensor_in& t = *w.tensors[k];
      param<T>& p = l.params().at(k);
      std::size_t count = 1;
      for (std::int64_t d : t.dims) count *= std::size_t(d);
      HOUSENET_CHECK(count == p.value.size(), name, ": initializer '", t.name, "' has ", count, " values, ",
                     l.name(), "'s ", p.spec.name, " needs ", p.value.size());
      T* dst = p.value.data();
      if (t.raw)
        from_f32_bytes(t.raw, count, dst);
      else
        for (std::size_t i = 0; i < count; ++i) dst[i] = static_cast<T>(t.floats[i]);
      if (k == 0 && w.transpose_first) {  // B is F x O: housenet's weight is O x F
        const std::size_t rows = std::size_t(t.dims[0]), cols = std::size_t(t.dims[1]);
        std::vector<T> tmp(dst, dst + count);
        for (std::size_t r = 0; r < rows; ++r)
          for (std::size_t c = 0; c < cols; ++c) dst[c * rows + r] = tmp[r * cols + c];
      }
      if (k < w.scale.size() && w.scale[k] != 1.0f)
        for (std::size_t i = 0; i < count; ++i) dst[i] = static_cast<T>(dst[i] * static_cast<T>(w.scale[k]));
    }
  }
  if (!g.labels.empty())
    HOUSENET_CHECK(g.labels.size() == model.output_shape().sample_size(), name, ": ", g.labels.size(),
                   " labels in metadata_props for ", model.output_shape().sample_size(), " outputs");
  loaded_onnx<T> r;
  r.model = std::move(model);
  r.model.eval();
  r.labels = g.labels;
  r.opset = g.opset;
  r.producer = g.producer;
  return r;
}

template <class T = float>
loaded_onnx<T> load_onnx(const std::string& path) {
  const std::vector<std::uint8_t> b = detail::read_file_bytes(path, "ONNX file", std::uint64_t(1) << 38);
  return onnx_from_bytes<T>(b.data(), b.size(), path);
}

// The file as the app's model: members (eval mode) and info (labels, classes, input; opset as
// format_version, producer as housenet_version), as load_ensemble gives them for a .hsnt file.
template <class T = float>
loaded_ensemble<T> load_onnx_ensemble(const std::string& path) {
  loaded_onnx<T> o = load_onnx<T>(path);
  loaded_ensemble<T> e;
  e.info.labels = std::move(o.labels);
  e.info.classes = o.model.output_shape().sample_size();
  e.info.input = o.model.input_shape();
  e.info.housenet_version = o.producer;
  e.info.format_version = std::uint32_t(o.opset);
  e.members.push_back(std::move(o.model));
  return e;
}

HOUSENET_END_NAMESPACE

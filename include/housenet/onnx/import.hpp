// housenet/onnx/import.hpp: an ONNX file as a housenet model (docs/onnx.md).
//
// WHAT THIS IS
//   load_onnx<T>(path)                       -> loaded_onnx<T> {model (eval mode, set up), labels,
//                                               opset, producer}
//   onnx_from_bytes<T>(data, size, name)     the same from memory; `name` prefixes every error
//   load_onnx_ensemble<T>(path)              -> loaded_ensemble<T> (ensemble_io.hpp), what the app
//                                               loads: a one-network file gives one member; save_onnx's
//                                               ensemble form (the output the Mean of Softmaxes of
//                                               branches from the input) one member per branch
//   onnx_ensemble_from_bytes<T>(data, size, name)  the same from memory
//   The model is a graph<T> of built-in layers that runs inference and trains further
//   (fine-tuning). It is built from the nodes the output depends on. The ops read (default
//   domain, opsets 1..17: each op as its latest version up to 17 defines it; BatchNormalization's
//   spatial 0 of opsets < 9 is refused):
//     Conv (square kernel, equal strides and dilations, group; asymmetric pads become a pad2d
//     layer before an unpadded conv2d),
//     BatchNormalization (inference form; epsilon, momentum), Relu, LeakyRelu, Sigmoid, Tanh,
//     MaxPool, AveragePool (square kernel, equal strides, symmetric pads, ceil_mode,
//     count_include_pad; also export.hpp's floor-mode form with grown end pads), GlobalAveragePool,
//     Gemm (transA 0; transB 0 or 1; alpha and beta folded into the weights), MatMul (input of
//     rank 2, B a constant F x O; an Add of a constant O-vector that is the MatMul's only reader
//     becomes the linear layer's bias), Flatten (axis 1), Reshape (to [N, rest]: a flatten; to
//     the input's own shape: nothing), Dropout and Identity (nothing: their readers read their
//     input), Add and Sum (of tensors), Concat (axis 1), Softmax (as the graph's last op only,
//     when it covers the whole sample: before opset 13 axis 1, from 13 axis 1 or -1 of a rank-2
//     input; dropped, loaded_onnx::ends_in_softmax set: housenet models output logits).
//   Shape computations are folded at import (int64 values, the batch dimension symbolic): Shape,
//   Gather, Unsqueeze (axes attribute before opset 13, input from 13), Concat, Constant, Cast and
//   Identity of int64 tensors, int64 initializers: PyTorch's x.view(x.size(0), -1).
//   Weights are float32 initializers (raw_data or float_data), copied straight from the file's
//   bytes into the model's arena: the file and the model are the only copies.
//   The class labels come from metadata_props "labels" (one per line; export.hpp writes them).
//
// BOUNDS AND ERRORS
//   The file is read whole (at most 256 GiB); protobuf.hpp bounds every length; counts are bounded
//   before anything is stored (nodes, initializers, attributes, inputs, dimensions); a tensor's
//   element count is checked against its bytes; a folded int64 value holds at most 1024 values.
//   Any problem throws one housenet::error naming the
//   file, and the node when there is one: "<file>: node 'conv2d #1' (Conv): ...". An op outside
//   the list names it and the supported list. Nothing is half-loaded: the model is returned only
//   when the whole file was read.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
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
#include "../layers/pad2d.hpp"
#include "export.hpp"
#include "protobuf.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T = float>
struct loaded_onnx {
  graph<T> model;
  std::vector<std::string> labels;  // empty when the file has none
  std::int64_t opset = 0;
  std::string producer;
  bool ends_in_softmax = false;  // the file's output was Softmax(logits), dropped: the model gives the logits
};

namespace detail {

struct onnx_limits {
  static constexpr std::size_t nodes = 1u << 16, initializers = 1u << 16, attributes = 64, io = 64,
                               rank = 8, ints = 64, values = 1u << 10, name = 4096, metadata = 1u << 20;
};

struct onnx_tensor_in {
  std::string name;
  std::vector<std::int64_t> dims;
  std::int64_t type = 0;
  const std::uint8_t* raw = nullptr;  // raw_data: a range of the file
  std::size_t raw_size = 0;
  std::vector<float> floats;        // float_data
  std::vector<std::int64_t> int64s;  // int64_data
  bool external = false;
};

struct onnx_attr {
  std::string name;
  std::int64_t type = 0;
  std::int64_t i = 0;
  float f = 0;
  bool has_i = false, has_f = false, has_s = false;
  std::string s;  // a string attribute (Pad's mode)
  std::vector<std::int64_t> ints;
  std::vector<onnx_tensor_in> t;  // a tensor attribute (Constant's value): none or one
};

struct onnx_node_in {
  std::string op, name, domain;
  std::vector<std::string> in, out;
  std::vector<onnx_attr> attrs;
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

inline onnx_tensor_in onnx_read_tensor(protobuf::reader& r, const protobuf::field& f) {
  onnx_tensor_in t;
  protobuf::reader tr = r.nested(f);
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
    if (x.number == 7) tr.append_i64(x, t.int64s, std::size_t(1) << 24);
    if (x.number == 13) t.external = true;
    if (x.number == 14 && tr.i64(x) == 1) t.external = true;
  }
  return t;
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
              if (y.number == 4) a.s = ar.str(y, onnx_limits::name), a.has_s = true;
              if (y.number == 8) ar.append_i64(y, a.ints, onnx_limits::ints);
              if (y.number == 5) {
                if (!a.t.empty()) ar.fail_at(y.data, "an attribute with two tensors");
                a.t.push_back(onnx_read_tensor(ar, y));
              }
            }
            n.attrs.push_back(std::move(a));
          }
        }
        g.nodes.push_back(std::move(n));
      } else if (gf.number == 5) {  // initializer
        if (g.inits.size() >= onnx_limits::initializers) gr.fail_at(gf.data, "more than 65536 initializers");
        onnx_tensor_in t = onnx_read_tensor(gr, gf);
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
         "Gemm, MatMul (+ Add), Flatten, Reshape (to N x rest), Pad (zeros, spatial), Dropout, Identity, Add, Sum, "
         "Concat, Softmax (last op); "
         "int64 shape computations: Shape, Gather, Unsqueeze, Concat, Constant, Cast";
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


// ---- constant folding of shape computations ---------------------------------------------------
// The int64 tensors of a shape computation (PyTorch's x.view(x.size(0), -1): Shape, Gather,
// Unsqueeze, Concat, Constant), folded at import time. onnx_batch stands for the batch dimension,
// the one value not known when the file is read.
constexpr std::int64_t onnx_batch = std::numeric_limits<std::int64_t>::min();
struct onnx_ints {
  std::vector<std::int64_t> dims;    // rank 0 (a scalar) or more
  std::vector<std::int64_t> values;  // at most onnx_limits::values
};

inline std::string onnx_ints_str(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + (v[i] == onnx_batch ? std::string("N") : std::to_string(v[i]));
  return s + "]";
}

// An int64 tensor's values (raw_data or int64_data), at most onnx_limits::values of them.
inline onnx_ints onnx_int64_values(const onnx_tensor_in& t) {
  HOUSENET_CHECK(!t.external, "tensor '", t.name, "': external data is not supported");
  HOUSENET_CHECK(t.type == 7, "tensor '", t.name, "' of data type ", t.type, ": only int64 constants (shape computations) are supported");
  onnx_ints r;
  r.dims = t.dims;
  std::size_t count = 1;
  for (std::int64_t d : t.dims) {
    HOUSENET_CHECK(d >= 0 && d <= std::int64_t(onnx_limits::values), "int64 tensor '", t.name, "': dimension ", d);
    count *= std::size_t(d);
    HOUSENET_CHECK(count <= onnx_limits::values, "int64 tensor '", t.name, "': more than ", onnx_limits::values, " values");
  }
  const std::size_t have = t.raw ? t.raw_size / 8 : t.int64s.size();
  HOUSENET_CHECK(have == count && (!t.raw || t.raw_size % 8 == 0), "int64 tensor '", t.name, "': ",
                 t.raw ? t.raw_size : 8 * t.int64s.size(), " bytes of data for ", count, " values");
  r.values.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (!t.raw) {
      r.values[i] = t.int64s[i];
      continue;
    }
    std::uint64_t u = 0;
    for (int b = 0; b < 8; ++b) u |= std::uint64_t(t.raw[8 * i + std::size_t(b)]) << (8 * b);
    r.values[i] = static_cast<std::int64_t>(u);
  }
  for (std::int64_t v : r.values) HOUSENET_CHECK(v != onnx_batch, "int64 tensor '", t.name, "': value out of range");
  return r;
}

// An axis attribute or value in [-rank, rank), made non-negative.
inline std::size_t onnx_axis(std::int64_t axis, std::size_t rank, const char* what) {
  const auto r = std::int64_t(rank);
  HOUSENET_CHECK(axis >= -r && axis < r, what, " ", axis, " out of range for rank ", rank);
  return std::size_t(axis < 0 ? axis + r : axis);
}

// ---- the whole file, parsed ------------------------------------------------------------------------
struct onnx_file {
  std::string name;
  onnx_graph_in g;
  std::map<std::string, const onnx_tensor_in*> inits;
  const onnx_value_in* input = nullptr;
  shape in_shape;
  std::int64_t fixed_batch = -1;                  // the input's dimension 0 when the file fixes it
  std::map<std::string, std::size_t> producer;    // tensor -> index of the node writing it
  std::map<std::string, std::size_t> readers;     // tensor -> how many node inputs and graph outputs read it
  std::map<std::string, std::size_t> reader;      // tensor -> index of a node reading it

  const onnx_node_in* producer_of(const std::string& t) const {
    const auto it = producer.find(t);
    return it == producer.end() ? nullptr : &g.nodes[it->second];
  }
};

inline void onnx_prepare(onnx_file& f, const void* data, std::size_t size, const std::string& name) {
  static const std::uint8_t empty = 0;
  const std::uint8_t* bytes = size ? static_cast<const std::uint8_t*>(data) : &empty;
  HOUSENET_CHECK(size > 0, name, ": not an ONNX file (empty)");
  f.name = name;
  f.g = onnx_parse(bytes, size, name);
  const onnx_graph_in& g = f.g;
  HOUSENET_CHECK(g.has_graph, name, ": not an ONNX model (no graph)");
  HOUSENET_CHECK(g.opset >= 1 && g.opset <= 17, name, ": ONNX opset ", g.opset,
                 " not supported (this build reads 1..17 of the default domain)");
  for (const auto& t : g.inits) {
    HOUSENET_CHECK(!t.external, name, ": initializer '", t.name,
                   "': external data is not supported (save the model with its weights inside)");
    f.inits[t.name] = &t;
  }
  // the one graph input that is not an initializer
  for (const auto& v : g.inputs)
    if (!f.inits.count(v.name)) {
      HOUSENET_CHECK(f.input == nullptr, name, ": ONNX graph with several inputs ('", f.input->name, "', '", v.name,
                     "'); housenet models take one");
      f.input = &v;
    }
  HOUSENET_CHECK(f.input != nullptr, name, ": ONNX graph without an input");
  const onnx_value_in& input = *f.input;
  HOUSENET_CHECK(input.has_shape && input.dims.size() >= 2 && input.dims.size() <= shape::max_rank, name,
                 ": input '", input.name, "': needs a shape of rank 2 to 4 (N x F ... N x C x H x W), has ",
                 input.has_shape ? std::to_string(input.dims.size()) : std::string("none"));
  std::vector<std::size_t> in_dims{1};
  for (std::size_t i = 1; i < input.dims.size(); ++i) {
    HOUSENET_CHECK(input.dims[i] >= 1 && input.dims[i] <= (std::int64_t(1) << 24), name, ": input '", input.name,
                   "': dimension ", i, " must be a fixed size >= 1");
    in_dims.push_back(std::size_t(input.dims[i]));
  }
  f.fixed_batch = input.dims[0] >= 1 ? input.dims[0] : -1;
  f.in_shape = in_dims.size() == 2   ? shape{1, in_dims[1]}
               : in_dims.size() == 3 ? shape{1, in_dims[1], in_dims[2]}
                                     : shape{1, in_dims[1], in_dims[2], in_dims[3]};
  HOUSENET_CHECK(g.outputs.size() == 1, name, ": ONNX graph with ", g.outputs.size(),
                 " outputs; housenet models have one");
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    for (const std::string& t : g.nodes[i].out)
      if (!t.empty() && !f.producer.count(t)) f.producer[t] = i;
    for (const std::string& t : g.nodes[i].in)
      if (!t.empty()) ++f.readers[t], f.reader[t] = i;
  }
  for (const auto& o : g.outputs) ++f.readers[o.name];
}

inline std::string onnx_who(const onnx_file& f, const onnx_node_in& n) {
  return detail::concat(f.name, ": node '", n.name, "' (", n.op, ")");
}

// Runs fn() with errors prefixed by the node ("<file>: node 'x' (Op): ...").
template <class F>
void onnx_at_node(const onnx_file& f, const onnx_node_in& n, F&& fn) {
  try {
    fn();
  } catch (const error& e) {
    const std::string msg = e.what();
    if (msg.rfind(f.name + ":", 0) == 0) throw;
    detail::fail(detail::concat(onnx_who(f, n), ": ", msg));
  }
}

// A final Softmax is dropped (housenet models output logits) when it covers the whole sample:
// the axis rule changed at opset 13 (before: the input coerced to 2-D at `axis`, default 1; from
// 13: one axis, default -1).
inline void onnx_check_final_softmax(const onnx_file& f, const onnx_node_in& n, std::size_t rank) {
  onnx_at_node(f, n, [&] {
    const std::int64_t opset = f.g.opset;
    const std::int64_t a = onnx_attr_i(n, "axis", opset < 13 ? 1 : -1);
    const std::size_t axis = onnx_axis(a, rank, "axis");
    if (opset < 13)
      HOUSENET_CHECK(axis == 1, "axis ", a, " at opset ", opset,
                     ": before opset 13 Softmax flattens its input to 2-D at the axis, and only axis 1 covers the "
                     "whole sample (housenet drops a final Softmax only when it does)");
    else
      HOUSENET_CHECK(rank == 2 && axis == 1, "axis ", a, " of a rank-", rank, " input at opset ", opset,
                     ": from opset 13 Softmax normalizes along that one axis, and only axis 1 or -1 of a rank-2 "
                     "input (N x classes) covers the whole sample (housenet drops a final Softmax only when it does)");
  });
}

// The Softmax nodes whose outputs `n` averages when n is Mean (or Sum) of Softmaxes: the ensemble
// form save_onnx writes; empty otherwise.
inline std::vector<const onnx_node_in*> onnx_ensemble_branches(const onnx_file& f, const onnx_node_in* n) {
  std::vector<const onnx_node_in*> r;
  if (!n || !(n->domain.empty() || n->domain == "ai.onnx") || !(n->op == "Mean" || (n->op == "Sum" && n->in.size() >= 2)))
    return r;
  for (const std::string& t : n->in) {
    const onnx_node_in* s = t.empty() ? nullptr : f.producer_of(t);
    if (!s || s->op != "Softmax" || s->in.empty()) return {};
    r.push_back(s);
  }
  return r;
}

// The housenet model computing tensor `target` from the graph's input: the nodes it depends on,
// in file order, as built-in layers (shape computations folded, no-op Reshapes and Identity
// dropped, MatMul + Add fused).
// final_softmax: the Softmax reading target, dropped (checked here, before the model's own checks).
template <class T>
graph<T> onnx_build(const onnx_file& f, const std::string& target, const onnx_node_in* final_softmax = nullptr) {
  const onnx_graph_in& g = f.g;
  const std::string& name = f.name;
  // the nodes target depends on
  std::vector<char> needed(g.nodes.size(), 0);
  {
    std::vector<std::string> todo{target};
    while (!todo.empty()) {
      const std::string t = todo.back();
      todo.pop_back();
      const auto it = f.producer.find(t);
      if (it == f.producer.end() || needed[it->second]) continue;
      needed[it->second] = 1;
      for (const std::string& in : g.nodes[it->second].in)
        if (!in.empty()) todo.push_back(in);
    }
  }
  std::vector<char> fused(g.nodes.size(), 0);  // an Add folded into the MatMul before it

  graph<T> model;
  std::map<std::string, std::size_t> node_of;  // tensor name -> housenet node id
  std::map<std::string, shape> shape_of;       // tensor name -> its sample shape (n = 1)
  std::map<std::string, onnx_ints> consts;     // int64 tensors folded at import time
  node_of[f.input->name] = 0;
  shape_of[f.input->name] = f.in_shape;
  struct weights {
    std::size_t layer;
    std::vector<const onnx_tensor_in*> tensors;  // one per parameter, in params() order
    std::vector<float> scale;                    // per parameter (Gemm's alpha and beta)
    bool transpose_first = false;                // Gemm transB = 0, MatMul
  };
  std::vector<weights> to_copy;

  for (std::size_t node_index = 0; node_index < g.nodes.size(); ++node_index) {
    if (!needed[node_index] || fused[node_index]) continue;
    const onnx_node_in& n = g.nodes[node_index];
    onnx_at_node(f, n, [&] {
      HOUSENET_CHECK(n.domain.empty() || n.domain == "ai.onnx", "domain '", n.domain, "' is not supported");
      HOUSENET_CHECK(!n.out.empty(), "no output");
      const auto tensor_in = [&](std::size_t k) -> std::size_t {
        HOUSENET_CHECK(k < n.in.size() && !n.in[k].empty(), "input ", k + 1, " missing");
        const auto it = node_of.find(n.in[k]);
        HOUSENET_CHECK(it != node_of.end(), "reads '", n.in[k], "', which is not the graph's input or an earlier node's output",
                       f.inits.count(n.in[k]) ? " (it is an initializer: constant operands are not supported here)"
                       : consts.count(n.in[k]) ? " (it is a shape computation's int64 tensor)" : "");
        return it->second;
      };
      const auto init_in = [&](std::size_t k, std::size_t rank) -> const onnx_tensor_in* {
        HOUSENET_CHECK(k < n.in.size() && !n.in[k].empty(), "input ", k + 1, " missing");
        const auto it = f.inits.find(n.in[k]);
        HOUSENET_CHECK(it != f.inits.end(), "input ", k + 1, " '", n.in[k], "' must be an initializer (a constant)");
        const onnx_tensor_in& t = *it->second;
        HOUSENET_CHECK(t.type == 1, "initializer '", t.name, "': data type ", t.type, " not supported (float32 only)");
        HOUSENET_CHECK(t.dims.size() == rank, "initializer '", t.name, "' has rank ", t.dims.size(), ", expected ", rank);
        std::uint64_t count = 1;  // 64-bit on every target (size_t has 32 bits on wasm32)
        for (std::int64_t d : t.dims) {
          HOUSENET_CHECK(d >= 1 && d <= (std::int64_t(1) << 32), "initializer '", t.name, "': dimension ", d);
          HOUSENET_CHECK(count <= (std::uint64_t(1) << 40) / std::uint64_t(d), "initializer '", t.name, "' too large");
          count *= std::uint64_t(d);
        }
        const std::uint64_t have = t.raw ? t.raw_size : 4 * std::uint64_t(t.floats.size());
        HOUSENET_CHECK(have == 4 * count, "initializer '", t.name, "': ", have, " bytes of data for ", count,
                       " float32 values");
        return &t;
      };
      // an int64 input: folded earlier, or an int64 initializer
      const auto ints_in = [&](std::size_t k) -> onnx_ints {
        HOUSENET_CHECK(k < n.in.size() && !n.in[k].empty(), "input ", k + 1, " missing");
        const auto c = consts.find(n.in[k]);
        if (c != consts.end()) return c->second;
        const auto it = f.inits.find(n.in[k]);
        HOUSENET_CHECK(it != f.inits.end(), "input ", k + 1, " '", n.in[k],
                       "' must be a constant int64 tensor (an initializer or a folded shape computation)");
        return onnx_int64_values(*it->second);
      };
      const auto set_const = [&](onnx_ints v) {
        HOUSENET_CHECK(n.out.size() == 1, n.out.size(), " outputs (one supported)");
        HOUSENET_CHECK(!consts.count(n.out[0]) && !node_of.count(n.out[0]), "output '", n.out[0], "' is produced twice");
        consts[n.out[0]] = std::move(v);
      };
      const auto alias = [&](std::size_t k) {
        const std::size_t id = tensor_in(k);
        HOUSENET_CHECK(!node_of.count(n.out[0]) && !consts.count(n.out[0]), "output '", n.out[0], "' is produced twice");
        node_of[n.out[0]] = id;
        shape_of[n.out[0]] = shape_of.at(n.in[k]);
      };
      const std::string& op = n.op;
      const bool all_const = !n.in.empty() && std::all_of(n.in.begin(), n.in.end(), [&](const std::string& t) {
        return !t.empty() && (consts.count(t) || (f.inits.count(t) && f.inits.at(t)->type == 7));
      });

      // ---- shape computations: folded -------------------------------------------------------------
      if (op == "Constant") {
        const onnx_attr* v = onnx_find_attr(n, "value");
        const onnx_attr* vi = onnx_find_attr(n, "value_int");
        const onnx_attr* vs = onnx_find_attr(n, "value_ints");
        onnx_ints c;
        if (v && v->t.size() == 1) {
          c = onnx_int64_values(v->t[0]);
        } else if (vi && vi->has_i) {
          c.values = {vi->i};
        } else if (vs) {
          c.dims = {std::int64_t(vs->ints.size())};
          c.values = vs->ints;
        } else {
          detail::fail("only int64 constants (value, value_int, value_ints) are supported: shape computations");
        }
        for (std::int64_t x : c.values) HOUSENET_CHECK(x != onnx_batch, "value out of range");
        set_const(std::move(c));
        return;
      }
      if (op == "Shape") {
        HOUSENET_CHECK(n.in.size() == 1 && !n.in[0].empty(), "input 1 missing");
        std::vector<std::int64_t> s;
        const auto c = consts.find(n.in[0]);
        if (c != consts.end()) {
          s = c->second.dims;
        } else {
          tensor_in(0);
          const shape& x = shape_of.at(n.in[0]);
          s.push_back(onnx_batch);
          for (std::size_t i = 1; i < x.rank(); ++i) s.push_back(std::int64_t(x[i]));
        }
        const auto r = std::int64_t(s.size());
        std::int64_t start = onnx_attr_i(n, "start", 0), end = onnx_attr_i(n, "end", r);
        if (start < 0) start += r;
        if (end < 0) end += r;
        start = std::min(std::max(start, std::int64_t(0)), r);
        end = std::min(std::max(end, start), r);
        onnx_ints out;
        out.values.assign(s.begin() + start, s.begin() + end);
        out.dims = {std::int64_t(out.values.size())};
        set_const(std::move(out));
        return;
      }
      if (op == "Gather" && all_const) {
        const onnx_ints data = ints_in(0), idx = ints_in(1);
        HOUSENET_CHECK(data.dims.size() == 1, "Gather of an int64 tensor of rank ", data.dims.size(), " (1 supported)");
        onnx_axis(onnx_attr_i(n, "axis", 0), 1, "axis");
        HOUSENET_CHECK(idx.dims.size() <= 1, "indices of rank ", idx.dims.size(), " (0 or 1 supported)");
        onnx_ints out;
        out.dims = idx.dims;
        for (std::int64_t i : idx.values) out.values.push_back(data.values[onnx_axis(i, data.values.size(), "index")]);
        set_const(std::move(out));
        return;
      }
      if (op == "Unsqueeze" && !n.in.empty() && !n.in[0].empty() && consts.count(n.in[0])) {
        onnx_ints out = ints_in(0);
        const std::vector<std::int64_t> axes =
            g.opset < 13 ? onnx_attr_ints(n, "axes", {}) : ints_in(1).values;
        HOUSENET_CHECK(!axes.empty(), "no axes");
        const std::size_t rank = out.dims.size() + axes.size();
        HOUSENET_CHECK(rank <= onnx_limits::rank, "a result of rank ", rank);
        std::vector<char> one(rank, 0);
        for (std::int64_t a : axes) {
          const std::size_t k = onnx_axis(a, rank, "axis");
          HOUSENET_CHECK(!one[k], "axis ", a, " twice");
          one[k] = 1;
        }
        std::vector<std::int64_t> dims;
        for (std::size_t k = 0, j = 0; k < rank; ++k) dims.push_back(one[k] ? 1 : out.dims[j++]);
        out.dims = dims;
        set_const(std::move(out));
        return;
      }
      if (op == "Concat" && all_const) {
        onnx_ints out;
        for (std::size_t k = 0; k < n.in.size(); ++k) {
          const onnx_ints c = ints_in(k);
          HOUSENET_CHECK(c.dims.size() == 1, "Concat of int64 tensors of rank ", c.dims.size(), " (1 supported)");
          onnx_axis(onnx_attr_i(n, "axis", 0), 1, "axis");
          HOUSENET_CHECK(out.values.size() + c.values.size() <= onnx_limits::values, "more than ", onnx_limits::values, " values");
          out.values.insert(out.values.end(), c.values.begin(), c.values.end());
        }
        out.dims = {std::int64_t(out.values.size())};
        set_const(std::move(out));
        return;
      }
      if ((op == "Cast" && all_const && onnx_attr_i(n, "to", 0) == 7) || (op == "Identity" && all_const)) {
        set_const(ints_in(0));
        return;
      }
      if (op == "Gather" || op == "Unsqueeze" || op == "Cast" || (op == "Concat" && std::any_of(n.in.begin(), n.in.end(), [&](const std::string& t) { return consts.count(t) > 0; })))
        detail::fail(op == "Concat" ? "a Concat of int64 shape values and float tensors is not supported"
                                    : "supported only on constant int64 tensors (shape computations, folded at import)");

      // ---- no-ops -------------------------------------------------------------------------------------
      if (op == "Identity" || op == "Dropout" || (op == "Sum" && n.in.size() == 1)) {
        alias(0);
        return;
      }
      if (op == "Softmax")
        detail::fail("Softmax is supported only as the graph's last op (housenet models output logits; "
                     "the app applies softmax)");
      if (op == "Reshape") {
        // a Reshape to [N, rest] is a flatten, to the input's own shape nothing; nothing else
        tensor_in(0);
        const shape& x = shape_of.at(n.in[0]);
        const onnx_ints target_shape = ints_in(1);
        HOUSENET_CHECK(target_shape.dims.size() == 1, "shape of rank ", target_shape.dims.size(), " (1 expected)");
        const bool allowzero = onnx_attr_i(n, "allowzero", 0) != 0;
        std::vector<std::int64_t> t = target_shape.values;
        const std::int64_t features = std::int64_t(x.sample_size());
        // resolve 0 (copy the input's dimension) and the batch
        bool batch_first = false, batch_minus_one = false;
        for (std::size_t i = 0; i < t.size(); ++i) {
          if (t[i] == 0 && !allowzero) {
            HOUSENET_CHECK(i < x.rank(), "shape ", onnx_ints_str(target_shape.values), ": 0 at ", i,
                           " copies a dimension the input does not have");
            t[i] = i == 0 ? onnx_batch : std::int64_t(x[i]);
          }
        }
        if (!t.empty() && (t[0] == onnx_batch || (f.fixed_batch >= 1 && t[0] == f.fixed_batch))) batch_first = true;
        if (!t.empty() && t[0] == -1) batch_minus_one = true;
        std::vector<std::int64_t> rest(t.begin() + (t.empty() ? 0 : 1), t.end());
        std::int64_t known = 1;
        int minus = 0;
        bool ok = batch_first || batch_minus_one;
        for (std::int64_t v : rest) {
          if (v == -1) ++minus;
          else if (v >= 1 && v <= features / known) known *= v;  // known <= features: no overflow
          else ok = false;
        }
        if (ok && batch_minus_one) ok = minus == 0 && known == features;
        if (ok && batch_first) ok = minus <= 1 && (minus ? features % known == 0 : known == features);
        if (ok)
          for (std::int64_t& v : rest)
            if (v == -1) v = features / known;
        std::vector<std::int64_t> own;
        for (std::size_t i = 1; i < x.rank(); ++i) own.push_back(std::int64_t(x[i]));
        HOUSENET_CHECK(ok && (rest == own || rest.size() == 1), "shape ", onnx_ints_str(target_shape.values),
                       " of a ", x.str(), " input: only a Reshape to [N, -1] (a flatten) or to the input's own shape "
                       "is supported");
        HOUSENET_CHECK(n.out.size() == 1, n.out.size(), " outputs (one supported)");
        if (rest == own) {
          alias(0);
          return;
        }
        // a flatten, below
      }

      std::unique_ptr<layer<T>> l;
      std::vector<std::size_t> from_ids;
      std::vector<shape> in_shapes;  // the layer's input shapes when not its node's inputs' (Conv after a pad2d)
      weights w;
      w.layer = model.size();
      std::string out_name = n.out[0];
      if (op == "Reshape") {
        from_ids.push_back(tensor_in(0));
        l = std::make_unique<flatten<T>>();
      } else if (op == "Conv") {
        onnx_no_auto_pad(n);
        const std::size_t x_id = tensor_in(0);
        const onnx_tensor_in* wt = init_in(1, 4);
        const std::size_t k = onnx_square(onnx_attr_ints(n, "kernel_shape", {wt->dims[2], wt->dims[3]}), "kernel_shape", 1);
        HOUSENET_CHECK(std::size_t(wt->dims[2]) == k && std::size_t(wt->dims[3]) == k, "kernel_shape does not match the weight");
        const std::size_t s = onnx_square(onnx_attr_ints(n, "strides", {1, 1}), "strides", 1);
        const std::size_t d = onnx_square(onnx_attr_ints(n, "dilations", {1, 1}), "dilations", 1);
        const std::vector<std::int64_t> pads = onnx_attr_ints(n, "pads", {0, 0, 0, 0});
        HOUSENET_CHECK(pads.size() == 4, "pads has ", pads.size(), " values, expected 4 (2-D only)");
        for (std::int64_t v : pads) HOUSENET_CHECK(v >= 0 && v <= 4096, "pad ", v, " out of range (0..4096)");
        std::size_t padding = std::size_t(pads[0]);
        if (pads[0] != pads[1] || pads[0] != pads[2] || pads[0] != pads[3]) {
          // asymmetric (top, left, bottom, right): a pad2d layer, then the convolution unpadded
          auto pad = std::make_unique<pad2d<T>>(std::size_t(pads[0]), std::size_t(pads[1]), std::size_t(pads[2]),
                                                std::size_t(pads[3]));
          in_shapes = {pad->setup({shape_of.at(n.in[0])}).with_n(1)};
          model.add(std::move(pad), from(std::vector<node>{node{x_id}}));
          from_ids.push_back(model.size());
          w.layer = model.size();
          padding = 0;
        } else {
          from_ids.push_back(x_id);
        }
        const std::int64_t groups = onnx_attr_i(n, "group", 1);
        HOUSENET_CHECK(groups >= 1 && groups <= wt->dims[0], "group ", groups, " out of range");
        const bool bias = n.in.size() >= 3 && !n.in[2].empty();
        l = std::make_unique<conv2d<T>>(std::size_t(wt->dims[0]), k, s, padding, bias, init_kind::lecun, d,
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
      } else if (op == "Pad") {
        // zeros on the spatial axes: pad2d. pads: an attribute before opset 11, an input from 11;
        // [N, C, H, W begins, N, C, H, W ends]
        from_ids.push_back(tensor_in(0));
        const onnx_attr* mode = onnx_find_attr(n, "mode");
        HOUSENET_CHECK(!mode || (mode->has_s && mode->s == "constant"), "mode '", mode ? mode->s : "",
                       "' is not supported (constant only)");
        std::vector<std::int64_t> pads;
        if (f.g.opset < 11) {
          pads = onnx_attr_ints(n, "pads", {});
          HOUSENET_CHECK(onnx_attr_f(n, "value", 0.0f) == 0.0f, "a constant value other than 0 is not supported");
        } else {
          pads = ints_in(1).values;
          if (n.in.size() >= 3 && !n.in[2].empty()) {
            const onnx_tensor_in* v = init_in(2, 0);
            const float value = v->raw ? [&] { float x; from_f32_bytes(v->raw, 1, &x); return x; }() : v->floats.at(0);
            HOUSENET_CHECK(value == 0.0f, "constant_value ", value, " is not supported (0 only)");
          }
          HOUSENET_CHECK(n.in.size() <= 3, "the axes input is not supported");
        }
        HOUSENET_CHECK(shape_of.at(n.in[0]).rank() == 4, "input of rank ", shape_of.at(n.in[0]).rank(), ", expected 4");
        HOUSENET_CHECK(pads.size() == 8 && pads[0] == 0 && pads[1] == 0 && pads[4] == 0 && pads[5] == 0,
                       "pads must be 8 values with 0 on the batch and channel axes (spatial padding only)");
        for (std::int64_t v : pads) HOUSENET_CHECK(v >= 0 && v <= 4096, "pad ", v, " out of range (0..4096: no cropping)");
        l = std::make_unique<pad2d<T>>(std::size_t(pads[2]), std::size_t(pads[3]), std::size_t(pads[6]),
                                       std::size_t(pads[7]));
      } else if (op == "Flatten") {
        from_ids.push_back(tensor_in(0));
        std::int64_t axis = onnx_attr_i(n, "axis", 1);
        const std::int64_t rank = std::int64_t(shape_of.at(n.in[0]).rank());
        if (axis < 0) axis += rank;
        HOUSENET_CHECK(axis == 1, "axis ", onnx_attr_i(n, "axis", 1), " is not supported (1 only: N x rest)");
        l = std::make_unique<flatten<T>>();
      } else if (op == "Gemm" || op == "MatMul") {
        from_ids.push_back(tensor_in(0));
        HOUSENET_CHECK(shape_of.at(n.in[0]).rank() == 2, "input of rank ", shape_of.at(n.in[0]).rank(), ", expected 2");
        const bool gemm = op == "Gemm";
        HOUSENET_CHECK(onnx_attr_i(n, "transA", 0) == 0, "transA 1 is not supported");
        const bool transB = gemm && onnx_attr_i(n, "transB", 0) != 0;
        const float alpha = gemm ? onnx_attr_f(n, "alpha", 1.0f) : 1.0f, beta = gemm ? onnx_attr_f(n, "beta", 1.0f) : 1.0f;
        const onnx_tensor_in* wt = init_in(1, 2);
        const std::size_t out = std::size_t(transB ? wt->dims[0] : wt->dims[1]);
        const std::size_t features = std::size_t(transB ? wt->dims[1] : wt->dims[0]);
        HOUSENET_CHECK(features == shape_of.at(n.in[0])[1], "B is ", wt->dims[0], "x", wt->dims[1], " for ",
                       shape_of.at(n.in[0])[1], " input features");
        // Gemm's C, or the bias of an Add that is a MatMul's only reader: Add(MatMul(x, W), b)
        std::string c_name;
        if (gemm && n.in.size() >= 3 && !n.in[2].empty() && beta != 0.0f) c_name = n.in[2];
        if (!gemm && f.readers.at(n.out[0]) == 1 && f.reader.count(n.out[0])) {
          const std::size_t j = f.reader.at(n.out[0]);
          const onnx_node_in& a = g.nodes[j];
          if (a.op == "Add" && (a.domain.empty() || a.domain == "ai.onnx") && a.in.size() == 2 && a.out.size() == 1 &&
              needed[j]) {
            const std::string& other = a.in[0] == n.out[0] ? a.in[1] : a.in[0];
            const auto it = f.inits.find(other);
            if (it != f.inits.end() && it->second->type == 1 && it->second->dims.size() >= 1 &&
                it->second->dims.size() <= 2 && it->second->dims.back() == std::int64_t(out) &&
                (it->second->dims.size() == 1 || it->second->dims[0] == 1)) {
              c_name = other;
              out_name = a.out[0];
              fused[j] = 1;
            }
          }
        }
        l = std::make_unique<linear<T>>(out, !c_name.empty());
        w.tensors.push_back(wt);
        w.scale.push_back(alpha);
        w.transpose_first = !transB;
        if (!c_name.empty()) {
          const auto it = f.inits.find(c_name);
          HOUSENET_CHECK(it != f.inits.end(), "C must be an initializer");
          HOUSENET_CHECK(it->second->type == 1, "initializer '", c_name, "': data type ", it->second->type,
                         " not supported (float32 only)");
          const onnx_tensor_in* c = it->second;
          std::size_t count = 1;
          for (std::int64_t d : c->dims) {
            HOUSENET_CHECK(d >= 1 && std::uint64_t(d) <= out, "initializer '", c->name, "': dimension ", d,
                           " (C has more values than the ", out, " outputs: broadcast C is not supported)");
            count *= std::size_t(d);
            HOUSENET_CHECK(count <= out, "C has more values than the ", out, " outputs (broadcast C is not supported)");
          }
          HOUSENET_CHECK(count == out, "C has ", count, " values for ", out, " outputs (broadcast C is not supported)");
          const std::size_t have = c->raw ? c->raw_size : 4 * c->floats.size();
          HOUSENET_CHECK(have == 4 * count, "initializer '", c->name, "': ", have, " bytes of data for ", count,
                         " float32 values");
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
      std::vector<shape> ins = in_shapes;
      for (std::size_t k = ins.size(); k < from_ids.size(); ++k) ins.push_back(shape_of.at(n.in[k]));
      const shape out = l->setup(ins).with_n(1);
      std::vector<node> from_nodes;
      for (std::size_t id : from_ids) from_nodes.push_back(node{id});
      model.add(std::move(l), from(from_nodes));
      HOUSENET_CHECK(!node_of.count(out_name) && !consts.count(out_name), "output '", out_name, "' is produced twice");
      node_of[out_name] = model.size();
      shape_of[out_name] = out;
      if (!w.tensors.empty()) to_copy.push_back(std::move(w));
    });
  }

  const auto out_it = node_of.find(target);
  if (final_softmax && out_it != node_of.end()) onnx_check_final_softmax(f, *final_softmax, shape_of.at(target).rank());
  HOUSENET_CHECK(out_it != node_of.end(), name, ": output '", target, "' is produced by no node",
                 consts.count(target) ? " (it is a shape computation's int64 tensor)" : "");
  HOUSENET_CHECK(model.size() > 0 && out_it->second == model.size(), name, ": output '", target,
                 "' must be the last layer's output (housenet's model output is its last layer's)");
  model.setup_shapes(f.in_shape);

  // the weights, from the file's bytes into the value arena (found through parameters(), not the
  // layers: a model only read to run never touches its gradient arena, graph.hpp)
  std::vector<std::vector<const param_info*>> info_of(model.size());  // [layer][index]
  for (const param_info& pi : model.parameters()) {
    std::vector<const param_info*>& v = info_of.at(pi.layer);
    if (v.size() <= pi.index) v.resize(pi.index + 1, nullptr);
    v[pi.index] = &pi;
  }
  for (const weights& w : to_copy) {
    for (std::size_t k = 0; k < w.tensors.size(); ++k) {
      const onnx_tensor_in& t = *w.tensors[k];
      const param_info& p = *info_of.at(w.layer).at(k);
      std::size_t count = 1;
      for (std::int64_t d : t.dims) count *= std::size_t(d);
      HOUSENET_CHECK(count == p.spec.shape.size(), name, ": initializer '", t.name, "' has ", count, " values, ",
                     std::as_const(model)[w.layer].name(), "'s ", p.spec.name, " needs ", p.spec.shape.size());
      T* dst = model.values().data() + p.offset;
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
  model.eval();
  return model;
}

// The declared output shape (when there is one) must be the model's; the labels, one per class.
inline void onnx_check_output(const onnx_file& f, const shape& s) {
  const onnx_value_in& output = f.g.outputs[0];
  if (output.has_shape) {
    bool ok = output.dims.size() == s.rank();
    for (std::size_t i = 1; ok && i < s.rank(); ++i) ok = output.dims[i] < 0 || std::size_t(output.dims[i]) == s[i];
    HOUSENET_CHECK(ok, f.name, ": output '", output.name, "' is declared with another shape than the ops give (",
                   s.str(), ")");
  }
  if (!f.g.labels.empty())
    HOUSENET_CHECK(f.g.labels.size() == s.sample_size(), f.name, ": ", f.g.labels.size(),
                   " labels in metadata_props for ", s.sample_size(), " outputs");
}

// A one-network file as a model (a final Softmax dropped).
template <class T>
loaded_onnx<T> onnx_single(const onnx_file& f) {
  const std::string& name = f.name;
  const std::string& out = f.g.outputs[0].name;
  const onnx_node_in* last = f.producer_of(out);
  const std::vector<const onnx_node_in*> branches = onnx_ensemble_branches(f, last);
  HOUSENET_CHECK(branches.empty(), name, ": an ensemble of ", branches.size(), " networks (output '", out,
                 "' is the ", last ? last->op : "", " of their Softmax outputs): load it with load_onnx_ensemble");
  const bool softmax = last && last->op == "Softmax" && !last->in.empty() && (last->domain.empty() || last->domain == "ai.onnx");
  loaded_onnx<T> r;
  r.model = onnx_build<T>(f, softmax ? last->in[0] : out, softmax ? last : nullptr);
  onnx_check_output(f, r.model.output_shape());
  r.labels = f.g.labels;
  r.opset = f.g.opset;
  r.producer = f.g.producer;
  r.ends_in_softmax = softmax;
  return r;
}

}  // namespace detail

template <class T = float>
loaded_onnx<T> onnx_from_bytes(const void* data, std::size_t size, const std::string& name = "<memory>") {
  detail::onnx_file f;
  detail::onnx_prepare(f, data, size, name);
  return detail::onnx_single<T>(f);
}

template <class T = float>
loaded_onnx<T> load_onnx(const std::string& path) {
  const std::vector<std::uint8_t> b = detail::read_file_bytes(path, "ONNX file", std::uint64_t(1) << 38);
  return onnx_from_bytes<T>(b.data(), b.size(), path);
}

// The file as the app's model: members (eval mode) and info (labels, classes, input; opset as
// format_version, producer as housenet_version), as load_ensemble gives them for a .hsnt file.
// A file whose output is the Mean (or Sum) of Softmaxes of branches from the input (save_onnx's
// ensemble form) gives one member per branch (is_ensemble true): predict_probabilities(members,
// x, p, {flip = false}) then gives the file's output (a Sum's divided by the branch count);
// any other file one member.
template <class T = float>
loaded_ensemble<T> onnx_ensemble_from_bytes(const void* data, std::size_t size, const std::string& name = "<memory>") {
  loaded_ensemble<T> e;
  detail::onnx_file f;
  detail::onnx_prepare(f, data, size, name);
  const detail::onnx_node_in* last = f.producer_of(f.g.outputs[0].name);
  const std::vector<const detail::onnx_node_in*> branches = detail::onnx_ensemble_branches(f, last);
  if (branches.empty()) {
    e.members.push_back(detail::onnx_single<T>(f).model);
  } else {
    HOUSENET_CHECK(branches.size() <= max_ensemble_members, name, ": an ensemble of ", branches.size(),
                   " networks (at most ", max_ensemble_members, ")");
    for (const detail::onnx_node_in* s : branches) {
      graph<T> m = detail::onnx_build<T>(f, s->in[0], s);
      if (!e.members.empty())
        HOUSENET_CHECK(m.output_shape() == e.members[0].output_shape(), name, ": branch ", e.members.size() + 1,
                       " gives ", m.output_shape().str(), ", branch 1 ", e.members[0].output_shape().str());
      e.members.push_back(std::move(m));
    }
    detail::onnx_check_output(f, e.members[0].output_shape());
    e.is_ensemble = true;
  }
  e.info.labels = f.g.labels;
  e.info.classes = e.members[0].output_shape().sample_size();
  e.info.input = e.members[0].input_shape();
  e.info.housenet_version = f.g.producer;
  e.info.format_version = std::uint32_t(f.g.opset);
  return e;
}

template <class T = float>
loaded_ensemble<T> load_onnx_ensemble(const std::string& path) {
  const std::vector<std::uint8_t> b = detail::read_file_bytes(path, "ONNX file", std::uint64_t(1) << 38);
  return onnx_ensemble_from_bytes<T>(b.data(), b.size(), path);
}

HOUSENET_END_NAMESPACE

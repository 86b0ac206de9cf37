// housenet/onnx/export.hpp: a model as an ONNX file (docs/onnx.md).
//
// WHAT THIS IS
//   save_onnx(model, path, options)      writes the ONNX file atomically (file_io.hpp), streamed:
//                                        the weights go from the model's arena to the file
//                                        without a copy (float models on little-endian hosts)
//   model_to_onnx(model, options)        the same bytes in memory
//   save_onnx(members, path, options), model_to_onnx(members, options)
//                                        an ensemble (ensemble_io.hpp) as ONE graph: each member's
//                                        nodes read the shared input (names prefixed "m<i>/"), a
//                                        Softmax (axis 1) of each member's logits, their Mean the
//                                        output "probabilities" (metadata_props "ensemble" says so):
//                                        predict_probabilities(members, x, p, {flip = false})
//   Every built-in layer kind becomes standard ONNX ops of the default domain (opset 13 by
//   default; 11 and 17 on request), the graph's wiring (graph<T>::inputs_of) becomes the tensor
//   names the nodes read:
//     conv2d        Conv (kernel_shape, strides, pads, dilations, group: all explicit)
//     batch_norm2d  BatchNormalization (epsilon written: housenet's is 2e-5, ONNX's default 1e-5;
//                   momentum = decay; the running statistics as mean and var)
//     relu, leaky_relu, sigmoid, tanh   Relu, LeakyRelu (alpha), Sigmoid, Tanh
//     max_pool2d    MaxPool (kernel_shape, strides, pads, ceil_mode; see onnx_pool below for
//                   how ceil mode is written so that every consumer gets housenet's size)
//     avg_pool2d    AveragePool (the same, and count_include_pad)
//     global_avg_pool  GlobalAveragePool
//     linear        Gemm (alpha 1, beta 1, transA 0, transB 1: PyTorch's export), preceded by
//                   Flatten (axis 1) when its input has rank > 2
//     flatten       Flatten (axis 1)
//     pad2d         Pad (pads an int64 initializer [0, 0, top, left, 0, 0, bottom, right]; zeros)
//     dropout       nothing (inference: its readers read its input), or Identity when it is the
//                   model's output
//     add           Add (2 inputs) or Sum (3 or more; both broadcast as housenet's add)
//     concat        Concat (axis 1)
//   Names: the input "input" (N x C x H x W, N the symbolic dimension "N"), the output "output";
//   initializers carry housenet's parameter names ("1.conv2d.weight"), float32 raw_data; the
//   output of layer i is the tensor "<i>.<kind>", its node is named after the layer
//   ("conv2d #1"). Every tensor but the input has its shape in value_info (the output in the
//   graph's outputs). Class labels go to metadata_props: "labels" = the labels joined by "\n".
//
// ERRORS (housenet::error, prefix "save_onnx: "): a model not set up, an opset other than 11, 13,
//   17, a layer kind without an ONNX mapping (custom layers: named, with the supported list), a
//   label containing a newline, average pooling in ceil mode with count_include_pad where one
//   dimension needs ceil mode and the other drops its last window (onnx_pool); and file_io.hpp's
//   write errors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../detail/binary_io.hpp"
#include "../ensemble_io.hpp"
#include "../file_io.hpp"
#include "../graph.hpp"
#include "../layers/factory.hpp"
#include "../version.hpp"
#include "protobuf.hpp"

HOUSENET_BEGIN_NAMESPACE

struct onnx_options {
  int opset = 13;                   // 11, 13 or 17
  std::vector<std::string> labels;  // class labels (metadata_props "labels"); may be empty
  std::string input_name = "input", output_name = "output";
  std::string batch_dim = "N";      // the symbolic batch dimension
};

namespace detail {
namespace onnx_field {
// onnx.proto's field numbers (onnx 1.12) of the messages written and read here.
enum model_fields : std::uint32_t { model_ir_version = 1, model_producer_name = 2, model_producer_version = 3,
                             model_domain = 4, model_model_version = 5, model_doc_string = 6,
                             model_graph = 7, model_opset_import = 8, model_metadata_props = 14 };
enum opset_fields : std::uint32_t { opset_domain = 1, opset_version = 2 };
enum entry_fields : std::uint32_t { entry_key = 1, entry_value = 2 };
enum graph_fields : std::uint32_t { graph_node = 1, graph_name = 2, graph_initializer = 5, graph_doc_string = 10,
                             graph_input = 11, graph_output = 12, graph_value_info = 13 };
enum node_fields : std::uint32_t { node_input = 1, node_output = 2, node_name = 3, node_op_type = 4,
                            node_attribute = 5, node_doc_string = 6, node_domain = 7 };
enum attribute_fields : std::uint32_t { attr_name = 1, attr_f = 2, attr_i = 3, attr_s = 4, attr_t = 5, attr_g = 6,
                                 attr_floats = 7, attr_ints = 8, attr_strings = 9, attr_type = 20 };
enum attribute_types : std::uint32_t { attr_type_float = 1, attr_type_int = 2, attr_type_string = 3,
                                      attr_type_tensor = 4, attr_type_floats = 6, attr_type_ints = 7 };
enum tensor_fields : std::uint32_t { tensor_dims = 1, tensor_data_type = 2, tensor_float_data = 4,
                              tensor_int32_data = 5, tensor_int64_data = 7, tensor_name = 8,
                              tensor_raw_data = 9, tensor_double_data = 10, tensor_external_data = 13,
                              tensor_data_location = 14 };
enum data_types : std::uint32_t { dtype_float = 1, dtype_int64 = 7, dtype_float16 = 10 };
enum value_info_fields : std::uint32_t { value_name = 1, value_type = 2 };
enum type_fields : std::uint32_t { type_tensor = 1, type_elem_type = 1, type_shape = 2 };
enum shape_fields : std::uint32_t { shape_dim = 1, dim_value = 1, dim_param = 2 };
}  // namespace onnx_field

// The ONNX IR version that goes with an opset (onnx's versioning table).
inline std::int64_t onnx_ir_version(int opset) { return opset >= 15 ? 8 : opset >= 13 ? 7 : 6; }

// Builds one NodeProto.
class onnx_node {
 public:
  onnx_node(std::string op, std::string name) : op_(std::move(op)), name_(std::move(name)) {}
  onnx_node& in(const std::string& t) { ins_.push_back(t); return *this; }
  onnx_node& out(const std::string& t) { outs_.push_back(t); return *this; }
  onnx_node& int_attr(const std::string& n, std::int64_t v) {
    using namespace onnx_field;
    protobuf::message a;
    a.bytes(attr_name, n).varint(attr_type, attr_type_int).int64(attr_i, v);
    attrs_.push_back(std::move(a));
    return *this;
  }
  onnx_node& float_attr(const std::string& n, float v) {
    using namespace onnx_field;
    protobuf::message a;
    a.bytes(attr_name, n).varint(attr_type, attr_type_float).float32(attr_f, v);
    attrs_.push_back(std::move(a));
    return *this;
  }
  onnx_node& ints_attr(const std::string& n, const std::vector<std::int64_t>& v) {
    using namespace onnx_field;
    protobuf::message a;
    a.bytes(attr_name, n).varint(attr_type, attr_type_ints);
    for (std::int64_t x : v) a.int64(attr_ints, x);
    attrs_.push_back(std::move(a));
    return *this;
  }
  protobuf::message build() {
    using namespace onnx_field;
    protobuf::message m;
    for (const auto& t : ins_) m.bytes(node_input, t);
    for (const auto& t : outs_) m.bytes(node_output, t);
    m.bytes(node_name, name_).bytes(node_op_type, op_);
    for (auto& a : attrs_) m.child(node_attribute, std::move(a));
    return m;
  }

 private:
  std::string op_, name_;
  std::vector<std::string> ins_, outs_;
  std::vector<protobuf::message> attrs_;
};

// A ValueInfoProto: float32 tensor, dimension 0 symbolic, the others s's (s.n() ignored).
inline protobuf::message onnx_value_info(const std::string& name, const shape& s, const std::string& batch) {
  using namespace onnx_field;
  protobuf::message sh;
  for (std::size_t i = 0; i < s.rank(); ++i) {
    protobuf::message d;
    if (i == 0)
      d.bytes(dim_param, batch);
    else
      d.int64(dim_value, static_cast<std::int64_t>(s[i]));
    sh.child(shape_dim, std::move(d));
  }
  protobuf::message tt;
  tt.varint(type_elem_type, dtype_float).child(type_shape, std::move(sh));
  protobuf::message ty;
  ty.child(type_tensor, std::move(tt));
  protobuf::message v;
  v.bytes(value_name, name).child(value_type, std::move(ty));
  return v;
}

// A pooling layer's ceil_mode and pads in ONNX. ONNX consumers differ on ceil mode's output size
// (onnx <= 1.15's shape inference keeps a last window that starts in the right padding; PyTorch,
// housenet and ONNX Runtime drop it), so ceil_mode = 1 is written only where every reading gives
// housenet's size: when no dimension needs it, ceil_mode = 0 (the same windows); when one does,
// ceil_mode = 1 if the plain ceil formula gives housenet's size in both; otherwise (one dimension
// needs ceil mode, the other drops its last window) ceil_mode = 0 with each end pad grown until
// floor mode gives housenet's size: exact for max pooling (-inf padding) and for average pooling
// without count_include_pad, refused for average pooling with it.
struct onnx_pool_form {
  bool ceil_mode = false;
  std::vector<std::int64_t> pads;  // begin H, begin W, end H, end W
};
inline onnx_pool_form onnx_pool(const std::string& who, const shape& in, std::size_t k, std::size_t s,
                                std::size_t p, bool ceil, bool counts_padding) {
  onnx_pool_form f;
  const auto ip = std::int64_t(p);
  f.pads = {ip, ip, ip, ip};
  if (!ceil) return f;
  bool need_ceil = false, plain_ceil_ok = true;
  std::size_t out[2], floor_out[2];
  for (int d = 0; d < 2; ++d) {
    const std::size_t len = in[2 + std::size_t(d)];
    out[d] = pool_out_size(len, k, s, p, true);
    floor_out[d] = pool_out_size(len, k, s, p, false);
    const std::size_t plain = (len + 2 * p - k + s - 1) / s + 1;
    need_ceil = need_ceil || out[d] != floor_out[d];
    plain_ceil_ok = plain_ceil_ok && plain == out[d];
  }
  if (!need_ceil) return f;
  if (plain_ceil_ok) {
    f.ceil_mode = true;
    return f;
  }
  HOUSENET_CHECK(!counts_padding, "save_onnx: ", who, ": ceil mode with count_include_pad on a ", in[2], "x",
                 in[3], " input has no exact ONNX form (one dimension needs ceil mode, the other drops its "
                 "last window)");
  for (int d = 0; d < 2; ++d) {
    const std::size_t covered = (out[d] - 1) * s + k, padded = in[2 + std::size_t(d)] + 2 * p;
    if (covered > padded) f.pads[2 + std::size_t(d)] += std::int64_t(covered - padded);
  }
  return f;
}

inline const char* onnx_exportable_kinds() {
  return "conv2d, batch_norm2d, relu, leaky_relu, sigmoid, tanh, max_pool2d, avg_pool2d, "
         "global_avg_pool, linear, flatten, pad2d, dropout, add, concat";
}

// The nodes, initializers and value_info of a graph being written.
struct onnx_graph_parts {
  std::vector<protobuf::message> nodes, inits, infos;
};

// Appends one network's nodes to `parts`: it reads tensor `input`, its last layer writes tensor
// `output`; every other tensor, node and initializer name starts with `prefix` ("" for a single
// network). Initializers view the model's arena (float on a little-endian host) or `storage`.
template <class T>
void onnx_emit_network(const graph<T>& model, const std::string& input, const std::string& output,
                       const std::string& prefix, const onnx_options& opt, onnx_graph_parts& parts,
                       std::vector<std::vector<std::uint8_t>>& storage) {
  using namespace onnx_field;
  HOUSENET_CHECK(model.is_setup(), "save_onnx: the model is not set up");
  std::vector<protobuf::message>& nodes = parts.nodes;
  std::vector<protobuf::message>& inits = parts.inits;
  std::vector<protobuf::message>& infos = parts.infos;
  // tensor name of each node (0: input, i: layer i's output, possibly its input's for dropout)
  std::vector<std::string> tensor_of(model.size() + 1);
  tensor_of[0] = input;
  const std::size_t last = model.size();

  // The initializer of a parameter, named after it.
  const auto initializer = [&](const param<T>& p, const std::string& name) {
    protobuf::message t;
    for (std::size_t i = 0; i < p.spec.shape.rank(); ++i) t.int64(tensor_dims, std::int64_t(p.spec.shape[i]));
    t.varint(tensor_data_type, dtype_float).bytes(tensor_name, name);
    const std::size_t n = p.value.size();
    if (std::is_same<T, float>::value && host_is_little_endian()) {
      t.bytes_view(tensor_raw_data, p.value.data(), 4 * n);
    } else {
      storage.emplace_back(4 * n);
      to_f32_bytes(p.value.data(), n, storage.back().data());
      t.bytes_view(tensor_raw_data, storage.back().data(), 4 * n);
    }
    inits.push_back(std::move(t));
    return name;
  };

  for (std::size_t i = 0; i < model.size(); ++i) {
    const layer<T>& l = model[i];
    const std::string& kind = l.kind();
    const std::size_t id = i + 1;
    const std::string out = id == last ? output : prefix + std::to_string(id) + "." + kind;
    std::vector<std::string> ins;
    for (std::size_t from : model.inputs_of(i)) ins.push_back(tensor_of[from]);
    const layer_config cfg = l.config();
    config_reader c(cfg, kind);
    const auto param_name = [&](std::size_t k) {
      return prefix + std::to_string(id) + "." + kind + "." + l.params().at(k).spec.name;
    };
    const auto with_params = [&](onnx_node& n) {
      for (std::size_t k = 0; k < l.params().size(); ++k) n.in(initializer(l.params()[k], param_name(k)));
    };
    const std::size_t big = ~std::size_t(0);
    const std::string node_name = prefix + l.name();
    onnx_node n("", node_name);
    bool emitted = true;
    if (kind == "conv2d") {
      const auto k = std::int64_t(c.size("kernel", 1, big)), s = std::int64_t(c.size("stride", 1, big));
      const auto p = std::int64_t(c.size("padding", 0, big));
      const auto d = std::int64_t(c.size_or("dilation", 1, 1, big)), gr = std::int64_t(c.size_or("groups", 1, 1, big));
      n = onnx_node("Conv", node_name);
      n.in(ins[0]);
      with_params(n);
      n.ints_attr("dilations", {d, d}).int_attr("group", gr).ints_attr("kernel_shape", {k, k})
          .ints_attr("pads", {p, p, p, p}).ints_attr("strides", {s, s});
    } else if (kind == "batch_norm2d") {
      n = onnx_node("BatchNormalization", node_name);
      n.in(ins[0]);
      with_params(n);  // gamma, beta, running_mean, running_var: ONNX's scale, B, mean, var
      n.float_attr("epsilon", static_cast<float>(c.real("eps", 0, 1))).float_attr("momentum", static_cast<float>(c.real("decay", 0, 1)));
    } else if (kind == "relu" || kind == "sigmoid" || kind == "tanh") {
      n = onnx_node(kind == "relu" ? "Relu" : kind == "sigmoid" ? "Sigmoid" : "Tanh", node_name);
      n.in(ins[0]);
    } else if (kind == "leaky_relu") {
      n = onnx_node("LeakyRelu", node_name);
      n.in(ins[0]).float_attr("alpha", static_cast<float>(c.real("negative_slope", -1e300, 1e300)));
    } else if (kind == "max_pool2d" || kind == "avg_pool2d") {
      const bool avg = kind == "avg_pool2d";
      n = onnx_node(avg ? "AveragePool" : "MaxPool", node_name);
      n.in(ins[0]);
      const std::size_t k = c.size("kernel", 1, big), s = c.size("stride", 1, big), p = c.size("padding", 0, big);
      const bool ceil = c.boolean("ceil_mode"), include_pad = avg && c.boolean("count_include_pad");
      const onnx_pool_form pf = onnx_pool(node_name, l.input_shape(), k, s, p, ceil, include_pad);
      n.int_attr("ceil_mode", pf.ceil_mode ? 1 : 0);
      if (avg) n.int_attr("count_include_pad", include_pad ? 1 : 0);
      n.ints_attr("kernel_shape", {std::int64_t(k), std::int64_t(k)}).ints_attr("pads", pf.pads)
          .ints_attr("strides", {std::int64_t(s), std::int64_t(s)});
    } else if (kind == "global_avg_pool") {
      n = onnx_node("GlobalAveragePool", node_name);
      n.in(ins[0]);
    } else if (kind == "pad2d") {  // Pad: mode constant (the default), value 0 (the default)
      const std::int64_t t = std::int64_t(c.size("top", 0, big)), le = std::int64_t(c.size("left", 0, big));
      const std::int64_t b = std::int64_t(c.size("bottom", 0, big)), r = std::int64_t(c.size("right", 0, big));
      const std::string pads = prefix + std::to_string(id) + "." + kind + ".pads";
      protobuf::message pt;
      pt.int64(tensor_dims, 8).varint(tensor_data_type, dtype_int64).bytes(tensor_name, pads);
      for (std::int64_t v : {std::int64_t(0), std::int64_t(0), t, le, std::int64_t(0), std::int64_t(0), b, r})
        pt.int64(tensor_int64_data, v);
      inits.push_back(std::move(pt));
      n = onnx_node("Pad", node_name);
      n.in(ins[0]).in(pads);
    } else if (kind == "flatten") {
      n = onnx_node("Flatten", node_name);
      n.in(ins[0]).int_attr("axis", 1);
    } else if (kind == "linear") {
      std::string x = ins[0];
      if (l.input_shape().rank() > 2) {
        const std::string flat = prefix + std::to_string(id) + "." + kind + ".flatten";
        onnx_node f("Flatten", node_name + " flatten");
        f.in(x).out(flat).int_attr("axis", 1);
        nodes.push_back(f.build());
        infos.push_back(onnx_value_info(flat, shape{1, l.input_shape().size()}, opt.batch_dim));
        x = flat;
      }
      n = onnx_node("Gemm", node_name);
      n.in(x);
      with_params(n);  // weight [O, F] (transB), bias [O] when present
      n.float_attr("alpha", 1.0f).float_attr("beta", 1.0f).int_attr("transA", 0).int_attr("transB", 1);
    } else if (kind == "dropout") {
      if (id != last) {  // inference: the identity, so its readers read its input
        tensor_of[id] = ins[0];
        emitted = false;
      } else {
        n = onnx_node("Identity", node_name);
        n.in(ins[0]);
      }
    } else if (kind == "add") {
      n = onnx_node(ins.size() == 2 ? "Add" : "Sum", node_name);
      for (const auto& t : ins) n.in(t);
    } else if (kind == "concat") {
      n = onnx_node("Concat", node_name);
      for (const auto& t : ins) n.in(t);
      n.int_attr("axis", 1);
    } else {
      detail::fail(detail::concat("save_onnx: ", node_name, ": layer kind '", kind,
                                  "' has no ONNX mapping (supported: ", onnx_exportable_kinds(), ")"));
    }
    if (!emitted) continue;
    n.out(out);
    nodes.push_back(n.build());
    tensor_of[id] = out;
    if (id != last) infos.push_back(onnx_value_info(out, model.layer_output_shape(i), opt.batch_dim));
  }

}

// The labels as metadata_props' "labels" value (checked: no newline).
inline std::string onnx_joined_labels(const std::vector<std::string>& labels) {
  std::string joined;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    HOUSENET_CHECK(labels[i].find('\n') == std::string::npos, "save_onnx: label ", i + 1, " contains a newline");
    joined += (i ? "\n" : "") + labels[i];
  }
  return joined;
}

inline void onnx_check_options(const onnx_options& opt) {
  HOUSENET_CHECK(opt.opset == 11 || opt.opset == 13 || opt.opset == 17, "save_onnx: opset ", opt.opset,
                 " not supported (11, 13 or 17)");
  HOUSENET_CHECK(!opt.input_name.empty() && !opt.output_name.empty() && opt.input_name != opt.output_name,
                 "save_onnx: the input and output names must be distinct and not empty");
}

// The ModelProto around a graph's parts: one input and one output, metadata_props `meta`.
inline protobuf::message onnx_wrap_model(onnx_graph_parts& parts, const onnx_options& opt, const std::string& output,
                                         const shape& in, const shape& out,
                                         const std::vector<std::pair<std::string, std::string>>& meta) {
  using namespace onnx_field;
  protobuf::message g;
  for (auto& m : parts.nodes) g.child(graph_node, std::move(m));
  g.bytes(graph_name, "housenet");
  for (auto& m : parts.inits) g.child(graph_initializer, std::move(m));
  g.child(graph_input, onnx_value_info(opt.input_name, in, opt.batch_dim));
  g.child(graph_output, onnx_value_info(output, out, opt.batch_dim));
  for (auto& m : parts.infos) g.child(graph_value_info, std::move(m));

  protobuf::message op;
  op.bytes(opset_domain, "").int64(opset_version, opt.opset);
  protobuf::message m;
  m.int64(model_ir_version, onnx_ir_version(opt.opset))
      .bytes(model_producer_name, "housenet")
      .bytes(model_producer_version, HOUSENET_VERSION_STRING)
      .child(model_graph, std::move(g))
      .child(model_opset_import, std::move(op));
  for (const auto& kv : meta) {
    protobuf::message e;
    e.bytes(entry_key, kv.first).bytes(entry_value, kv.second);
    m.child(model_metadata_props, std::move(e));
  }
  return m;
}

// The ModelProto of a model. Its initializers view the model's arena (float on a little-endian
// host) or `storage` (converted copies): both must outlive the message.
template <class T>
protobuf::message onnx_model_message(const graph<T>& model, const onnx_options& opt,
                                     std::vector<std::vector<std::uint8_t>>& storage) {
  HOUSENET_CHECK(model.is_setup(), "save_onnx: the model is not set up");
  onnx_check_options(opt);
  const std::string joined = onnx_joined_labels(opt.labels);
  onnx_graph_parts parts;
  onnx_emit_network(model, opt.input_name, opt.output_name, "", opt, parts, storage);
  std::vector<std::pair<std::string, std::string>> meta;
  if (!opt.labels.empty()) meta.emplace_back("labels", joined);
  return onnx_wrap_model(parts, opt, opt.output_name, model.input_shape(), model.output_shape(), meta);
}

// The ModelProto of an ensemble (ensemble_io.hpp's meaning: the mean of the members' class
// probabilities): member i's layers read the shared input, their names prefixed "m<i>/"; its
// logits "m<i>/logits" go through Softmax (axis 1) to "m<i>/probabilities"; Mean of those is the
// output (opt.output_name, or "probabilities" when it is the default "output").
template <class T>
protobuf::message onnx_ensemble_message(const std::vector<graph<T>>& members, const onnx_options& opt,
                                        std::vector<std::vector<std::uint8_t>>& storage) {
  HOUSENET_CHECK(!members.empty() && members.size() <= max_ensemble_members, "save_onnx: an ensemble of ",
                 members.size(), " models (1..", max_ensemble_members, ")");
  onnx_check_options(opt);
  const std::string joined = onnx_joined_labels(opt.labels);
  const std::string output = opt.output_name == "output" ? "probabilities" : opt.output_name;
  HOUSENET_CHECK(output != opt.input_name, "save_onnx: the input and output names must be distinct");
  for (std::size_t i = 0; i < members.size(); ++i) {
    const graph<T>& m = members[i];
    HOUSENET_CHECK(m.is_setup(), "save_onnx: ensemble member ", i + 1, " is not set up");
    HOUSENET_CHECK(m.output_shape().rank() == 2, "save_onnx: ensemble member ", i + 1, " gives ",
                   m.output_shape().str(), " (N x classes needed: the members' probabilities are averaged)");
    HOUSENET_CHECK(m.input_shape() == members[0].input_shape(), "save_onnx: ensemble member ", i + 1, " takes ",
                   m.input_shape().str(), ", member 1 ", members[0].input_shape().str());
    HOUSENET_CHECK(m.output_shape() == members[0].output_shape(), "save_onnx: ensemble member ", i + 1, " gives ",
                   m.output_shape().str(), ", member 1 ", members[0].output_shape().str());
  }
  onnx_graph_parts parts;
  onnx_node mean("Mean", "mean");
  for (std::size_t i = 0; i < members.size(); ++i) {
    const std::string prefix = "m" + std::to_string(i + 1) + "/";
    onnx_emit_network(members[i], opt.input_name, prefix + "logits", prefix, opt, parts, storage);
    parts.infos.push_back(onnx_value_info(prefix + "logits", members[i].output_shape(), opt.batch_dim));
    onnx_node sm("Softmax", prefix + "softmax");
    sm.in(prefix + "logits").out(prefix + "probabilities").int_attr("axis", 1);
    parts.nodes.push_back(sm.build());
    parts.infos.push_back(onnx_value_info(prefix + "probabilities", members[i].output_shape(), opt.batch_dim));
    mean.in(prefix + "probabilities");
  }
  mean.out(output);
  parts.nodes.push_back(mean.build());
  std::vector<std::pair<std::string, std::string>> meta;
  if (!opt.labels.empty()) meta.emplace_back("labels", joined);
  meta.emplace_back("ensemble", "'" + output + "' is the mean of the class probabilities (Softmax, axis 1, of the logits) of " +
                                    std::to_string(members.size()) + " networks, without test-time flip");
  return onnx_wrap_model(parts, opt, output, members[0].input_shape(), members[0].output_shape(), meta);
}
}  // namespace detail

// The ONNX file's bytes.
template <class T>
std::vector<std::uint8_t> model_to_onnx(const graph<T>& model, const onnx_options& options = {}) {
  std::vector<std::vector<std::uint8_t>> storage;
  return detail::onnx_model_message(model, options, storage).to_bytes();
}

// Writes the ONNX file atomically, streamed from the model's arena.
template <class T>
void save_onnx(const graph<T>& model, const std::string& path, const onnx_options& options = {}) {
  std::vector<std::vector<std::uint8_t>> storage;
  const protobuf::message m = detail::onnx_model_message(model, options, storage);
  write_file_atomic_with(path, [&](const auto& write) { m.write_to(write); });
}

// An ensemble (ensemble_io.hpp: the members' mean class probabilities) as ONE ONNX graph whose
// output "probabilities" is that mean, without test-time flip (options.labels: the classes).
template <class T>
std::vector<std::uint8_t> model_to_onnx(const std::vector<graph<T>>& members, const onnx_options& options = {}) {
  std::vector<std::vector<std::uint8_t>> storage;
  return detail::onnx_ensemble_message(members, options, storage).to_bytes();
}
template <class T>
void save_onnx(const std::vector<graph<T>>& members, const std::string& path, const onnx_options& options = {}) {
  std::vector<std::vector<std::uint8_t>> storage;
  const protobuf::message m = detail::onnx_ensemble_message(members, options, storage);
  write_file_atomic_with(path, [&](const auto& write) { m.write_to(write); });
}

HOUSENET_END_NAMESPACE

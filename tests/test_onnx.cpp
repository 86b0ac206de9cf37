// ONNX export (onnx/export.hpp) and protobuf's wire format (onnx/protobuf.hpp).
//   - the wire format: varints at every length boundary, fixed32/64, nested sizes, views; the
//     reader's refusal of every malformed input with one error naming the file and the offset;
//   - export's structure, read back with the reader: op types in order, attributes (BN epsilon,
//     Gemm transB, pads, ceil_mode, count_include_pad, groups, dilations), the Flatten before a
//     Gemm on a rank-4 input, dropout omitted (Identity when last), Sum for 3 inputs, the
//     symbolic batch dimension, value_info for every tensor, labels, initializers = the arena;
//   - oracles nobody here wrote (suites that skip when absent):
//       python-onnx   Debian's python3-onnx: onnx.checker.check_model(full_check=True) (which
//                     runs strict shape inference against the declared shapes), opsets 11/13/17
//       onnxruntime   npm's onnxruntime-node (tests/onnx_run.mjs): the exported files run, and
//                     their outputs match housenet's within 1e-5 of max |output|.
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/graph.hpp>
#include <housenet/layers.hpp>
#include <housenet/model_io.hpp>
#include <housenet/ensemble_io.hpp>
#include <housenet/onnx.hpp>
#include <housenet/loss.hpp>
#include <housenet/networks.hpp>
#include <housenet/predict.hpp>
#include <housenet/vision.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

using namespace housenet;
using housenet_test::contains;
using housenet_test::error_of;

namespace {

// ---- test models ------------------------------------------------------------------------------

// Every parameter random (running variances positive), so nothing passes by being zero or one.
void randomize(graph<float>& m, std::uint64_t seed) {
  prng g(seed);
  for (const param_info& p : m.parameters()) {
    auto& v = m[p.layer].params()[p.index].value;
    const bool var = contains(p.name, "running_var");
    for (std::size_t i = 0; i < v.size(); ++i)
      v[i] = var ? float(g.uniform(0.3, 1.5)) : float(g.uniform(-0.5, 0.5));
  }
}

// Sets the model up for `input`, randomizes it and puts it in eval mode.
graph<float> ready(graph<float> m, const shape& input, std::uint64_t seed) {
  m.setup(input, seed);
  randomize(m, seed + 1);
  m.eval();
  return m;
}

// The largest |want - got| and the largest |want| (the oracles' tolerance is 1e-5 of the latter).
struct deviation {
  float diff = 0, scale = 0;
};
deviation compare(const float* want, const float* got, std::size_t n) {
  deviation d;
  for (std::size_t i = 0; i < n; ++i) {
    d.scale = std::max(d.scale, std::fabs(want[i]));
    d.diff = std::max(d.diff, std::fabs(want[i] - got[i]));
  }
  return d;
}

// A chain of every single-input kind: odd sizes, ceil mode with padding, groups, dilation,
// depthwise, count_include_pad both ways, dropout inside.
graph<float> chain_model() {
  graph<float> m;
  m.add<conv2d<float>>(8, 3, 1, 1);
  m.add<batch_norm2d<float>>();
  m.add<relu<float>>();
  m.add<max_pool2d<float>>(2, 2, 0, true);  // ceil mode needed in both dimensions
  m.add<conv2d<float>>(8, 3, 1, 2, true, init_kind::he, 2, 2);  // dilation 2, groups 2
  m.add<leaky_relu<float>>(0.1);
  m.add<avg_pool2d<float>>(3, 2, 1, true, false);
  m.add<conv2d<float>>(8, 3, 1, 1, false, init_kind::lecun, 1, 8);  // depthwise, no bias
  m.add<sigmoid<float>>();
  m.add<dropout<float>>(0.3, 5);
  m.add<avg_pool2d<float>>(2, 2, 0, false, true);
  m.add<tanh_layer<float>>();
  m.add<flatten<float>>();
  m.add<linear<float>>(5);
  return ready(std::move(m), shape{1, 3, 13, 11}, 1);
}

// A graph: three branches summed with broadcasting (Sum), a concatenation, a residual Add, a
// linear layer on a rank-4 input (Flatten inserted), dropout as the output (Identity).
graph<float> graph_model() {
  graph<float> m;
  m.add<conv2d<float>>(6, 3, 1, 1);
  m.add<batch_norm2d<float>>();
  m.add<relu<float>>();
  const node rn = m.last();
  m.add<conv2d<float>>(from{rn}, 6, 1, 1, 0);
  const node a = m.last();
  m.add<conv2d<float>>(from{rn}, 6, 3, 1, 1, false);
  const node b = m.last();
  m.add<global_avg_pool<float>>(from{rn});
  const node g = m.last();
  m.add<add_layer<float>>(from{a, b, g});
  const node sum = m.last();
  m.add<concat_layer<float>>(from{sum, rn});
  const node cat = m.last();
  m.add<conv2d<float>>(12, 3, 1, 1);
  m.add<add_layer<float>>(from{m.last(), cat});
  m.add<linear<float>>(7);
  m.add<dropout<float>>(0.5, 1);
  return ready(std::move(m), shape{1, 4, 9, 9}, 3);
}

// Pooling in ceil mode where PyTorch's rule drops the last window (9 + 2 - 2 = 9: the plain ceil
// formula gives 6 windows, the sixth would start in the right padding; onnx 1.12's shape inference
// keeps it): 5 x 5 out, then 3 x 3; then on 8 x 7 a max pool where H needs ceil mode and W drops
// its last window (written in floor mode with a larger end pad on H).
graph<float> ceil_corner_model() {
  graph<float> m;
  m.add<conv2d<float>>(2, 1);
  m.add<max_pool2d<float>>(2, 2, 1, true);
  m.add<avg_pool2d<float>>(2, 2, 1, true, true);
  m.add<flatten<float>>();
  m.add<linear<float>>(3, false);
  return ready(std::move(m), shape{1, 3, 9, 9}, 5);
}
graph<float> ceil_mixed_model() {
  graph<float> m;
  m.add<conv2d<float>>(2, 1);
  m.add<max_pool2d<float>>(4, 3, 2, true);       // 8 x 7 -> 4 x 3
  m.add<avg_pool2d<float>>(3, 1, 1, true, false);  // ceil mode with nothing to do: floor
  m.add<avg_pool2d<float>>(4, 3, 2, true, false);  // 4 x 3 -> 2 x 2
  m.add<flatten<float>>();
  m.add<linear<float>>(3);
  return ready(std::move(m), shape{1, 3, 8, 7}, 7);
}

// Asymmetric zero padding (pad2d, ONNX Pad) before a strided convolution and before pooling.
graph<float> pad_model() {
  graph<float> m;
  m.add<conv2d<float>>(3, 3, 1, 1);
  m.add<pad2d<float>>(0, 0, 1, 1);  // TensorFlow's "SAME" at stride 2
  m.add<conv2d<float>>(4, 3, 2, 0);
  m.add<relu<float>>();
  // (ONNX Runtime fuses a Pad into the pooling after it and then requires each pad < the kernel)
  m.add<pad2d<float>>(1, 0, 0, 1);
  m.add<avg_pool2d<float>>(2, 2, 0, false, true);
  m.add<flatten<float>>();
  m.add<linear<float>>(3);
  return ready(std::move(m), shape{1, 2, 9, 8}, 8);
}

// Calls f(k, model, opset) for each test model at opsets 11, 13 and 17.
template <class F>
void for_each_export(F f) {
  const graph<float> models[] = {chain_model(), graph_model(), ceil_corner_model(), ceil_mixed_model(), pad_model()};
  for (int opset : {11, 13, 17})
    for (std::size_t k = 0; k < 5; ++k) {
      INFO("model ", k, " opset ", opset);
      f(k, models[k], opset);
    }
}

// Three small random networks of one input and 4 classes, for ensembles: a chain, a branching
// graph, a chain ending in dropout (written as Identity).
std::vector<graph<float>> ensemble_members() {
  const shape in{1, 3, 8, 8};
  std::vector<graph<float>> v;
  graph<float> a;
  a.add<conv2d<float>>(4, 3, 1, 1);
  a.add<batch_norm2d<float>>();
  a.add<relu<float>>();
  a.add<max_pool2d<float>>(2, 2, 0, true);
  a.add<flatten<float>>();
  a.add<linear<float>>(4);
  v.push_back(ready(std::move(a), in, 50));
  graph<float> b;
  b.add<conv2d<float>>(3, 1);
  const node x = b.last();
  b.add<conv2d<float>>(from{x}, 3, 3, 1, 1);
  b.add<concat_layer<float>>(from{x, b.last()});
  b.add<global_avg_pool<float>>();
  b.add<linear<float>>(4);
  v.push_back(ready(std::move(b), in, 60));
  graph<float> c;
  c.add<conv2d<float>>(2, 3, 2, 1);
  c.add<tanh_layer<float>>();
  c.add<linear<float>>(4);
  c.add<dropout<float>>(0.5, 3);
  v.push_back(ready(std::move(c), in, 70));
  return v;
}
const std::vector<std::string> ensemble_labels = {"gryffindor", "hufflepuff", "ravenclaw", "slytherin"};

// ---- reading an exported file back (with the reader under test) ----------------------------------
struct attr {
  std::int64_t i = 0;
  float f = 0;
  std::vector<std::int64_t> ints;
};
struct onnx_node_read {
  std::string op, name;
  std::vector<std::string> in, out;
  std::map<std::string, attr> attrs;
};
struct onnx_read {
  std::int64_t ir = 0, opset = 0;
  std::vector<onnx_node_read> nodes;
  std::map<std::string, std::vector<std::uint8_t>> raw;  // initializer raw_data
  std::map<std::string, std::vector<std::int64_t>> dims;
  std::map<std::string, std::string> shapes;  // value name -> "N,3,13,11" (inputs, outputs, value_info)
  std::vector<std::string> inputs, outputs;
  std::map<std::string, std::string> meta;
};

std::string read_shape(protobuf::reader& r, const protobuf::field& type_field) {
  protobuf::reader ty = r.nested(type_field);
  protobuf::field f;
  std::string s;
  while (ty.next(f)) {
    if (f.number != 1) continue;
    protobuf::reader tt = ty.nested(f);
    protobuf::field g;
    while (tt.next(g)) {
      if (g.number != 2) continue;
      protobuf::reader sh = tt.nested(g);
      protobuf::field d;
      while (sh.next(d)) {
        protobuf::reader dr = sh.nested(d);
        protobuf::field v;
        while (dr.next(v)) {
          if (!s.empty()) s += ",";
          s += v.number == 1 ? std::to_string(dr.i64(v)) : dr.str(v);
        }
      }
    }
  }
  return s;
}

onnx_read read_onnx(const std::vector<std::uint8_t>& bytes) {
  static const std::string name = "exported.onnx";
  onnx_read out;
  protobuf::reader m(bytes.data(), bytes.size(), name);
  protobuf::field f;
  const auto value_info = [&](protobuf::reader& gr, const protobuf::field& vf) {
    protobuf::reader v = gr.nested(vf);
    protobuf::field x;
    std::string n, s;
    while (v.next(x)) {
      if (x.number == 1) n = v.str(x);
      if (x.number == 2) s = read_shape(v, x);
    }
    out.shapes[n] = s;
    return n;
  };
  while (m.next(f)) {
    if (f.number == 1) out.ir = m.i64(f);
    if (f.number == 8) {
      protobuf::reader o = m.nested(f);
      protobuf::field x;
      while (o.next(x))
        if (x.number == 2) out.opset = o.i64(x);
    }
    if (f.number == 14) {
      protobuf::reader e = m.nested(f);
      protobuf::field x;
      std::string k, v;
      while (e.next(x)) (x.number == 1 ? k : v) = e.str(x);
      out.meta[k] = v;
    }
    if (f.number != 7) continue;
    protobuf::reader g = m.nested(f);
    protobuf::field gf;
    while (g.next(gf)) {
      if (gf.number == 1) {
        protobuf::reader nr = g.nested(gf);
        onnx_node_read n;
        protobuf::field x;
        while (nr.next(x)) {
          if (x.number == 1) n.in.push_back(nr.str(x));
          if (x.number == 2) n.out.push_back(nr.str(x));
          if (x.number == 3) n.name = nr.str(x);
          if (x.number == 4) n.op = nr.str(x);
          if (x.number == 5) {
            protobuf::reader ar = nr.nested(x);
            protobuf::field y;
            std::string an;
            attr a;
            while (ar.next(y)) {
              if (y.number == 1) an = ar.str(y);
              if (y.number == 2) a.f = ar.f32(y);
              if (y.number == 3) a.i = ar.i64(y);
              if (y.number == 8) ar.append_i64(y, a.ints, 16);
            }
            n.attrs[an] = a;
          }
        }
        out.nodes.push_back(n);
      } else if (gf.number == 5) {
        protobuf::reader t = g.nested(gf);
        protobuf::field x;
        std::string tn;
        std::vector<std::int64_t> d;
        std::vector<std::uint8_t> raw;
        while (t.next(x)) {
          if (x.number == 1) t.append_i64(x, d, 8);
          if (x.number == 8) tn = t.str(x);
          if (x.number == 9) raw.assign(x.data, x.data + x.size);
        }
        out.raw[tn] = raw;
        out.dims[tn] = d;
      } else if (gf.number == 11) {
        out.inputs.push_back(value_info(g, gf));
      } else if (gf.number == 12) {
        out.outputs.push_back(value_info(g, gf));
      } else if (gf.number == 13) {
        value_info(g, gf);
      }
    }
  }
  return out;
}

std::vector<std::string> ops(const onnx_read& r) {
  std::vector<std::string> v;
  for (const auto& n : r.nodes) v.push_back(n.op);
  return v;
}

// ---- external oracles -----------------------------------------------------------------------------
bool python_onnx_available() {
  return std::system("/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1") == 0;
}
bool onnxruntime_available() {
  std::ifstream f(std::string(HOUSENET_SOURCE_DIR) + "/node_modules/onnxruntime-node/package.json");
  return f.good() && std::system("node --version >/dev/null 2>&1") == 0;
}

// The oracle present, or the test reported skipped (with how to install it).
bool python_onnx_or_skip() {
  if (python_onnx_available()) return true;
  housenet_test::skip("Debian's python3-onnx is not installed (/usr/bin/python3 -c 'import onnx')");
  return false;
}
bool onnxruntime_or_skip() {
  if (onnxruntime_available()) return true;
  housenet_test::skip("onnxruntime-node is not installed (cd <source> && npm install --ignore-scripts onnxruntime-node)");
  return false;
}

// Runs the checker with full_check (strict shape inference); "" when the file passes.
std::string onnx_check(const std::string& path) {
  const std::string out = path + ".check";
  const std::string cmd = "/usr/bin/python3 -c 'import onnx, sys; m = onnx.load(sys.argv[1]); "
                          "onnx.checker.check_model(m, full_check=True)' '" + path + "' >'" + out + "' 2>&1";
  if (std::system(cmd.c_str()) == 0) return "";
  const std::string log = housenet_test::read_file(out);
  return log.empty() ? "checker failed" : log;
}

// Runs path in ONNX Runtime on x; returns its output (shape from the runner).
tensor<float> run_onnxruntime(const std::string& path, const tensor<float>& x, const housenet_test::scratch_dir& dir) {
  housenet_test::write_file(dir("x.bin"), x.data(), x.size() * 4);
  std::string dims;
  for (std::size_t i = 0; i < x.shape().rank(); ++i) dims += (i ? "," : "") + std::to_string(x.shape()[i]);
  const std::string cmd = "node '" + std::string(HOUSENET_SOURCE_DIR) + "/tests/onnx_run.mjs' '" + path + "' '" +
                          dir("x.bin") + "' " + dims + " '" + dir("y.bin") + "' >'" + dir("y.shape") + "' 2>'" +
                          dir("y.err") + "'";
  const int rc = std::system(cmd.c_str());
  INFO(housenet_test::read_file(dir("y.err")));
  REQUIRE(rc == 0);
  std::string s = housenet_test::read_file(dir("y.shape"));
  std::vector<std::size_t> d;
  std::size_t v = 0;
  bool any = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      v = v * 10 + std::size_t(c - '0');
      any = true;
    } else if (any) {
      d.push_back(v);
      v = 0;
      any = false;
    }
  }
  if (any) d.push_back(v);
  REQUIRE(d.size() == 2);
  tensor<float> y(shape{d[0], d[1]});
  const std::vector<std::uint8_t> b = housenet_test::read_bytes(dir("y.bin"));
  REQUIRE(b.size() == y.size() * 4);
  std::memcpy(y.data(), b.data(), b.size());
  return y;
}

// Runs path in ONNX Runtime on x and checks its output against want: the same shape and class
// (the largest value of each row), and within 1e-5 of max |want|.
void check_onnxruntime(const std::string& path, const tensor<float>& x, const tensor<float>& want,
                       const housenet_test::scratch_dir& dir, const std::string& what) {
  const tensor<float> got = run_onnxruntime(path, x, dir);
  REQUIRE(got.shape() == want.shape());
  const std::size_t k = want.shape()[1];
  for (std::size_t n = 0; n < want.shape()[0]; ++n)
    CHECK(std::max_element(want.data() + n * k, want.data() + (n + 1) * k) - (want.data() + n * k) ==
          std::max_element(got.data() + n * k, got.data() + (n + 1) * k) - (got.data() + n * k));
  const deviation d = compare(want.data(), got.data(), want.size());
  MESSAGE(what, ": max |diff| ", d.diff, " of max |output| ", d.scale);
  CHECK(d.scale > 0);
  CHECK(d.diff <= 1e-5f * d.scale);
}

tensor<float> random_input(const shape& s, std::uint64_t seed) {
  tensor<float> x(s);
  const std::vector<float> v = housenet_test::random_vec<float>(s.size(), seed);
  std::copy(v.begin(), v.end(), x.data());
  return x;
}

}  // namespace

// ---- the wire format --------------------------------------------------------------------------------
TEST_CASE("protobuf: varints at every length boundary, fixed32/64, strings, nested messages, views") {
  const std::vector<std::uint64_t> values = {0, 1, 127, 128, 16383, 16384, (1ull << 21) - 1, 1ull << 21,
                                             (1ull << 35), (1ull << 56) - 1, 1ull << 63, ~0ull};
  protobuf::message inner;
  inner.bytes(1, "hello").float32(2, -2.5f);
  const std::uint8_t blob[5] = {9, 8, 7, 6, 5};
  protobuf::message m;
  for (std::uint64_t v : values) m.varint(3, v);
  m.int64(4, -7).fixed32(5, 0xdeadbeefu).fixed64(6, 0x0123456789abcdefull).bytes_view(7, blob, 5);
  m.child(8, std::move(inner)).bytes(536870911, std::string(300, 'x'));  // the largest field number, a 2-byte length
  const std::vector<std::uint8_t> b = m.to_bytes();
  CHECK(b.size() == m.size());
  // hand-encoded spots: 300 = AC 02, 128 = 80 01, -7 as ten bytes
  CHECK(protobuf::varint_size(300) == 2);
  CHECK(protobuf::varint_size(~0ull) == 10);

  const std::string name = "t.onnx";
  protobuf::reader r(b.data(), b.size(), name);
  protobuf::field f;
  for (std::uint64_t v : values) {
    REQUIRE(r.next(f));
    CHECK(f.number == 3);
    CHECK(r.u64(f) == v);
  }
  REQUIRE(r.next(f));
  CHECK(r.i64(f) == -7);
  REQUIRE(r.next(f));
  CHECK(f.value == 0xdeadbeefu);
  REQUIRE(r.next(f));
  CHECK(f.type == protobuf::wire::fixed64);
  CHECK(f.value == 0x0123456789abcdefull);
  REQUIRE(r.next(f));
  CHECK(f.size == 5);
  CHECK(std::memcmp(f.data, blob, 5) == 0);
  REQUIRE(r.next(f));
  protobuf::reader n = r.nested(f);
  protobuf::field g;
  REQUIRE(n.next(g));
  CHECK(n.str(g) == "hello");
  REQUIRE(n.next(g));
  CHECK(n.f32(g) == -2.5f);
  CHECK(!n.next(g));
  REQUIRE(r.next(f));
  CHECK(f.number == 536870911u);
  CHECK(r.str(f) == std::string(300, 'x'));
  CHECK(!r.next(f));

  // packed and unpacked repeated integers read the same
  protobuf::message p;
  std::string packed;
  for (std::int64_t v : {3, 300, -1}) protobuf::append_varint(packed, std::uint64_t(v));
  p.bytes(8, packed).int64(8, 42);
  const std::vector<std::uint8_t> pb = p.to_bytes();
  protobuf::reader pr(pb.data(), pb.size(), name);
  std::vector<std::int64_t> ints;
  while (pr.next(f)) pr.append_i64(f, ints, 8);
  CHECK(ints == std::vector<std::int64_t>{3, 300, -1, 42});
  protobuf::reader pr2(pb.data(), pb.size(), name);
  ints.clear();
  REQUIRE(pr2.next(f));
  CHECK(contains(error_of([&] { pr2.append_i64(f, ints, 2); }), "more than 2 integers"));
}

TEST_CASE("protobuf: every malformed input is one error naming the file and the byte") {
  const std::string name = "bad.onnx";
  const auto err = [&](std::vector<std::uint8_t> b) {
    return error_of([&] {
      protobuf::reader r(b.data(), b.size(), name);
      protobuf::field f;
      while (r.next(f)) {
      }
    });
  };
  CHECK(err({0x08}) == "bad.onnx: malformed protobuf at byte 1: varint runs past the end");
  CHECK(err({0x08, 0x80}) == "bad.onnx: malformed protobuf at byte 1: varint runs past the end");
  CHECK(err({0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}) ==
        "bad.onnx: malformed protobuf at byte 1: varint overflows 64 bits");
  CHECK(err({0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}) ==
        "bad.onnx: malformed protobuf at byte 1: varint overflows 64 bits");
  CHECK(err({0x12, 0x05, 'a', 'b'}) ==
        "bad.onnx: malformed protobuf at byte 1: length 5 runs past the end (2 bytes remain)");
  CHECK(err({0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}) ==
        "bad.onnx: malformed protobuf at byte 1: length 9223372036854775807 runs past the end (0 bytes remain)");
  CHECK(err({0x00, 0x01}) == "bad.onnx: malformed protobuf at byte 0: field number 0");
  CHECK(err({0x0b}) == "bad.onnx: malformed protobuf at byte 0: wire type 3 (field 1) is not supported");
  CHECK(err({0x0c}) == "bad.onnx: malformed protobuf at byte 0: wire type 4 (field 1) is not supported");
  CHECK(err({0x0e}) == "bad.onnx: malformed protobuf at byte 0: wire type 6 (field 1) is not supported");
  CHECK(err({0x0d, 1, 2, 3}) == "bad.onnx: malformed protobuf at byte 1: fixed32 runs past the end");
  CHECK(err({0x09, 1, 2, 3, 4, 5, 6, 7}) == "bad.onnx: malformed protobuf at byte 1: fixed64 runs past the end");
  CHECK(err({}) == "");
  // a type mismatch, at the nested offset
  const std::vector<std::uint8_t> b = {0x0a, 0x02, 0x08, 0x01};  // field 1 = message {field 1 = 1}
  protobuf::reader r(b.data(), b.size(), name);
  protobuf::field f;
  REQUIRE(r.next(f));
  protobuf::reader n = r.nested(f);
  REQUIRE(n.next(f));
  CHECK(error_of([&] { n.str(f); }) ==
        "bad.onnx: malformed protobuf at byte 2: field 1 should be a string (length-delimited), is varint");
  CHECK(error_of([&] { n.f32(f); }) ==
        "bad.onnx: malformed protobuf at byte 2: field 1 should be a float (fixed32), is varint");
}

// ---- export: structure ---------------------------------------------------------------------------
TEST_CASE("save_onnx: a chain of every single-input kind, read back field by field") {
  graph<float> m = chain_model();
  onnx_options o;
  o.labels = {"gryffindor", "hufflepuff", "ravenclaw", "slytherin", "house elves"};
  const onnx_read r = read_onnx(model_to_onnx(m, o));
  CHECK(r.ir == 7);
  CHECK(r.opset == 13);
  CHECK(ops(r) == std::vector<std::string>{"Conv", "BatchNormalization", "Relu", "MaxPool", "Conv", "LeakyRelu",
                                           "AveragePool", "Conv", "Sigmoid", "AveragePool", "Tanh", "Flatten",
                                           "Gemm"});
  CHECK(r.meta.at("labels") == "gryffindor\nhufflepuff\nravenclaw\nslytherin\nhouse elves");
  CHECK(r.inputs == std::vector<std::string>{"input"});
  CHECK(r.outputs == std::vector<std::string>{"output"});
  CHECK(r.shapes.at("input") == "N,3,13,11");
  CHECK(r.shapes.at("output") == "N,5");
  // every node's output has a declared shape, equal to housenet's
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i].kind() == "dropout") continue;
    const std::string t = i + 1 == m.size() ? "output" : std::to_string(i + 1) + "." + m[i].kind();
    REQUIRE(r.shapes.count(t) == 1);
    std::string want = "N";
    for (std::size_t d = 1; d < m.layer_output_shape(i).rank(); ++d) want += "," + std::to_string(m.layer_output_shape(i)[d]);
    CHECK(r.shapes.at(t) == want);
  }
  const auto& conv1 = r.nodes[0];
  CHECK(conv1.name == "conv2d #1");
  CHECK(conv1.in == std::vector<std::string>{"input", "1.conv2d.weight", "1.conv2d.bias"});
  CHECK(conv1.attrs.at("kernel_shape").ints == std::vector<std::int64_t>{3, 3});
  CHECK(conv1.attrs.at("pads").ints == std::vector<std::int64_t>{1, 1, 1, 1});
  CHECK(conv1.attrs.at("group").i == 1);
  const auto& bn = r.nodes[1];
  CHECK(bn.attrs.at("epsilon").f == 2e-5f);  // housenet's (Chainer's), not ONNX's 1e-5
  CHECK(bn.attrs.at("momentum").f == 0.9f);
  CHECK(bn.in == std::vector<std::string>{"1.conv2d", "2.batch_norm2d.gamma", "2.batch_norm2d.beta",
                                          "2.batch_norm2d.running_mean", "2.batch_norm2d.running_var"});
  CHECK(r.nodes[3].attrs.at("ceil_mode").i == 1);
  CHECK(r.nodes[4].attrs.at("dilations").ints == std::vector<std::int64_t>{2, 2});
  CHECK(r.nodes[4].attrs.at("group").i == 2);
  CHECK(r.dims.at("5.conv2d.weight") == std::vector<std::int64_t>{8, 4, 3, 3});
  CHECK(r.nodes[5].attrs.at("alpha").f == 0.1f);
  CHECK(r.nodes[6].attrs.at("count_include_pad").i == 0);
  CHECK(r.nodes[7].attrs.at("group").i == 8);
  CHECK(r.nodes[7].in.size() == 2);  // no bias
  // dropout (layer 10) is omitted: the AveragePool after it reads the Sigmoid's output
  CHECK(r.nodes[9].in == std::vector<std::string>{"9.sigmoid"});
  CHECK(r.nodes[9].attrs.at("count_include_pad").i == 1);
  const auto& gemm = r.nodes[12];
  CHECK(gemm.attrs.at("transB").i == 1);
  CHECK(gemm.attrs.at("alpha").f == 1.0f);
  CHECK(gemm.in == std::vector<std::string>{"13.flatten", "14.linear.weight", "14.linear.bias"});
  // initializers hold the arena's bits
  for (const param_info& p : m.parameters()) {
    const auto& v = m[p.layer].params()[p.index].value;
    REQUIRE(r.raw.count(p.name) == 1);
    const auto& raw = r.raw.at(p.name);
    REQUIRE(raw.size() == v.size() * 4);
    CHECK(std::memcmp(raw.data(), v.data(), raw.size()) == 0);
  }
}

TEST_CASE("save_onnx: a graph (Sum of three with broadcasting, Concat, residual Add, Flatten before Gemm, Identity last)") {
  graph<float> m = graph_model();
  onnx_options o;
  o.opset = 17;
  const onnx_read r = read_onnx(model_to_onnx(m, o));
  CHECK(r.ir == 8);
  CHECK(r.opset == 17);
  CHECK(ops(r) == std::vector<std::string>{"Conv", "BatchNormalization", "Relu", "Conv", "Conv", "GlobalAveragePool",
                                           "Sum", "Concat", "Conv", "Add", "Flatten", "Gemm", "Identity"});
  CHECK(r.nodes[6].in == std::vector<std::string>{"4.conv2d", "5.conv2d", "6.global_avg_pool"});
  CHECK(r.nodes[7].in == std::vector<std::string>{"7.add", "3.relu"});
  CHECK(r.nodes[7].attrs.at("axis").i == 1);
  CHECK(r.nodes[9].in == std::vector<std::string>{"9.conv2d", "8.concat"});
  CHECK(r.nodes[10].out == std::vector<std::string>{"11.linear.flatten"});
  CHECK(r.shapes.at("11.linear.flatten") == "N,972");
  CHECK(r.nodes[11].in[0] == "11.linear.flatten");
  CHECK(r.nodes[12].out == std::vector<std::string>{"output"});
  CHECK(r.shapes.at("6.global_avg_pool") == "N,6,1,1");
  CHECK(r.meta.empty());
}

TEST_CASE("save_onnx: ceil mode written so that every consumer gets housenet's output size") {
  const onnx_read c = read_onnx(model_to_onnx(ceil_corner_model()));
  CHECK(c.nodes[1].attrs.at("ceil_mode").i == 0);  // the same windows in floor mode
  CHECK(c.nodes[1].attrs.at("pads").ints == std::vector<std::int64_t>{1, 1, 1, 1});
  CHECK(c.shapes.at("2.max_pool2d") == "N,2,5,5");
  CHECK(c.nodes[2].attrs.at("ceil_mode").i == 0);
  CHECK(c.shapes.at("3.avg_pool2d") == "N,2,3,3");
  const onnx_read x = read_onnx(model_to_onnx(ceil_mixed_model()));
  CHECK(x.nodes[1].attrs.at("ceil_mode").i == 0);
  CHECK(x.nodes[1].attrs.at("pads").ints == std::vector<std::int64_t>{2, 2, 3, 2});  // H's end pad grown
  CHECK(x.shapes.at("2.max_pool2d") == "N,2,4,3");
  CHECK(x.nodes[2].attrs.at("ceil_mode").i == 0);
  CHECK(x.shapes.at("4.avg_pool2d") == "N,2,2,2");
  const onnx_read a = read_onnx(model_to_onnx(chain_model()));
  CHECK(a.nodes[3].attrs.at("ceil_mode").i == 1);  // 13 x 11 -> 7 x 6: ceil mode needed, the plain formula agrees
  CHECK(a.nodes[6].attrs.at("ceil_mode").i == 1);  // 7 x 6 -> 4 x 4: W needs it, H the same either way
  CHECK(a.shapes.at("4.max_pool2d") == "N,8,7,6");
  // average pooling counting the padding cannot take the grown end pad
  graph<float> bad;
  bad.add<avg_pool2d<float>>(4, 3, 2, true, true);
  bad.add<flatten<float>>();
  bad.setup(shape{1, 1, 8, 7});
  CHECK(error_of([&] { model_to_onnx(bad); }) ==
        "save_onnx: avg_pool2d #1: ceil mode with count_include_pad on a 8x7 input has no exact ONNX form "
        "(one dimension needs ceil mode, the other drops its last window)");
}

TEST_CASE("save_onnx: errors") {
  graph<float> unset;
  unset.add<relu<float>>();
  CHECK(error_of([&] { model_to_onnx(unset); }) == "save_onnx: the model is not set up");
  graph<float> m = chain_model();
  onnx_options o;
  o.opset = 12;
  CHECK(error_of([&] { model_to_onnx(m, o); }) == "save_onnx: opset 12 not supported (11, 13 or 17)");
  o.opset = 13;
  o.labels = {"a", "b\nc"};
  CHECK(error_of([&] { model_to_onnx(m, o); }) == "save_onnx: label 2 contains a newline");
  housenet_test::scratch_dir dir("onnx");
  CHECK(contains(error_of([&] { save_onnx(m, dir("no/such/dir/m.onnx")); }), "no/such/dir/m.onnx: cannot create"));
  CHECK(housenet_test::list_dir(dir.str()).empty());
}

// ---- the oracles ------------------------------------------------------------------------------------
TEST_CASE("save_onnx: onnx.checker.check_model(full_check=True) accepts every export, opsets 11, 13, 17" *
          doctest::test_suite("python-onnx")) {
  if (!python_onnx_or_skip()) return;
  housenet_test::scratch_dir dir("onnx");
  for_each_export([&](std::size_t, const graph<float>& m, int opset) {
    onnx_options o;
    o.opset = opset;
    save_onnx(m, dir("m.onnx"), o);
    CHECK(onnx_check(dir("m.onnx")) == "");
  });
  const std::vector<graph<float>> members = ensemble_members();
  for (int opset : {11, 13, 17}) {  // an ensemble as one graph
    onnx_options o;
    o.opset = opset;
    o.labels = ensemble_labels;
    save_onnx(members, dir("e.onnx"), o);
    CHECK_MESSAGE(onnx_check(dir("e.onnx")) == "", "ensemble, opset ", opset);
  }
}

TEST_CASE("save_onnx: ONNX Runtime runs every export and matches housenet within 1e-5 of max |output|" *
          doctest::test_suite("onnxruntime")) {
  if (!onnxruntime_or_skip()) return;
  housenet_test::scratch_dir dir("onnx");
  for_each_export([&](std::size_t k, const graph<float>& m, int opset) {
    onnx_options o;
    o.opset = opset;
    save_onnx(m, dir("m.onnx"), o);
    const tensor<float> x = random_input(m.input_shape().with_n(3), 10 + k);
    const tensor<float> want = m.predict(x);
    const tensor<float> got = run_onnxruntime(dir("m.onnx"), x, dir);
    REQUIRE(got.shape() == want.shape());
    const deviation d = compare(want.data(), got.data(), want.size());
    MESSAGE("model ", k, " opset ", opset, ": max |diff| ", d.diff, " of max |output| ", d.scale);
    CHECK(d.scale > 0);
    CHECK(d.diff <= 1e-5f * d.scale);
  });
  // an ensemble as one graph: the members' mean probabilities (predict_probabilities, no flip)
  const std::vector<graph<float>> members = ensemble_members();
  for (int opset : {11, 13, 17}) {
    onnx_options o;
    o.opset = opset;
    save_onnx(members, dir("e.onnx"), o);
    const tensor<float> x = random_input(members[0].input_shape().with_n(6), 81);
    tensor<float> want;
    predict_probabilities(members, x, want, {false});
    check_onnxruntime(dir("e.onnx"), x, want, dir, "an ensemble of 3 at opset " + std::to_string(opset));
  }
}

TEST_CASE("save_onnx: the default model's first network (data/houses.hsnt) in ONNX Runtime: same labels, logits within 1e-5 of max |logit|" *
          doctest::test_suite("onnxruntime")) {
  if (!onnxruntime_or_skip()) return;
  housenet_test::scratch_dir dir("onnx");
  // the default model is an ensemble (one file, several networks): its first network
  const loaded_ensemble<float> e = load_ensemble<float>(std::string(HOUSENET_SOURCE_DIR) + "/data/houses.hsnt");
  const graph<float>& net = e.members.at(0);
  onnx_options o;
  o.labels = e.info.labels;
  save_onnx(net, dir("houses.onnx"), o);
  const tensor<float> x = random_input(net.input_shape().with_n(8), 21);
  check_onnxruntime(dir("houses.onnx"), x, net.predict(x), dir, "houses.hsnt, its first network (logits)");
}

// ---- import -------------------------------------------------------------------------------------------
TEST_CASE("load_onnx: housenet's exports read back run bit-identical to the original, opsets 11/13/17") {
  housenet_test::scratch_dir dir("onnx");
  for_each_export([&](std::size_t k, const graph<float>& m, int opset) {
    onnx_options o;
    o.opset = opset;
    for (std::size_t c = 0; c < m.output_shape().sample_size(); ++c) o.labels.push_back("c" + std::to_string(c));
    save_onnx(m, dir("m.onnx"), o);
    const loaded_onnx<float> r = load_onnx<float>(dir("m.onnx"));
    CHECK(r.labels == o.labels);
    CHECK(r.opset == opset);
    CHECK(r.producer == "housenet");
    CHECK(r.model.input_shape() == m.input_shape());
    const tensor<float> x = random_input(m.input_shape().with_n(3), 30 + k);
    CHECK(housenet_test::same_bits(r.model.predict(x), m.predict(x)));
    // exported again: the same ops (import drops the Identity a trailing dropout became)
    std::vector<std::string> first = ops(read_onnx(model_to_onnx(m, o)));
    first.erase(std::remove(first.begin(), first.end(), "Identity"), first.end());
    CHECK(ops(read_onnx(model_to_onnx(r.model, o))) == first);
  });
}

TEST_CASE("load_onnx: the default model's first network (data/houses.hsnt) exported and read back: bit-identical logits") {
  // the default model is an ensemble (one file, several networks): its first network
  const loaded_ensemble<float> e = load_ensemble<float>(std::string(HOUSENET_SOURCE_DIR) + "/data/houses.hsnt");
  const graph<float>& net = e.members.at(0);
  onnx_options o;
  o.labels = e.info.labels;
  const std::vector<std::uint8_t> b = model_to_onnx(net, o);
  const loaded_onnx<float> r = onnx_from_bytes<float>(b.data(), b.size(), "houses.onnx");
  CHECK(r.labels == e.info.labels);
  const tensor<float> x = random_input(net.input_shape().with_n(4), 40);
  CHECK(housenet_test::same_bits(r.model.predict(x), net.predict(x)));
  CHECK(r.model.num_params() == net.num_params());
}

TEST_CASE("load_onnx: every truncation of a file is one error, never a crash or a half model") {
  const std::vector<std::uint8_t> b = model_to_onnx(ceil_corner_model());
  std::size_t errors = 0;
  for (std::size_t n = 0; n < b.size(); ++n) {
    const std::string e = error_of([&] { onnx_from_bytes<float>(b.data(), n, "cut.onnx"); });
    CHECK_MESSAGE(housenet_test::starts_with(e, "cut.onnx: "), "cut at ", n, ": '", e, "'");
    errors += !e.empty();
  }
  CHECK(errors == b.size());
}

namespace {
// A one-node model around the given node (input "x" N x 2 x 4 x 4), for the import's errors.
std::vector<std::uint8_t> one_node_model(protobuf::message node, protobuf::message* init = nullptr,
                                         std::int64_t opset = 13) {
  protobuf::message g;
  g.child(1, std::move(node)).bytes(2, "g");
  if (init) g.child(5, std::move(*init));
  g.child(11, detail::onnx_value_info("x", shape{1, 2, 4, 4}, "N"));
  g.child(12, detail::onnx_value_info("y", shape{1, 2, 4, 4}, "N"));
  protobuf::message op;
  op.bytes(1, "").int64(2, opset);
  protobuf::message m;
  m.int64(1, 7).child(7, std::move(g)).child(8, std::move(op));
  return m.to_bytes();
}
std::string import_error(const std::vector<std::uint8_t>& b) {
  return error_of([&] { onnx_from_bytes<float>(b.data(), b.size(), "m.onnx"); });
}
}  // namespace

TEST_CASE("load_onnx: errors name the file, the node and its op") {
  using detail::onnx_node;
  CHECK(import_error({}) == "m.onnx: not an ONNX file (empty)");
  CHECK(import_error(one_node_model(onnx_node("Mul", "mul").in("x").in("x").out("y").build())) ==
        "m.onnx: node 'mul' (Mul): op not supported (supported: Conv, BatchNormalization, Relu, LeakyRelu, "
        "Sigmoid, Tanh, MaxPool, AveragePool, GlobalAveragePool, Gemm, MatMul (+ Add), Flatten, Reshape (to N x rest), "
        "Pad (zeros, spatial), Dropout, Identity, Add, Sum, Concat, Softmax (last op); int64 shape computations: Shape, "
        "Gather, Unsqueeze, Concat, Constant, Cast)");
  CHECK(import_error(one_node_model(onnx_node("Relu", "r").in("x").out("y").build(), nullptr, 18)) ==
        "m.onnx: ONNX opset 18 not supported (this build reads 1..17 of the default domain)");
  CHECK(import_error(one_node_model(onnx_node("Relu", "r").in("z").out("y").build())) ==
        "m.onnx: node 'r' (Relu): reads 'z', which is not the graph's input or an earlier node's output");
  CHECK(import_error(one_node_model(onnx_node("Conv", "c").in("x").in("w").out("y").build())) ==
        "m.onnx: node 'c' (Conv): input 2 'w' must be an initializer (a constant)");
  CHECK(import_error(one_node_model(
            onnx_node("MaxPool", "p").in("x").out("y").ints_attr("kernel_shape", {2, 3}).build())) ==
        "m.onnx: node 'p' (MaxPool): attribute 'kernel_shape' 2,3: housenet's layers need the same value in both dimensions");
  CHECK(import_error(one_node_model(onnx_node("Conv", "c").in("x").in("w").out("y")
                                        .ints_attr("pads", {1, 0, 1, 0}).build())) ==
        "m.onnx: node 'c' (Conv): input 2 'w' must be an initializer (a constant)");
  // an initializer whose bytes do not match its dims
  protobuf::message w;
  const float vals[3] = {1, 2, 3};
  w.int64(1, 2).int64(1, 2).int64(1, 1).int64(1, 1).varint(2, 1).bytes(8, "w").bytes_view(9, vals, 12);
  CHECK(import_error(one_node_model(onnx_node("Conv", "c").in("x").in("w").out("y").build(), &w)) ==
        "m.onnx: node 'c' (Conv): initializer 'w': 12 bytes of data for 4 float32 values");
  protobuf::message ext;
  ext.int64(1, 1).varint(2, 1).bytes(8, "w").varint(14, 1);
  CHECK(import_error(one_node_model(onnx_node("Relu", "r").in("x").out("y").build(), &ext)) ==
        "m.onnx: initializer 'w': external data is not supported (save the model with its weights inside)");
  CHECK(contains(error_of([] { load_onnx<float>("/nonexistent/m.onnx"); }), "/nonexistent/m.onnx"));
}

namespace {
// A model of the given nodes and initializers: input "x" (in), output "y" (out's shape).
std::vector<std::uint8_t> nodes_model(std::vector<protobuf::message> nodes, std::vector<protobuf::message> inits,
                                      std::int64_t opset, const shape& in, const shape& out) {
  protobuf::message g;
  for (auto& n : nodes) g.child(1, std::move(n));
  g.bytes(2, "g");
  for (auto& t : inits) g.child(5, std::move(t));
  g.child(11, detail::onnx_value_info("x", in, "N"));
  g.child(12, detail::onnx_value_info("y", out, "N"));
  protobuf::message op;
  op.bytes(1, "").int64(2, opset);
  protobuf::message m;
  m.int64(1, 7).child(7, std::move(g)).child(8, std::move(op));
  return m.to_bytes();
}
// A float32 initializer of the given dims, values 0.1, 0.2, ... (kept alive by `store`).
protobuf::message float_init(const std::string& name, const std::vector<std::int64_t>& dims,
                             std::vector<std::vector<float>>& store) {
  std::size_t count = 1;
  for (std::int64_t d : dims) count *= std::size_t(d);
  store.emplace_back(count);
  for (std::size_t i = 0; i < count; ++i) store.back()[i] = 0.1f * float(i + 1) * (i % 2 ? -1.0f : 1.0f);
  protobuf::message t;
  for (std::int64_t d : dims) t.int64(1, d);
  t.varint(2, 1).bytes(8, name).bytes_view(9, store.back().data(), 4 * count);
  return t;
}
// An int64 initializer (int64_data, not raw_data).
protobuf::message int64_init(const std::string& name, const std::vector<std::int64_t>& values) {
  protobuf::message t;
  t.int64(1, std::int64_t(values.size())).varint(2, 7).bytes(8, name);
  for (std::int64_t v : values) t.int64(7, v);
  return t;
}
// A Constant node whose "value" attribute is the given TensorProto.
protobuf::message constant_node(const std::string& name, const std::string& out, protobuf::message tensor) {
  protobuf::message attr;
  attr.bytes(1, "value").varint(20, 4).child(5, std::move(tensor));
  protobuf::message n = detail::onnx_node("Constant", name).out(out).build();
  n.child(5, std::move(attr));
  return n;
}
std::vector<protobuf::message> list(protobuf::message a) {
  std::vector<protobuf::message> v;
  v.push_back(std::move(a));
  return v;
}
std::vector<protobuf::message> list(protobuf::message a, protobuf::message b) {
  std::vector<protobuf::message> v = list(std::move(a));
  v.push_back(std::move(b));
  return v;
}
std::vector<protobuf::message> list(protobuf::message a, protobuf::message b, protobuf::message c) {
  std::vector<protobuf::message> v = list(std::move(a), std::move(b));
  v.push_back(std::move(c));
  return v;
}
}  // namespace

TEST_CASE("load_onnx: a final Softmax is dropped when it covers the whole sample; the axis rule changed at opset 13") {
  using detail::onnx_node;
  const shape in4{1, 2, 4, 4}, in2{1, 6};
  const auto relu_softmax = [](std::int64_t opset, const shape& in, const std::int64_t* axis) {
    onnx_node sm("Softmax", "sm");
    sm.in("r").out("y");
    if (axis) sm.int_attr("axis", *axis);
    return nodes_model(list(onnx_node("Relu", "relu").in("x").out("r").build(), sm.build()), {}, opset, in, in);
  };
  const std::int64_t one = 1, minus_one = -1, three = 3;
  // opset 11: the input coerced to 2-D at the axis: axis 1 (the default) covers a rank-4 sample
  for (const std::int64_t* axis : {static_cast<const std::int64_t*>(nullptr), &one}) {
    const std::vector<std::uint8_t> b = relu_softmax(11, in4, axis);
    const loaded_onnx<float> m = onnx_from_bytes<float>(b.data(), b.size(), "m.onnx");
    CHECK(m.ends_in_softmax);
    CHECK(m.model.size() == 1);
    CHECK(m.model.output_shape() == in4);
  }
  // opset 13: one axis (the default -1): on a rank-4 input neither 1 nor -1 is the whole sample
  CHECK(import_error(relu_softmax(13, in4, &one)) ==
        "m.onnx: node 'sm' (Softmax): axis 1 of a rank-4 input at opset 13: from opset 13 Softmax normalizes along that "
        "one axis, and only axis 1 or -1 of a rank-2 input (N x classes) covers the whole sample (housenet drops a "
        "final Softmax only when it does)");
  CHECK(contains(import_error(relu_softmax(13, in4, nullptr)), "axis -1 of a rank-4 input at opset 13"));
  CHECK(contains(import_error(relu_softmax(17, in4, &minus_one)), "axis -1 of a rank-4 input at opset 17"));
  // opset 11, axis 3 (the default of 13): only the last axis, not the whole sample
  CHECK(import_error(relu_softmax(11, in4, &three)) ==
        "m.onnx: node 'sm' (Softmax): axis 3 at opset 11: before opset 13 Softmax flattens its input to 2-D at the "
        "axis, and only axis 1 covers the whole sample (housenet drops a final Softmax only when it does)");
  CHECK(contains(import_error(relu_softmax(11, in4, &minus_one)), "axis -1 at opset 11"));
  // rank 2: axis 1 and -1 both, at both opsets
  for (std::int64_t opset : {11, 13, 17})
    for (const std::int64_t* axis : {static_cast<const std::int64_t*>(nullptr), &one, &minus_one}) {
      const std::vector<std::uint8_t> b = relu_softmax(opset, in2, axis);
      CHECK(onnx_from_bytes<float>(b.data(), b.size(), "m.onnx").ends_in_softmax);
    }
  // anywhere else: refused
  CHECK(import_error(nodes_model(list(onnx_node("Softmax", "sm").in("x").out("s").build(),
                                      onnx_node("Relu", "relu").in("s").out("y").build()),
                                 {}, 13, in2, in2)) ==
        "m.onnx: node 'sm' (Softmax): Softmax is supported only as the graph's last op (housenet models output "
        "logits; the app applies softmax)");
}

TEST_CASE("load_onnx: Reshape's shape folded from int64 initializers and constants; [N, -1] is a flatten, the input's own shape nothing") {
  using detail::onnx_node;
  const shape in{1, 2, 3, 4};
  const auto reshape = [&](std::vector<std::int64_t> target, const shape& out, std::int64_t opset = 13) {
    return nodes_model(list(onnx_node("Relu", "relu").in("x").out("r").build(),
                            onnx_node("Reshape", "rs").in("r").in("s").out("y").build()),
                       list(int64_init("s", target)), opset, in, out);
  };
  for (const auto& t : std::vector<std::vector<std::int64_t>>{{0, -1}, {-1, 24}, {0, 24}}) {
    const std::vector<std::uint8_t> b = reshape(t, shape{1, 24});
    const loaded_onnx<float> m = onnx_from_bytes<float>(b.data(), b.size(), "m.onnx");
    REQUIRE(m.model.size() == 2);
    CHECK(m.model[1].kind() == "flatten");
    CHECK(m.model.output_shape() == shape{1, 24});
  }
  for (const auto& t : std::vector<std::vector<std::int64_t>>{{0, 2, 3, 4}, {0, 0, 0, -1}, {-1, 2, 3, 4}}) {
    const std::vector<std::uint8_t> b = reshape(t, in);
    CHECK(onnx_from_bytes<float>(b.data(), b.size(), "m.onnx").model.size() == 1);  // the Relu only
  }
  CHECK(import_error(reshape({0, 6, 4}, shape{1, 6, 4})) ==
        "m.onnx: node 'rs' (Reshape): shape [0, 6, 4] of a 1x2x3x4 input: only a Reshape to [N, -1] (a flatten) or "
        "to the input's own shape is supported");
  CHECK(contains(import_error(reshape({-1, 12}, shape{1, 12})), "shape [-1, 12] of a 1x2x3x4 input: only"));
  CHECK(contains(import_error(reshape({24, -1}, shape{1, 24})), "shape [24, -1] of a 1x2x3x4 input: only"));
  CHECK(contains(import_error(reshape({0, -1, -1}, shape{1, 24})), "shape [0, -1, -1]"));
  const std::int64_t big = std::int64_t(1) << 40;  // a product that would overflow int64
  CHECK(contains(import_error(reshape({0, big, big, big}, shape{1, 24})), "shape [0, 1099511627776, 1099511627776"));
  // the chain of x.view(x.size(0), -1) with Constant nodes, the batch symbolic
  protobuf::message value;
  value.int64(1, 1).varint(2, 7).int64(7, -1);
  protobuf::message cm = constant_node("minus", "m", std::move(value));
  std::vector<protobuf::message> nodes;
  nodes.push_back(onnx_node("Relu", "relu").in("x").out("r").build());
  nodes.push_back(onnx_node("Shape", "shape").in("r").out("s").build());
  nodes.push_back(onnx_node("Constant", "zero").out("z").int_attr("value_int", 0).build());
  nodes.push_back(onnx_node("Gather", "gather").in("s").in("z").out("n").int_attr("axis", 0).build());
  nodes.push_back(onnx_node("Unsqueeze", "unsqueeze").in("n").in("axes").out("n1").build());
  nodes.push_back(std::move(cm));
  nodes.push_back(onnx_node("Concat", "concat").in("n1").in("m").out("target").int_attr("axis", 0).build());
  nodes.push_back(onnx_node("Reshape", "rs").in("r").in("target").out("y").build());
  const std::vector<std::uint8_t> b = nodes_model(std::move(nodes), list(int64_init("axes", {0})), 13, in, shape{1, 24});
  const loaded_onnx<float> m = onnx_from_bytes<float>(b.data(), b.size(), "m.onnx");
  REQUIRE(m.model.size() == 2);
  CHECK(m.model[1].kind() == "flatten");
  // a float op on a shape value, a Gather out of range, a float Constant
  CHECK(contains(import_error(nodes_model(list(onnx_node("Shape", "shape").in("x").out("s").build(),
                                               onnx_node("Relu", "relu").in("s").out("y").build()),
                                          {}, 13, in, in)),
                 "node 'relu' (Relu): reads 's', which is not the graph's input or an earlier node's output (it is a "
                 "shape computation's int64 tensor)"));
  CHECK(import_error(nodes_model(list(onnx_node("Shape", "shape").in("x").out("s").build(),
                                      onnx_node("Gather", "g").in("s").in("i").out("y").build()),
                                 list(int64_init("i", {4})), 13, in, in)) ==
        "m.onnx: node 'g' (Gather): index 4 out of range for rank 4");
  std::vector<std::vector<float>> store;
  protobuf::message fcm = constant_node("c", "y", float_init("v", {2}, store));
  CHECK(import_error(nodes_model(list(std::move(fcm)), {}, 13, in, in)) ==
        "m.onnx: node 'c' (Constant): tensor 'v' of data type 1: only int64 constants (shape computations) are supported");
}

TEST_CASE("load_onnx: MatMul with a constant F x O operand is a linear layer; an Add of an O-vector that is its only reader its bias") {
  using detail::onnx_node;
  const shape in{1, 4};
  std::vector<std::vector<float>> store;
  store.reserve(8);  // the initializers view its vectors
  // y = x W + b, W 4 x 3 (0.1, -0.2, ...), b (0.1, -0.2, 0.3)
  protobuf::message w_init = float_init("W", {4, 3}, store);
  protobuf::message b_init = float_init("b", {3}, store);
  const std::vector<std::uint8_t> b = nodes_model(
      list(onnx_node("MatMul", "mm").in("x").in("W").out("h").build(), onnx_node("Add", "add").in("b").in("h").out("y").build()),
      list(std::move(w_init), std::move(b_init)), 13, in, shape{1, 3});
  const loaded_onnx<float> m = onnx_from_bytes<float>(b.data(), b.size(), "m.onnx");
  REQUIRE(m.model.size() == 1);
  CHECK(m.model[0].kind() == "linear");
  REQUIRE(m.model[0].params().size() == 2);
  tensor<float> x(shape{2, 4});
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = float(i) - 3.5f;
  const tensor<float> y = m.model.predict(x);
  for (std::size_t n = 0; n < 2; ++n)
    for (std::size_t o = 0; o < 3; ++o) {
      double want = store[1][o];
      for (std::size_t k = 0; k < 4; ++k) want += double(x.data()[n * 4 + k]) * store[0][k * 3 + o];
      CHECK(y.data()[n * 3 + o] == doctest::Approx(want).epsilon(1e-6));
    }
  // the MatMul's output read twice: the Add's constant operand is refused
  CHECK(contains(import_error(nodes_model(
                     list(onnx_node("MatMul", "mm").in("x").in("W").out("h").build(),
                          onnx_node("Add", "add").in("h").in("b").out("a").build(),
                          onnx_node("Add", "add2").in("a").in("h").out("y").build()),
                     list(float_init("W", {4, 3}, store), float_init("b", {3}, store)), 13, in, shape{1, 3})),
                 "node 'add' (Add): reads 'b', which is not the graph's input or an earlier node's output (it is an "
                 "initializer: constant operands are not supported here)"));
  CHECK(import_error(nodes_model(list(onnx_node("MatMul", "mm").in("x").in("W").out("y").build()),
                                 list(float_init("W", {5, 3}, store)), 13, in, shape{1, 3})) ==
        "m.onnx: node 'mm' (MatMul): B is 5x3 for 4 input features");
}

TEST_CASE("load_onnx: PyTorch's exports (tests/data/onnx) match PyTorch's outputs within 1e-5 of max |output|") {
  const std::string dir = std::string(HOUSENET_SOURCE_DIR) + "/tests/data/onnx/";
  std::ifstream manifest(dir + "MANIFEST");
  REQUIRE(manifest.good());
  std::string name, in_dims, out_dims;
  int opset = 0, cases = 0;
  const auto dims = [](const std::string& s) {
    std::vector<std::size_t> d;
    std::size_t v = 0;
    for (char c : s + "x") {
      if (c == 'x') {
        d.push_back(v);
        v = 0;
      } else {
        v = v * 10 + std::size_t(c - '0');
      }
    }
    return d;
  };
  while (manifest >> name >> opset >> in_dims >> out_dims) {
    INFO(name);
    ++cases;
    const loaded_onnx<float> r = load_onnx<float>(dir + name + ".onnx");
    CHECK(r.opset == opset);
    CHECK(r.producer == "pytorch");
    const std::vector<std::size_t> di = dims(in_dims), dout = dims(out_dims);
    REQUIRE(di.size() == 4);
    tensor<float> x(shape{di[0], di[1], di[2], di[3]});
    const std::vector<std::uint8_t> xb = housenet_test::read_bytes(dir + name + ".input.bin");
    REQUIRE(xb.size() == x.size() * 4);
    std::memcpy(x.data(), xb.data(), xb.size());
    // the head* files end in Softmax, which the import drops (the model gives the logits)
    CHECK(r.ends_in_softmax == housenet_test::starts_with(name, "head"));
    tensor<float> y = r.model.predict(x);
    if (r.ends_in_softmax) {
      tensor<float> p;
      softmax(y, p);
      y = std::move(p);
    }
    REQUIRE(y.shape() == shape{dout[0], dout[1]});
    const std::vector<std::uint8_t> yb = housenet_test::read_bytes(dir + name + ".output.bin");
    REQUIRE(yb.size() == y.size() * 4);
    std::vector<float> want(y.size());
    std::memcpy(want.data(), yb.data(), yb.size());
    const deviation d = compare(want.data(), y.data(), y.size());
    MESSAGE(name, ": max |diff| ", d.diff, " of max |output| ", d.scale);
    CHECK(d.scale > 0);
    CHECK(d.diff <= 1e-5f * d.scale);
  }
  CHECK(cases == 7);
}

TEST_CASE("load_onnx: ONNX's own node test cases (tests/data/onnx/node): each matches ONNX's expected output or is refused by design") {
  // Refused on purpose, each for a documented limit (docs/onnx.md); every other case must load
  // and match ONNX's expected output.
  const std::map<std::string, std::string> refused = {
      {"test_conv_with_autopad_same", "auto_pad"},
      {"test_leakyrelu_example", "rank 2 to 4"},
      {"test_sigmoid_example", "rank 2 to 4"},
      {"test_tanh_example", "rank 2 to 4"},
      {"test_dropout_default_old", "rank 2 to 4"},
      {"test_maxpool_2d_precomputed_same_upper", "auto_pad"},
      {"test_averagepool_2d_precomputed_same_upper", "auto_pad"},
      {"test_maxpool_1d_default", "2-D only"},
      {"test_averagepool_1d_default", "2-D only"},
      {"test_maxpool_2d_dilations", "dilations other than 1"},
      {"test_gemm_default_scalar_bias", "broadcast C is not supported"},
      {"test_gemm_default_single_elem_vector_bias", "broadcast C is not supported"},
      {"test_gemm_default_matrix_bias", "broadcast C is not supported"},
      {"test_gemm_transposeA", "transA 1"},
      {"test_gemm_all_attributes", "transA 1"},
      {"test_flatten_axis0", "axis 0 is not supported"},
      {"test_flatten_axis2", "axis 2 is not supported"},
      {"test_flatten_axis3", "axis 3 is not supported"},
      {"test_flatten_negative_axis4", "axis -4 is not supported"},
      {"test_flatten_negative_axis2", "axis -2 is not supported"},
      {"test_flatten_negative_axis1", "axis -1 is not supported"},
      {"test_dropout_default", "must be the last layer's output"},  // no layer at all: a model needs one
      {"test_dropout_random_old", "must be the last layer's output"},
      {"test_identity", "must be the last layer's output"},
      {"test_matmul_3d", "input of rank 3, expected 2"},
      {"test_matmul_4d", "input of rank 4, expected 2"},
      {"test_reshape_reordered_all_dims", "only a Reshape to [N, -1] (a flatten) or to the input's own shape"},
      {"test_reshape_reordered_last_dims", "only a Reshape to [N, -1]"},
      {"test_reshape_extended_dims", "only a Reshape to [N, -1]"},
      {"test_reshape_one_dim", "only a Reshape to [N, -1]"},
      {"test_reshape_negative_dim", "only a Reshape to [N, -1]"},
      {"test_reshape_negative_extended_dims", "only a Reshape to [N, -1]"},
      {"test_reshape_zero_dim", "only a Reshape to [N, -1]"},
      {"test_reshape_zero_and_negative_dim", "only a Reshape to [N, -1]"},
      {"test_reshape_allowzero_reordered", "only a Reshape to [N, -1]"},
      // opset 13 on a rank-3 input: no axis covers the whole sample
      {"test_softmax_axis_0", "axis 0 of a rank-3 input at opset 13: from opset 13 Softmax normalizes along that one axis"},
      {"test_softmax_axis_1", "axis 1 of a rank-3 input at opset 13"},
      {"test_softmax_axis_2", "axis 2 of a rank-3 input at opset 13"},
      {"test_softmax_negative_axis", "axis -1 of a rank-3 input at opset 13"},
      {"test_softmax_default_axis", "axis -1 of a rank-3 input at opset 13"},
  };
  const std::string dir = std::string(HOUSENET_SOURCE_DIR) + "/tests/data/onnx/node/";
  std::ifstream manifest(dir + "MANIFEST");
  REQUIRE(manifest.good());
  std::string name, in_dims, out_dims;
  std::size_t matched = 0, refusals = 0;
  float worst = 0;
  while (manifest >> name >> in_dims >> out_dims) {
    INFO(name);
    const std::string path = dir + name + ".onnx";
    const auto r = refused.find(name);
    if (r != refused.end()) {
      const std::string e = error_of([&] { load_onnx<float>(path); });
      CHECK(housenet_test::starts_with(e, path + ": "));
      CHECK_MESSAGE(contains(e, r->second), e);
      ++refusals;
      continue;
    }
    const loaded_onnx<float> m = load_onnx<float>(path);
    if (name == "test_conv_with_strides_and_asymmetric_padding") {  // pads 1,0,1,0: a pad2d, then the conv
      REQUIRE(m.model.size() == 2);
      CHECK(m.model[0].kind() == "pad2d");
      CHECK(m.model[1].kind() == "conv2d");
    }
    std::vector<std::size_t> d;
    std::size_t v = 0;
    for (char c : in_dims + "x") {
      if (c == 'x') {
        d.push_back(v);
        v = 0;
      } else {
        v = v * 10 + std::size_t(c - '0');
      }
    }
    REQUIRE(d.size() >= 2);
    shape s = d.size() == 2 ? shape{d[0], d[1]} : d.size() == 3 ? shape{d[0], d[1], d[2]} : shape{d[0], d[1], d[2], d[3]};
    tensor<float> x(s);
    const std::vector<std::uint8_t> xb = housenet_test::read_bytes(dir + name + ".input.bin");
    REQUIRE(xb.size() == x.size() * 4);
    std::memcpy(x.data(), xb.data(), xb.size());
    tensor<float> y = m.model.predict(x);
    CHECK(m.ends_in_softmax == housenet_test::starts_with(name, "test_softmax"));
    if (m.ends_in_softmax) {  // dropped on import: the model gives the logits
      tensor<float> p;
      softmax(y, p);
      y = std::move(p);
    }
    std::string got_dims;
    for (std::size_t i = 0; i < y.shape().rank(); ++i) got_dims += (i ? "x" : "") + std::to_string(y.shape()[i]);
    CHECK(got_dims == out_dims);
    const std::vector<std::uint8_t> yb = housenet_test::read_bytes(dir + name + ".output.bin");
    REQUIRE(yb.size() == y.size() * 4);
    std::vector<float> want(y.size());
    std::memcpy(want.data(), yb.data(), yb.size());
    const deviation dv = compare(want.data(), y.data(), y.size());
    CHECK(dv.diff <= 1e-5f * dv.scale);
    worst = std::max(worst, dv.scale > 0 ? dv.diff / dv.scale : dv.diff);
    ++matched;
  }
  MESSAGE(matched, " cases matched (worst |diff| / max |output| ", worst, "), ", refusals, " refused");
  CHECK(refusals == refused.size());
  CHECK(matched == 34);
}


TEST_CASE("save_onnx of an ensemble: one graph, each member's Softmax, their Mean as 'probabilities'; load_onnx_ensemble gives the members back bit-identical") {
  const std::vector<graph<float>> members = ensemble_members();
  for (int opset : {11, 13, 17}) {
    INFO("opset ", opset);
    onnx_options o;
    o.opset = opset;
    o.labels = ensemble_labels;
    const std::vector<std::uint8_t> b = model_to_onnx(members, o);
    const onnx_read r = read_onnx(b);
    REQUIRE(r.outputs == std::vector<std::string>{"probabilities"});
    CHECK(r.inputs == std::vector<std::string>{"input"});
    CHECK(r.shapes.at("probabilities") == "N,4");
    CHECK(r.meta.at("labels") == "gryffindor\nhufflepuff\nravenclaw\nslytherin");
    CHECK(r.meta.at("ensemble") == "'probabilities' is the mean of the class probabilities (Softmax, axis 1, of the "
                                   "logits) of 3 networks, without test-time flip");
    const std::vector<std::string> op = ops(r);
    REQUIRE(!op.empty());
    CHECK(op.back() == "Mean");
    CHECK(std::count(op.begin(), op.end(), "Softmax") == 3);
    CHECK(r.nodes.back().in == std::vector<std::string>{"m1/probabilities", "m2/probabilities", "m3/probabilities"});
    for (const auto& n : r.nodes) {  // every name prefixed per member
      if (n.op == "Mean") continue;
      CHECK((housenet_test::starts_with(n.name, "m1/") || housenet_test::starts_with(n.name, "m2/") ||
             housenet_test::starts_with(n.name, "m3/")));
    }
    for (const auto& kv : r.dims) CHECK(housenet_test::starts_with(kv.first, "m"));
    CHECK(r.dims.count("m2/2.conv2d.weight") == 1);

    const loaded_ensemble<float> e = onnx_ensemble_from_bytes<float>(b.data(), b.size(), "e.onnx");
    CHECK(e.is_ensemble);
    REQUIRE(e.members.size() == 3);
    CHECK(e.info.labels == ensemble_labels);
    CHECK(e.info.classes == 4);
    CHECK(e.info.input == members[0].input_shape());
    for (std::size_t m = 0; m < 3; ++m) CHECK(e.members[m].num_params() == members[m].num_params());
    const tensor<float> x = random_input(members[0].input_shape().with_n(5), 80);
    for (bool flip : {false, true}) {
      tensor<float> want, got;
      predict_probabilities(members, x, want, {flip});
      predict_probabilities(e.members, x, got, {flip});
      CHECK(housenet_test::same_bits(got, want));
    }
    // load_onnx: one network per model, so it points at load_onnx_ensemble
    CHECK(import_error(b) == "m.onnx: an ensemble of 3 networks (output 'probabilities' is the Mean of their Softmax "
                             "outputs): load it with load_onnx_ensemble");
  }
  // a one-network file through load_onnx_ensemble: one member
  const std::vector<std::uint8_t> one = model_to_onnx(members[0]);
  const loaded_ensemble<float> e1 = onnx_ensemble_from_bytes<float>(one.data(), one.size(), "one.onnx");
  CHECK(!e1.is_ensemble);
  CHECK(e1.members.size() == 1);
  // what cannot be an ensemble
  std::vector<graph<float>> bad = ensemble_members();
  graph<float> conv;
  conv.add<conv2d<float>>(4, 3, 1, 1);
  bad.push_back(ready(std::move(conv), shape{1, 3, 8, 8}, 90));
  CHECK(error_of([&] { model_to_onnx(bad); }) ==
        "save_onnx: ensemble member 4 gives 1x4x8x8 (N x classes needed: the members' probabilities are averaged)");
  CHECK(error_of([&] { model_to_onnx(std::vector<graph<float>>{}); }) == "save_onnx: an ensemble of 0 models (1..64)");
  std::vector<graph<float>> other = ensemble_members();
  graph<float> five;
  five.add<flatten<float>>();
  five.add<linear<float>>(5);
  other.push_back(ready(std::move(five), shape{1, 3, 8, 8}, 91));
  CHECK(error_of([&] { model_to_onnx(other); }) == "save_onnx: ensemble member 4 gives 1x5, member 1 1x4");
}

TEST_CASE("save_onnx: the default model (data/houses.hsnt, an ensemble) as one graph: re-imported bit-identical") {
  const loaded_ensemble<float> e = load_ensemble<float>(std::string(HOUSENET_SOURCE_DIR) + "/data/houses.hsnt");
  onnx_options o;
  o.labels = e.info.labels;
  const std::vector<std::uint8_t> b = model_to_onnx(e.members, o);
  const loaded_ensemble<float> r = onnx_ensemble_from_bytes<float>(b.data(), b.size(), "houses.onnx");
  REQUIRE(r.members.size() == e.members.size());
  CHECK(r.info.labels == e.info.labels);
  const tensor<float> x = random_input(e.members[0].input_shape().with_n(4), 82);
  tensor<float> want, got;
  predict_probabilities(e.members, x, want, {false});
  predict_probabilities(r.members, x, got, {false});
  CHECK(housenet_test::same_bits(got, want));
}

TEST_CASE("save_onnx: the default model (data/houses.hsnt, an ensemble) in ONNX Runtime: same labels, mean probabilities within 1e-5 of max" *
          doctest::test_suite("onnxruntime")) {
  if (!onnxruntime_or_skip()) return;
  housenet_test::scratch_dir dir("onnx");
  const loaded_ensemble<float> e = load_ensemble<float>(std::string(HOUSENET_SOURCE_DIR) + "/data/houses.hsnt");
  onnx_options o;
  o.labels = e.info.labels;
  save_onnx(e.members, dir("houses.onnx"), o);
  const tensor<float> x = random_input(e.members[0].input_shape().with_n(8), 83);
  tensor<float> want;
  predict_probabilities(e.members, x, want, {false});
  check_onnxruntime(dir("houses.onnx"), x, want, dir, "houses.hsnt, the ensemble (mean probabilities)");
}

TEST_CASE("load_onnx: Pad with zeros on the spatial axes is a pad2d (pads an attribute before opset 11, an input from 11); other modes, values and axes are refused") {
  // Pad(x [1, 2, 4, 4]) -> y, built field by field (mode is a string attribute)
  const auto pad_file = [](const std::vector<std::int64_t>& pads, const char* mode, std::int64_t opset,
                           float value = 0.0f) {
    protobuf::message node;
    node.bytes(1, "x");
    if (opset >= 11) node.bytes(1, "pads");
    if (opset >= 11 && value != 0.0f) node.bytes(1, "value");
    node.bytes(2, "y").bytes(3, "pad").bytes(4, "Pad");
    if (mode) {
      protobuf::message a;
      a.bytes(1, "mode").bytes(4, mode).varint(20, 3);
      node.child(5, std::move(a));
    }
    if (opset < 11) {
      protobuf::message a;
      a.bytes(1, "pads").varint(20, 7);
      for (std::int64_t v : pads) a.int64(8, v);
      node.child(5, std::move(a));
    }
    protobuf::message g;
    g.child(1, std::move(node)).bytes(2, "g");
    if (opset >= 11) {
      protobuf::message t;
      t.int64(1, std::int64_t(pads.size())).varint(2, 7).bytes(8, "pads");
      for (std::int64_t v : pads) t.int64(7, v);
      g.child(5, std::move(t));
    }
    if (opset >= 11 && value != 0.0f) {
      protobuf::message t;
      t.varint(2, 1).bytes(8, "value").float32(4, value);
      g.child(5, std::move(t));
    }
    const bool ok = pads.size() == 8;
    g.child(11, detail::onnx_value_info("x", shape{1, 2, 4, 4}, "N"));
    g.child(12, detail::onnx_value_info("y", ok ? shape{1, 2, std::size_t(4 + pads[2] + pads[6]),
                                                         std::size_t(4 + pads[3] + pads[7])}
                                                   : shape{1, 2, 4, 4}, "N"));
    protobuf::message op;
    op.bytes(1, "").int64(2, opset);
    protobuf::message m;
    m.int64(1, 7).child(7, std::move(g)).child(8, std::move(op));
    return m.to_bytes();
  };
  for (std::int64_t opset : {2, 11, 13, 17}) {
    CAPTURE(opset);
    const std::vector<std::uint8_t> b = pad_file({0, 0, 1, 0, 0, 0, 2, 3}, opset < 11 ? nullptr : "constant", opset);
    const loaded_onnx<float> r = onnx_from_bytes<float>(b.data(), b.size(), "m.onnx");
    REQUIRE(r.model.size() == 1);
    CHECK(r.model[0].kind() == "pad2d");
    CHECK(r.model[0].config() == layer_config{{"top", "1"}, {"left", "0"}, {"bottom", "2"}, {"right", "3"}});
    CHECK(r.model.output_shape() == shape{1, 2, 7, 7});
  }
  CHECK(import_error(pad_file({0, 0, 1, 1, 0, 0, 1, 1}, "reflect", 13)) ==
        "m.onnx: node 'pad' (Pad): mode 'reflect' is not supported (constant only)");
  CHECK(import_error(pad_file({0, 0, 1, 1, 0, 0, 1, 1}, nullptr, 13, 1.5f)) ==
        "m.onnx: node 'pad' (Pad): constant_value 1.5 is not supported (0 only)");
  CHECK(import_error(pad_file({0, 1, 1, 1, 0, 0, 1, 1}, nullptr, 13)) ==
        "m.onnx: node 'pad' (Pad): pads must be 8 values with 0 on the batch and channel axes (spatial padding only)");
  CHECK(import_error(pad_file({0, 0, -1, 0, 0, 0, 0, 0}, nullptr, 13)) ==
        "m.onnx: node 'pad' (Pad): pad -1 out of range (0..4096: no cropping)");
  CHECK(import_error(pad_file({0, 0, 1, 1}, nullptr, 13)) ==
        "m.onnx: node 'pad' (Pad): pads must be 8 values with 0 on the batch and channel axes (spatial padding only)");
}

// ---- the round trip on real faces ------------------------------------------------------------------
namespace {

// `count` face crops as the app's networks see them (the largest face of a photo, found by the
// bundled cascade, cropped and resized with the area filter, RGB / 255): from the developers'
// photos (../shared/data/houses, in path order) when they are there, else from the bundled
// sample photo's face, shifted and scaled by up to 8% (so CI, without ../shared, runs it too).
tensor<float> face_crops(const shape& in, std::size_t count, std::string& source) {
  namespace fs = std::filesystem;
  const std::string root = HOUSENET_SOURCE_DIR;
  const cascade c = cascade::load(root + "/data/haarcascade_frontalface_default.xml");
  tensor<float> x(in.with_n(count)), t;
  std::size_t n = 0;
  const auto put = [&](const image& img, const rect& r) {
    image face = crop(img, r);
    if (face.channels() != 3) {  // gray: replicated, as the app does
      image rgb(face.width(), face.height(), 3);
      for (int y = 0; y < face.height(); ++y)
        for (int x = 0; x < face.width(); ++x)
          for (int c = 0; c < 3; ++c) rgb.at(x, y, c) = face.at(x, y, 0);
      face = std::move(rgb);
    }
    face = resize(face, int(in.w()), int(in.h()), resize_filter::area);
    to_tensor(face, t);
    REQUIRE(t.size() == in.sample_size());
    std::copy_n(t.data(), t.size(), x.data() + n++ * in.sample_size());
  };
  const auto largest = [&](const image& img) {
    const std::vector<rect> boxes = c.detect_multi_scale(rgb_to_gray(img), detect_options{});
    rect best{0, 0, 0, 0};
    for (const rect& r : boxes)
      if (r.width * r.height > best.width * best.height) best = r;
    return best;
  };
  const fs::path houses = fs::path(HOUSENET_SHARED_DIR) / "data" / "houses";
  if (fs::is_directory(houses)) {
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(houses))
      if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      if (n == count) break;
      image img;
      try {
        img = load(f.string());
      } catch (const error&) {
        continue;
      }
      const rect r = largest(img);
      if (r.width > 0) put(img, r);
    }
    source = "the largest face of the first " + std::to_string(n) + " photos of " + houses.string();
  }
  if (n < count) {
    n = 0;
    const image img = load(root + "/data/samples/astronaut.png");
    const rect r = largest(img);
    REQUIRE(r.width > 0);
    for (std::size_t k = 0; k < count; ++k) {
      const int d = int(k % 5) - 2, s = int(k / 5 % 5) - 2, e = int(k / 25) * 2 - 1;
      const int grow = s * r.width / 25;
      put(img, clamp_rect({r.x + d * r.width / 25 - grow, r.y + e * r.height / 25 - grow, r.width + 2 * grow,
                           r.height + 2 * grow}, img.width(), img.height()));
    }
    source = std::to_string(count) + " shifted and scaled crops of the bundled sample's face";
  }
  return x;
}

std::size_t argmax_row(const float* p, std::size_t k) { return std::size_t(std::max_element(p, p + k) - p); }

}  // namespace

TEST_CASE("round trip on 50 face crops: the default model's networks, its ensemble and a seed network exported, "
          "run in ONNX Runtime (same labels, within 1e-5 of max |output|) and read back (bit-identical)" *
          doctest::test_suite("onnxruntime")) {
  if (!onnxruntime_available()) {
    housenet_test::skip("onnxruntime-node is not installed (cd <source> && npm install --ignore-scripts onnxruntime-node)");
    return;
  }
  housenet_test::scratch_dir dir("onnx");
  const loaded_ensemble<float> e = load_ensemble<float>(std::string(HOUSENET_SOURCE_DIR) + "/data/houses.hsnt");
  std::string source;
  const tensor<float> x = face_crops(e.info.input, 50, source);
  MESSAGE("faces: ", source);
  const auto same_labels = [](const tensor<float>& a, const tensor<float>& b) {
    const std::size_t k = a.shape()[1];
    std::size_t same = 0;
    for (std::size_t n = 0; n < a.shape()[0]; ++n)
      same += argmax_row(a.data() + n * k, k) == argmax_row(b.data() + n * k, k);
    return same;
  };
  const auto one_network = [&](const graph<float>& net, const std::string& what) {
    onnx_options o;
    o.labels = e.info.labels;
    save_onnx(net, dir("net.onnx"), o);
    const tensor<float> want = net.predict(x);
    const tensor<float> got = run_onnxruntime(dir("net.onnx"), x, dir);
    REQUIRE(got.shape() == want.shape());
    const deviation d = compare(want.data(), got.data(), want.size());
    MESSAGE(what, ": ONNX Runtime max |diff| ", d.diff, " of max |logit| ", d.scale);
    CHECK(same_labels(want, got) == 50);
    CHECK(d.scale > 0);
    CHECK(d.diff <= 1e-5f * d.scale);
    const loaded_onnx<float> back = load_onnx<float>(dir("net.onnx"));
    CHECK(housenet_test::same_bits(back.model.predict(x), want));
  };
  for (std::size_t m = 0; m < e.members.size(); ++m)
    one_network(e.members[m], "houses.hsnt network " + std::to_string(m + 1));
  {  // the default model as it is: the ensemble, one ONNX graph giving the mean probabilities
    onnx_options o;
    o.labels = e.info.labels;
    save_onnx(e.members, dir("houses.onnx"), o);
    tensor<float> want;
    predict_options po;
    po.flip = false;  // the ONNX graph has no test-time flip
    predict_probabilities(e.members, x, want, po);
    const tensor<float> got = run_onnxruntime(dir("houses.onnx"), x, dir);
    REQUIRE(got.shape() == want.shape());
    const deviation d = compare(want.data(), got.data(), want.size());
    MESSAGE("houses.hsnt (ensemble of ", e.members.size(), "): ONNX Runtime max |diff| ", d.diff, " of max |probability| ", d.scale);
    CHECK(same_labels(want, got) == 50);
    CHECK(d.diff <= 1e-5f * d.scale);
    const loaded_ensemble<float> back = load_onnx_ensemble<float>(dir("houses.onnx"));
    REQUIRE(back.members.size() == e.members.size());
    CHECK(back.info.labels == e.info.labels);
    tensor<float> again;
    predict_probabilities(back.members, x, again, po);
    CHECK(housenet_test::same_bits(again, want));
  }
  seed_network_options so;
  so.seed = 5;
  one_network(make_seed_network<float>(e.info.labels.size(), so), "a seed network (60 M parameters)");
}

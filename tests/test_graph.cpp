// graph<T>: layers wired as a DAG (graph.hpp) and the layers with several inputs (add_layer,
// concat_layer). The layers' gradients against finite differences (every element, double); a
// whole graph's gradients (a node read by several layers, the input read twice) against finite
// differences; the same bits as the layers run by hand; fusion inside a branch; predict() from
// several threads; 1 vs 2 threads; model files (a graph is format version 2, a chain still 1);
// summary(); every misuse error.
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/graph.hpp>
#include <housenet/layers.hpp>
#include <housenet/model_io.hpp>
#include <housenet/networks.hpp>
#include <housenet/optim.hpp>
#include <housenet/parallel.hpp>
#include <housenet/testing.hpp>
#include <housenet/detail/crc32.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace housenet;
using housenet_test::error_of;
using housenet_test::same_bits;

namespace {

void require_ok(const testing::check_result& r) {
  INFO(r.message);
  CHECK(r.ok);
  CHECK(r.checked > 0);
}

template <class T>
tensor<T> random_tensor(const shape& s, std::uint64_t seed) {
  tensor<T> t(s);
  prng g(seed);
  for (auto& v : t) v = T(g.uniform(-1.0, 1.0));
  return t;
}

// A small graph with every kind of wiring:
//   x -> conv(4) -> relu =: a           (a is read by conv and add: its gradient is a sum)
//   a -> conv(4) -> batch_norm -> (+ a) -> relu =: b
//   b -> conv 1x1 (2) =: c;  b -> avg_pool 3x3 pad 1 =: d
//   concat(c, d, x) -> global_avg_pool -> linear(3)  (x, the input, is read twice)
template <class T>
graph<T> make_test_graph() {
  graph<T> g;
  g.template add<conv2d<T>>(4, 3, 1, 1);
  g.template add<relu<T>>();
  const node a = g.last();
  g.template add<conv2d<T>>(4, 3, 1, 1);
  g.template add<batch_norm2d<T>>();
  g.template add<add_layer<T>>(from{g.last(), a});
  g.template add<relu<T>>();
  const node b = g.last();
  g.template add<conv2d<T>>(2, 1);
  const node c = g.last();
  g.template add<avg_pool2d<T>>(from{b}, 3, 1, 1);
  const node d = g.last();
  g.template add<concat_layer<T>>(from{c, d, graph<T>::input()});
  g.template add<global_avg_pool<T>>();
  g.template add<linear<T>>(3);
  return g;
}

}  // namespace

TEST_CASE("add_layer: gradients by finite differences, equal shapes and broadcasting") {
  {
    add_layer<double> l;
    require_ok(testing::check_layer<double>(l, {shape{2, 3, 4, 5}, shape{2, 3, 4, 5}}, 1));
  }
  {
    add_layer<double> l;  // per-channel, per-position and full terms at once
    require_ok(testing::check_layer<double>(l, {shape{2, 3, 4, 5}, shape{2, 3, 1, 1}, shape{2, 1, 4, 5}}, 2));
    CHECK(l.output_shape() == shape{1, 3, 4, 5});
  }
  {
    add_layer<double> l;  // the output takes the largest size of each dimension
    require_ok(testing::check_layer<double>(l, {shape{3, 1, 5}, shape{3, 4, 1}}, 3));
    CHECK(l.output_shape() == shape{1, 4, 5});
  }
  {
    add_layer<double> l;  // rank 2, three inputs
    require_ok(testing::check_layer<double>(l, {shape{4, 7}, shape{4, 7}, shape{4, 1}}, 4));
  }
}

TEST_CASE("add_layer: values in input order; broadcasting gives the bits of the full path") {
  add_layer<float> l;
  l.setup(std::vector<shape>{shape{1, 2, 2, 3}, shape{1, 2, 1, 1}});
  const tensor<float> x = housenet_test::tensor_of<float>(shape{1, 2, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  const tensor<float> b = housenet_test::tensor_of<float>(shape{1, 2, 1, 1}, {0.5, -1});
  tensor<float> y;
  const tensor<float>* in[] = {&x, &b};
  l.infer(layer_inputs<float>(in, 2), y);
  CHECK(std::vector<float>(y.begin(), y.end()) ==
        std::vector<float>{1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f, 6, 7, 8, 9, 10, 11});
  // dy summed over the broadcast dimensions
  const tensor<float> dy = housenet_test::tensor_of<float>(shape{1, 2, 2, 3}, {1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3});
  tensor<float> dx0, dx1;
  tensor<float>* out[] = {&dx0, &dx1};
  l.backward(layer_inputs<float>(in, 2), y, dy, layer_input_grads<float>(out, 2));
  CHECK(same_bits(dx0, dy));
  CHECK(std::vector<float>(dx1.begin(), dx1.end()) == std::vector<float>{6, 13});
  // the broadcast path and the full path: one sum, one order
  add_layer<float> full;
  full.setup(std::vector<shape>{shape{1, 2, 2, 3}, shape{1, 2, 2, 3}});
  tensor<float> bb(shape{1, 2, 2, 3});
  for (std::size_t i = 0; i < 12; ++i) bb[i] = b[i / 6];
  tensor<float> y2;
  const tensor<float>* in2[] = {&x, &bb};
  full.infer(layer_inputs<float>(in2, 2), y2);
  CHECK(same_bits(y, y2));
}

TEST_CASE("concat_layer: gradients by finite differences; channels in input order") {
  {
    concat_layer<double> l;
    require_ok(testing::check_layer<double>(l, {shape{2, 3, 4, 5}, shape{2, 1, 4, 5}, shape{2, 2, 4, 5}}, 5));
    CHECK(l.output_shape() == shape{1, 6, 4, 5});
  }
  {
    concat_layer<double> l;
    require_ok(testing::check_layer<double>(l, {shape{3, 4}, shape{3, 2}}, 6));
  }
  concat_layer<float> l;
  l.setup(std::vector<shape>{shape{1, 1, 1, 2}, shape{1, 2, 1, 2}});
  const tensor<float> a = housenet_test::tensor_of<float>(shape{2, 1, 1, 2}, {1, 2, 3, 4});
  const tensor<float> b = housenet_test::tensor_of<float>(shape{2, 2, 1, 2}, {5, 6, 7, 8, 9, 10, 11, 12});
  const tensor<float>* in[] = {&a, &b};
  tensor<float> y;
  l.infer(layer_inputs<float>(in, 2), y);
  CHECK(y.shape() == shape{2, 3, 1, 2});
  CHECK(std::vector<float>(y.begin(), y.end()) == std::vector<float>{1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12});
}

TEST_CASE("add_layer and concat_layer: shapes they cannot take") {
  add_layer<float> a;
  CHECK(error_of([&] { a.setup(shape{1, 3, 4, 4}); }) == "add: 1 input, it takes 2..64");
  CHECK(error_of([&] { a.setup(std::vector<shape>{shape{1, 3, 4, 4}, shape{1, 2, 4, 4}}); }) ==
        "add: input #2 2x4x4 does not broadcast to 3x4x4 (each size must be the output's or 1)");
  CHECK(error_of([&] { a.setup(std::vector<shape>{shape{1, 3, 4, 4}, shape{1, 3, 16}}); }) ==
        "add: input #2 1x3x16 has rank 3, input #1 1x3x4x4 rank 4");
  concat_layer<float> c;
  CHECK(error_of([&] { c.setup(std::vector<shape>{shape{1, 3, 4, 4}, shape{1, 3, 4, 5}}); }) ==
        "concat: input #2 1x3x4x5 does not match input #1 1x3x4x4 but in the channels");
  // the batch sizes must agree at run time
  c.setup(std::vector<shape>{shape{1, 3, 4, 4}, shape{1, 3, 4, 4}});
  tensor<float> p(shape{2, 3, 4, 4}), q(shape{3, 3, 4, 4}), y;
  const tensor<float>* in[] = {&p, &q};
  CHECK(error_of([&] { c.infer(layer_inputs<float>(in, 2), y); }) == "concat: input #2 has 3 samples, input #1 2");
}

TEST_CASE("graph: the gradient of every input and parameter element by finite differences (double)") {
  graph<double> g = make_test_graph<double>();
  g.setup(shape{1, 3, 5, 5}, 11);
  CHECK(!g.is_chain());
  g.train();
  const tensor<double> x0 = random_tensor<double>(shape{2, 3, 5, 5}, 12);
  const tensor<double> r = random_tensor<double>(shape{2, 3}, 13);
  const auto f = [&](const tensor<double>& x) {
    const tensor<double>& y = g.forward(x);
    double s = 0;
    for (std::size_t i = 0; i < y.size(); ++i) s += y[i] * r[i];
    return s;
  };
  f(x0);
  g.zero_grad();
  const tensor<double> dx = g.backward(r, /*input_grad=*/true).clone();
  const std::vector<double> dp(g.grads().data(), g.grads().data() + g.trainable_size());
  const double eps = 1e-6;
  const auto close = [](double a, double n) { return std::fabs(a - n) <= 1e-6 + 1e-5 * std::max(std::fabs(a), std::fabs(n)); };
  tensor<double> x = x0.clone();
  std::size_t bad = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    x[i] = v + eps;
    const double fp = f(x);
    x[i] = v - eps;
    const double fm = f(x);
    x[i] = v;
    if (!close(dx[i], (fp - fm) / (2 * eps))) ++bad;
  }
  CHECK(bad == 0);
  double* w = g.values().data();
  for (const param_info& p : g.parameters()) {
    if (!p.spec.trainable) continue;
    CAPTURE(p.name);
    std::size_t wrong = 0;
    for (std::size_t i = p.offset; i < p.offset + p.spec.shape.size(); ++i) {
      const double v = w[i];
      w[i] = v + eps;
      const double fp = f(x0);
      w[i] = v - eps;
      const double fm = f(x0);
      w[i] = v;
      if (!close(dp[i], (fp - fm) / (2 * eps))) ++wrong;
    }
    CHECK(wrong == 0);
  }
}

TEST_CASE("graph: the same bits as its layers run by hand; predict() equals the eval forward") {
  graph<float> g;
  g.add<conv2d<float>>(3, 3, 1, 1);
  const node a = g.last();
  g.add<relu<float>>();
  g.add<add_layer<float>>(from{a, g.last()});
  g.setup(shape{1, 2, 6, 6}, 3);
  const tensor<float> x = random_tensor<float>(shape{4, 2, 6, 6}, 4);
  g.eval();
  const tensor<float> y = g.forward(x).clone();
  tensor<float> t0, t1, t2;
  g[0].infer(x, t0);
  g[1].infer(t0, t1);
  const tensor<float>* in[] = {&t0, &t1};
  g[2].infer(layer_inputs<float>(in, 2), t2);
  CHECK(same_bits(y, t2));
  CHECK(same_bits(g.predict(x), y));
  // from several threads at once
  std::vector<tensor<float>> outs(4);
  std::vector<std::thread> ts;
  for (auto& o : outs) ts.emplace_back([&] { g.predict(x, o); });
  for (auto& t : ts) t.join();
  for (const auto& o : outs) CHECK(same_bits(o, y));
}

TEST_CASE("graph: a branch's relu -> batch_norm2d -> max_pool2d fuses, with the same bits") {
  const auto build = [](bool fuse) {
    graph<float> g;
    g.add<conv2d<float>>(4, 3, 1, 1);
    const node a = g.last();
    g.add<relu<float>>();
    g.add<batch_norm2d<float>>();
    g.add<max_pool2d<float>>(2, 2);
    const node pooled = g.last();
    g.add<max_pool2d<float>>(from{a}, 2, 2);
    g.add<concat_layer<float>>(from{pooled, g.last()});
    g.add<flatten<float>>();
    g.add<linear<float>>(3);
    g.setup(shape{1, 2, 8, 8}, 5);
    g.set_fusion(fuse);
    return g;
  };
  graph<float> f = build(true), u = build(false);
  const tensor<float> x = random_tensor<float>(shape{3, 2, 8, 8}, 6);
  const tensor<float> d = random_tensor<float>(shape{3, 3}, 7);
  for (graph<float>* g : {&f, &u}) {
    g->train();
    g->forward(x);
    g->zero_grad();
    g->backward(d, true);
  }
  CHECK(f.output(1).empty());  // fused: relu's output never written
  CHECK(!u.output(1).empty());
  CHECK(same_bits(f.output(f.size() - 1), u.output(u.size() - 1)));
  CHECK(same_bits(f.input_grad(), u.input_grad()));
  CHECK(same_bits(f.grads(), u.grads()));
  CHECK(same_bits(f.values(), u.values()));  // running statistics
  f.eval();
  u.eval();
  CHECK(same_bits(f.predict(x), u.predict(x)));
}

TEST_CASE("graph: a training step gives the same bits run twice; 1 and 2 threads agree closely") {
  const housenet_test::settings_guard restore;
  const auto run = [](int threads) {
    set_num_threads(threads);
    graph<float> g = make_test_graph<float>();
    g.setup(shape{1, 3, 9, 9}, 21);
    sgd<float> opt(sgd<float>::options{0.05, 0.9, 1e-4, false});
    const tensor<float> x = random_tensor<float>(shape{8, 3, 9, 9}, 22);
    const tensor<float> d = random_tensor<float>(shape{8, 3}, 23);
    for (int s = 0; s < 3; ++s) {
      g.forward(x);
      g.zero_grad();
      g.backward(d);
      opt.step(g);
    }
    return std::vector<float>(g.values().data(), g.values().data() + g.arena_size());
  };
  const auto a = run(2), b = run(2), c = run(1);
  CHECK(a == b);
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, double(std::fabs(a[i] - c[i])));
  CHECK(worst < 1e-4);
}

TEST_CASE("graph: model files: a graph saves as version 2 with from=, loads with the same bits; a chain stays version 1") {
  graph<float> g = make_test_graph<float>();
  g.setup(shape{1, 3, 7, 7}, 31);
  g.eval();
  const std::vector<std::uint8_t> bytes = model_to_bytes(g, {"a", "b", "c"});
  std::uint32_t version = 0;
  std::memcpy(&version, bytes.data() + 4, 4);
  CHECK(version == 2);
  const std::string text(bytes.begin(), bytes.end());
  CHECK(housenet_test::contains(text, "layer=add/1 from=4,2\n"));
  CHECK(housenet_test::contains(text, "layer=concat/1 from=7,8,0\n"));
  CHECK(housenet_test::contains(text, "layer=relu/1 from=1\n"));
  loaded_model<float> m = model_from_bytes<float>(bytes.data(), bytes.size());
  CHECK(m.model.size() == g.size());
  for (std::size_t i = 0; i < g.size(); ++i) CHECK(m.model.inputs_of(i) == g.inputs_of(i));
  const tensor<float> x = random_tensor<float>(shape{2, 3, 7, 7}, 32);
  CHECK(same_bits(m.model.predict(x), g.predict(x)));
  CHECK(model_to_bytes(m.model, {"a", "b", "c"}) == bytes);
  // a chain: version 1 and no from=, as every earlier build wrote it
  sequential<float> s = make_small_network<float>(4, 1);
  const std::vector<std::uint8_t> sb = model_to_bytes(s);
  std::memcpy(&version, sb.data() + 4, 4);
  CHECK(version == 1);
  CHECK(!housenet_test::contains(std::string(sb.begin(), sb.end()), "from="));
}

TEST_CASE("graph: model files with a bad from= are refused with one clear error") {
  graph<float> g;
  g.add<relu<float>>();
  const node a = g.last();
  g.add<sigmoid<float>>();
  g.add<add_layer<float>>(from{a, g.last()});
  g.setup(shape{1, 4}, 1);
  const std::vector<std::uint8_t> good = model_to_bytes(g);
  const std::string text(good.begin(), good.end());
  REQUIRE(housenet_test::contains(text, "layer=add/1 from=1,2\n"));
  // the header is text with a CRC: rewrite it and fix the checksum and sizes
  const auto with = [&](const std::string& from_text, const std::string& to_text, std::uint32_t version) {
    std::string h = text.substr(20, text.find("model_step=") - 20);
    std::string rest = text.substr(text.find("model_step="));
    std::string header = h + rest.substr(0, rest.find('\n') + 1);
    const std::size_t at = header.find(from_text);
    REQUIRE(at != std::string::npos);
    header.replace(at, from_text.size(), to_text);
    std::string out = text.substr(0, 20);
    std::memcpy(&out[4], &version, 4);
    const std::uint64_t hb = header.size();
    std::memcpy(&out[12], &hb, 8);
    const std::size_t old_header = text.find('\n', text.find("model_step=")) + 1;
    out += header + text.substr(old_header, text.size() - 4 - old_header);
    const std::uint32_t crc = detail::crc32(out.data(), out.size());
    for (int i = 0; i < 4; ++i) out += char(std::uint8_t(crc >> (8 * i)));
    const std::vector<std::uint8_t> b(out.begin(), out.end());
    return error_of([&] { (void)model_from_bytes<float>(b.data(), b.size(), "g.hsnt"); });
  };
  CHECK(with("from=1,2", "from=1,2", 2) == "");  // the rewriting itself keeps a valid file
  CHECK(with("from=1,2", "from=1,3", 2) ==
        "g.hsnt: layer 3: 'from=1,3': each input is 0 (the model's input) or an earlier layer's number (1..2)");
  CHECK(with("from=1,2", "from=1,x", 2) ==
        "g.hsnt: layer 3: 'from=1,x': each input is 0 (the model's input) or an earlier layer's number (1..2)");
  CHECK(with("from=1,2", "from=1,2 from=1,2", 2) == "g.hsnt: layer 3: 'from=' given twice");
  CHECK(with("from=1,2", "from=1,2", 1) == "g.hsnt: layer 1: 'from=' (a graph) needs format version 2, the file says 1");
  CHECK(with("from=1,2", "from=2", 2) == "g.hsnt: add #3: 1 input, it takes 2..64");
  CHECK(with("from=1\nlayer=add/1 from=1,2", "from=0\nlayer=add/1 from=2,2", 2) == "g.hsnt: model: setup(): the output of relu #1 is read by no layer (the model's output is the last layer's)");
}

TEST_CASE("graph: misuse errors name the layer and the node") {
  graph<float> g;
  g.add<relu<float>>();
  CHECK(error_of([&] { g.add<sigmoid<float>>(from{node{5}}); }) ==
        "model: add(): sigmoid #2 reads node 5, which does not exist yet (0 is the input, 1..1 the layers so far)");
  CHECK(error_of([&] { g.add<sigmoid<float>>(from{}); }) == "model: add(): sigmoid with no input");
  g.add<sigmoid<float>>(from{g.input()});  // relu's output is then read by nobody
  CHECK(error_of([&] { g.setup(shape{1, 4}); }) ==
        "model: setup(): the output of relu #1 is read by no layer (the model's output is the last layer's)");
  sequential<float> s;
  s.add<relu<float>>();
  s.add<add_layer<float>>();
  CHECK(error_of([&] { s.setup(shape{1, 4}); }) == "add #2: 1 input, it takes 2..64");
}

TEST_CASE("graph: summary() lists what each layer reads; a chain's table is unchanged") {
  graph<float> g = make_test_graph<float>();
  g.setup(shape{1, 3, 5, 5}, 1);
  const std::string s = g.summary();
  INFO(s);
  CHECK(housenet_test::contains(s, "Reads\n"));
  CHECK(housenet_test::contains(s, "add #5"));
  CHECK(housenet_test::contains(s, "batch_norm2d #4, relu #2\n"));
  CHECK(housenet_test::contains(s, "conv2d #7, avg_pool2d #8, input\n"));
  sequential<float> c = make_small_network<float>(4, 1);
  CHECK(!housenet_test::contains(c.summary(), "Reads"));
}

TEST_CASE("graph: the gradient arena is zero whichever way it is first reached, and a gradient written before any backward is kept") {
  const auto make = [] {
    graph<float> g;
    g.add<conv2d<float>>(3, 3, 1, 1);
    g.add<relu<float>>();
    g.add<flatten<float>>();
    g.add<linear<float>>(4);
    g.setup(shape{1, 2, 5, 5}, 7);
    return g;
  };
  const auto all_zero = [](tensor_view<const float> v) {
    for (float x : v)
      if (x != 0.0f) return false;
    return true;
  };
  {  // grads()
    graph<float> g = make();
    CHECK(all_zero(std::as_const(g).grads()));
  }
  {  // a layer's params()
    graph<float> g = make();
    layer<float>& l = g[0];
    bool zero = true;
    for (const auto& p : l.params())
      for (float x : p.grad) zero = zero && x == 0.0f;
    CHECK(zero);
  }
  {  // written through param_by_name, then an optimizer step reads it: the write is not wiped
    graph<float> g = make();
    param<float>& w = g.param_by_name("4.linear.weight");
    const float before = w.value[0];
    w.grad[0] = 2.0f;
    sgd<float>::options o;
    o.lr = 0.5;
    o.momentum = 0;
    sgd<float> opt(o);
    opt.step(g);
    CHECK(w.value[0] == before - 1.0f);
  }
  {  // backward accumulates onto zero: the same gradients as after an explicit zero_grad()
    graph<float> a = make(), b = make();
    const tensor<float> x = random_tensor<float>(shape{2, 2, 5, 5}, 3);
    tensor<float> d(shape{2, 4}, 0.25f);
    a.train();
    b.train();
    a.forward(x);
    a.backward(d);
    b.zero_grad();
    b.forward(x);
    b.backward(d);
    CHECK(same_bits(a.grads(), b.grads()));
  }
}

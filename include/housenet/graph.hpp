// housenet/graph.hpp: graph<T>, the model: layers wired as a DAG, with one parameter arena.
//
// WHAT THIS IS
//   A model: layers whose inputs are the model's input or earlier layers' outputs (a directed
//   acyclic graph: residual additions, concatenations, several branches). The plain chain is the
//   special case where every layer takes the previous one's output; sequential<T> (sequential.hpp)
//   is this class, built by add() alone. Build it with add(), then setup(input, seed) infers every
//   layer's shape from the input (dlib style: you never type a layer's input size), names the
//   layers "<kind> #<i>" (1-based; the prefix of their error messages), and puts every parameter
//   into ONE value arena and ONE gradient arena (llm.c): the optimizer step, zero_grad() and
//   save/load are each one loop over flat memory. The gradient arena is zero after setup, but
//   its pages are first touched when it is first reached (backward, zero_grad, grads(),
//   operator[] and the parameter lookups, which all settle it): a model loaded only to run
//   holds its weights once (the seed network: 242 MB, not 484).
//
//     graph<float> net;                                  // a chain ...
//     net.add<conv2d<float>>(16, 3, 1, 1);  net.add<batch_norm2d<float>>();  net.add<relu<float>>();
//     const node block_in = net.last();                  // ... and a residual block on it
//     net.add<conv2d<float>>(16, 3, 1, 1);  net.add<batch_norm2d<float>>();
//     net.add<add_layer<float>>(from{net.last(), block_in});
//     net.add<relu<float>>();  net.add<global_avg_pool<float>>();  net.add<linear<float>>(10);
//     net.setup(shape{1, 3, 32, 32}, /*seed=*/1);
//     const tensor<float>& logits = net.forward(x);      // x: N x 3 x 32 x 32
//     ... loss gradient d ...;  net.zero_grad();  net.backward(d);  opt.step(net);
//
// NODES
//   A node is a tensor of the graph: node{0} (input()) is the model's input, node{i} for i >= 1
//   the output of layer i (1-based: "conv2d #i", its parameters "i.conv2d.weight"). last() is the
//   node of the last layer added. add<L>(args...) takes last() as the new layer's input;
//   add<L>(from{a, b, ...}, args...) takes the listed nodes, in that order (a layer with several
//   inputs, or a branch that starts from an earlier node). The model's output is the last layer's;
//   every other node must be some layer's input (setup() says which is not).
//
// ARENA LAYOUT (values() and grads() have the same layout)
//   [ trainable, with weight decay | trainable, no decay | non-trainable state (BN running stats) ]
//     0 ........................ decay_size() ........ trainable_size() ............... size
//   Each parameter starts on a 64-byte boundary (the gaps are zero and stay zero: their gradient
//   is 0, so an optimizer may update the whole trainable range in one loop). Within a section the
//   parameters are in layer order.
//
// PARAMETER NAMES
//   "<i>.<kind>.<param>", i = the layer's 1-based index: "1.conv2d.weight", "3.batch_norm2d.running_mean".
//   These are the record names of the model file (model_io.hpp).
//
// REQUIRES / ENSURES
//   add() only before setup(); setup() exactly once, with at least one layer.
//   forward(x) runs in the model's mode (train() / eval()); x is N x (setup's sample shape), any N.
//   Every layer's output is kept in a member tensor (output(i)) that is reused: no allocation
//   after the first batch of a given size. A training forward passes context.step = step() to the
//   layers (dropout masks derive from it) and then increments step().
//   FUSION: setup() plans the graph (layers/fusion.hpp): within each run of layers that form a
//   plain chain (each the only reader of the previous one's output), runs that a known pattern
//   matches, such as relu -> batch_norm2d -> max_pool2d (layers/relu_bn_pool.hpp: the same bits,
//   a fraction of the memory traffic), run as one block; the model runs the plan's blocks and
//   knows no layer kind. The layers inside a fused block but its last keep no output and no
//   output gradient (output(i), output_grad(i) are left as they were); set_fusion(false) runs
//   every layer on its own and keeps them all.
//   backward(dloss) needs the forward of the same batch just before; it ACCUMULATES parameter
//   gradients (call zero_grad() first) and returns the gradient w.r.t. the input. The gradient of
//   a node that several layers read is the sum of theirs, added in a fixed order (the readers
//   from the last to the first): the same bits for any thread count.
//   predict(x) const runs the eval forward (layer::infer) with per-thread buffers reused across
//   calls; a node's buffer is reused once its last reader has run (a chain needs two).
//   Misuse (forward before setup, a wrong input shape, backward without forward) throws
//   housenet::error ("model: ..." or the layer's "conv2d #1: ...").
//
// THREAD SAFETY
//   A model is not safe to use from two threads at once; predict() on a const model is (it touches
//   no member). The layers parallelise internally through housenet/parallel.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "error.hpp"
#include "layers/chain_block.hpp"
#include "layers/fusion.hpp"
#include "layers/layer.hpp"
#include "parallel.hpp"
#include "random.hpp"
#include "tensor.hpp"

HOUSENET_BEGIN_NAMESPACE

// Where a parameter lives: its layer, its index in that layer's params(), its arena offset.
struct param_info {
  std::string name;           // "1.conv2d.weight"
  std::size_t layer = 0;      // 0-based index into the model's layers
  std::size_t index = 0;      // index into layer.params()
  std::size_t offset = 0;     // element offset into values() / grads()
  param_spec spec;
};

// A tensor of a graph (see NODES above): 0 = the model's input, i >= 1 = the output of layer i.
struct node {
  std::size_t id = 0;
  friend bool operator==(node a, node b) { return a.id == b.id; }
  friend bool operator!=(node a, node b) { return a.id != b.id; }
};

// The inputs of a layer being added: net.add<concat<float>>(from{a, b}).
struct from {
  from(std::initializer_list<node> n) : nodes(n) {}
  explicit from(std::vector<node> n) : nodes(std::move(n)) {}
  std::vector<node> nodes;
};

namespace detail {
template <class... Args>
struct first_is_from : std::false_type {};
template <class A, class... Args>
struct first_is_from<A, Args...> : std::is_same<std::decay_t<A>, from> {};
}  // namespace detail

template <class T>
class graph {
  template <class... Args>
  using first_is_from = detail::first_is_from<Args...>;


 public:
  static constexpr std::size_t arena_alignment = 64 / sizeof(T) ? 64 / sizeof(T) : 1;  // elements

  graph() = default;
  graph(graph&&) noexcept = default;
  graph& operator=(graph&&) noexcept = default;
  graph(const graph&) = delete;
  graph& operator=(const graph&) = delete;

  // ---- building ---------------------------------------------------------------------------
  // The layer reads last() (the previous layer's output; the model's input for the first).
  layer<T>& add(std::unique_ptr<layer<T>> l) { return add(std::move(l), from{last()}); }
  // The layer reads the listed nodes, in order (each the input or an earlier layer's output).
  layer<T>& add(std::unique_ptr<layer<T>> l, const from& inputs) {
    HOUSENET_CHECK(l != nullptr, "model: add(): null layer");
    HOUSENET_CHECK(!setup_, "model: add() after setup()");
    HOUSENET_CHECK(!inputs.nodes.empty(), "model: add(): ", l->kind(), " with no input");
    std::vector<std::size_t> ids;
    for (const node n : inputs.nodes) {
      HOUSENET_CHECK(n.id <= layers_.size(), "model: add(): ", l->kind(), " #", layers_.size() + 1,
                     " reads node ", n.id, ", which does not exist yet (0 is the input, 1..",
                     layers_.size(), " the layers so far)");
      ids.push_back(n.id);
    }
    layers_.push_back(std::move(l));
    inputs_.push_back(std::move(ids));
    return *layers_.back();
  }
  template <class L, class... Args, std::enable_if_t<!first_is_from<Args...>::value, int> = 0>
  L& add(Args&&... args) {
    return add_as<L>(from{last()}, std::forward<Args>(args)...);
  }
  template <class L, class... Args>
  L& add(const from& inputs, Args&&... args) {
    return add_as<L>(inputs, std::forward<Args>(args)...);
  }

  // The model's input, and the output of the last layer added so far.
  static node input() { return node{0}; }
  node last() const { return node{layers_.size()}; }
  // The nodes layer i (0-based) reads.
  const std::vector<std::size_t>& inputs_of(std::size_t i) const { return inputs_.at(i); }
  // Whether every layer reads the previous one's output (a sequential model).
  bool is_chain() const {
    for (std::size_t i = 0; i < inputs_.size(); ++i)
      if (inputs_[i].size() != 1 || inputs_[i][0] != i) return false;
    return true;
  }

  // Infers all shapes from `input` (its n is ignored: the model takes any batch size), binds the
  // parameters into the arenas and initialises them from prng(seed), layer by layer.
  void setup(const shape& input, std::uint64_t seed = 0) {
    setup_shapes(input);
    prng rng(seed);
    for (auto& l : layers_) {
      prng lr = rng.fork();  // one stream per layer, drawn in layer order
      l->init(lr);
    }
  }
  // setup() without initialisation: all values are zero (used by load()). Throws before
  // allocating when the parameters would need more than max_values elements.
  void setup_shapes(const shape& input, std::size_t max_values = ~std::size_t(0)) {
    HOUSENET_CHECK(!setup_, "model: setup() called twice");
    HOUSENET_CHECK(!layers_.empty(), "model: setup() with no layers");
    HOUSENET_CHECK(input.rank() >= 2, "model: setup(): input shape ", input.str(),
                   " must be N x C [x H x W]");
    in_ = input.with_n(1);
    HOUSENET_CHECK(in_.size() > 0, "model: setup(): empty input shape ", input.str());
    for (std::size_t i = 0; i < layers_.size(); ++i) layers_[i]->set_name(layers_[i]->kind() + " #" + std::to_string(i + 1));
    // every node but the output is read by some layer
    const std::vector<std::size_t> readers = reader_counts();
    for (std::size_t id = 0; id < layers_.size(); ++id)
      HOUSENET_CHECK(readers[id] > 0, "model: setup(): ", id == 0 ? std::string("the model's input") : "the output of " + layers_[id - 1]->name(),
                     " is read by no layer (the model's output is the last layer's)");
    shapes_.clear();
    std::vector<shape> in;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      in.clear();
      for (std::size_t id : inputs_[i]) in.push_back(id == 0 ? in_ : shapes_[id - 1]);
      const shape s = layers_[i]->setup(in).with_n(1);
      HOUSENET_CHECK(s.size() > 0, layers_[i]->name(), ": empty output shape ", s.str());
      shapes_.push_back(s);
    }
    out_ = shapes_.back();
    build_arena(max_values);
    outputs_.resize(layers_.size());
    dgrads_.resize(layers_.size());
    plan();
    setup_ = true;
  }

  // Whether fusable layer runs run as one block (default true; see FUSION above). Results are the
  // same bits either way; a change needs a new forward before backward().
  void set_fusion(bool on) {
    if (on == fusion_) return;
    have_forward_ = false;
    fusion_ = on;
    if (setup_) plan();
  }
  bool fusion() const { return fusion_; }

  bool is_setup() const { return setup_; }
  const shape& input_shape() const { return in_; }    // n = 1
  const shape& output_shape() const { return out_; }  // n = 1
  const shape& layer_output_shape(std::size_t i) const { return shapes_.at(i); }

  // ---- mode and step ----------------------------------------------------------------------
  void train() { mode_ = mode::train; }
  void eval() { mode_ = mode::eval; }
  housenet::mode current_mode() const { return mode_; }
  std::uint64_t step() const { return step_; }
  void set_step(std::uint64_t s) { step_ = s; }

  // ---- forward / backward -------------------------------------------------------------------
  // Runs in the model's mode; after a training forward, step() is incremented.
  const tensor<T>& forward(const tensor<T>& x) {
    const context ctx{mode_, step_};
    const tensor<T>& y = forward(x, ctx);
    if (mode_ == mode::train) ++step_;
    return y;
  }
  // Runs with an explicit context; step() is not changed.
  const tensor<T>& forward(const tensor<T>& x, const context& ctx) {
    require_setup("forward");
    const shape& s = x.shape();
    detail::check_batch_shape(s, in_, "model");
    have_forward_ = false;  // until every layer succeeded
    input_.resize(s);
    if (s.size()) std::memcpy(input_.data(), x.data(), s.size() * sizeof(T));
    for (auto& b : plan_) {
      const std::vector<std::size_t>& ins = inputs_[b->first()];
      xs_.clear();
      for (std::size_t id : ins) xs_.push_back(&value(id));
      b->forward(layer_inputs<T>(xs_), outputs_[b->last()], ctx);
    }
    have_forward_ = true;
    return outputs_.back();
  }

  // dloss: gradient of the loss w.r.t. the last output (same shape). Accumulates parameter
  // gradients. With input_grad = true also computes the gradient w.r.t. the input of the last
  // forward (returned, and input_grad()); training does not need it and skips the backward-data
  // of the layers that read only the input (the returned tensor's contents are then unspecified).
  const tensor<T>& backward(const tensor<T>& dloss, bool input_grad = false) {
    require_setup("backward");
    HOUSENET_CHECK(have_forward_, "model: backward() without a forward() before it");
    settle_grads();
    HOUSENET_CHECK(dloss.shape() == outputs_.back().shape(), "model: backward(): gradient ",
                   dloss.shape().str(), ", expected the output shape ", outputs_.back().shape().str());
    const std::size_t L = layers_.size();
    dgrads_[L - 1].resize(dloss.shape());
    if (dloss.size()) std::memcpy(dgrads_[L - 1].data(), dloss.data(), dloss.size() * sizeof(T));
    for (std::size_t i = 0; i < L; ++i) {
      bool only_input = true;
      for (std::size_t id : inputs_[i]) only_input = only_input && id == 0;
      layers_[i]->set_input_grad_needed(input_grad || !only_input);
    }
    for (std::size_t k = plan_.size(); k-- > 0;) {
      chain_block<T>& b = *plan_[k];
      const std::vector<std::size_t>& ins = inputs_[b.first()];
      xs_.clear();
      dxs_.clear();
      if (sums_.size() < ins.size()) sums_.resize(ins.size());
      for (std::size_t j = 0; j < ins.size(); ++j) {
        xs_.push_back(&value(ins[j]));
        dxs_.push_back(accumulate_[k][j] ? &sums_[j] : &grad(ins[j]));
      }
      b.backward(layer_inputs<T>(xs_), outputs_[b.last()], dgrads_[b.last()], layer_input_grads<T>(dxs_));
      for (std::size_t j = 0; j < ins.size(); ++j)
        if (accumulate_[k][j] && (ins[j] != 0 || input_grad)) add_into(grad(ins[j]), sums_[j]);
    }
    return dinput_;
  }

  // One memset over the gradient arena (in parallel blocks: 242 MB for the seed network).
  void zero_grad() {
    grads_pending_ = true;
    settle_grads();
  }

  // Eval-mode forward on a const model, safe from several threads at once.
  void predict(const tensor<T>& x, tensor<T>& out) const {
    HOUSENET_CHECK(setup_, "model: predict() before setup()");
    HOUSENET_CHECK(&x != &out, "model: predict(): output and input are the same tensor");
    detail::check_batch_shape(x.shape(), in_, "model");
    // Per-thread buffers (slots), grown once and reused across calls (a fresh 4.5 MB conv1
    // output per image costs ~13 ms of first-touch page faults here). Distinct per thread, so a
    // const model stays safe to share.
    thread_local std::vector<tensor<T>> slots;
    if (slots.size() < nslots_) slots.resize(nslots_);
    thread_local std::vector<const tensor<T>*> xs;
    for (std::size_t k = 0; k < plan_.size(); ++k) {
      xs.clear();
      for (std::size_t id : inputs_[plan_[k]->first()]) xs.push_back(id == 0 ? &x : &slots[slot_[id]]);
      tensor<T>* dst = k + 1 == plan_.size() ? &out : &slots[slot_[plan_[k]->last() + 1]];
      plan_[k]->infer(layer_inputs<T>(xs), *dst);
    }
  }
  tensor<T> predict(const tensor<T>& x) const {
    tensor<T> out;
    predict(x, out);
    return out;
  }

  // ---- layers and intermediate tensors ------------------------------------------------------
  std::size_t size() const { return layers_.size(); }
  layer<T>& operator[](std::size_t i) {  // (its params() reach the gradient arena: settled first)
    settle_grads();
    return *layers_.at(i);
  }
  const layer<T>& operator[](std::size_t i) const { return *layers_.at(i); }
  // Output of layer i in the last forward; output(size()-1) is the model's output.
  const tensor<T>& output(std::size_t i) const { return outputs_.at(i); }
  // Gradient w.r.t. the output of layer i in the last backward.
  const tensor<T>& output_grad(std::size_t i) const { return dgrads_.at(i); }
  // Gradient w.r.t. the input of the last backward.
  const tensor<T>& input_grad() const { return dinput_; }

  // ---- parameters ------------------------------------------------------------------------------
  // Whole arenas (padding included); see ARENA LAYOUT.
  tensor_view<T> values() { return {values_.data(), values_.shape()}; }
  tensor_view<const T> values() const { return {values_.data(), values_.shape()}; }
  tensor_view<T> grads() {
    settle_grads();
    return {grads_.data(), grads_.shape()};
  }
  tensor_view<const T> grads() const {
    settle_grads();
    return {grads_.data(), grads_.shape()};
  }
  std::size_t arena_size() const { return values_.size(); }
  std::size_t decay_size() const { return decay_end_; }          // [0, decay_size): weight decay
  std::size_t trainable_size() const { return trainable_end_; }  // [0, trainable_size): trainable

  // Every parameter in layer order (as the model file stores them).
  const std::vector<param_info>& parameters() const { return infos_; }
  // Element counts without padding.
  std::size_t num_params() const { return num_trainable_ + num_state_; }
  std::size_t num_trainable_params() const { return num_trainable_; }
  std::size_t num_non_trainable_params() const { return num_state_; }

  // nullptr when there is no parameter of that name.
  param<T>* find_param(const std::string& name) {
    settle_grads();
    for (const auto& p : infos_)
      if (p.name == name) return &layers_[p.layer]->params()[p.index];
    return nullptr;
  }
  const param<T>* find_param(const std::string& name) const {
    settle_grads();
    for (const auto& p : infos_)
      if (p.name == name) return &layers_[p.layer]->params()[p.index];
    return nullptr;
  }
  // Throws "model: no parameter 'x' (have: ...)".
  param<T>& param_by_name(const std::string& name) {
    param<T>* p = find_param(name);
    if (!p) {
      std::string have;
      for (const auto& i : infos_) have += (have.empty() ? "" : ", ") + i.name;
      detail::fail(detail::concat("model: no parameter '", name, "' (have: ", have, ")"));
    }
    return *p;
  }
  const param<T>& param_by_name(const std::string& name) const {
    return const_cast<graph*>(this)->param_by_name(name);
  }

  // Keras-style table: layer name, output shape, parameter count (and, for a graph that is not a
  // chain, the nodes each layer reads); then totals.
  std::string summary() const {
    std::ostringstream os;
    const bool chain = is_chain();
    const std::size_t width = chain ? 64 : 88;
    const auto line = [&](char c) { os << std::string(width, c) << '\n'; };
    const auto pad = [](std::string s, std::size_t w) {
      if (s.size() < w) s.append(w - s.size(), ' ');
      return s + ' ';
    };
    line('_');
    os << pad("Layer (type)", 24) << pad("Output shape", 22) << (chain ? "Param #\n" : pad("Param #", 12) + "Reads\n");
    line('=');
    if (!setup_) {
      for (const auto& l : layers_) os << pad(l->kind(), 24) << pad("(not set up)", 22) << "?\n";
    } else {
      for (std::size_t i = 0; i < layers_.size(); ++i) {
        std::size_t n = 0;
        for (const auto& p : layers_[i]->params()) n += p.spec.shape.size();
        os << pad(layers_[i]->name(), 24) << pad(shapes_[i].str().substr(2), 22);
        if (chain) {
          os << thousands(n) << '\n';
          continue;
        }
        std::string reads;
        for (std::size_t id : inputs_[i]) reads += (reads.empty() ? "" : ", ") + (id == 0 ? std::string("input") : layers_[id - 1]->name());
        os << pad(thousands(n), 12) << reads << '\n';
      }
    }
    line('=');
    os << "Total params: " << thousands(num_params()) << '\n';
    os << "Trainable params: " << thousands(num_trainable_) << '\n';
    os << "Non-trainable params: " << thousands(num_state_) << '\n';
    line('_');
    return os.str();
  }

 private:
  template <class L, class... Args>
  L& add_as(const from& inputs, Args&&... args) {
    static_assert(std::is_base_of<layer<T>, L>::value, "add<L>: L must derive from layer<T>");
    auto p = std::make_unique<L>(std::forward<Args>(args)...);
    L& ref = *p;
    add(std::unique_ptr<layer<T>>(std::move(p)), inputs);
    return ref;
  }

  // Node id's tensor in the last forward, and its gradient in the last backward.
  const tensor<T>& value(std::size_t id) const { return id == 0 ? input_ : outputs_[id - 1]; }
  tensor<T>& grad(std::size_t id) { return id == 0 ? dinput_ : dgrads_[id - 1]; }

  // How many layer inputs read each node (node id -> count).
  std::vector<std::size_t> reader_counts() const {
    std::vector<std::size_t> readers(layers_.size() + 1, 0);
    for (const auto& ins : inputs_)
      for (std::size_t id : ins) ++readers[id];
    return readers;
  }

  // g += d, element by element (the gradient of a node several layers read).
  static void add_into(tensor<T>& g, const tensor<T>& d) {
    T* gp = g.data();
    const T* dp = d.data();
    detail::elementwise(g.size(), [=](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) gp[i] += dp[i];
    });
  }

  // The blocks that run the layers (layers/fusion.hpp), fused or not as fusion_ says: the layers
  // cut into runs that form a plain chain (layer i reads only layer i-1's output, which no other
  // layer reads), each run planned by plan_chain. Then, per block, which input gradients add to
  // a node's (accumulate_), and the buffer of every node in predict (slot_).
  void plan() {
    plan_.clear();
    const std::vector<std::size_t> readers = reader_counts();
    std::vector<layer<T>*> run;
    std::size_t run_first = 0;
    const auto flush = [&] {
      if (run.empty()) return;
      for (auto& b : plan_chain(run, fusion_, run_first)) plan_.push_back(std::move(b));
      run.clear();
    };
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const bool continues = i > 0 && inputs_[i].size() == 1 && inputs_[i][0] == i && readers[i] == 1;
      if (!continues) {
        flush();
        run_first = i;
      }
      run.push_back(layers_[i].get());
    }
    flush();
    // backward runs the blocks from the last: the first to write a node's gradient assigns it,
    // the others add theirs
    accumulate_.assign(plan_.size(), {});
    std::vector<bool> written(layers_.size() + 1, false);
    for (std::size_t k = plan_.size(); k-- > 0;) {
      for (std::size_t id : inputs_[plan_[k]->first()]) {
        accumulate_[k].push_back(written[id]);
        written[id] = true;
      }
    }
    // predict's buffers: a block writes into a free slot; a slot is free again after the last
    // block that reads its node (a chain alternates between two)
    std::vector<std::size_t> last_read(layers_.size() + 1, 0);
    for (std::size_t k = 0; k < plan_.size(); ++k)
      for (std::size_t id : inputs_[plan_[k]->first()]) last_read[id] = k;
    slot_.assign(layers_.size() + 1, 0);
    nslots_ = 0;
    std::vector<std::size_t> free_slots;
    for (std::size_t k = 0; k + 1 < plan_.size(); ++k) {
      const std::size_t out = plan_[k]->last() + 1;
      if (free_slots.empty()) {
        slot_[out] = nslots_++;
      } else {
        slot_[out] = free_slots.back();
        free_slots.pop_back();
      }
      for (std::size_t id : inputs_[plan_[k]->first()])
        if (id != 0 && last_read[id] == k) free_slots.push_back(slot_[id]);
    }
  }

  void require_setup(const char* what) const {
    HOUSENET_CHECK(setup_, "model: ", what, "() before setup()");
  }

  static std::string thousands(std::size_t v) {
    std::string s = std::to_string(v), r;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (i && (s.size() - i) % 3 == 0) r += ',';
      r += s[i];
    }
    return r;
  }

  static std::size_t round_up(std::size_t n) {
    return (n + arena_alignment - 1) / arena_alignment * arena_alignment;
  }

  void build_arena(std::size_t max_values) {
    struct item {
      std::size_t layer, index;
      param_spec spec;
    };
    std::vector<item> items;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const auto specs = layers_[i]->param_specs();
      for (std::size_t j = 0; j < specs.size(); ++j) items.push_back({i, j, specs[j]});
    }
    // Sizes with overflow checks, against the limit, before anything is allocated.
    // (64-bit arithmetic: size_t may have 32 bits.)
    std::uint64_t needed = 0;
    const std::uint64_t cap = std::uint64_t(1) << 40;
    for (const auto& it : items) {
      std::uint64_t n = 1;
      for (std::size_t d = 0; d < it.spec.shape.rank(); ++d) {
        const std::uint64_t k = it.spec.shape[d];
        HOUSENET_CHECK(k == 0 || n <= cap / k, "model: ", layers_[it.layer]->name(), ": parameter '",
                       it.spec.name, "' ", it.spec.shape.str(), " is too large");
        n *= k;
      }
      HOUSENET_CHECK(n <= max_values - needed, "model: the parameters need at least ", needed + n,
                     " values, more than the limit of ", max_values);
      needed += n;
    }
    // the arena: every parameter rounded up to 64 bytes, within what one tensor may hold
    std::uint64_t padded = 0;
    for (const auto& it : items)
      padded += (std::uint64_t(it.spec.shape.size()) + arena_alignment - 1) / arena_alignment * arena_alignment;
    HOUSENET_CHECK(detail::fits_max_bytes(padded, sizeof(T)), "model: the parameters need ", padded,
                   " values, more than one arena can hold");
    // Sections: 0 = trainable with decay, 1 = trainable without, 2 = state.
    const auto section = [](const param_spec& s) { return !s.trainable ? 2 : s.decay ? 0 : 1; };
    std::vector<std::size_t> offset(items.size());
    std::size_t total = 0;
    num_trainable_ = num_state_ = 0;
    for (int sec = 0; sec < 3; ++sec) {
      for (std::size_t k = 0; k < items.size(); ++k) {
        if (section(items[k].spec) != sec) continue;
        offset[k] = total;
        const std::size_t n = items[k].spec.shape.size();
        total += round_up(n);
        (sec == 2 ? num_state_ : num_trainable_) += n;
      }
      if (sec == 0) decay_end_ = total;
      if (sec == 1) trainable_end_ = total;
    }
    values_.resize(shape{total});
    grads_.resize(shape{total});
    values_.zero();
    // The gradients are zeroed when first needed (backward, zero_grad, grads()), not here: a model
    // only loaded to run (a model or ONNX file read for inference) never touches their pages, so
    // it holds its weights once, not twice.
    grads_pending_ = true;
    infos_.clear();
    std::vector<std::vector<param<T>>> bound(layers_.size());
    for (std::size_t k = 0; k < items.size(); ++k) {
      const item& it = items[k];
      param<T> p;
      p.spec = it.spec;
      p.value = tensor_view<T>(values_.data() + offset[k], it.spec.shape);
      p.grad = tensor_view<T>(grads_.data() + offset[k], it.spec.shape);
      bound[it.layer].push_back(p);
      param_info info;
      info.name = std::to_string(it.layer + 1) + "." + layers_[it.layer]->kind() + "." + it.spec.name;
      info.layer = it.layer;
      info.index = it.index;
      info.offset = offset[k];
      info.spec = it.spec;
      for (const auto& other : infos_)
        HOUSENET_CHECK(other.name != info.name, "model: two parameters named '", info.name, "'");
      infos_.push_back(std::move(info));
    }
    for (std::size_t i = 0; i < layers_.size(); ++i) layers_[i]->bind(std::move(bound[i]));
  }

  std::vector<std::unique_ptr<layer<T>>> layers_;
  std::vector<std::vector<std::size_t>> inputs_;  // the nodes each layer reads
  std::vector<shape> shapes_;  // output shape of each layer, n = 1
  shape in_, out_;
  bool setup_ = false;
  bool have_forward_ = false;
  housenet::mode mode_ = mode::train;
  std::uint64_t step_ = 0;

  tensor<T> values_;
  mutable tensor<T> grads_;            // zero until the first backward (settle_grads)
  mutable bool grads_pending_ = false;  // grads_ not yet zeroed since build_arena

  void settle_grads() const {
    if (!grads_pending_) return;
    T* g = grads_.data();
    detail::elementwise(grads_.size(), [=](std::size_t b, std::size_t e) { std::memset(g + b, 0, (e - b) * sizeof(T)); });
    grads_pending_ = false;
  }
  std::size_t decay_end_ = 0, trainable_end_ = 0;
  std::size_t num_trainable_ = 0, num_state_ = 0;
  std::vector<param_info> infos_;

  tensor<T> input_, dinput_;
  std::vector<tensor<T>> outputs_, dgrads_;
  std::vector<std::unique_ptr<chain_block<T>>> plan_;  // the blocks, in layer order
  std::vector<std::vector<bool>> accumulate_;           // per block, per input: add (not assign) dx
  std::vector<std::size_t> slot_;                       // per node: predict's buffer
  std::size_t nslots_ = 0;
  std::vector<const tensor<T>*> xs_;                    // a block's inputs (reused)
  std::vector<tensor<T>*> dxs_;                         // ... and their gradients
  std::vector<tensor<T>> sums_;                         // gradients to add to a node's
  bool fusion_ = true;
};

// The chain: a graph built by add<L>(args...) alone (sequential.hpp says more). Declared here so
// that every header that knows the model knows both names.
template <class T>
using sequential = graph<T>;

HOUSENET_END_NAMESPACE

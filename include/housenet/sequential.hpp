// housenet/sequential.hpp: sequential<T>, a chain of layers with one parameter arena.
//
// WHAT THIS IS
//   A model: layers applied one after the other. Build it with add(), then setup(input, seed)
//   infers every layer's shape from the input (dlib style: you never type a layer's input size),
//   names the layers "<kind> #<i>" (1-based; the prefix of their error messages), and puts every
//   parameter into ONE value arena and ONE gradient arena (llm.c): the optimizer step, zero_grad()
//   and save/load are each one loop over flat memory.
//
//     sequential<float> net;
//     net.add<conv2d<float>>(16, 3);  net.add<relu<float>>();  net.add<linear<float>>(4);
//     net.setup(shape{1, 3, 32, 32}, /*seed=*/1);
//     const tensor<float>& logits = net.forward(x);      // x: N x 3 x 32 x 32
//     ... loss gradient d ...;  net.zero_grad();  net.backward(d);  opt.step(net);
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
//   FUSION: setup() plans the chain (layers/fusion.hpp): runs that a known pattern matches, such as
//   relu -> batch_norm2d -> max_pool2d (layers/relu_bn_pool.hpp: the same bits, a fraction of the
//   memory traffic), run as one block; the model runs the plan's blocks and knows no layer kind.
//   The layers inside a fused block but its last keep no output and no output gradient (output(i),
//   output_grad(i) are left as they were); set_fusion(false) runs every layer on its own and keeps
//   them all.
//   backward(dloss) needs the forward of the same batch just before; it ACCUMULATES parameter
//   gradients (call zero_grad() first) and returns the gradient w.r.t. the input.
//   predict(x) const runs the eval forward (layer::infer) with per-thread buffers reused across calls.
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

template <class T>
class sequential {
 public:
  static constexpr std::size_t arena_alignment = 64 / sizeof(T) ? 64 / sizeof(T) : 1;  // elements

  sequential() = default;
  sequential(sequential&&) noexcept = default;
  sequential& operator=(sequential&&) noexcept = default;
  sequential(const sequential&) = delete;
  sequential& operator=(const sequential&) = delete;

  // ---- building ---------------------------------------------------------------------------
  layer<T>& add(std::unique_ptr<layer<T>> l) {
    HOUSENET_CHECK(l != nullptr, "model: add(): null layer");
    HOUSENET_CHECK(!setup_, "model: add() after setup()");
    layers_.push_back(std::move(l));
    return *layers_.back();
  }
  template <class L, class... Args>
  L& add(Args&&... args) {
    static_assert(std::is_base_of<layer<T>, L>::value, "add<L>: L must derive from layer<T>");
    auto p = std::make_unique<L>(std::forward<Args>(args)...);
    L& ref = *p;
    add(std::unique_ptr<layer<T>>(std::move(p)));
    return ref;
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
    shapes_.clear();
    shape s = in_;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      layers_[i]->set_name(layers_[i]->kind() + " #" + std::to_string(i + 1));
      s = layers_[i]->setup(s);
      s = s.with_n(1);
      HOUSENET_CHECK(s.size() > 0, layers_[i]->name(), ": empty output shape ", s.str());
      shapes_.push_back(s);
    }
    out_ = s;
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
    const tensor<T>* src = &input_;
    for (auto& b : plan_) {
      b->forward(*src, outputs_[b->last()], ctx);
      src = &outputs_[b->last()];
    }
    have_forward_ = true;
    return outputs_.back();
  }

  // dloss: gradient of the loss w.r.t. the last output (same shape). Accumulates parameter
  // gradients. With input_grad = true also computes the gradient w.r.t. the input of the last
  // forward (returned, and input_grad()); training does not need it and skips the first layer's
  // backward-data (the returned tensor's contents are then unspecified).
  const tensor<T>& backward(const tensor<T>& dloss, bool input_grad = false) {
    require_setup("backward");
    HOUSENET_CHECK(have_forward_, "model: backward() without a forward() before it");
    HOUSENET_CHECK(dloss.shape() == outputs_.back().shape(), "model: backward(): gradient ",
                   dloss.shape().str(), ", expected the output shape ", outputs_.back().shape().str());
    const std::size_t L = layers_.size();
    dgrads_[L - 1].resize(dloss.shape());
    if (dloss.size()) std::memcpy(dgrads_[L - 1].data(), dloss.data(), dloss.size() * sizeof(T));
    layers_[0]->set_input_grad_needed(input_grad);
    for (std::size_t k = plan_.size(); k-- > 0;) {
      chain_block<T>& b = *plan_[k];
      const std::size_t i = b.first();
      b.backward(i == 0 ? input_ : outputs_[i - 1], outputs_[b.last()], dgrads_[b.last()],
                 i == 0 ? dinput_ : dgrads_[i - 1]);
    }
    return dinput_;
  }

  // One memset over the gradient arena (in parallel blocks: 242 MB for the seed network).
  void zero_grad() {
    T* g = grads_.data();
    detail::elementwise(grads_.size(), [=](std::size_t b, std::size_t e) { std::memset(g + b, 0, (e - b) * sizeof(T)); });
  }

  // Eval-mode forward on a const model, safe from several threads at once.
  void predict(const tensor<T>& x, tensor<T>& out) const {
    HOUSENET_CHECK(setup_, "model: predict() before setup()");
    HOUSENET_CHECK(&x != &out, "model: predict(): output and input are the same tensor");
    detail::check_batch_shape(x.shape(), in_, "model");
    // Per-thread ping-pong buffers, grown once and reused across calls (a fresh 4.5 MB conv1
    // output per image costs ~13 ms of first-touch page faults here). Distinct per thread, so a
    // const model stays safe to share.
    thread_local tensor<T> a, b;
    const tensor<T>* src = &x;
    for (std::size_t k = 0; k < plan_.size(); ++k) {
      tensor<T>* dst = k + 1 == plan_.size() ? &out : (src == &a ? &b : &a);
      plan_[k]->infer(*src, *dst);
      src = dst;
    }
  }
  tensor<T> predict(const tensor<T>& x) const {
    tensor<T> out;
    predict(x, out);
    return out;
  }

  // ---- layers and intermediate tensors ------------------------------------------------------
  std::size_t size() const { return layers_.size(); }
  layer<T>& operator[](std::size_t i) { return *layers_.at(i); }
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
  tensor_view<T> grads() { return {grads_.data(), grads_.shape()}; }
  tensor_view<const T> grads() const { return {grads_.data(), grads_.shape()}; }
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
    for (const auto& p : infos_)
      if (p.name == name) return &layers_[p.layer]->params()[p.index];
    return nullptr;
  }
  const param<T>* find_param(const std::string& name) const {
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
    return const_cast<sequential*>(this)->param_by_name(name);
  }

  // Keras-style table: layer name, output shape, parameter count; then totals.
  std::string summary() const {
    std::ostringstream os;
    const auto line = [&](char c) { os << std::string(64, c) << '\n'; };
    const auto pad = [](std::string s, std::size_t w) {
      if (s.size() < w) s.append(w - s.size(), ' ');
      return s + ' ';
    };
    line('_');
    os << pad("Layer (type)", 24) << pad("Output shape", 22) << "Param #\n";
    line('=');
    if (!setup_) {
      for (const auto& l : layers_) os << pad(l->kind(), 24) << pad("(not set up)", 22) << "?\n";
    } else {
      for (std::size_t i = 0; i < layers_.size(); ++i) {
        std::size_t n = 0;
        for (const auto& p : layers_[i]->params()) n += p.spec.shape.size();
        os << pad(layers_[i]->name(), 24) << pad(shapes_[i].str().substr(2), 22) << thousands(n)
           << '\n';
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
  // The blocks that run the layers (layers/fusion.hpp), fused or not as fusion_ says.
  void plan() {
    std::vector<layer<T>*> chain;
    for (auto& l : layers_) chain.push_back(l.get());
    plan_ = plan_chain(chain, fusion_);
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
    grads_.zero();
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
  std::vector<shape> shapes_;  // output shape of each layer, n = 1
  shape in_, out_;
  bool setup_ = false;
  bool have_forward_ = false;
  housenet::mode mode_ = mode::train;
  std::uint64_t step_ = 0;

  tensor<T> values_, grads_;
  std::size_t decay_end_ = 0, trainable_end_ = 0;
  std::size_t num_trainable_ = 0, num_state_ = 0;
  std::vector<param_info> infos_;

  tensor<T> input_, dinput_;
  std::vector<tensor<T>> outputs_, dgrads_;
  std::vector<std::unique_ptr<chain_block<T>>> plan_;  // the blocks, in chain order
  bool fusion_ = true;
};

HOUSENET_END_NAMESPACE

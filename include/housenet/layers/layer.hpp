// housenet/layers/layer.hpp: the layer interface and its contract.
//
// WHAT THIS IS
//   A layer maps its input batch to an output batch and back-propagates. Layers are
//   runtime-polymorphic (one virtual call per layer per batch costs nothing next to a convolution)
//   so that an architecture can be built at run time and rebuilt from a model file.
//
// TWO SIDES: ENTRY POINTS AND HOOKS
//   A model calls the public entry points (setup, bind, init, forward, infer, backward). They are
//   not virtual: they do what every layer needs, in one place, and then call the layer's hooks.
//     - setup remembers the input and output sample shapes (input_shape(), output_shape());
//     - forward, infer and backward check every input against setup (check_input: the one
//       input-shape check, "conv2d #3: input 1x3x99x100, expected Nx3x100x100"), backward checks
//       dy against the output shape, and all of them (and init) that the parameters are bound.
//   A layer class (class conv2d : public layer<T>) implements the hooks, which only ever see
//   inputs that passed those checks:
//     do_setup(in)     in is the input's SAMPLE shape (n = 1). Infers every size, throws
//                      housenet::error for an input it cannot take, returns the output's sample
//                      shape. Called once, before params are bound.
//     param_specs()    after setup: the parameter tensors (name, shape, weight decay yes/no,
//                      trainable yes/no). Non-trainable ones are saved state (batch-norm running
//                      statistics). Their storage is bound by the owning model: bind() receives
//                      one value view and one gradient view per spec, in the same order, pointing
//                      into the model's single arena; the layer reads them through params().
//     do_init(rng)     fills the bound values (weights from rng, biases zero, running stats 0/1).
//     do_forward(x, y, ctx)   y is resized and ASSIGNED. In training mode it may cache what
//                             backward needs (batch statistics, masks) in named members.
//                             Default: do_infer(x, y).
//     do_infer(x, y) const    the eval-mode forward: touches no member, so a const model may run
//                             it from several threads at once.
//     do_backward(x, y, dy, dx)  x, y are the tensors of the last forward. dx is resized and
//                             ASSIGNED; parameter gradients are ACCUMULATED (+=), so zero_grad is
//                             one memset over the arena. When input_grad_needed() is false (the
//                             model's first layer while training) a layer may skip dx: it is then
//                             resized but its contents are unspecified (conv1's backward-data is a
//                             third of its backward time, for a gradient nobody reads).
//     version(), config()     the layer version and the hyperparameters as "key=value" pairs:
//                             with kind() (given to the constructor, named after PyTorch) what
//                             the model file stores; layers/factory.hpp rebuilds the layer from
//                             them (its registry must know the kind).
//   The constructor names the kind once: conv2d(...) : layer<T>("conv2d"); the layer's name()
//   (the prefix of its error messages) is the kind until the model renames it "conv2d #3".
//
// SEVERAL INPUTS
//   A layer takes between min_inputs and max_inputs inputs (constructor arguments; 1 and 1 for a
//   chain's layers, which is what sequential<T> runs). The entry points taking lists
//   (layer_inputs<T>, layer_input_grads<T>) serve a model whose layers have several inputs (a
//   graph); they call the *_many hooks, whose defaults pass the one input to the hooks above. A
//   layer with several inputs (add, concat) derives from multi_input_layer<T> and implements
//   do_setup_many, do_infer_many, do_backward_many (and do_forward_many when training differs)
//   instead; x[k] is input k (checked against setup's input k), dx[k] its gradient.
//
// THREAD SAFETY: a layer is not safe to use from two threads at once; infer() on a const layer is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "../detail/number.hpp"
#include "../error.hpp"
#include "../random.hpp"
#include "../tensor.hpp"

HOUSENET_BEGIN_NAMESPACE

enum class mode { train, eval };

// Passed to every forward. step counts training forwards of the model; layers that draw random
// numbers (dropout) derive them from (their seed, step, element index), so a run is reproducible
// and resumable from the step count alone.
struct context {
  housenet::mode mode = mode::train;
  std::uint64_t step = 0;
};

struct param_spec {
  std::string name;        // "weight", "bias", "running_mean", ...
  housenet::shape shape;
  bool decay = true;       // weight decay applies (weights: yes; biases, batch-norm: no)
  bool trainable = true;   // false: saved state the optimizer never touches
};

template <class T>
struct param {
  param_spec spec;
  tensor_view<T> value;
  tensor_view<T> grad;
};

// Hyperparameters as ordered key=value pairs (the model file's arch line).
using layer_config = std::vector<std::pair<std::string, std::string>>;

// The text of a real-valued config entry: the shortest decimal that reads back as the same double
// (what the registry's config_reader::real() parses; the library's one real-number text form,
// detail/number.hpp). {"negative_slope", config_real(0.01)} writes "0.01".
inline std::string config_real(double v) { return detail::format_real(v); }

// A list of tensors, not owned: a layer's inputs (layer_inputs<T>) or their gradients
// (layer_input_grads<T>). Built from a pointer array or a vector of pointers, without allocating.
template <class Tensor>
class tensor_list {
 public:
  tensor_list(Tensor* const* items, std::size_t size) : items_(items), size_(size) {}
  tensor_list(const std::vector<Tensor*>& v) : items_(v.data()), size_(v.size()) {}
  std::size_t size() const { return size_; }
  Tensor& operator[](std::size_t i) const { return *items_[i]; }

 private:
  Tensor* const* items_;
  std::size_t size_;
};
template <class T>
using layer_inputs = tensor_list<const tensor<T>>;
template <class T>
using layer_input_grads = tensor_list<tensor<T>>;

namespace detail {
// The one input-shape check of the library (layers, fused blocks and models call it): throws
// "<who>: input <got>, expected Nx<want without n>" unless got is a batch (n >= 1) of want's
// samples. input > 0 names the input of a layer with several: "<who>: input #2 <got>, ...".
inline void check_batch_shape(const shape& got, const shape& want, const char* who,
                              std::size_t input = 0) {
  bool ok = got.rank() == want.rank() && got.rank() >= 1 && got.n() >= 1;
  for (std::size_t i = 1; ok && i < got.rank(); ++i) ok = got[i] == want[i];
  if (ok) return;
  std::string dims = "N";
  for (std::size_t i = 1; i < want.rank(); ++i) dims += "x" + std::to_string(want[i]);
  fail(concat(who, ": input ", input ? "#" + std::to_string(input) + " " : std::string(), got.str(),
              ", expected ", dims));
}
}  // namespace detail

template <class T>
class layer {
 public:
  virtual ~layer() = default;

  // ---- what the model file stores ---------------------------------------------------------------
  const std::string& kind() const { return kind_; }
  virtual int version() const { return 1; }
  virtual layer_config config() const { return {}; }

  // ---- entry points (see TWO SIDES above) -------------------------------------------------------
  // Sets the layer up for inputs of these shapes (their n is ignored) and returns the output shape
  // (with the first input's n).
  shape setup(const shape& in) { return setup(std::vector<shape>{in}); }
  shape setup(const std::vector<shape>& in) {
    HOUSENET_CHECK(in.size() >= min_inputs_ && in.size() <= max_inputs_, name_, ": ", in.size(),
                   in.size() == 1 ? " input" : " inputs", ", it takes ", min_inputs_,
                   max_inputs_ == min_inputs_ ? std::string() : ".." + std::to_string(max_inputs_));
    set_up_ = false;
    params_.clear();
    ins_.clear();
    for (const shape& s : in) ins_.push_back(s.with_n(1));
    out_ = do_setup_many(ins_).with_n(1);
    nparams_ = param_specs().size();
    set_up_ = true;
    return out_.with_n(in[0].n());
  }

  // After setup: the parameter tensors (see do_setup above).
  virtual std::vector<param_spec> param_specs() const { return {}; }
  // Binds one value and one gradient view per param_specs() entry, of the same shapes.
  void bind(std::vector<param<T>> params) {
    require_setup("bind");
    const std::vector<param_spec> specs = param_specs();
    HOUSENET_CHECK(params.size() == specs.size(), name_, ": bind(): ", params.size(),
                   " parameters, expected ", specs.size());
    for (std::size_t i = 0; i < specs.size(); ++i)
      HOUSENET_CHECK(params[i].value.shape() == specs[i].shape && params[i].grad.shape() == specs[i].shape,
                     name_, ": bind(): parameter '", specs[i].name, "' ", params[i].value.shape().str(),
                     ", expected ", specs[i].shape.str());
    params_ = std::move(params);
  }
  void init(prng& rng) {
    require_bound("init");
    do_init(rng);
  }

  void forward(const tensor<T>& x, tensor<T>& y, const context& ctx) {
    const tensor<T>* p = &x;
    forward(layer_inputs<T>(&p, 1), y, ctx);
  }
  void forward(layer_inputs<T> x, tensor<T>& y, const context& ctx) {
    check_inputs(x, "forward");
    do_forward_many(x, y, ctx);
  }
  void infer(const tensor<T>& x, tensor<T>& y) const {
    const tensor<T>* p = &x;
    infer(layer_inputs<T>(&p, 1), y);
  }
  void infer(layer_inputs<T> x, tensor<T>& y) const {
    check_inputs(x, "infer");
    do_infer_many(x, y);
  }
  void backward(const tensor<T>& x, const tensor<T>& y, const tensor<T>& dy, tensor<T>& dx) {
    const tensor<T>* p = &x;
    tensor<T>* q = &dx;
    backward(layer_inputs<T>(&p, 1), y, dy, layer_input_grads<T>(&q, 1));
  }
  void backward(layer_inputs<T> x, const tensor<T>& y, const tensor<T>& dy, layer_input_grads<T> dx) {
    check_inputs(x, "backward");
    HOUSENET_CHECK(dx.size() == x.size(), name_, ": backward(): ", dx.size(), " input gradients for ",
                   x.size(), " inputs");
    const shape want = out_.with_n(x[0].shape().n());
    HOUSENET_CHECK(dy.shape() == want, name_, ": gradient ", dy.shape().str(), ", expected ", want.str());
    do_backward_many(x, y, dy, dx);
  }

  // Throws "<name>: input ..., expected ..." unless x is a batch of setup's input k (the one
  // input-shape check; the entry points call it for every input).
  void check_input(const tensor<T>& x, std::size_t k = 0) const {
    require_setup("check_input");
    detail::check_batch_shape(x.shape(), ins_.at(k), name_.c_str(), ins_.size() > 1 ? k + 1 : 0);
  }

  // ---- state --------------------------------------------------------------------------------------
  const std::vector<param<T>>& params() const { return params_; }
  std::vector<param<T>>& params() { return params_; }

  // Whether backward must compute dx (default true; see do_backward above).
  bool input_grad_needed() const { return need_dx_; }
  void set_input_grad_needed(bool need) { need_dx_ = need; }

  // "conv2d #3": the prefix of every error message about this layer (the kind until the model
  // names it).
  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }
  std::size_t min_inputs() const { return min_inputs_; }
  std::size_t max_inputs() const { return max_inputs_; }
  std::size_t num_inputs() const { return ins_.size(); }                   // as set up
  const shape& input_shape(std::size_t k = 0) const { return ins_.at(k); }  // n = 1
  const shape& output_shape() const { return out_; }                        // n = 1

 protected:
  explicit layer(std::string kind, std::size_t min_inputs = 1, std::size_t max_inputs = 1)
      : kind_(std::move(kind)), name_(kind_), min_inputs_(min_inputs), max_inputs_(max_inputs) {
    HOUSENET_CHECK(min_inputs >= 1 && max_inputs >= min_inputs, kind_, ": takes ", min_inputs, "..",
                   max_inputs, " inputs (needs 1 <= min <= max)");
  }

  // ---- hooks of a layer with one input ------------------------------------------------------------
  virtual shape do_setup(const shape& in) = 0;
  virtual void do_init(prng& /*rng*/) {}
  virtual void do_forward(const tensor<T>& x, tensor<T>& y, const context& /*ctx*/) { do_infer(x, y); }
  virtual void do_infer(const tensor<T>& x, tensor<T>& y) const = 0;
  virtual void do_backward(const tensor<T>& x, const tensor<T>& y, const tensor<T>& dy, tensor<T>& dx) = 0;

  // ---- hooks of a layer with several inputs (defaults: the one input to the hooks above) --------
  virtual shape do_setup_many(const std::vector<shape>& in) { return do_setup(in[0]); }
  virtual void do_forward_many(layer_inputs<T> x, tensor<T>& y, const context& ctx) {
    do_forward(x[0], y, ctx);
  }
  virtual void do_infer_many(layer_inputs<T> x, tensor<T>& y) const { do_infer(x[0], y); }
  virtual void do_backward_many(layer_inputs<T> x, const tensor<T>& y, const tensor<T>& dy,
                                layer_input_grads<T> dx) {
    do_backward(x[0], y, dy, dx[0]);
  }

  // Parameter i, bound (for named accessors such as batch_norm2d::gamma()).
  param<T>& bound_param(std::size_t i) {
    require_params(i);
    return params_[i];
  }
  const param<T>& bound_param(std::size_t i) const {
    require_params(i);
    return params_[i];
  }

 private:
  std::string kind_, name_;
  std::size_t min_inputs_, max_inputs_;
  std::vector<shape> ins_;  // setup's input sample shapes (n = 1)
  shape out_;
  bool set_up_ = false;
  std::size_t nparams_ = 0;  // param_specs().size() after setup
  std::vector<param<T>> params_;
  bool need_dx_ = true;

  void require_setup(const char* what) const {
    HOUSENET_CHECK(set_up_, name_, ": ", what, "() before setup()");
  }
  void require_bound(const char* what) const {
    require_setup(what);
    HOUSENET_CHECK(params_.size() == nparams_, name_, ": parameters not bound (call setup, then bind)");
  }
  void require_params(std::size_t i) const {  // parameter i exists and is bound
    HOUSENET_CHECK(set_up_ && params_.size() == nparams_ && i < nparams_, name_,
                   ": parameters not bound (call setup, then bind)");
  }
  void check_inputs(layer_inputs<T> x, const char* what) const {
    require_setup(what);
    HOUSENET_CHECK(x.size() == ins_.size(), name_, ": ", what, "() with ", x.size(), " inputs, set up for ",
                   ins_.size());
    for (std::size_t k = 0; k < x.size(); ++k) check_input(x[k], k);
    require_bound(what);
  }
};

// The base of a layer with several inputs (add, concat): it implements the *_many hooks (see
// SEVERAL INPUTS above). The entry points call only those for it, so the one-input hooks are
// never reached; they are defined (final) to say so if a subclass calls one by mistake.
template <class T>
class multi_input_layer : public layer<T> {
 protected:
  multi_input_layer(std::string kind, std::size_t min_inputs, std::size_t max_inputs)
      : layer<T>(std::move(kind), min_inputs, max_inputs) {}

  shape do_setup_many(const std::vector<shape>& in) override = 0;
  void do_forward_many(layer_inputs<T> x, tensor<T>& y, const context& /*ctx*/) override {
    this->do_infer_many(x, y);
  }
  void do_infer_many(layer_inputs<T> x, tensor<T>& y) const override = 0;
  void do_backward_many(layer_inputs<T> x, const tensor<T>& y, const tensor<T>& dy,
                        layer_input_grads<T> dx) override = 0;

 private:
  [[noreturn]] void one_input_hook() const {
    detail::fail(detail::concat(this->name(), ": internal: a one-input hook of a layer with several inputs"));
  }
  shape do_setup(const shape&) final {
    one_input_hook();
    return {};
  }
  void do_forward(const tensor<T>&, tensor<T>&, const context&) final { one_input_hook(); }
  void do_infer(const tensor<T>&, tensor<T>&) const final { one_input_hook(); }
  void do_backward(const tensor<T>&, const tensor<T>&, const tensor<T>&, tensor<T>&) final { one_input_hook(); }
};

HOUSENET_END_NAMESPACE

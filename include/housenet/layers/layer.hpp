// housenet/layers/layer.hpp: the layer interface and its contract.
//
// WHAT THIS IS
//   A layer maps a batch x to a batch y and back-propagates. Layers are runtime-polymorphic
//   (one virtual call per layer per batch costs nothing next to a convolution) so that an
//   architecture can be built at run time and rebuilt from a model file.
//
// THE CONTRACT (checked by housenet/testing.hpp for every layer)
//   setup(in)        infers every size from the input shape (the batch size in in.n() is not part
//                    of the layer's state) and returns the output shape. Called once, before
//                    params are bound; throws housenet::error for an input it cannot take.
//   params()         after setup: the parameter tensors (name, shape, weight decay yes/no,
//                    trainable yes/no). Non-trainable ones are saved state (batch-norm running
//                    statistics). Their storage is bound by the owning model: bind() receives one
//                    value view and one gradient view per spec, in the same order, pointing into
//                    the model's single arena.
//   init(rng)        fills the bound values (weights from rng, biases zero, running stats 0/1).
//   forward(x, y, ctx)      y is resized and ASSIGNED. In training mode it may cache what backward
//                           needs (batch statistics, masks) in named members. Checks x's shape
//                           against setup and throws "conv2d #3: input 1x3x99x100, expected ...".
//   infer(x, y) const       the eval-mode forward: touches no member, so a const model may run it
//                           from several threads at once.
//   backward(x, y, dy, dx)  x, y are the tensors of the last forward. dx is resized and ASSIGNED;
//                           parameter gradients are ACCUMULATED (+=), so zero_grad is one memset
//                           over the arena. When input_grad_needed() is false (the model's first
//                           layer while training) a layer may skip dx: it is then resized but
//                           its contents are unspecified (conv1's backward-data is a third of its
//                           backward time, for a gradient nobody reads).
//   config()/kind()/version()  the hyperparameters as "key=value" pairs, the kind tag ("conv2d",
//                           named after PyTorch) and the layer version: what the model file stores.
//
// THREAD SAFETY: a layer is not safe to use from two threads at once; infer() on a const layer is.
#pragma once

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

template <class T>
class layer {
 public:
  virtual ~layer() = default;

  virtual std::string kind() const = 0;
  virtual int version() const { return 1; }
  virtual layer_config config() const { return {}; }

  virtual shape setup(const shape& in) = 0;
  virtual std::vector<param_spec> param_specs() const { return {}; }
  virtual void bind(std::vector<param<T>> params) { params_ = std::move(params); }
  virtual void init(prng& /*rng*/) {}

  virtual void forward(const tensor<T>& x, tensor<T>& y, const context& ctx) = 0;
  virtual void infer(const tensor<T>& x, tensor<T>& y) const = 0;
  virtual void backward(const tensor<T>& x, const tensor<T>& y, const tensor<T>& dy,
                        tensor<T>& dx) = 0;

  const std::vector<param<T>>& params() const { return params_; }
  std::vector<param<T>>& params() { return params_; }

  // Whether backward must compute dx (default true; see the contract above).
  bool input_grad_needed() const { return need_dx_; }
  void set_input_grad_needed(bool need) { need_dx_ = need; }

  // "conv2d #3": the prefix of every error message about this layer (set by the model).
  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }
  const shape& input_shape() const { return in_; }    // as given to setup (n = 1)
  const shape& output_shape() const { return out_; }

 protected:
  std::string name_ = "layer";
  shape in_, out_;
  std::vector<param<T>> params_;
  bool need_dx_ = true;

  // Throws "<name>: input AxBxCxD, expected ..." unless x has the sample shape of setup's input.
  void check_input(const tensor<T>& x) const {
    const shape& s = x.shape();
    bool ok = s.rank() == in_.rank() && s.n() >= 1;
    for (std::size_t i = 1; ok && i < s.rank(); ++i) ok = s[i] == in_[i];
    HOUSENET_CHECK(ok, name_, ": input ", s.str(), ", expected Nx", in_.with_n(1).str().substr(2),
                   " (set up for ", in_.str(), ")");
  }
};

HOUSENET_END_NAMESPACE

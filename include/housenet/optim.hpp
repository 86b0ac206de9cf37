// housenet/optim.hpp: optimizers (sgd with momentum, adam), one loop over the model's arena.
//
// WHAT THIS IS
//   An optimizer updates the trainable part of a model's (graph<T>'s) value arena from its gradient
//   arena (see graph.hpp, ARENA LAYOUT): weight decay applies to [0, decay_size()) only, so
//   never to biases, batch-norm parameters or non-trainable state; [trainable_size(), end) (BN
//   running statistics) is never touched.
//
//   sgd  (PyTorch's torch.optim.SGD, dampening 0):
//          g = grad (+ weight_decay * p where decay applies)
//          v = momentum * v + g                    (v starts at 0, so the first step sets v = g)
//          p -= lr * (nesterov ? g + momentum * v : v)
//        With momentum 0 it is plain p -= lr * g. Equals Chainer's MomentumSGD while lr is constant.
//   adam (PyTorch's torch.optim.Adam, L2 weight decay added to the gradient, not AdamW):
//          m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  t += 1
//          p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//
//   State (for checkpoints, see model_io.hpp): state() lists the optimizer's tensors by name
//   ("velocity"; "exp_avg", "exp_avg_sq"), each with the model's trainable_size() elements in
//   arena layout, plus steps(). Restoring them (and the model) resumes bit-identically.
//
// REQUIRES: step(model) after model.backward(); the same model (same arena layout) every call.
//   The state is allocated (zeros) at the first step, or by reset(model).
// THREAD SAFETY: not safe from two threads at once. step() is element-wise and parallelised over
//   contiguous blocks, so results do not depend on the thread count.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "detail/number.hpp"
#include "error.hpp"
#include "layers/layer.hpp"
#include "parallel.hpp"
#include "graph.hpp"
#include "tensor.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T>
class optimizer {
 public:
  virtual ~optimizer() = default;
  virtual std::string kind() const = 0;               // "sgd", "adam"
  virtual int version() const { return 1; }
  virtual layer_config config() const = 0;            // hyperparameters, for the checkpoint header
  virtual void step(graph<T>& model) = 0;
  // Named state tensors (each model.trainable_size() elements, arena layout).
  virtual std::vector<std::pair<std::string, tensor<T>*>> state() = 0;

  double lr() const { return lr_; }
  void set_lr(double lr) {
    HOUSENET_CHECK(lr >= 0 && std::isfinite(lr), kind(), ": learning rate ", lr, " invalid");
    lr_ = lr;
  }
  std::uint64_t steps() const { return steps_; }
  void set_steps(std::uint64_t s) { steps_ = s; }

  // Zero state sized for `model`, steps() = 0.
  void reset(const graph<T>& model) {
    for (auto& s : state()) {
      s.second->resize(shape{model.trainable_size()});
      s.second->zero();
    }
    steps_ = 0;
  }

 protected:
  explicit optimizer(double lr) : lr_(lr) {}

  // Allocates the state (zeros) on the first step; checks its size on later ones.
  void prepare(const graph<T>& model) {
    HOUSENET_CHECK(model.is_setup(), kind(), ": step() on a model that is not set up");
    bool all_empty = true;
    for (auto& s : state()) all_empty = all_empty && s.second->empty();
    if (all_empty) {
      for (auto& s : state()) {
        s.second->resize(shape{model.trainable_size()});
        s.second->zero();
      }
      return;
    }
    for (auto& s : state())
      HOUSENET_CHECK(s.second->size() == model.trainable_size(), kind(), ": state '", s.first,
                     "' has ", s.second->size(), " elements, the model has ",
                     model.trainable_size(), " trainable (another model?)");
  }

  double lr_;
  std::uint64_t steps_ = 0;
};

template <class T>
class sgd : public optimizer<T> {
 public:
  struct options {
    double lr = 0.01;
    double momentum = 0.9;
    double weight_decay = 0.0;
    bool nesterov = false;
  };

  sgd() : sgd(options{}) {}
  explicit sgd(const options& o) : optimizer<T>(o.lr), opt_(o) {
    this->set_lr(o.lr);
    HOUSENET_CHECK(o.momentum >= 0 && o.momentum < 1, "sgd: momentum ", o.momentum, " not in [0, 1)");
    HOUSENET_CHECK(o.weight_decay >= 0 && std::isfinite(o.weight_decay), "sgd: weight_decay ",
                   o.weight_decay, " invalid");
    HOUSENET_CHECK(!o.nesterov || o.momentum > 0, "sgd: nesterov needs momentum > 0");
  }

  std::string kind() const override { return "sgd"; }
  layer_config config() const override {
    return {{"lr", detail::format_real(this->lr_)},
            {"momentum", detail::format_real(opt_.momentum)},
            {"weight_decay", detail::format_real(opt_.weight_decay)},
            {"nesterov", opt_.nesterov ? "1" : "0"}};
  }
  const options& opts() const { return opt_; }

  std::vector<std::pair<std::string, tensor<T>*>> state() override {
    if (opt_.momentum == 0) return {};
    return {{"velocity", &velocity_}};
  }
  const tensor<T>& velocity() const { return velocity_; }

  void step(graph<T>& model) override {
    this->prepare(model);
    T* p = model.values().data();
    const T* g = model.grads().data();
    T* v = velocity_.data();
    const T lr = T(this->lr_), m = T(opt_.momentum), wd = T(opt_.weight_decay);
    const bool nesterov = opt_.nesterov, use_m = opt_.momentum != 0;
    const std::size_t nd = model.decay_size(), nt = model.trainable_size();
    parallel_for(nt, [&](std::size_t b, std::size_t e) {
      // [b, e) split at nd: decay part, then the rest
      const auto run = [&](std::size_t lo, std::size_t hi, bool decay) {
        for (std::size_t i = lo; i < hi; ++i) {
          T gi = decay ? g[i] + wd * p[i] : g[i];
          if (use_m) {
            v[i] = m * v[i] + gi;
            gi = nesterov ? gi + m * v[i] : v[i];
          }
          p[i] -= lr * gi;
        }
      };
      const std::size_t split = std::min(std::max(b, nd), e);
      run(b, split, wd != T(0));
      run(split, e, false);
    });
    ++this->steps_;
  }

 private:
  options opt_;
  tensor<T> velocity_;
};

template <class T>
class adam : public optimizer<T> {
 public:
  struct options {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.0;
  };

  adam() : adam(options{}) {}
  explicit adam(const options& o) : optimizer<T>(o.lr), opt_(o) {
    this->set_lr(o.lr);
    HOUSENET_CHECK(o.beta1 >= 0 && o.beta1 < 1, "adam: beta1 ", o.beta1, " not in [0, 1)");
    HOUSENET_CHECK(o.beta2 >= 0 && o.beta2 < 1, "adam: beta2 ", o.beta2, " not in [0, 1)");
    HOUSENET_CHECK(o.eps > 0 && std::isfinite(o.eps), "adam: eps ", o.eps, " must be > 0");
    HOUSENET_CHECK(o.weight_decay >= 0 && std::isfinite(o.weight_decay), "adam: weight_decay ",
                   o.weight_decay, " invalid");
  }

  std::string kind() const override { return "adam"; }
  layer_config config() const override {
    return {{"lr", detail::format_real(this->lr_)},
            {"beta1", detail::format_real(opt_.beta1)},
            {"beta2", detail::format_real(opt_.beta2)},
            {"eps", detail::format_real(opt_.eps)},
            {"weight_decay", detail::format_real(opt_.weight_decay)}};
  }
  const options& opts() const { return opt_; }

  std::vector<std::pair<std::string, tensor<T>*>> state() override {
    return {{"exp_avg", &m_}, {"exp_avg_sq", &v_}};
  }

  void step(graph<T>& model) override {
    this->prepare(model);
    const std::uint64_t t = this->steps_ + 1;
    const double bc1 = 1.0 - std::pow(opt_.beta1, double(t));
    const double bc2 = 1.0 - std::pow(opt_.beta2, double(t));
    const T step_size = T(this->lr_ / bc1), bc2_sqrt = T(std::sqrt(bc2));
    const T b1 = T(opt_.beta1), b2 = T(opt_.beta2), eps = T(opt_.eps), wd = T(opt_.weight_decay);
    T* p = model.values().data();
    const T* g = model.grads().data();
    T* m = m_.data();
    T* v = v_.data();
    const std::size_t nd = model.decay_size(), nt = model.trainable_size();
    parallel_for(nt, [&](std::size_t b, std::size_t e) {
      const auto run = [&](std::size_t lo, std::size_t hi, bool decay) {
        for (std::size_t i = lo; i < hi; ++i) {
          const T gi = decay ? g[i] + wd * p[i] : g[i];
          m[i] = b1 * m[i] + (T(1) - b1) * gi;
          v[i] = b2 * v[i] + (T(1) - b2) * gi * gi;
          const T denom = std::sqrt(v[i]) / bc2_sqrt + eps;
          p[i] -= step_size * m[i] / denom;
        }
      };
      const std::size_t split = std::min(std::max(b, nd), e);
      run(b, split, wd != T(0));
      run(split, e, false);
    });
    this->steps_ = t;
  }

 private:
  options opt_;
  tensor<T> m_, v_;
};

HOUSENET_END_NAMESPACE

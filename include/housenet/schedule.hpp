// housenet/schedule.hpp: learning-rate schedules (constant, step, cosine; linear warm-up).
//
// WHAT THIS IS
//   lr_schedule: the learning rate as a function of the optimizer's step count t (0-based: t is
//   the number of updates made before this one, optimizer::steps()). A value type; at(t) is a
//   closed form (no state), so a resumed run gets the same rates.
//
//     constant(lr)                 lr
//     step(lr, every, gamma)       lr * gamma^floor(t / every)            (PyTorch's StepLR)
//     cosine(lr, steps, min_lr)    min_lr + (lr - min_lr) (1 + cos(pi t / steps)) / 2 for
//                                  t < steps, min_lr after              (CosineAnnealingLR's
//                                  closed form, T_max = steps)
//     s.with_warmup(w, start)      t < w: s.at(0) * (start + (1 - start) t / w), a linear ramp
//                                  (PyTorch's LinearLR(start, 1, w)); t >= w: s.at(t - w), so
//                                  the schedule s runs after the warm-up (SequentialLR)
//
//   Per step or per epoch is the caller's choice of units: "per-step cosine over 15 epochs" is
//   cosine(lr, 15 * batches_per_epoch); a step decay every 10 epochs is step(lr, 10 *
//   batches_per_epoch, 0.1).
//
//     lr_schedule s = lr_schedule::cosine(0.05, epochs * batches);
//     ... each batch:  s.apply(opt);  opt.step(net);       // apply = opt.set_lr(s.at(opt.steps()))
//
// ERRORS (housenet::error, prefix "lr_schedule: "): a negative or non-finite rate, factor or
//   gamma, a period of 0 steps, min_lr > lr, warm-up start outside [0, 1].
// THREAD SAFETY: const member functions only after construction: safe.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "error.hpp"
#include "optim.hpp"

HOUSENET_BEGIN_NAMESPACE

class lr_schedule {
 public:
  enum class kind { constant, step, cosine };

  static lr_schedule constant(double lr) {
    check_rate(lr, "lr");
    lr_schedule s;
    s.lr_ = lr;
    return s;
  }
  static lr_schedule step(double lr, std::uint64_t every, double gamma) {
    check_rate(lr, "lr");
    check_rate(gamma, "gamma");
    HOUSENET_CHECK(every >= 1, "lr_schedule: step every 0 steps");
    lr_schedule s;
    s.kind_ = kind::step;
    s.lr_ = lr;
    s.period_ = every;
    s.gamma_ = gamma;
    return s;
  }
  static lr_schedule cosine(double lr, std::uint64_t steps, double min_lr = 0.0) {
    check_rate(lr, "lr");
    check_rate(min_lr, "min_lr");
    HOUSENET_CHECK(steps >= 1, "lr_schedule: cosine over 0 steps");
    HOUSENET_CHECK(min_lr <= lr, "lr_schedule: min_lr ", min_lr, " above lr ", lr);
    lr_schedule s;
    s.kind_ = kind::cosine;
    s.lr_ = lr;
    s.period_ = steps;
    s.min_lr_ = min_lr;
    return s;
  }
  // A linear warm-up over the first `steps` steps, from start_factor * at(0) to at(0); then this
  // schedule, started afresh.
  lr_schedule with_warmup(std::uint64_t steps, double start_factor = 0.0) const {
    HOUSENET_CHECK(std::isfinite(start_factor) && start_factor >= 0.0 && start_factor <= 1.0,
                   "lr_schedule: warm-up start factor ", start_factor, " not in [0, 1]");
    lr_schedule s = *this;
    s.warmup_ = steps;
    s.warmup_start_ = start_factor;
    return s;
  }

  double at(std::uint64_t t) const {
    if (t < warmup_)
      return base(0) * (warmup_start_ + (1.0 - warmup_start_) * double(t) / double(warmup_));
    return base(t - warmup_);
  }
  template <class T>
  void apply(optimizer<T>& opt) const {
    opt.set_lr(at(opt.steps()));
  }

  kind type() const { return kind_; }
  std::uint64_t warmup_steps() const { return warmup_; }

 private:
  lr_schedule() = default;
  static void check_rate(double v, const char* what) {
    HOUSENET_CHECK(std::isfinite(v) && v >= 0.0, "lr_schedule: ", what, " ", v, " invalid (expected a finite value >= 0)");
  }
  double base(std::uint64_t t) const {
    switch (kind_) {
      case kind::step: return lr_ * std::pow(gamma_, double(t / period_));
      case kind::cosine:
        if (t >= period_) return min_lr_;
        return min_lr_ + (lr_ - min_lr_) * (1.0 + std::cos(3.14159265358979323846 * double(t) / double(period_))) / 2.0;
      case kind::constant: break;
    }
    return lr_;
  }

  kind kind_ = kind::constant;
  double lr_ = 0.0, gamma_ = 1.0, min_lr_ = 0.0, warmup_start_ = 0.0;
  std::uint64_t period_ = 1, warmup_ = 0;
};

HOUSENET_END_NAMESPACE

// housenet/testing.hpp: a gradient checker for layers (dlib's test_layer, in double).
//
// WHAT THIS IS
//   check_layer(l, in, seed, options) verifies the layer contract of layers/layer.hpp numerically
//   (in: the input shape, or a list of them for a layer with several inputs, each then checked):
//     - setup(in) returns the shape forward produces; forward is deterministic;
//     - with f(x, params) = <forward(x), r> for a random r, backward(x, y, r, dx) gives df/dx and
//       ADDS df/dparam to every trainable parameter's gradient: central finite differences
//       (step eps) over EVERY element of every input and EVERY trainable parameter element
//       (a failure names dx[i], or dx#k[i] for input k of several), passing when
//       |analytic - numeric| <= abs_tol + rel_tol * max(|analytic|, |numeric|);
//     - dx is ASSIGNED (dx is pre-filled with NaN: an entry never written fails) and parameter
//       gradients ACCUMULATE (they are pre-filled with a constant c, which is subtracted after);
//     - in mode::eval: forward(x, y, eval) equals infer(x, y) bit for bit, and leaves every
//       parameter value (batch-norm running statistics included) unchanged.
//   Train and eval modes are both checked (options.train / options.eval). In eval mode a layer's
//   backward is the gradient of its eval function (batch norm: running statistics as constants).
//   Inputs are distinct values spaced >= options.spacing apart (in about [-1, 1], plus
//   options.input_shift) and never 0 (away from ReLU kinks and max-pool ties); parameters are bound to storage owned by the checker (param_store),
//   initialised with init(prng(seed)), then perturbed (options.perturb_params) so that biases,
//   gamma and running statistics are not all 0 / 1. Non-trainable parameters (running statistics)
//   are restored before every forward, so finite differences see one function.
//   Use T = double: finite differences in float are too noisy for these tolerances.
//
//   param_store<T> owns parameter storage for one layer (what a model's arena does), so a single
//   layer can be run outside a model: param_store<float> ps; l.setup(in); ps.bind(l); l.init(rng).
//
// ENSURES   check_layer returns a check_result; it throws only what the layer itself throws.
// THREAD SAFETY: uses the layer exclusively while running.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "layers/layer.hpp"
#include "random.hpp"
#include "tensor.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace testing {

// Owns the value and gradient tensors of one layer's parameters and binds them.
template <class T>
class param_store {
 public:
  // Allocates one value and one gradient tensor per l.param_specs() (after setup; zeroed) and
  // binds them to l.
  void bind(layer<T>& l) {
    specs_ = l.param_specs();
    values_.clear();
    grads_.clear();
    for (const param_spec& s : specs_) {
      values_.emplace_back(s.shape, T(0));
      grads_.emplace_back(s.shape, T(0));
    }
    std::vector<param<T>> ps;
    for (std::size_t i = 0; i < specs_.size(); ++i)
      ps.push_back({specs_[i], values_[i].view(), grads_[i].view()});
    l.bind(std::move(ps));
  }
  void zero_grad() {
    for (auto& g : grads_) g.zero();
  }
  std::size_t size() const { return specs_.size(); }
  const param_spec& spec(std::size_t i) const { return specs_[i]; }
  tensor<T>& value(std::size_t i) { return values_[i]; }
  tensor<T>& grad(std::size_t i) { return grads_[i]; }

 private:
  std::vector<param_spec> specs_;
  std::vector<tensor<T>> values_, grads_;
};

struct check_options {
  double eps = 1e-6;             // finite-difference step
  double abs_tol = 1e-6;         // pass: |a - n| <= abs_tol + rel_tol * max(|a|, |n|)
  double rel_tol = 1e-5;
  double spacing = 2e-3;         // minimum gap between two input values
  double input_shift = 0.0;      // added to every input value (e.g. for a layer that needs x > 0)
  bool train = true;             // check mode::train
  bool eval = true;              // check mode::eval
  bool perturb_params = true;    // v = v * (1 + U(-0.3, 0.3)) + U(-0.1, 0.1) after init
  std::uint64_t step = 3;        // context.step of every forward (dropout masks)
  double grad_fill = 0.375;      // the constant c parameter gradients start from
};

struct check_result {
  bool ok = true;
  double max_abs_error = 0.0;    // max |a - n| over everything checked
  double max_rel_error = 0.0;    // max |a - n| / max(|a|, |n|) where that max exceeds abs_tol
  std::size_t checked = 0;       // number of derivatives compared
  std::string message;           // the first failure (empty when ok)
  explicit operator bool() const { return ok; }
};

template <class T>
check_result check_layer(layer<T>& l, const std::vector<shape>& in, std::uint64_t seed,
                         const check_options& opt = {}) {
  check_result res;
  auto fail = [&res](const std::string& m) {
    if (res.ok) res.message = m;
    res.ok = false;
  };
  prng rng(seed);
  const shape out = l.setup(in);
  param_store<T> ps;
  ps.bind(l);
  {
    prng init_rng(seed ^ 0x5EEDull);
    l.init(init_rng);
  }
  if (opt.perturb_params)
    for (std::size_t p = 0; p < ps.size(); ++p)
      for (T& v : ps.value(p))
        v = static_cast<T>(double(v) * (1.0 + rng.uniform(-0.3, 0.3)) + rng.uniform(-0.1, 0.1));

  // the inputs: a random permutation of evenly spaced values over all their elements, none 0
  const std::size_t ni = in.size();
  std::vector<tensor<T>> xs, dxs;
  std::vector<const tensor<T>*> xp;
  std::vector<tensor<T>*> dxp;
  std::size_t nx = 0;
  for (const shape& s : in) {
    xs.emplace_back(s);
    dxs.emplace_back();
    nx += s.size();
  }
  for (std::size_t k = 0; k < ni; ++k) {
    xp.push_back(&xs[k]);
    dxp.push_back(&dxs[k]);
  }
  const auto elem = [&](std::size_t k, std::size_t i) -> std::string {  // "dx[i]", "dx#2[i]"
    return (ni > 1 ? "dx#" + std::to_string(k + 1) : std::string("dx")) + "[" + std::to_string(i) + "]";
  };
  {
    std::vector<std::size_t> perm(nx);
    for (std::size_t i = 0; i < nx; ++i) perm[i] = i;
    for (std::size_t i = nx; i > 1; --i) std::swap(perm[i - 1], perm[rng.uniform_int(i)]);
    const double sp = std::max(opt.spacing, nx ? 2.0 / double(nx) : 0.0);
    std::size_t j = 0;
    for (tensor<T>& x : xs)
      for (std::size_t i = 0; i < x.size(); ++i, ++j)
        x[i] = static_cast<T>((double(perm[j]) + 0.5 - double(nx) / 2.0) * sp + opt.input_shift);
  }
  tensor<T> r(out);
  for (T& v : r) v = static_cast<T>(rng.uniform(-1.0, 1.0));

  // snapshot of every parameter value; non-trainable ones are restored before each forward
  std::vector<tensor<T>> snap;
  for (std::size_t p = 0; p < ps.size(); ++p) snap.push_back(ps.value(p).clone());
  auto restore_state = [&] {
    for (std::size_t p = 0; p < ps.size(); ++p)
      if (!ps.spec(p).trainable) std::copy(snap[p].begin(), snap[p].end(), ps.value(p).begin());
  };

  tensor<T> y, y2;
  for (int m = 0; m < 2; ++m) {
    const bool train = m == 0;
    if ((train && !opt.train) || (!train && !opt.eval)) continue;
    const char* mname = train ? "train" : "eval";
    context ctx;
    ctx.mode = train ? mode::train : mode::eval;
    ctx.step = opt.step;
    auto f = [&]() {
      restore_state();
      l.forward(xp, y2, ctx);
      double s = 0.0;
      for (std::size_t i = 0; i < y2.size(); ++i) s += double(y2[i]) * double(r[i]);
      return s;
    };
    auto compare = [&](double a, double n, const std::string& what) {
      const double err = std::fabs(a - n), big = std::max(std::fabs(a), std::fabs(n));
      ++res.checked;
      if (!(err <= res.max_abs_error)) res.max_abs_error = std::isnan(err) ? std::numeric_limits<double>::infinity() : err;
      if (big > opt.abs_tol) res.max_rel_error = std::max(res.max_rel_error, err / big);
      if (!(err <= opt.abs_tol + opt.rel_tol * big)) {
        std::ostringstream os;
        os.precision(10);
        os << l.kind() << " (" << mname << "): " << what << ": analytic " << a << ", numeric " << n;
        fail(os.str());
      }
    };

    restore_state();
    l.forward(xp, y, ctx);
    if (y.shape() != out) {
      fail(l.kind() + " (" + mname + "): forward gave " + y.shape().str() + ", setup said " +
           out.str());
      return res;
    }
    restore_state();
    l.forward(xp, y2, ctx);
    for (std::size_t i = 0; i < y.size(); ++i)
      if (!(y[i] == y2[i]) && !(std::isnan(double(y[i])) && std::isnan(double(y2[i])))) {
        fail(l.kind() + " (" + mname + "): forward is not deterministic");
        break;
      }
    if (!train) {
      for (std::size_t p = 0; p < ps.size(); ++p)
        for (std::size_t i = 0; i < snap[p].size(); ++i)
          if (!(ps.value(p)[i] == snap[p][i])) {
            fail(l.kind() + " (eval): forward modified parameter '" + ps.spec(p).name + "'");
            p = ps.size();
            break;
          }
      l.infer(xp, y2);
      bool same = y2.shape() == y.shape();
      for (std::size_t i = 0; same && i < y.size(); ++i) same = y[i] == y2[i];
      if (!same) fail(l.kind() + " (eval): forward(eval) differs from infer()");
    }
    // analytic gradients (forward again so that backward sees the state of this exact forward)
    restore_state();
    l.forward(xp, y, ctx);
    for (std::size_t k = 0; k < ni; ++k) {
      dxs[k].resize(in[k]);
      dxs[k].fill(std::numeric_limits<T>::quiet_NaN());
    }
    for (std::size_t p = 0; p < ps.size(); ++p) ps.grad(p).fill(static_cast<T>(opt.grad_fill));
    l.backward(xp, y, r, dxp);
    for (std::size_t k = 0; k < ni; ++k)
      if (dxs[k].shape() != in[k]) {
        fail(l.kind() + " (" + std::string(mname) + "): " + (ni > 1 ? "dx#" + std::to_string(k + 1) : "dx") +
             " has shape " + dxs[k].shape().str() + ", expected " + in[k].str());
        return res;
      }
    std::vector<tensor<T>> g;
    for (std::size_t p = 0; p < ps.size(); ++p) {
      g.push_back(ps.grad(p).clone());
      for (T& v : g.back()) v = static_cast<T>(double(v) - opt.grad_fill);
      if (!ps.spec(p).trainable)
        for (std::size_t i = 0; i < g.back().size(); ++i)
          if (!(ps.grad(p)[i] == static_cast<T>(opt.grad_fill))) {
            fail(l.kind() + " (" + mname + "): backward wrote the gradient of non-trainable '" +
                 ps.spec(p).name + "'");
            break;
          }
    }
    const double e = opt.eps;
    for (std::size_t k = 0; k < ni; ++k) {
      tensor<T>& x = xs[k];
      const tensor<T>& dx = dxs[k];
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (std::isnan(double(dx[i]))) {
          fail(l.kind() + " (" + mname + "): " + elem(k, i) + " not written (NaN)");
          ++res.checked;
          res.max_abs_error = std::numeric_limits<double>::infinity();
          continue;
        }
        const T x0 = x[i];
        x[i] = static_cast<T>(double(x0) + e);
        const double fp = f();
        x[i] = static_cast<T>(double(x0) - e);
        const double fm = f();
        x[i] = x0;
        compare(double(dx[i]), (fp - fm) / (2 * e), elem(k, i));
      }
    }
    for (std::size_t p = 0; p < ps.size(); ++p) {
      if (!ps.spec(p).trainable) continue;
      tensor<T>& v = ps.value(p);
      for (std::size_t i = 0; i < v.size(); ++i) {
        const T v0 = v[i];
        v[i] = static_cast<T>(double(v0) + e);
        const double fp = f();
        v[i] = static_cast<T>(double(v0) - e);
        const double fm = f();
        v[i] = v0;
        compare(double(g[p][i]), (fp - fm) / (2 * e),
                "d" + ps.spec(p).name + "[" + std::to_string(i) + "]");
      }
    }
    restore_state();
  }
  return res;
}

template <class T>
check_result check_layer(layer<T>& l, const shape& in, std::uint64_t seed, const check_options& opt = {}) {
  return check_layer(l, std::vector<shape>{in}, seed, opt);
}

}  // namespace testing
HOUSENET_END_NAMESPACE

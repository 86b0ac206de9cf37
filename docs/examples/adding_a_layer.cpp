// docs/examples/adding_a_layer.cpp: the code of docs/adding-a-layer.md.
//
// A new layer, prelu (PyTorch's PReLU with one slope per channel), written against the layer
// contract of housenet/layers/layer.hpp, verified with housenet::testing::check_layer and used in
// a sequential model. tests/test_docs_adding_a_layer.cpp #includes this file and runs it, so the
// documentation cannot drift from the library. Build it alone with -DHOUSENET_EXAMPLE_MAIN.
#include <housenet/layers.hpp>
#include <housenet/sequential.hpp>
#include <housenet/testing.hpp>

#include <cstddef>
#include <string>

namespace example {

using namespace housenet;

// [step 1] The class: one template on the element type, deriving from layer<T>.
//   y = x if x > 0, else a[c] * x          x, y [N, C, H, W] (or [N, C])
//   dx = dy if x > 0, else a[c] * dy;      da[c] += sum over x <= 0 of dy * x
template <class T>
class prelu : public layer<T> {
 public:
  explicit prelu(double init_slope = 0.25) : init_(init_slope) { this->name_ = "prelu"; }

  // [step 2] What the model file stores: kind, version, hyperparameters.
  std::string kind() const override { return "prelu"; }
  int version() const override { return 1; }
  layer_config config() const override { return {{"init_slope", std::to_string(init_)}}; }

  // [step 3] setup(): infer every size from the input shape, reject what you cannot take,
  // remember in_/out_ (sample shapes, n = 1) and return the output shape.
  shape setup(const shape& in) override {
    HOUSENET_CHECK(in.rank() == 4 || in.rank() == 2, this->name_, ": input ", in.str(),
                   ", expected NxCxHxW or NxC");
    c_ = in.c();
    hw_ = in.sample_size() / c_;
    this->in_ = in.with_n(1);
    this->out_ = this->in_;
    return in;
  }

  // [step 4] Parameters: name, shape, weight decay?, trainable? The model allocates them in its
  // arena and binds them (params()[i].value / .grad); init() fills the values.
  std::vector<param_spec> param_specs() const override {
    return {{"slope", shape{c_}, /*decay=*/false, /*trainable=*/true}};
  }
  void init(prng& /*rng*/) override {
    for (T& a : this->params_[0].value) a = static_cast<T>(init_);
  }

  // [step 5] forward / infer: check the input, resize y (no allocation after the first batch)
  // and ASSIGN it. infer() is const: it must not touch any member.
  void forward(const tensor<T>& x, tensor<T>& y, const context& /*ctx*/) override { infer(x, y); }
  void infer(const tensor<T>& x, tensor<T>& y) const override {
    this->check_input(x);  // throws "prelu #2: input 1x4x9x9, expected Nx3x9x9 ..."
    y.resize(x.shape());
    const T* a = this->params_[0].value.data();
    const std::size_t n = x.shape().n();
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t c = 0; c < c_; ++c) {
        const std::size_t off = (i * c_ + c) * hw_;
        for (std::size_t j = 0; j < hw_; ++j) {
          const T v = x[off + j];
          y[off + j] = v > T(0) ? v : a[c] * v;
        }
      }
  }

  // [step 6] backward: ASSIGN dx, ACCUMULATE (+=) the parameter gradients.
  void backward(const tensor<T>& x, const tensor<T>& /*y*/, const tensor<T>& dy,
                tensor<T>& dx) override {
    dx.resize(x.shape());
    const T* a = this->params_[0].value.data();
    T* da = this->params_[0].grad.data();
    const std::size_t n = x.shape().n();
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t c = 0; c < c_; ++c) {
        const std::size_t off = (i * c_ + c) * hw_;
        T s = T(0);
        for (std::size_t j = 0; j < hw_; ++j) {
          const T v = x[off + j], g = dy[off + j];
          dx[off + j] = v > T(0) ? g : a[c] * g;
          s += v > T(0) ? T(0) : g * v;
        }
        da[c] += s;
      }
  }

 private:
  double init_;
  std::size_t c_ = 0, hw_ = 0;
};

// [step 7] Verify: finite differences over every input and parameter element, train and eval.
inline testing::check_result check_prelu() {
  prelu<double> l;
  return testing::check_layer(l, shape{2, 3, 7, 5}, /*seed=*/1);
}

// [step 8] Use it in a model like any built-in layer.
inline shape prelu_in_a_model() {
  sequential<float> net;
  net.add<conv2d<float>>(4, 3);
  net.add<prelu<float>>();
  net.add<linear<float>>(2);
  net.setup(shape{1, 3, 8, 8}, /*seed=*/1);
  tensor<float> x(shape{5, 3, 8, 8}, 0.5f);
  return net.forward(x).shape();  // 5x2
}

}  // namespace example

#ifdef HOUSENET_EXAMPLE_MAIN
#include <iostream>
int main() {
  const auto r = example::check_prelu();
  std::cout << (r.ok ? "ok" : r.message) << ": " << r.checked << " derivatives, max error "
            << r.max_abs_error << "\n";
  std::cout << "model output " << example::prelu_in_a_model() << "\n";
  return r.ok ? 0 : 1;
}
#endif

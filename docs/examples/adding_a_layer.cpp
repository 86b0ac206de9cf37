// docs/examples/adding_a_layer.cpp: the code of docs/adding-a-layer.md.
//
// A new layer, prelu (PyTorch's PReLU with one slope per channel), written against the layer
// contract of housenet/layers/layer.hpp, verified with housenet::testing::check_layer, used in a
// sequential model, and saved and loaded back through a layer registry that knows it.
// tests/test_docs_adding_a_layer.cpp #includes this file and runs it, so the documentation cannot
// drift from the library. Build it alone with -DHOUSENET_EXAMPLE_MAIN.
#include <housenet/layers.hpp>
#include <housenet/model_io.hpp>
#include <housenet/sequential.hpp>
#include <housenet/testing.hpp>

#include <cstddef>
#include <memory>
#include <string>

namespace example {

using namespace housenet;

// [step 1] The class: one template on the element type, deriving from layer<T>, its kind named
// once (the constant is also what the registry of step 9 files it under).
//   y = x if x > 0, else a[c] * x          x, y [N, C, H, W] (or [N, C])
//   dx = dy if x > 0, else a[c] * dy;      da[c] += sum over x <= 0 of dy * x
template <class T>
class prelu : public layer<T> {
 public:
  static constexpr const char* kind_name = "prelu";

  explicit prelu(double init_slope = 0.25) : layer<T>(kind_name), init_(init_slope) {}

  // [step 2] What the model file stores besides the kind: version, hyperparameters.
  int version() const override { return 1; }
  layer_config config() const override { return {{"init_slope", config_real(init_)}}; }
  double init_slope() const { return init_; }

  // [step 3] Parameters: name, shape, weight decay?, trainable? The model allocates them in its
  // arena and binds them (params()[i].value / .grad).
  std::vector<param_spec> param_specs() const override {
    return {{"slope", shape{c_}, /*decay=*/false, /*trainable=*/true}};
  }

 protected:
  // [step 4] The hooks. layer<T>'s entry points (setup, init, forward, infer, backward) do the
  // bookkeeping and the checks (the input's shape against setup's, dy's against the output's,
  // the parameters bound), then call these.
  // do_setup(): in is the input's sample shape (n = 1); infer every size from it, reject what
  // you cannot take, return the output's sample shape.
  shape do_setup(const shape& in) override {
    HOUSENET_CHECK(in.rank() == 4 || in.rank() == 2, this->name(), ": input ", in.str(),
                   ", expected NxCxHxW or NxC");
    c_ = in.c();
    hw_ = in.sample_size() / c_;
    return in;
  }
  void do_init(prng& /*rng*/) override {
    for (T& a : this->params()[0].value) a = static_cast<T>(init_);
  }

  // [step 5] do_infer: resize y (no allocation after the first batch) and ASSIGN it. It is const:
  // it must not touch any member. do_forward (training) defaults to it.
  void do_infer(const tensor<T>& x, tensor<T>& y) const override {
    y.resize(x.shape());
    const T* a = this->params()[0].value.data();
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

  // [step 6] do_backward: ASSIGN dx, ACCUMULATE (+=) the parameter gradients.
  void do_backward(const tensor<T>& x, const tensor<T>& /*y*/, const tensor<T>& dy,
                   tensor<T>& dx) override {
    dx.resize(x.shape());
    const T* a = this->params()[0].value.data();
    T* da = this->params()[0].grad.data();
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
inline sequential<float> prelu_model() {
  sequential<float> net;
  net.add<conv2d<float>>(4, 3);
  net.add<prelu<float>>(0.125);
  net.add<linear<float>>(2);
  net.setup(shape{1, 3, 8, 8}, /*seed=*/1);
  return net;
}
inline shape prelu_in_a_model() {
  sequential<float> net = prelu_model();
  tensor<float> x(shape{5, 3, 8, 8}, 0.5f);
  return net.forward(x).shape();  // 5x2
}

// [step 9] Save and load. A model file stores each layer's kind, version and config; loading
// rebuilds the layers through a registry. Add the layer to a copy of the built-in one, with a
// factory that reads every config key (config_reader checks its syntax and range, and the
// registry that no key is left over), and pass it to load_model.
inline layer_registry<float> my_layers() {
  layer_registry<float> layers = builtin_layers<float>();
  layers.add<prelu<float>>([](int /*version*/, config_reader& c) {
    return std::make_unique<prelu<float>>(c.real("init_slope", 0.0, 1.0));
  });
  return layers;
}
inline void save_prelu_model(const sequential<float>& net, const std::string& path) {
  save_model(net, {"left", "right"}, path);
}
inline loaded_model<float> load_prelu_model(const std::string& path) {
  return load_model(path, my_layers());  // load_model(path) alone: "unknown layer kind 'prelu'"
}

}  // namespace example

#ifdef HOUSENET_EXAMPLE_MAIN
#include <iostream>
int main() {
  const auto r = example::check_prelu();
  std::cout << (r.ok ? "ok" : r.message) << ": " << r.checked << " derivatives, max error "
            << r.max_abs_error << "\n";
  std::cout << "model output " << example::prelu_in_a_model() << "\n";
  const housenet::sequential<float> net = example::prelu_model();
  example::save_prelu_model(net, "prelu.hsnt");
  const housenet::loaded_model<float> m = example::load_prelu_model("prelu.hsnt");
  std::cout << "prelu.hsnt: " << m.model.size() << " layers, the second a " << m.model[1].kind() << "\n";
  return r.ok ? 0 : 1;
}
#endif

// Compiles and runs the code of docs/adding-a-layer.md (docs/examples/adding_a_layer.cpp).
#include <doctest/doctest.h>

#include "../docs/examples/adding_a_layer.cpp"

TEST_CASE("docs/adding-a-layer: the prelu example passes check_layer") {
  const housenet::testing::check_result r = example::check_prelu();
  INFO(r.message);
  CHECK(r.ok);
  CHECK(r.checked == 2 * (2 * 3 * 7 * 5 + 3));  // train and eval: every input and slope element
  CHECK(r.max_abs_error < 1e-6);
}

TEST_CASE("docs/adding-a-layer: the prelu example runs in a model") {
  CHECK(example::prelu_in_a_model() == (housenet::shape{5, 2}));
}

TEST_CASE("docs/adding-a-layer: a wrong prelu backward is caught") {
  // the same layer with the slope gradient assigned instead of accumulated
  struct wrong : example::prelu<double> {
    void backward(const housenet::tensor<double>& x, const housenet::tensor<double>& y,
                  const housenet::tensor<double>& dy, housenet::tensor<double>& dx) override {
      for (double& g : params()[0].grad) g = 0;  // forgets the +=
      example::prelu<double>::backward(x, y, dy, dx);
    }
  } l;
  CHECK_FALSE(housenet::testing::check_layer<double>(l, housenet::shape{2, 3, 4, 5}, 2).ok);
}

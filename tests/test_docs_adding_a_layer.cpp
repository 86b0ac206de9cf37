// Compiles and runs the code of docs/adding-a-layer.md (docs/examples/adding_a_layer.cpp).
#include <doctest/doctest.h>

#include "../docs/examples/adding_a_layer.cpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

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
    void do_backward(const housenet::tensor<double>& x, const housenet::tensor<double>& y,
                     const housenet::tensor<double>& dy, housenet::tensor<double>& dx) override {
      for (double& g : params()[0].grad) g = 0;  // forgets the +=
      example::prelu<double>::do_backward(x, y, dy, dx);
    }
  } l;
  CHECK_FALSE(housenet::testing::check_layer<double>(l, housenet::shape{2, 3, 4, 5}, 2).ok);
}

TEST_CASE("docs/adding-a-layer: a model with a prelu is saved and loaded back through a registry") {
  std::string dir = "/tmp/housenet_adding_a_layer_XXXXXX";
  REQUIRE(::mkdtemp(&dir[0]) != nullptr);
  const std::string path = dir + "/prelu.hsnt";
  housenet::sequential<float> net = example::prelu_model();
  // slopes of both signs, not the initial 0.125: the file's records must restore them
  housenet::param<float>& slope = net.param_by_name("2.prelu.slope");
  for (std::size_t c = 0; c < slope.value.size(); ++c) slope.value[c] = 0.3f * float(c) - 0.4f;
  example::save_prelu_model(net, path);

  const housenet::loaded_model<float> m = example::load_prelu_model(path);
  REQUIRE(m.model.size() == 3);
  CHECK(m.model[1].kind() == "prelu");
  CHECK(m.model[1].config() == net[1].config());
  CHECK(static_cast<const example::prelu<float>&>(m.model[1]).init_slope() == 0.125);
  CHECK(m.info.labels == (std::vector<std::string>{"left", "right"}));
  housenet::tensor<float> x(housenet::shape{3, 3, 8, 8});
  housenet::prng r(4);
  for (float& v : x) v = float(r.uniform(-1.0, 1.0));
  const housenet::tensor<float> want = net.predict(x), got = m.model.predict(x);
  REQUIRE(got.shape() == want.shape());
  CHECK(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)) == 0);  // the same bits

  // the built-in registry does not know the kind: one clear error naming it
  std::string err;
  try {
    housenet::load_model(path);
  } catch (const housenet::error& e) {
    err = e.what();
  }
  CHECK(err.find("layer 2: make_layer: unknown layer kind 'prelu' (known: conv2d, linear,") != std::string::npos);
  std::remove(path.c_str());
  ::rmdir(dir.c_str());
}

// Compiles and runs the README's example (docs/examples/quickstart.cpp): the loss must fall and
// the saved model must load and classify the toy task.
#include <doctest/doctest.h>

#include "../docs/examples/quickstart.cpp"

#include <cstdio>
#include <sstream>
#include <unistd.h>

TEST_CASE("README quickstart: trains a tiny network, the loss falls, save/load/predict work") {
  const std::string path = "/tmp/housenet_quickstart_" + std::to_string(::getpid()) + ".hsnt";
  std::ostringstream log;
  const std::vector<double> curve = quickstart::run(log, path);
  MESSAGE(log.str());
  REQUIRE(curve.size() == 5);
  CHECK(curve.back() < 0.5 * curve.front());
  CHECK(curve.back() < 0.35);
  CHECK(log.str().find("Total params: 114") != std::string::npos);  // conv 4*9+4, linear 2*36+2
  CHECK(log.str().find("held-out accuracy") != std::string::npos);
  const housenet::loaded_model<float> m = housenet::load_model(path);
  CHECK(m.info.labels == std::vector<std::string>{"left", "right"});
  std::remove(path.c_str());
}

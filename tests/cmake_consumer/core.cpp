// housenet::core alone: the numeric core compiles and runs without stb (no stb include path is
// given to this program: were housenet.hpp to include an stb header, it would not compile).
#include <housenet/housenet.hpp>
#include <iostream>
int main() {
  housenet::sequential<float> net;
  net.add<housenet::linear<float>>(2);
  net.setup(housenet::shape{1, 3}, 1);
  std::cout << "housenet " << HOUSENET_VERSION_STRING << ": "
            << net.predict(housenet::tensor<float>(housenet::shape{4, 3}, 1.0f)).shape()
            << " threads=" << (HOUSENET_NO_THREADS ? 0 : 1) << "\n";
}

#include <housenet/housenet.hpp>
#include <iostream>
int main() {
  housenet::sequential<float> net;
  net.add<housenet::linear<float>>(2);
  net.setup(housenet::shape{1, 3}, 1);
  std::cout << "housenet " << HOUSENET_VERSION_STRING << ": "
            << net.predict(housenet::tensor<float>(housenet::shape{4, 3}, 1.0f)).shape() << "\n";
}

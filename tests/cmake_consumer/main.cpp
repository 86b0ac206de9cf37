// housenet::housenet: the numeric core and the vision part (images, drawing, the detector).
#include <housenet/housenet.hpp>
#include <housenet/vision.hpp>
#include <iostream>
int main() {
  housenet::sequential<float> net;
  net.add<housenet::linear<float>>(2);
  net.setup(housenet::shape{1, 3}, 1);
  housenet::image img(8, 6, 3);
  housenet::draw_rect(img, housenet::rect{1, 1, 4, 3}, housenet::colour{255, 0, 0});
  const std::vector<unsigned char> png = housenet::encode(img, "png");
  std::cout << "housenet " << HOUSENET_VERSION_STRING << ": "
            << net.predict(housenet::tensor<float>(housenet::shape{4, 3}, 1.0f)).shape()
            << " threads=" << (HOUSENET_NO_THREADS ? 0 : 1)
            << " png=" << (housenet::load_from_memory(png.data(), png.size()).width() == 8) << "\n";
}

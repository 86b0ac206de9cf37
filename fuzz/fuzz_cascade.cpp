// libFuzzer target: the cascade XML reader (housenet/cascade.hpp over detail/xml.hpp).
// Any input must give a cascade or one housenet::error; a cascade that loads is then run on a
// small fixed image (detect_multi_scale), so the parsed nodes, leaves and rectangles are used.
#include <housenet/cascade.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

const housenet::image& test_image() {
  static const housenet::image img = [] {
    housenet::image im(48, 40, 1);
    for (int y = 0; y < im.height(); ++y)
      for (int x = 0; x < im.width(); ++x) im.at(x, y) = std::uint8_t((x * 37 + y * 91 + (x * y) % 13) & 0xFF);
    return im;
  }();
  return img;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  housenet::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  try {
    const housenet::cascade c = housenet::cascade::from_string(xml, "fuzz.xml");
    // Bound the work: the detector's cost grows with stages x windows.
    if (c.window_width() <= 48 && c.window_height() <= 40 && c.tree_count() <= 2000) {
      housenet::detect_options o;
      o.scale_factor = 1.25;
      o.min_neighbors = 1;
      (void)c.detect_multi_scale(test_image(), o);
    }
  } catch (const housenet::error&) {
  }
  return 0;
}

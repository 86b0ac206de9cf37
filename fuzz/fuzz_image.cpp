// libFuzzer target: the image path (housenet/image.hpp): the header check, the decode through
// stb_image with housenet's pixel limit, the EXIF orientation reader (detail/exif.hpp) and its
// rotation, then what the app does with a loaded photo (gray, crop, resize, to_tensor).
// Any input must give an image or one housenet::error.
#include <housenet/image.hpp>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The EXIF reader alone: any bytes, 1..8 out.
  const int o = housenet::detail::jpeg_exif_orientation(data, size);
  if (o < 1 || o > 8) __builtin_trap();
  // Keep decoding cheap: stb allocates the whole image before finding the data missing, so
  // headers above 4 Mpixel (but under housenet's limit) are only checked, not decoded.
  int w = 0, h = 0, comp = 0;
  if (size > 0 && size <= 0x7fffffff && stbi_info_from_memory(data, int(size), &w, &h, &comp) &&
      (long long)w * h > (4ll << 20) && (long long)w * h <= housenet::max_image_pixels)
    return 0;
  try {
    const housenet::image img = housenet::load_from_memory(data, size, "fuzz.img");
    if (img.empty() || (img.channels() != 1 && img.channels() != 3)) __builtin_trap();
    const housenet::image g = housenet::rgb_to_gray(img);
    const housenet::image c = housenet::crop(img, housenet::rect{img.width() / 4, img.height() / 4,
                                                                  img.width() / 2 + 1, img.height() / 2 + 1});
    const housenet::image r = housenet::resize(c, 8, 8);
    housenet::tensor<float> t;
    housenet::to_tensor(r, t);
    for (int k = 1; k <= 8; ++k) (void)housenet::detail::apply_exif_orientation(r, k);
  } catch (const housenet::error&) {
  }
  return 0;
}

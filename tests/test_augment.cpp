// Tensor augmentation (housenet/augment.hpp): the flip + shift against an independent formulation
// (torchvision's: pad the image by p, crop H x W at offset (p - dy, p - dx), mirror), edge padding,
// the documented draw order, and the same result for any thread count.
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/augment.hpp>
#include <housenet/parallel.hpp>

#include <cstdint>
#include <string>
#include <vector>

using namespace housenet;

namespace {
// pad -> crop -> flip, as torchvision's RandomCrop(padding=p, fill) then a horizontal flip of the
// crop. Mirroring the crop equals shifting the mirrored image by (dy, -dx), so the library's
// "flip, then shift by (dy, dx)" is this with dx negated.
std::vector<float> torchvision_like(const std::vector<float>& img, long h, long w, long p, long dy, long dx, bool flip,
                                    float fill) {
  const long ph = h + 2 * p, pw = w + 2 * p;
  std::vector<float> padded(std::size_t(ph * pw), fill);
  for (long y = 0; y < h; ++y)
    for (long x = 0; x < w; ++x) padded[std::size_t((y + p) * pw + x + p)] = img[std::size_t(y * w + x)];
  const long oy = p - dy, ox = p - dx;
  std::vector<float> out(std::size_t(h * w));
  for (long y = 0; y < h; ++y)
    for (long x = 0; x < w; ++x) out[std::size_t(y * w + x)] = padded[std::size_t((y + oy) * pw + x + ox)];
  if (flip)
    for (long y = 0; y < h; ++y)
      for (long x = 0; x < w / 2; ++x) std::swap(out[std::size_t(y * w + x)], out[std::size_t(y * w + w - 1 - x)]);
  return out;
}
}  // namespace

TEST_CASE("apply_flip_shift: every shift within the padding, with and without flip, on odd sizes") {
  const long h = 5, w = 7, p = 3;
  std::vector<float> img(std::size_t(h * w));
  for (std::size_t i = 0; i < img.size(); ++i) img[i] = float(i + 1);
  std::vector<float> out(img.size());
  for (int flip = 0; flip < 2; ++flip)
    for (long dy = -p; dy <= p; ++dy)
      for (long dx = -p; dx <= p; ++dx) {
        CAPTURE(flip);
        CAPTURE(dy);
        CAPTURE(dx);
        apply_flip_shift(flip_shift{flip != 0, dy, dx}, img.data(), out.data(), std::size_t(h), std::size_t(w),
                         pad_mode::constant, -0.5f);
        CHECK(out == torchvision_like(img, h, w, p, dy, flip ? -dx : dx, flip != 0, -0.5f));
      }
  // Shifted right by 2 with edge padding: the first column repeated.
  apply_flip_shift(flip_shift{false, 0, 2}, img.data(), out.data(), std::size_t(h), std::size_t(w), pad_mode::edge);
  for (long y = 0; y < h; ++y) {
    CHECK(out[std::size_t(y * w + 0)] == img[std::size_t(y * w)]);
    CHECK(out[std::size_t(y * w + 1)] == img[std::size_t(y * w)]);
    CHECK(out[std::size_t(y * w + 4)] == img[std::size_t(y * w + 2)]);
  }
  // Shifted far past the image with edge padding: the nearest corner everywhere.
  apply_flip_shift(flip_shift{true, 9, 9}, img.data(), out.data(), std::size_t(h), std::size_t(w), pad_mode::edge);
  for (float v : out) CHECK(v == img[std::size_t(w - 1)]);  // top-left of the mirror = top-right
}

TEST_CASE("random_flip_shift: the draw order is flip, dy, dx from the caller's prng") {
  prng a(42), b(42);
  for (int i = 0; i < 100; ++i) {
    const flip_shift t = random_flip_shift(a, 2);
    const bool flip = b.uniform() < 0.5;
    const long dy = long(b.uniform_int(5)) - 2, dx = long(b.uniform_int(5)) - 2;
    CHECK(t.flip == flip);
    CHECK(t.dy == dy);
    CHECK(t.dx == dx);
    CHECK((t.dy >= -2 && t.dy <= 2 && t.dx >= -2 && t.dx <= 2));
  }
  const flip_shift n = random_flip_shift(a, 0, false);
  CHECK((!n.flip && n.dy == 0 && n.dx == 0));
}

TEST_CASE("random_crop_flip: one transform per sample over all its channels, the same for any thread count") {
  const std::size_t n = 9, c = 3, h = 6, w = 5;
  tensor<float> x(shape{n, c, h, w}), y1, y2;
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(i % 97) * 0.25f;
  const crop_flip_options o{2, true, pad_mode::constant, -1.0};
  const int threads = num_threads();
  set_num_threads(1);
  prng r1(7);
  random_crop_flip(x, y1, o, r1);
  set_num_threads(2);
  prng r2(7);
  random_crop_flip(x, y2, o, r2);
  set_num_threads(threads);
  CHECK(y1.shape() == x.shape());
  CHECK(std::vector<float>(y1.begin(), y1.end()) == std::vector<float>(y2.begin(), y2.end()));
  prng r3(7);
  std::vector<float> want(h * w);
  for (std::size_t i = 0; i < n; ++i) {
    const flip_shift t = random_flip_shift(r3, 2);
    for (std::size_t ch = 0; ch < c; ++ch) {
      const float* src = x.data() + (i * c + ch) * h * w;
      apply_flip_shift(t, src, want.data(), h, w, pad_mode::constant, -1.0f);
      CHECK(std::vector<float>(y1.data() + (i * c + ch) * h * w, y1.data() + (i * c + ch + 1) * h * w) == want);
    }
  }
  CHECK(housenet_test::error_of([&] { random_crop_flip(x, x, o, r1); }) ==
        "random_crop_flip: the output must be another tensor than the input");
  tensor<float> bad(shape{2, 3});
  CHECK(housenet_test::error_of([&] { random_crop_flip(bad, y1, o, r1); }) ==
        "random_crop_flip: input 2x3, expected NxCxHxW");
}

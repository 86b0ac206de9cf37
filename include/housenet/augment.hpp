// housenet/augment.hpp: tensor augmentation: random crop with padding, horizontal flip.
//
// WHAT THIS IS
//   flip_shift {flip, dy, dx}: one sample's geometric transform. Applied to a plane of H x W:
//       out(y, x) = src(y - dy, x - dx),   src = the plane mirrored left-right when flip
//   where (y - dy, x - dx) falls outside the plane, out is `fill` (pad_mode::constant) or the
//   nearest edge pixel (pad_mode::edge). A random crop of H x W out of the plane padded by p on
//   every side (torchvision's RandomCrop(size, padding=p)) is a shift with dy, dx in [-p, p].
//
//   random_flip_shift(rng, max_shift, flip)   draws one transform, in this order: flip (when
//       allowed: rng.uniform() < 0.5), then dy, then dx (each rng.uniform_int(2 * max_shift + 1)
//       - max_shift). The order is part of the contract: a seed gives the same draws everywhere.
//   apply_flip_shift(t, src, dst, h, w, mode, fill)   one plane, src != dst.
//   random_crop_flip(x, y, options, rng)       a batch x: N x C x H x W -> y (resized, same
//       shape): one transform per sample, drawn in sample order from rng, applied to all of the
//       sample's channels; the copying runs over the thread pool (the draws do not, so the result
//       does not depend on the thread count).
//
//   Usage (the torchvision recipe RandomCrop(28, padding=2) + RandomHorizontalFlip on normalised
//   inputs, whose zero padding is (0 - mean) / std once normalised):
//     prng rng(seed + epoch);
//     random_crop_flip(x, x_aug, {2, true, pad_mode::constant, -mean / std}, rng);
//
// REQUIRES: src and dst do not overlap; max_shift < 2^31.
// THREAD SAFETY: free functions; the prng is the caller's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "error.hpp"
#include "parallel.hpp"
#include "random.hpp"
#include "tensor.hpp"

HOUSENET_BEGIN_NAMESPACE

enum class pad_mode { constant, edge };

struct flip_shift {
  bool flip = false;
  long dy = 0, dx = 0;
};

inline flip_shift random_flip_shift(prng& rng, std::size_t max_shift, bool allow_flip = true) {
  HOUSENET_CHECK(max_shift < (std::size_t(1) << 31), "random_flip_shift: max_shift ", max_shift, " too large");
  flip_shift t;
  if (allow_flip) t.flip = rng.uniform() < 0.5;
  const long m = long(max_shift);
  t.dy = long(rng.uniform_int(std::uint64_t(2 * m + 1))) - m;
  t.dx = long(rng.uniform_int(std::uint64_t(2 * m + 1))) - m;
  return t;
}

template <class T>
void apply_flip_shift(const flip_shift& t, const T* src, T* dst, std::size_t h, std::size_t w,
                      pad_mode mode = pad_mode::constant, T fill = T(0)) {
  const long H = long(h), W = long(w);
  for (long y = 0; y < H; ++y) {
    long sy = y - t.dy;
    const bool row_out = sy < 0 || sy >= H;
    if (row_out && mode == pad_mode::constant) {
      for (long x = 0; x < W; ++x) dst[y * W + x] = fill;
      continue;
    }
    sy = sy < 0 ? 0 : sy >= H ? H - 1 : sy;
    const T* row = src + sy * W;
    T* out = dst + y * W;
    for (long x = 0; x < W; ++x) {
      long sx = x - t.dx;
      if (sx < 0 || sx >= W) {
        if (mode == pad_mode::constant) {
          out[x] = fill;
          continue;
        }
        sx = sx < 0 ? 0 : W - 1;
      }
      out[x] = row[t.flip ? W - 1 - sx : sx];
    }
  }
}

struct crop_flip_options {
  std::size_t pad = 2;                 // shifts in [-pad, pad] on each axis
  bool flip = true;                    // random horizontal flips (probability 1/2)
  pad_mode mode = pad_mode::constant;  // what the padding holds
  double fill = 0.0;                   // its value for pad_mode::constant
};

template <class T>
void random_crop_flip(const tensor<T>& x, tensor<T>& y, const crop_flip_options& o, prng& rng) {
  const shape& s = x.shape();
  HOUSENET_CHECK(s.rank() == 4 && s.n() >= 1 && s.h() >= 1 && s.w() >= 1, "random_crop_flip: input ", s.str(),
                 ", expected NxCxHxW");
  HOUSENET_CHECK(&x != &y, "random_crop_flip: the output must be another tensor than the input");
  y.resize(s);
  const std::size_t n = s.n(), c = s.c(), h = s.h(), w = s.w(), plane = h * w;
  // The draws first, in sample order (this is what makes the result independent of the threads).
  thread_local std::vector<flip_shift> draws;
  draws.resize(n);
  for (auto& d : draws) d = random_flip_shift(rng, o.pad, o.flip);
  const flip_shift* t = draws.data();
  const T fill = static_cast<T>(o.fill);
  parallel_for(n * c, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i)
      apply_flip_shift(t[i / c], x.data() + i * plane, y.data() + i * plane, h, w, o.mode, fill);
  });
}

HOUSENET_END_NAMESPACE

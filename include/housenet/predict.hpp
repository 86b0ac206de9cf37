// housenet/predict.hpp: class probabilities from a model or an ensemble, with test-time flip.
//
// WHAT THIS IS
//   predict_probabilities(net, x, probs [, options])
//       probs[i, k] = softmax(net.predict(x))[i, k]: N x K, each row sums to 1 (loss.hpp's
//       softmax, the one the training loss uses). x: N x C x H x W (or N x F), any N >= 1.
//   predict_probabilities(members, x, probs [, options])
//       an ensemble: the MEAN of the members' probabilities (not of their logits), members in
//       order. Every member must take x's sample shape and give the same number of classes.
//   predict_options::flip (test-time flip, default off)
//       each row is the mean of the probabilities of the image and of its horizontal mirror
//       (x with its W axis reversed; an N x F input has no W axis and is refused). For a model
//       whose task does not change under mirroring (faces), the answer for a mirrored image is
//       then the same as for the image, up to float rounding in the network. The image and its
//       mirror run as one batch of 2N.
//   mirror_horizontal(x, out)   out = x with the W axis reversed (NCHW, any N, C, H, W).
//
// COST   flip doubles the work; an ensemble of M costs M forwards (2M with flip).
// DETERMINISM  a fixed summation order (members in order; the image, then its mirror), so the
//   same input and thread count give the same bits.
// ERRORS (housenet::error, prefix "predict: ") an empty ensemble, members with different input
//   shapes or class counts, flip of an input without a W axis, and the model's own shape errors.
// THREAD SAFETY  like sequential::predict: safe from several threads on const models.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "error.hpp"
#include "loss.hpp"
#include "sequential.hpp"
#include "tensor.hpp"

HOUSENET_BEGIN_NAMESPACE

struct predict_options {
  bool flip = false;  // test-time flip: mean over the image and its horizontal mirror
};

namespace detail {
// d = the rows of w elements of s (size elements in all), each reversed.
template <class T>
void mirror_rows(const T* s, T* d, std::size_t size, std::size_t w) {
  for (std::size_t r = 0; r < size / w; ++r, s += w, d += w)
    for (std::size_t i = 0; i < w; ++i) d[i] = s[w - 1 - i];
}
}  // namespace detail

template <class T>
void mirror_horizontal(const tensor<T>& x, tensor<T>& out) {
  HOUSENET_CHECK(&x != &out, "predict: mirror_horizontal(): output and input are the same tensor");
  HOUSENET_CHECK(x.shape().rank() == 4, "predict: cannot mirror ", x.shape().str(),
                 " (an N x C x H x W image batch is needed)");
  out.resize(x.shape());
  if (x.size()) detail::mirror_rows(x.data(), out.data(), x.size(), x.shape().w());
}

namespace detail {
// The mean of the members' probabilities (and their mirrors' with flip), accumulated in double in
// a fixed order: member 1 (image, mirror), member 2, ...
template <class T>
void mean_probabilities(const sequential<T>* const* members, std::size_t count, const tensor<T>& x,
                        tensor<T>& probs, const predict_options& opt) {
  HOUSENET_CHECK(count >= 1, "predict: an ensemble of no model");
  HOUSENET_CHECK(&x != &probs, "predict: output and input are the same tensor");
  const std::size_t n = x.shape().n(), k = members[0]->output_shape().sample_size();
  for (std::size_t m = 1; m < count; ++m) {
    HOUSENET_CHECK(members[m]->input_shape() == members[0]->input_shape(), "predict: ensemble member ", m + 1,
                   " takes ", members[m]->input_shape().str(), ", member 1 ", members[0]->input_shape().str());
    HOUSENET_CHECK(members[m]->output_shape().sample_size() == k, "predict: ensemble member ", m + 1, " gives ",
                   members[m]->output_shape().sample_size(), " classes, member 1 ", k);
  }
  tensor<T> both;  // with flip: the images, then their mirrors, as one batch of 2N
  if (opt.flip) {
    HOUSENET_CHECK(x.shape().rank() == 4 && n >= 1, "predict: flip needs an N x C x H x W input, got ",
                   x.shape().str());
    both.resize(x.shape().with_n(2 * n));
    std::copy_n(x.data(), x.size(), both.data());
    detail::mirror_rows(x.data(), both.data() + x.size(), x.size(), x.shape().w());
  }
  const tensor<T>& in = opt.flip ? both : x;
  const std::size_t views = opt.flip ? 2 : 1;
  std::vector<double> acc(n * k, 0.0);
  tensor<T> logits, p;
  for (std::size_t m = 0; m < count; ++m) {
    members[m]->predict(in, logits);
    softmax(logits, p);
    for (std::size_t v = 0; v < views; ++v)
      for (std::size_t i = 0; i < n * k; ++i) acc[i] += double(p.data()[v * n * k + i]);
  }
  const double total = double(count * views);
  probs.resize(shape{n, k});
  for (std::size_t i = 0; i < n * k; ++i) probs.data()[i] = T(acc[i] / total);
}
}  // namespace detail

template <class T>
void predict_probabilities(const sequential<T>& net, const tensor<T>& x, tensor<T>& probs,
                           const predict_options& opt = {}) {
  const sequential<T>* one = &net;
  detail::mean_probabilities(&one, 1, x, probs, opt);
}

template <class T>
void predict_probabilities(const std::vector<sequential<T>>& members, const tensor<T>& x, tensor<T>& probs,
                           const predict_options& opt = {}) {
  std::vector<const sequential<T>*> p;
  for (const sequential<T>& m : members) p.push_back(&m);
  detail::mean_probabilities(p.data(), p.size(), x, probs, opt);
}

HOUSENET_END_NAMESPACE

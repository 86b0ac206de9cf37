// housenet/loss.hpp: softmax cross-entropy (fused, log-sum-exp stable), its per-row terms, softmax,
// predicted classes and accuracy.
//
// WHAT THIS IS
//   logits z [N, K] (rank 2, or [N, K, 1, 1]), labels t[i] in 0..K-1, optional class weights w[K]
//   (PyTorch's cross_entropy(weight=w, reduction=mean); all 1 by default: the plain batch mean).
//     loss  = sum_i w[t_i] * (logsumexp(z_i) - z_i[t_i]) / sum_i w[t_i]
//     dz_i  = w[t_i] * (softmax(z_i) - onehot(t_i)) / sum_j w[t_j]    (= (softmax - onehot) / N
//                                                                       without weights)
//   logsumexp(z_i) = m + log(sum_k exp(z_ik - m)), m = max_k z_ik, computed in double, so any
//   finite logits give a finite loss. Class weights counter class imbalance (e.g. w_k inversely
//   proportional to the class frequency).
//   accuracy(z, t): the fraction of rows whose first maximal logit is at t_i.
//   smoothed_cross_entropy(z, t, eps [, &dz]): the same loss with label smoothing (see there).
//
//   Per row, for evaluation and prediction (the same expressions as forward, so a test curve is
//   the training loss's arithmetic):
//     cross_entropy_per_row(z, t)[i] = logsumexp(z_i) - z_i[t_i]   (unweighted; double)
//     softmax(z, p):  p_ij = exp(z_ij - logsumexp(z_i))             (= probabilities() after forward)
//     predicted_classes(z)[i] = the first maximal entry of row i   (what accuracy() counts)
//
// USAGE
//   softmax_cross_entropy<float> ce;            // or ce({1.0, 2.0, 1.0, 0.5})
//   double loss = ce.forward(logits, labels);   // caches the softmax
//   ce.backward(dlogits);                       // assigns dlogits (resized to logits' shape)
//   std::vector<double> l = cross_entropy_per_row(logits, labels);   // no state, no gradient
//   softmax(logits, probs);                     // probs resized to [N, K]
//
// ERRORS (housenet::error, prefix naming the function: "softmax_cross_entropy: ",
//   "cross_entropy_per_row: ", "softmax: ", "predicted_classes: ", "accuracy: "): logits not
//   [N, K] with N, K >= 1, a label count different from N, a label outside 0..K-1 (naming the
//   sample), a weight count different from K, a negative or non-finite weight, weights of the
//   batch summing to 0, backward before forward.
// THREAD SAFETY: a softmax_cross_entropy object is not safe to use from two threads at once;
//   the free functions are (they keep no state).
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "error.hpp"
#include "tensor.hpp"

HOUSENET_BEGIN_NAMESPACE

namespace detail {
// [N, K] from a logits shape, or an error.
inline void logits_dims(const shape& s, const char* who, std::size_t& n, std::size_t& k) {
  const bool ok = (s.rank() == 2 || (s.rank() == 4 && s.h() == 1 && s.w() == 1)) && s.n() >= 1 &&
                  s.c() >= 1;
  HOUSENET_CHECK(ok, who, ": logits ", s.str(), ", expected NxK");
  n = s.n();
  k = s.c();
}
inline void check_labels(const std::vector<int>& labels, std::size_t n, std::size_t k,
                         const char* who) {
  HOUSENET_CHECK(labels.size() == n, who, ": ", labels.size(), " labels for a batch of ", n);
  for (std::size_t i = 0; i < n; ++i)
    HOUSENET_CHECK(labels[i] >= 0 && std::size_t(labels[i]) < k, who, ": label ", labels[i],
                   " of sample ", i, " is out of range 0..", k - 1);
}
// logsumexp of one row of k logits, in double: m + log(sum_j exp(z_j - m)), m = max_j z_j.
template <class T>
double log_sum_exp(const T* z, std::size_t k) {
  double m = double(z[0]);
  for (std::size_t j = 1; j < k; ++j) m = double(z[j]) > m ? double(z[j]) : m;
  double s = 0.0;
  for (std::size_t j = 0; j < k; ++j) s += std::exp(double(z[j]) - m);
  return m + std::log(s);
}
// p_j = exp(z_j - logsumexp(z)) of one row; returns the logsumexp.
template <class T>
double softmax_row(const T* z, std::size_t k, T* p) {
  const double lse = log_sum_exp(z, k);
  for (std::size_t j = 0; j < k; ++j) p[j] = static_cast<T>(std::exp(double(z[j]) - lse));
  return lse;
}
// The index of the first maximal entry of one row.
template <class T>
std::size_t first_max(const T* z, std::size_t k) {
  std::size_t best = 0;
  for (std::size_t j = 1; j < k; ++j)
    if (z[j] > z[best]) best = j;
  return best;
}
}  // namespace detail

template <class T>
class softmax_cross_entropy {
 public:
  softmax_cross_entropy() = default;
  // Per-class weights (size K, each >= 0 and finite).
  explicit softmax_cross_entropy(std::vector<double> class_weights) : w_(std::move(class_weights)) {
    for (std::size_t k = 0; k < w_.size(); ++k)
      HOUSENET_CHECK(std::isfinite(w_[k]) && w_[k] >= 0.0, "softmax_cross_entropy: class weight ",
                     k, " is ", w_[k], ", expected a finite value >= 0");
  }

  const std::vector<double>& class_weights() const { return w_; }

  // The mean loss; caches softmax(z) and the weights for backward (no allocation after the first
  // batch of a given size).
  double forward(const tensor<T>& logits, const std::vector<int>& labels) {
    std::size_t n, k;
    detail::logits_dims(logits.shape(), who, n, k);
    detail::check_labels(labels, n, k, who);
    HOUSENET_CHECK(w_.empty() || w_.size() == k, who, ": ", w_.size(), " class weights for ", k,
                   " classes");
    prob_.resize(shape{n, k});
    labels_ = labels;
    double total = 0.0, wsum = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const T* z = logits.data() + i * k;
      const double lse = detail::softmax_row(z, k, prob_.data() + i * k);
      const double wi = w_.empty() ? 1.0 : w_[std::size_t(labels[i])];
      total += wi * (lse - double(z[labels[i]]));
      wsum += wi;
    }
    HOUSENET_CHECK(wsum > 0.0, who, ": the class weights of this batch sum to 0");
    wsum_ = wsum;
    ready_ = true;
    return total / wsum;
  }

  // dlogits = w[t_i] (softmax - onehot) / sum w[t]; resized to the logits' shape and assigned.
  void backward(tensor<T>& dlogits) const {
    HOUSENET_CHECK(ready_, who, ": backward before forward");
    const std::size_t n = prob_.shape().n(), k = prob_.shape().c();
    dlogits.resize(prob_.shape());
    for (std::size_t i = 0; i < n; ++i) {
      const double wi = w_.empty() ? 1.0 : w_[std::size_t(labels_[i])];
      const T sc = static_cast<T>(wi / wsum_);
      const T* p = prob_.data() + i * k;
      T* d = dlogits.data() + i * k;
      for (std::size_t j = 0; j < k; ++j) d[j] = p[j] * sc;
      d[labels_[i]] = static_cast<T>((double(p[labels_[i]]) - 1.0) * (wi / wsum_));
    }
  }

  // The softmax of the last forward, [N, K].
  const tensor<T>& probabilities() const { return prob_; }

 private:
  static constexpr const char* who = "softmax_cross_entropy";
  std::vector<double> w_;
  tensor<T> prob_;
  std::vector<int> labels_;
  double wsum_ = 0.0;
  bool ready_ = false;
};

// The unweighted cross-entropy of each row of logits [N, K]: logsumexp(z_i) - z_i[t_i], in double.
// These are the terms of forward's mean (their plain mean is forward's loss without weights, to
// the bit); no softmax is cached and no gradient computed: for evaluation.
template <class T>
std::vector<double> cross_entropy_per_row(const tensor<T>& logits, const std::vector<int>& labels) {
  std::size_t n, k;
  detail::logits_dims(logits.shape(), "cross_entropy_per_row", n, k);
  detail::check_labels(labels, n, k, "cross_entropy_per_row");
  std::vector<double> losses(n);
  for (std::size_t i = 0; i < n; ++i) {
    const T* z = logits.data() + i * k;
    losses[i] = detail::log_sum_exp(z, k) - double(z[labels[i]]);
  }
  return losses;
}

// The softmax of each row of logits [N, K] into probs (resized to [N, K]): the values
// softmax_cross_entropy::probabilities() holds after a forward of the same logits.
template <class T>
void softmax(const tensor<T>& logits, tensor<T>& probs) {
  std::size_t n, k;
  detail::logits_dims(logits.shape(), "softmax", n, k);
  probs.resize(shape{n, k});
  for (std::size_t i = 0; i < n; ++i) detail::softmax_row(logits.data() + i * k, k, probs.data() + i * k);
}

// The first maximal entry of each row of logits [N, K]: the predicted class.
template <class T>
std::vector<int> predicted_classes(const tensor<T>& logits) {
  std::size_t n, k;
  detail::logits_dims(logits.shape(), "predicted_classes", n, k);
  std::vector<int> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = int(detail::first_max(logits.data() + i * k, k));
  return out;
}

// Fraction of the rows of logits [N, K] whose first maximal entry is the label.
template <class T>
double accuracy(const tensor<T>& logits, const std::vector<int>& labels) {
  std::size_t n, k;
  detail::logits_dims(logits.shape(), "accuracy", n, k);
  detail::check_labels(labels, n, k, "accuracy");
  std::size_t hits = 0;
  for (std::size_t i = 0; i < n; ++i)
    hits += detail::first_max(logits.data() + i * k, k) == std::size_t(labels[i]);
  return double(hits) / double(n);
}

// Label-smoothed softmax cross-entropy (Szegedy et al. 2016; PyTorch's
// cross_entropy(z, t, label_smoothing=eps), mean over the batch, no class weights). Row i's target
// is q_i = (1 - eps) onehot(t_i) + eps / K, and
//   loss = mean_i (logsumexp(z_i) - sum_k q_ik z_ik),   dz_i = (softmax(z_i) - q_i) / N.
// eps = 0 is the plain softmax cross-entropy. A free function without state (safe from several
// threads on distinct outputs): it returns the loss and, when dlogits is given, assigns the
// gradient (resized to the logits' shape). Errors: those of softmax_cross_entropy, prefixed
// "smoothed_cross_entropy: ", and eps outside [0, 1].
template <class T>
double smoothed_cross_entropy(const tensor<T>& logits, const std::vector<int>& labels, double eps,
                              tensor<T>* dlogits = nullptr) {
  static constexpr const char* who = "smoothed_cross_entropy";
  std::size_t n, k;
  detail::logits_dims(logits.shape(), who, n, k);
  detail::check_labels(labels, n, k, who);
  HOUSENET_CHECK(eps >= 0.0 && eps <= 1.0, who, ": label smoothing ", eps, " not in [0, 1]");
  if (dlogits) dlogits->resize(logits.shape());
  const double off = eps / double(k), on = 1.0 - eps + off, inv_n = 1.0 / double(n);
  double total = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const T* z = logits.data() + i * k;
    double m = double(z[0]);
    for (std::size_t j = 1; j < k; ++j) m = double(z[j]) > m ? double(z[j]) : m;
    double s = 0.0, qz = 0.0;
    for (std::size_t j = 0; j < k; ++j) {
      s += std::exp(double(z[j]) - m);
      qz += (int(j) == labels[i] ? on : off) * double(z[j]);
    }
    const double lse = m + std::log(s);
    total += lse - qz;
    if (!dlogits) continue;
    T* d = dlogits->data() + i * k;
    for (std::size_t j = 0; j < k; ++j)
      d[j] = static_cast<T>((std::exp(double(z[j]) - lse) - (int(j) == labels[i] ? on : off)) * inv_n);
  }
  return total * inv_n;
}

HOUSENET_END_NAMESPACE

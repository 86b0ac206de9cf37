// housenet/layers/add.hpp: the sum of several inputs (a residual connection), with broadcasting,
// like PyTorch's a + b (and ONNX's Add / Sum).
//
// WHAT THIS IS
//   y = x[0] + x[1] + ... + x[k-1], added in input order (2..64 inputs). The inputs have one rank;
//   in each sample dimension an input has the output's size or 1, and a size-1 dimension is
//   repeated (broadcast) over the output's: a 64 x 1 x 1 per-channel term adds to a 64 x 14 x 14
//   map, a 1 x 14 x 14 map to every channel. The output's size in each dimension is the largest
//   of the inputs'. Every input has the same batch size N (no broadcasting over the batch).
//   backward: dx[k] = dy summed over the dimensions input k broadcasts (in double, in the output's
//   order: independent of the thread count); dx[k] = dy where input k has the output's shape.
//   No parameters: forward is infer.
//
// REQUIRES  setup: 2..64 inputs of one rank, each dimension the output's or 1.
// CONFIG    none; version 1.
// THREAD SAFETY: see layer.hpp.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "../parallel.hpp"
#include "layer.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T>
class add_layer : public multi_input_layer<T> {
 public:
  static constexpr const char* kind_name = "add";
  static constexpr std::size_t max_inputs = 64;

  add_layer() : multi_input_layer<T>(kind_name, 2, max_inputs) {}

 protected:
  shape do_setup_many(const std::vector<shape>& in) override {
    const std::size_t rank = in[0].rank();
    std::vector<std::size_t> out(rank, 1);
    for (std::size_t k = 0; k < in.size(); ++k) {
      HOUSENET_CHECK(in[k].rank() == rank, this->name(), ": input #", k + 1, " ", in[k].str(),
                     " has rank ", in[k].rank(), ", input #1 ", in[0].str(), " rank ", rank);
      for (std::size_t d = 1; d < rank; ++d) out[d] = std::max(out[d], in[k][d]);
    }
    for (std::size_t k = 0; k < in.size(); ++k)
      for (std::size_t d = 1; d < rank; ++d)
        HOUSENET_CHECK(in[k][d] == out[d] || in[k][d] == 1, this->name(), ": input #", k + 1, " ",
                       sample_str(in[k]), " does not broadcast to ", sample_str(shape::from_range(out.begin(), out.end())),
                       " (each size must be the output's or 1)");
    return shape::from_range(out.begin(), out.end());
  }

  void do_infer_many(layer_inputs<T> x, tensor<T>& y) const override {
    check_batch(x);
    const shape ys = this->output_shape().with_n(x[0].shape().n());
    y.resize(ys);
    const std::size_t n = ys.size();
    const std::size_t k = x.size();
    if (all_full()) {
      T* out = y.data();
      parallel_for(n, [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
          T s = x[0][i];
          for (std::size_t j = 1; j < k; ++j) s += x[j][i];
          out[i] = s;
        }
      });
      return;
    }
    // Broadcasting: rows of the last dimension; input j's element of output row r at column c is
    // x[j][offset(j, r) + c * (its last size > 1)].
    const std::size_t rank = ys.rank(), cols = ys[rank - 1], rows = n / cols;
    T* out = y.data();
    parallel_for(rows, [&](std::size_t r0, std::size_t r1) {
      for (std::size_t r = r0; r < r1; ++r) {
        T* yr = out + r * cols;
        for (std::size_t j = 0; j < k; ++j) {
          const T* xr = x[j].data() + offset(j, r, ys);
          const bool full = this->input_shape(j)[rank - 1] == cols;
          if (j == 0) {
            for (std::size_t c = 0; c < cols; ++c) yr[c] = full ? xr[c] : xr[0];
          } else {
            for (std::size_t c = 0; c < cols; ++c) yr[c] += full ? xr[c] : xr[0];
          }
        }
      }
    });
  }

  void do_backward_many(layer_inputs<T> x, const tensor<T>& /*y*/, const tensor<T>& dy,
                        layer_input_grads<T> dx) override {
    const shape& ys = dy.shape();  // checked against the output by layer::backward
    const std::size_t rank = ys.rank(), cols = ys[rank - 1], rows = ys.size() / cols;
    for (std::size_t j = 0; j < x.size(); ++j) {
      tensor<T>& g = dx[j];
      g.resize(x[j].shape());
      if (x[j].shape() == ys) {
        if (ys.size()) std::memcpy(g.data(), dy.data(), ys.size() * sizeof(T));
        continue;
      }
      // summed in double, in the output's order (one thread: the same bits for any thread count)
      std::vector<double>& acc = acc_;  // reused: no allocation after the first batch
      acc.assign(g.size(), 0.0);
      const bool full = this->input_shape(j)[rank - 1] == cols;
      for (std::size_t r = 0; r < rows; ++r) {
        double* a = acc.data() + offset(j, r, ys);
        const T* d = dy.data() + r * cols;
        if (full) {
          for (std::size_t c = 0; c < cols; ++c) a[c] += double(d[c]);
        } else {
          for (std::size_t c = 0; c < cols; ++c) a[0] += double(d[c]);
        }
      }
      for (std::size_t i = 0; i < g.size(); ++i) g[i] = static_cast<T>(acc[i]);
    }
  }

 private:
  std::vector<double> acc_;  // backward's sums over broadcast dimensions

  static std::string sample_str(const shape& s) { return s.str().substr(s.str().find('x') + 1); }

  bool all_full() const {
    for (std::size_t j = 0; j < this->num_inputs(); ++j)
      if (this->input_shape(j) != this->output_shape()) return false;
    return true;
  }

  void check_batch(layer_inputs<T> x) const {
    for (std::size_t j = 1; j < x.size(); ++j)
      HOUSENET_CHECK(x[j].shape().n() == x[0].shape().n(), this->name(), ": input #", j + 1, " has ",
                     x[j].shape().n(), " samples, input #1 ", x[0].shape().n());
  }

  // The offset in input j of the start of output row r (row = every index but the last).
  std::size_t offset(std::size_t j, std::size_t r, const shape& ys) const {
    const shape& in = this->input_shape(j);  // n = 1; the batch index is the output's
    const std::size_t rank = ys.rank();
    std::size_t off = 0, stride = in[rank - 1];
    for (std::size_t d = rank - 1; d-- > 0;) {
      const std::size_t i = r % ys[d];
      r /= ys[d];
      const std::size_t size = d == 0 ? ys[0] : in[d];
      if (size != 1 || d == 0) off += i * stride;
      stride *= size;
    }
    return off;
  }
};

HOUSENET_END_NAMESPACE

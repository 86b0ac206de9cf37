// housenet/layers/concat.hpp: several inputs side by side along the channels, like
// torch.cat(xs, dim=1) (and ONNX's Concat with axis 1).
//
// WHAT THIS IS
//   x[k]: N x C_k x (rest), the same rest for every input -> y: N x (C_0 + C_1 + ...) x (rest);
//   y's channels are x[0]'s, then x[1]'s, ... (an inception block's branches, a dense block).
//   Rank 2 (N x F) concatenates features. backward: dx[k] is dy's slice of input k's channels.
//   Pure copies: the same bits on any thread count. No parameters: forward is infer.
//
// REQUIRES  setup: 2..64 inputs of one rank (>= 2) that agree in every dimension but the channels.
// CONFIG    none; version 1.
// THREAD SAFETY: see layer.hpp.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "../parallel.hpp"
#include "layer.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T>
class concat_layer : public multi_input_layer<T> {
 public:
  static constexpr const char* kind_name = "concat";
  static constexpr std::size_t max_inputs = 64;

  concat_layer() : multi_input_layer<T>(kind_name, 2, max_inputs) {}

 protected:
  shape do_setup_many(const std::vector<shape>& in) override {
    const shape& a = in[0];
    HOUSENET_CHECK(a.rank() >= 2, this->name(), ": input #1 ", a.str(), " has no channels (rank 1)");
    std::size_t channels = 0;
    for (std::size_t k = 0; k < in.size(); ++k) {
      bool same = in[k].rank() == a.rank();
      for (std::size_t d = 2; same && d < a.rank(); ++d) same = in[k][d] == a[d];
      HOUSENET_CHECK(same, this->name(), ": input #", k + 1, " ", in[k].str(), " does not match input #1 ",
                     a.str(), " but in the channels");
      channels += in[k][1];
    }
    shape out = a;
    out[1] = channels;
    return out;
  }

  void do_infer_many(layer_inputs<T> x, tensor<T>& y) const override {
    const std::size_t n = x[0].shape().n();
    for (std::size_t k = 1; k < x.size(); ++k)
      HOUSENET_CHECK(x[k].shape().n() == n, this->name(), ": input #", k + 1, " has ", x[k].shape().n(),
                     " samples, input #1 ", n);
    y.resize(this->output_shape().with_n(n));
    const std::size_t out_sample = this->output_shape().size();
    T* out = y.data();
    parallel_for(n, [&](std::size_t b, std::size_t e) {
      for (std::size_t s = b; s < e; ++s) {
        T* dst = out + s * out_sample;
        for (std::size_t k = 0; k < x.size(); ++k) {
          const std::size_t m = this->input_shape(k).size();
          if (m) std::memcpy(dst, x[k].data() + s * m, m * sizeof(T));
          dst += m;
        }
      }
    });
  }

  void do_backward_many(layer_inputs<T> x, const tensor<T>& /*y*/, const tensor<T>& dy,
                        layer_input_grads<T> dx) override {
    const std::size_t n = x[0].shape().n();
    const std::size_t out_sample = this->output_shape().size();
    for (std::size_t k = 0; k < x.size(); ++k) dx[k].resize(x[k].shape());
    parallel_for(n, [&](std::size_t b, std::size_t e) {
      for (std::size_t s = b; s < e; ++s) {
        const T* src = dy.data() + s * out_sample;
        for (std::size_t k = 0; k < x.size(); ++k) {
          const std::size_t m = this->input_shape(k).size();
          if (m) std::memcpy(dx[k].data() + s * m, src, m * sizeof(T));
          src += m;
        }
      }
    });
  }
};

HOUSENET_END_NAMESPACE

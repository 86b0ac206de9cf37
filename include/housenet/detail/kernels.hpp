// housenet/detail/kernels.hpp: the kernels the layers call (not API; may change).
//
// Same signatures and contract as detail/reference.hpp (forward/backward_data assign,
// backward_weights accumulates). The layers call only these; this file chooses the fast path.
// PLACEHOLDER: forwards to the reference loops until the GEMM-based kernels land.
#pragma once

#include "reference.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace detail {

template <class T>
void conv2d_forward(const conv_dims& d, const T* x, const T* w, const T* b, T* y) {
  conv2d_forward_reference(d, x, w, b, y);
}
template <class T>
void conv2d_backward_data(const conv_dims& d, const T* dy, const T* w, T* dx) {
  conv2d_backward_data_reference(d, dy, w, dx);
}
template <class T>
void conv2d_backward_weights(const conv_dims& d, const T* x, const T* dy, T* dw, T* db) {
  conv2d_backward_weights_reference(d, x, dy, dw, db);
}
template <class T>
void linear_forward(const linear_dims& d, const T* x, const T* w, const T* b, T* y) {
  linear_forward_reference(d, x, w, b, y);
}
template <class T>
void linear_backward_data(const linear_dims& d, const T* dy, const T* w, T* dx) {
  linear_backward_data_reference(d, dy, w, dx);
}
template <class T>
void linear_backward_weights(const linear_dims& d, const T* x, const T* dy, T* dw, T* db) {
  linear_backward_weights_reference(d, x, dy, dw, db);
}

}  // namespace detail
HOUSENET_END_NAMESPACE

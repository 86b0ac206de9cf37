// housenet/layers/chain_block.hpp: a run of consecutive layers of a chain, executed as one step.
//
// WHAT THIS IS
//   A model runs a chain of layers as a plan of blocks (layers/fusion.hpp makes the plan): each
//   block covers the layers [first(), last()] and computes what they compute, from the input of
//   the first to the output of the last. layer_block runs one layer through its entry points; a
//   fused block (layers/relu_bn_pool.hpp) runs several in one pass, with the same bits, and keeps
//   none of their intermediate outputs. x is the list of the first layer's inputs (one, but for a
//   layer_block of a layer with several), dx their gradients:
//     forward(x, y, ctx)      y: the last layer's output, ASSIGNED (a training forward may record
//                             what backward needs)
//     infer(x, y) const       the eval forward; touches no member
//     backward(x, y, dy, dx)  x, y: the inputs and output of the last forward; dx ASSIGNED, the
//                             layers' parameter gradients ACCUMULATED
//   A block checks its input with its first layer's check_input (the one input-shape check), so
//   its errors name that layer ("relu #2: input ...").
//
// THREAD SAFETY: as a layer's (infer() on a const block is safe from several threads).
#pragma once

#include <cstddef>

#include "layer.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T>
class chain_block {
 public:
  virtual ~chain_block() = default;

  std::size_t first() const { return first_; }            // index of the first layer in the chain
  std::size_t size() const { return size_; }              // number of layers covered (>= 1)
  std::size_t last() const { return first_ + size_ - 1; }

  virtual void forward(layer_inputs<T> x, tensor<T>& y, const context& ctx) = 0;
  virtual void infer(layer_inputs<T> x, tensor<T>& y) const = 0;
  virtual void backward(layer_inputs<T> x, const tensor<T>& y, const tensor<T>& dy, layer_input_grads<T> dx) = 0;

  // The planner places a block planned on a part of a model's layers: first() += by.
  void shift(std::size_t by) { first_ += by; }

 protected:
  chain_block(std::size_t first, std::size_t size) : first_(first), size_(size) {}

 private:
  std::size_t first_, size_;
};

// One layer on its own.
template <class T>
class layer_block : public chain_block<T> {
 public:
  layer_block(layer<T>& l, std::size_t index) : chain_block<T>(index, 1), layer_(&l) {}

  void forward(layer_inputs<T> x, tensor<T>& y, const context& ctx) override { layer_->forward(x, y, ctx); }
  void infer(layer_inputs<T> x, tensor<T>& y) const override { layer_->infer(x, y); }
  void backward(layer_inputs<T> x, const tensor<T>& y, const tensor<T>& dy, layer_input_grads<T> dx) override {
    layer_->backward(x, y, dy, dx);
  }

 private:
  layer<T>* layer_;
};

HOUSENET_END_NAMESPACE

// housenet/networks.hpp: ready-made networks (the blog's house CNN, a small default one, 2conv-bn
// and ResNet-20 for Fashion-MNIST).
//
// WHAT THIS IS
//   make_seed_network(classes, options): the Chainer blog post's network ("seed" in the app), for
//   a 3 x 100 x 100 input, with its exact shapes by default:
//
//     stage  layers (1-based index)                 output per image
//     input                                          3 x 100 x 100
//     1      1 conv2d 7x7   2 relu  3 batch_norm2d   C1 x 94 x 94        (C1 = 128)
//            4 max_pool2d 3/3 ceil                   C1 x 32 x 32
//     2      5 conv2d 5x5   6 relu  7 batch_norm2d   C2 x 28 x 28        (C2 = 256)
//            8 max_pool2d 3/3 ceil                   C2 x 10 x 10
//     3      9 conv2d 3x3  10 relu 11 batch_norm2d   C3 x 8 x 8          (C3 = 384)
//           12 max_pool2d 2/2 ceil                   C3 x 4 x 4  -> 16*C3 = 6144 features
//     4     13 linear F7   14 relu 15 dropout        F7                   (F7 = 8192)
//     5     16 linear F8   17 relu 18 dropout        F8                   (F8 = 1024)
//     6     19 linear classes                        classes (logits; the loss adds the softmax)
//
//   Note the order ReLU -> BatchNorm -> pooling (as in the blog). Batch norm uses Chainer's
//   defaults (decay 0.9, eps 2e-5); dropout is inverted dropout with the given ratio (0 keeps the
//   layer as an exact identity, so layer indices do not depend on the ratio).
//   The widths are options: the libtorch oracle's "mini_seed" is {8, 16, 24, 64, 32, ratio 0}.
//
//   make_small_network(classes): the same chain with narrow widths {32, 64, 96, 256, 128}, the
//   default model of the app (about 0.55 M parameters, a 2.2 MB model file, versus 61 M / 245 MB).
//
//   make_two_conv_bn_network(classes, options): "2conv-bn" of examples/fashion_mnist.cpp, for a
//   C x S x S input (1 x 28 x 28 by default; S divisible by 4):
//
//     1 conv2d 3x3 pad 1 (32)  2 relu  3 batch_norm2d  4 max_pool2d 2/2      32 x 14 x 14
//     5 conv2d 3x3 pad 1 (64)  6 relu  7 batch_norm2d  8 max_pool2d 2/2      64 x 7 x 7
//     9 linear 128  10 relu  11 dropout 0.5  12 linear classes                (421,834 trainable)
//
//   Batch norm with PyTorch's defaults (momentum 0.1 = decay 0.9, eps 1e-5); LeCun-normal weights
//   and zero biases (the library's default initialiser).
//
//   make_resnet20(classes, options): He et al.'s CIFAR ResNet-20 ("Deep Residual Learning for
//   Image Recognition", 2015, section 4.2) for a C x S x S input (1 x 28 x 28 by default), a
//   graph<T> (graph.hpp):
//
//     conv2d 3x3 (16) -> batch_norm2d -> relu                                16 x S x S
//     stage 1: 3 basic blocks, width 16                                       16 x S x S
//     stage 2: 3 basic blocks, width 32, the first with stride 2              32 x S/2 x S/2
//     stage 3: 3 basic blocks, width 64, the first with stride 2              64 x S/4 x S/4
//     global_avg_pool -> linear classes                                       (272,474 trainable
//                                                                              for 10 classes)
//     basic block: conv2d 3x3 (stride s) -> batch_norm2d -> relu -> conv2d 3x3 -> batch_norm2d,
//       added to the shortcut, then relu. The shortcut is the block's input, or where the width
//       or the size changes a projection: conv2d 1x1 stride s -> batch_norm2d (the paper's
//       option B). Convolutions have no bias (batch norm follows); He-normal weights.
//   20 weighted layers: 1 + 3 x 3 x 2 convolutions + the linear (the projections apart).
//
// ENSURES: the returned model is set up for 1 x 3 x 100 x 100 inputs (any batch size) and its
//   parameters are initialised from options.seed (see sequential::setup), unless
//   options.initialize is false (then they are all 0: running variance too).
// THREAD SAFETY: free functions without shared state.
#pragma once

#include <cstddef>
#include <cstdint>

#include "error.hpp"
#include "init.hpp"
#include "layers.hpp"
#include "graph.hpp"
#include "sequential.hpp"

HOUSENET_BEGIN_NAMESPACE

struct seed_network_options {
  std::size_t c1 = 128, c2 = 256, c3 = 384;  // conv widths
  std::size_t f7 = 8192, f8 = 1024;          // hidden fully connected widths
  double dropout = 0.5;                      // ratio of both dropout layers
  double bn_decay = 0.9, bn_eps = 2e-5;      // Chainer's batch-norm defaults
  init_kind init = init_kind::lecun;         // Chainer's default weight initialiser
  std::uint64_t seed = 0;                    // parameter initialisation and dropout masks
  std::size_t input_size = 100;              // input is 3 x input_size x input_size
  bool initialize = true;                    // false: all parameters 0 (shape-only use, or to
                                             // fill from elsewhere; skips ~2 s for the full net)
};

// The widths of make_small_network.
inline seed_network_options small_network_options() {
  seed_network_options o;
  o.c1 = 32;
  o.c2 = 64;
  o.c3 = 96;
  o.f7 = 256;
  o.f8 = 128;
  return o;
}

template <class T = float>
sequential<T> make_seed_network(std::size_t classes, const seed_network_options& o = {}) {
  HOUSENET_CHECK(classes >= 1, "make_seed_network: classes must be >= 1");
  sequential<T> net;
  const auto stage = [&](std::size_t width, std::size_t kernel, std::size_t pool) {
    net.template add<conv2d<T>>(width, kernel, 1, 0, true, o.init);
    net.template add<relu<T>>();
    net.template add<batch_norm2d<T>>(o.bn_decay, o.bn_eps);
    net.template add<max_pool2d<T>>(pool, pool, 0, true);
  };
  stage(o.c1, 7, 3);
  stage(o.c2, 5, 3);
  stage(o.c3, 3, 2);
  net.template add<linear<T>>(o.f7, true, o.init);
  net.template add<relu<T>>();
  net.template add<dropout<T>>(o.dropout, o.seed * 2 + 1);
  net.template add<linear<T>>(o.f8, true, o.init);
  net.template add<relu<T>>();
  net.template add<dropout<T>>(o.dropout, o.seed * 2 + 2);
  net.template add<linear<T>>(classes, true, o.init);
  if (o.initialize)
    net.setup(shape{1, 3, o.input_size, o.input_size}, o.seed);
  else
    net.setup_shapes(shape{1, 3, o.input_size, o.input_size});
  return net;
}

template <class T = float>
sequential<T> make_small_network(std::size_t classes, std::uint64_t seed = 0) {
  seed_network_options o = small_network_options();
  o.seed = seed;
  return make_seed_network<T>(classes, o);
}

struct two_conv_bn_options {
  std::size_t c1 = 32, c2 = 64, hidden = 128;  // conv widths, hidden fully connected width
  double dropout = 0.5;
  double bn_decay = 0.9, bn_eps = 1e-5;        // PyTorch's batch-norm defaults
  init_kind init = init_kind::lecun;
  std::uint64_t seed = 0;                      // parameter initialisation and the dropout mask
  std::size_t channels = 1, input_size = 28;   // input C x S x S
};

template <class T = float>
sequential<T> make_two_conv_bn_network(std::size_t classes = 10, const two_conv_bn_options& o = {}) {
  HOUSENET_CHECK(classes >= 1, "make_two_conv_bn_network: classes must be >= 1");
  HOUSENET_CHECK(o.input_size >= 4 && o.channels >= 1, "make_two_conv_bn_network: input ", o.channels, "x",
                 o.input_size, "x", o.input_size, " too small");
  sequential<T> net;
  for (std::size_t width : {o.c1, o.c2}) {
    net.template add<conv2d<T>>(width, 3, 1, 1, true, o.init);
    net.template add<relu<T>>();
    net.template add<batch_norm2d<T>>(o.bn_decay, o.bn_eps);
    net.template add<max_pool2d<T>>(2, 2);
  }
  net.template add<linear<T>>(o.hidden, true, o.init);
  net.template add<relu<T>>();
  net.template add<dropout<T>>(o.dropout, o.seed * 2 + 1);
  net.template add<linear<T>>(classes, true, o.init);
  net.setup(shape{1, o.channels, o.input_size, o.input_size}, o.seed);
  return net;
}

struct resnet20_options {
  std::size_t width = 16;                 // stage widths width, 2 width, 4 width
  std::size_t blocks = 3;                 // basic blocks per stage (3: ResNet-20; 5: ResNet-32 ...)
  double bn_decay = 0.9, bn_eps = 1e-5;   // PyTorch's batch-norm defaults
  init_kind init = init_kind::he;
  std::uint64_t seed = 0;                 // parameter initialisation
  std::size_t channels = 1, input_size = 28;  // input C x S x S
};

template <class T = float>
graph<T> make_resnet20(std::size_t classes = 10, const resnet20_options& o = {}) {
  HOUSENET_CHECK(classes >= 1, "make_resnet20: classes must be >= 1");
  HOUSENET_CHECK(o.width >= 1 && o.blocks >= 1, "make_resnet20: width and blocks must be >= 1");
  HOUSENET_CHECK(o.input_size >= 4 && o.channels >= 1, "make_resnet20: input ", o.channels, "x",
                 o.input_size, "x", o.input_size, " too small");
  graph<T> net;
  const auto conv_bn = [&](const from& in, std::size_t width, std::size_t kernel, std::size_t stride) {
    net.template add<conv2d<T>>(in, width, kernel, stride, kernel / 2, false, o.init);
    net.template add<batch_norm2d<T>>(o.bn_decay, o.bn_eps);
  };
  conv_bn(from{net.last()}, o.width, 3, 1);
  net.template add<relu<T>>();
  std::size_t in_width = o.width;
  for (std::size_t stage = 0; stage < 3; ++stage) {
    const std::size_t width = o.width << stage;
    for (std::size_t b = 0; b < o.blocks; ++b) {
      const std::size_t stride = stage > 0 && b == 0 ? 2 : 1;
      const node block_in = net.last();
      conv_bn(from{block_in}, width, 3, stride);
      net.template add<relu<T>>();
      conv_bn(from{net.last()}, width, 3, 1);
      const node main = net.last();
      node shortcut = block_in;
      if (stride != 1 || width != in_width) {
        conv_bn(from{block_in}, width, 1, stride);
        shortcut = net.last();
      }
      net.template add<add_layer<T>>(from{main, shortcut});
      net.template add<relu<T>>();
      in_width = width;
    }
  }
  net.template add<global_avg_pool<T>>();
  net.template add<linear<T>>(classes, true, o.init);
  net.setup(shape{1, o.channels, o.input_size, o.input_size}, o.seed);
  return net;
}

HOUSENET_END_NAMESPACE

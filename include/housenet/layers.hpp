// housenet/layers.hpp: umbrella of the layer headers (every layer kind and make_layer).
#pragma once

#include "layers/layer.hpp"
#include "layers/conv2d.hpp"
#include "layers/batch_norm2d.hpp"
#include "layers/max_pool2d.hpp"
#include "layers/avg_pool2d.hpp"
#include "layers/global_avg_pool.hpp"
#include "layers/relu.hpp"
#include "layers/leaky_relu.hpp"
#include "layers/sigmoid.hpp"
#include "layers/tanh.hpp"
#include "layers/dropout.hpp"
#include "layers/linear.hpp"
#include "layers/flatten.hpp"
#include "layers/add.hpp"
#include "layers/concat.hpp"
#include "layers/factory.hpp"

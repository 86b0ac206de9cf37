// housenet/housenet.hpp: the umbrella header. Includes the library's numeric core; the image and
// cascade headers are included by housenet/vision.hpp so that numeric code compiles quickly.
#pragma once

#include "version.hpp"
#include "config.hpp"
#include "error.hpp"
#include "tensor.hpp"
#include "random.hpp"
#include "parallel.hpp"
#include "conv_algorithm.hpp"
#include "layers.hpp"
#include "loss.hpp"
#include "graph.hpp"
#include "sequential.hpp"
#include "optim.hpp"
#include "schedule.hpp"
#include "augment.hpp"
#include "networks.hpp"
#include "model_io.hpp"
#include "onnx.hpp"
#include "ensemble_io.hpp"
#include "predict.hpp"
#include "testing.hpp"

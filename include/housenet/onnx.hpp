// housenet/onnx.hpp: ONNX files (docs/onnx.md): save_onnx / model_to_onnx (onnx/export.hpp),
// on the project's own protobuf wire-format writer and reader (onnx/protobuf.hpp).
#pragma once

#include "onnx/export.hpp"
#include "onnx/protobuf.hpp"

// housenet/onnx.hpp: ONNX files (docs/onnx.md): save_onnx / model_to_onnx (onnx/export.hpp),
// load_onnx / onnx_from_bytes (onnx/import.hpp), on the project's own protobuf wire-format writer and reader (onnx/protobuf.hpp).
#pragma once

#include "onnx/export.hpp"
#include "onnx/import.hpp"
#include "onnx/protobuf.hpp"

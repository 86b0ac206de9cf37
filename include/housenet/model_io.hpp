// housenet/model_io.hpp: the housenet model file (save / load) and training checkpoints.
//
// WHAT THIS IS
//   One versioned, checksummed, little-endian container (docs/model-format.md has the byte layout):
//     "HSNT" | u32 format_version | u32 flags | u64 header_bytes | header | records | u32 crc32
//   The header (UTF-8 key=value lines) carries the architecture (one "layer=" line per layer:
//   kind/version and config), so load() rebuilds the network from the file alone (through a
//   layer_registry, layers/factory.hpp: the built-in one unless the caller passes its own);
//   the records carry every parameter (batch-norm running statistics included) as float32.
//   A checkpoint (flags bit 0) adds the optimizer's state, the step / epoch counters and free
//   key=value metadata, so that training can resume bit-identically.
//
//     save_model(net, {"gryffindor", ...}, "model.hsnt");
//     loaded_model<float> m = load_model("model.hsnt");      // m.model, m.info.labels
//     loaded_model<float> p = load_model("prelu.hsnt", my_layers);  // with layers of one's own
//     save_checkpoint("ckpt.hsnt", net, opt, labels, {epoch, step, {{"rng", "..."}}});
//     loaded_checkpoint<float> c = load_checkpoint("ckpt.hsnt", opt);  // fills opt's state
//
// REQUIRES  a set-up model; labels either empty or one per output class, each non-empty without
//           ',' or control characters; metadata keys [A-Za-z0-9_.-]+, values without newlines.
// ENSURES   Writing is atomic: a temporary file in the same directory, fsync, then rename; on
//           failure nothing is left behind and the old file (if any) is intact.
//           Reading checks the magic, the version range, every length against the remaining bytes
//           before allocating, the CRC, and every record's dims against the rebuilt layer's
//           shapes, and builds a FRESH model: a failure leaves every caller object untouched
//           (load_model(path, model) swaps only on success; load_checkpoint sets the optimizer's
//           state only on success). A loaded model is in eval mode; a loaded checkpoint's model is
//           in train mode with its step counter restored.
//           Every error is one housenet::error line that names the file, e.g.
//             "model.hsnt: format version 3 not supported (this build reads 1)"
//             "model.hsnt: checksum mismatch (file damaged?)"
//             "model.hsnt: truncated at byte 1234 (...)"
//             "model.hsnt: not a housenet model file"
// FILES (this header includes them all)
//   model_io/format.hpp       the container: bytes <-> model (encode, decode, every check)
//   model_io/model_file.hpp   save_model / load_model / model_to_bytes / model_from_bytes
//   model_io/checkpoint.hpp   save_checkpoint / load_checkpoint / checkpoint_*_bytes
//   file_io.hpp               the atomic writer and the bounded reader (not model-specific)
// THREAD SAFETY: free functions; the model and optimizer must not be used by another thread
//   during a call.
#pragma once

#include "model_io/checkpoint.hpp"
#include "model_io/format.hpp"
#include "model_io/model_file.hpp"

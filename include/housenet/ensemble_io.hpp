// housenet/ensemble_io.hpp: an ensemble of models in one .hsnt file (docs/model-format.md).
//
// WHAT THIS IS
//   The model container (model_io.hpp) with flags bit 1 (model_flag_ensemble): a short header,
//   then each member as a complete single-model file, then the CRC-32 of everything before it:
//     "HSNT" | u32 format_version (1) | u32 flags (2) | u64 header_bytes | header
//            | (u64 member_bytes | a model file) x members | u32 crc32
//   header, in this order:  housenet_version=...  payload_bytes=...  members=M
//                           combine=mean_probabilities
//   The members answer together: the mean of their class probabilities (predict.hpp).
//
//     save_ensemble(members, {"gryffindor", ...}, "houses.hsnt");
//     loaded_ensemble<float> e = load_ensemble("houses.hsnt");   // e.members, e.info.labels
//     loaded_ensemble<float> o = load_ensemble("mine.hsnt", my_layers);  // layers of one's own
//     predict_probabilities(e.members, x, probs, {/*flip=*/true});
//
//   load_ensemble / ensemble_from_bytes read BOTH kinds of file: a single-model file gives an
//   ensemble of one member (is_ensemble false). Any reader of format version 1 that predates
//   ensembles refuses an ensemble file ("unknown flags 0x2"); load_model says "an ensemble of
//   models, not one model" and points here.
//
// REQUIRES  1..max_ensemble_members set-up members with the same input shape and output size;
//           labels as for save_model.
// ENSURES   Writing is atomic (model_io's writer: temporary file, fsync, rename), streamed one
//           member at a time. Reading checks the magic, version, flags, header (keys in order),
//           payload_bytes against the size, the CRC, then every member's length against the bytes
//           that remain BEFORE it is decoded by the single-model reader (itself bounded: nothing is
//           allocated beyond what the member's bytes can hold); members must be plain models (no
//           checkpoint, no nested ensemble) with one input shape, class count and label list.
//           Errors: one housenet::error naming the file, e.g.
//             "houses.hsnt: member 3 of 5: checksum mismatch (file damaged?)"
//             "houses.hsnt: member 2 has 3 classes, member 1 has 4"
// THREAD SAFETY: free functions; the members must not be used by another thread during a call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "detail/binary_io.hpp"
#include "detail/crc32.hpp"
#include "error.hpp"
#include "file_io.hpp"
#include "layers/factory.hpp"
#include "model_io.hpp"
#include "sequential.hpp"
#include "version.hpp"

HOUSENET_BEGIN_NAMESPACE

constexpr std::size_t max_ensemble_members = 64;
// The container's format_version: 1 whatever the members' (a chain member is a version-1 file, a
// graph member a version-2 file, each read by the single-model reader).
constexpr std::uint32_t ensemble_format_version = 1;

template <class T = float>
struct loaded_ensemble {
  std::vector<sequential<T>> members;  // in the file's order; eval mode
  model_info info;                     // member 1's: labels, classes, input, writer version
  bool is_ensemble = false;            // an ensemble file (false: a single-model file)
  std::vector<std::pair<std::string, std::string>> header;  // the ensemble header's lines
};

namespace detail {

inline std::string ensemble_header(std::size_t members, std::uint64_t payload) {
  return "housenet_version=" + std::string(HOUSENET_VERSION_STRING) + "\npayload_bytes=" +
         std::to_string(payload) + "\nmembers=" + std::to_string(members) + "\ncombine=mean_probabilities\n";
}

// The file's bytes, handed to emit(p, n) in order (the CRC last); one member encoded at a time.
template <class T, class Emit>
void encode_ensemble_to(const std::vector<sequential<T>>& members, const std::vector<std::string>& labels,
                        Emit&& emit) {
  HOUSENET_CHECK(!members.empty() && members.size() <= max_ensemble_members, "model: an ensemble of ",
                 members.size(), " models (1..", max_ensemble_members, ")");
  for (std::size_t m = 0; m < members.size(); ++m) {
    HOUSENET_CHECK(members[m].is_setup(), "model: ensemble member ", m + 1, " is not set up");
    HOUSENET_CHECK(members[m].input_shape() == members[0].input_shape() &&
                       members[m].output_shape().sample_size() == members[0].output_shape().sample_size(),
                   "model: ensemble member ", m + 1, " maps ", members[m].input_shape().str(), " to ",
                   members[m].output_shape().sample_size(), " classes, member 1 ", members[0].input_shape().str(),
                   " to ", members[0].output_shape().sample_size());
  }
  std::vector<std::uint64_t> sizes;  // a counting pass: the header states the payload's size
  std::uint64_t payload = 4;
  for (const sequential<T>& m : members) {
    std::uint64_t n = 0;
    encode_to(m, labels, 0, {}, {}, [&](const std::uint8_t*, std::size_t k) { n += k; });
    sizes.push_back(n);
    payload += 8 + n;
  }
  const std::string h = ensemble_header(members.size(), payload);
  std::uint32_t crc = 0;
  const auto out = [&](const std::uint8_t* p, std::size_t n) {
    crc = crc32_update(crc, p, n);
    emit(p, n);
  };
  byte_writer w;
  w.str("HSNT");
  w.u32(ensemble_format_version);
  w.u32(model_flag_ensemble);
  w.u64(h.size());
  w.str(h);
  out(w.bytes().data(), w.size());
  for (std::size_t m = 0; m < members.size(); ++m) {
    w.bytes().clear();
    w.u64(sizes[m]);
    out(w.bytes().data(), w.size());
    encode_to(members[m], labels, 0, {}, {}, out);
  }
  w.bytes().clear();
  w.u32(crc);
  emit(w.bytes().data(), w.size());
}

// True when data is a container this build reads with the ensemble flag set (the rest is then
// for decode_ensemble to check); false sends the bytes to the single-model reader.
inline bool is_ensemble_container(const std::uint8_t* data, std::size_t size) {
  if (size < 12 || std::memcmp(data, "HSNT", 4) != 0) return false;  // magic, version, flags
  byte_reader r(data, size, "");
  r.skip(4);
  const std::uint32_t version = r.u32();
  const std::uint32_t flags = r.u32();
  return version >= model_format_min_version && version <= model_format_version && (flags & model_flag_ensemble);
}

template <class T>
loaded_ensemble<T> decode_ensemble(const std::uint8_t* data, std::size_t size, const std::string& f,
                                   const layer_registry<T>& layers) {
  byte_reader r(data, size, f);
  r.skip(4);
  r.set_context("fixed header ");
  const std::uint32_t version = r.u32();
  HOUSENET_CHECK(version == ensemble_format_version, f, ": an ensemble file of format version ", version,
                 " (this build reads ensembles of version ", ensemble_format_version, ")");
  const std::uint32_t flags = r.u32();
  HOUSENET_CHECK(flags == model_flag_ensemble, f, ": unknown flags 0x", std::hex, flags,
                 " (an ensemble file has exactly 0x2)");
  const std::uint64_t header_bytes = r.u64();
  HOUSENET_CHECK(header_bytes <= model_max_header, f, ": header of ", header_bytes,
                 " bytes is larger than the limit of ", model_max_header, " (file damaged?)");
  r.set_context("header ");
  r.need(header_bytes + 4);
  const std::string header = r.str(header_bytes);

  loaded_ensemble<T> out;
  out.is_ensemble = true;
  for (std::size_t b = 0; b < header.size();) {
    const std::size_t e = header.find('\n', b);
    HOUSENET_CHECK(e != std::string::npos, f, ": header does not end with a newline");
    const std::string line = header.substr(b, e - b);
    const std::size_t eq = line.find('=');
    HOUSENET_CHECK(eq != std::string::npos && eq > 0, f, ": header line ", out.header.size() + 1,
                   " is not key=value");
    for (unsigned char c : line)
      HOUSENET_CHECK(c >= 0x20 && c != 0x7F, f, ": header line ", out.header.size() + 1, " has a control character");
    out.header.emplace_back(line.substr(0, eq), line.substr(eq + 1));
    b = e + 1;
  }
  static const char* const keys[] = {"housenet_version", "payload_bytes", "members", "combine"};
  HOUSENET_CHECK(out.header.size() == 4, f, ": an ensemble header has 4 lines, this one ", out.header.size());
  for (std::size_t i = 0; i < 4; ++i)
    HOUSENET_CHECK(out.header[i].first == keys[i], f, ": header line ", i + 1, ": expected '", keys[i],
                   "=...', found '", out.header[i].first, "'");
  std::uint64_t payload = 0, count = 0;
  HOUSENET_CHECK(parse_u64(out.header[1].second, payload), f, ": header: payload_bytes='", out.header[1].second,
                 "' is not an integer");
  const std::uint64_t expect = model_fixed_bytes + header_bytes;
  HOUSENET_CHECK(payload <= std::uint64_t(size) - expect, f, ": truncated at byte ", size,
                 " (the header announces ", expect + payload, " bytes)");
  HOUSENET_CHECK(payload == std::uint64_t(size) - expect, f, ": ", std::uint64_t(size) - expect - payload,
                 " unexpected bytes after the checksum (the header announces ", expect + payload, " bytes)");
  std::uint32_t stored = 0;
  for (int i = 0; i < 4; ++i) stored |= std::uint32_t(data[size - 4 + std::size_t(i)]) << (8 * i);
  HOUSENET_CHECK(crc32(data, size - 4) == stored, f, ": checksum mismatch (file damaged?)");
  HOUSENET_CHECK(parse_u64(out.header[2].second, count) && count >= 1 && count <= max_ensemble_members, f,
                 ": header: members='", out.header[2].second, "' is not an integer in 1..", max_ensemble_members);
  HOUSENET_CHECK(out.header[3].second == "mean_probabilities", f, ": header: combine='", out.header[3].second,
                 "' not supported (this build reads mean_probabilities)");

  byte_reader rr(data, size - 4, f, size);  // the members, up to the checksum
  rr.skip(r.pos());
  for (std::uint64_t m = 0; m < count; ++m) {
    rr.set_context(concat("member ", m + 1, " length "));
    const std::uint64_t n = rr.u64();
    rr.set_context(concat("member ", m + 1, " "));
    rr.need(n);
    const std::string who = concat(f, ": member ", m + 1, " of ", count);
    loaded_model<T> lm = model_from_bytes<T>(rr.here(), std::size_t(n), who, layers);
    rr.skip(std::size_t(n));
    HOUSENET_CHECK(lm.info.flags == 0, who, ": a training checkpoint, not a model");
    if (m == 0) {
      out.info = std::move(lm.info);
    } else {
      HOUSENET_CHECK(lm.info.input == out.info.input, f, ": member ", m + 1, " takes ", lm.info.input.str(),
                     ", member 1 ", out.info.input.str());
      HOUSENET_CHECK(lm.info.classes == out.info.classes, f, ": member ", m + 1, " has ", lm.info.classes,
                     " classes, member 1 has ", out.info.classes);
      HOUSENET_CHECK(lm.info.labels == out.info.labels, f, ": member ", m + 1,
                     " has other labels than member 1");
    }
    out.members.push_back(std::move(lm.model));
  }
  HOUSENET_CHECK(rr.remaining() == 0, f, ": ", rr.remaining(), " unexpected bytes after member ", count,
                 " (at byte ", rr.pos(), ")");
  return out;
}

}  // namespace detail

// The bytes of an ensemble file.
template <class T>
std::vector<std::uint8_t> ensemble_to_bytes(const std::vector<sequential<T>>& members,
                                            const std::vector<std::string>& labels = {}) {
  std::vector<std::uint8_t> out;
  detail::encode_ensemble_to(members, labels, [&](const std::uint8_t* p, std::size_t n) { out.insert(out.end(), p, p + n); });
  return out;
}

// Writes an ensemble file atomically, streamed one member at a time.
template <class T>
void save_ensemble(const std::vector<sequential<T>>& members, const std::vector<std::string>& labels,
                   const std::string& path) {
  write_file_atomic_with(path, [&](const auto& write) { detail::encode_ensemble_to(members, labels, write); });
}

// An ensemble file, or a single-model file as an ensemble of one. `layers` rebuilds the members'
// layers (a program with layers of its own passes its registry, as to load_model).
template <class T = float>
loaded_ensemble<T> ensemble_from_bytes(const void* data, std::size_t size, const std::string& name = "<memory>",
                                       const layer_registry<T>& layers = builtin_layers<T>()) {
  static const std::uint8_t empty = 0;
  const std::uint8_t* p = size ? static_cast<const std::uint8_t*>(data) : &empty;
  if (detail::is_ensemble_container(p, size)) return detail::decode_ensemble<T>(p, size, name, layers);
  loaded_model<T> m = model_from_bytes<T>(p, size, name, layers);
  loaded_ensemble<T> out;
  out.info = std::move(m.info);
  out.members.push_back(std::move(m.model));
  return out;
}

template <class T = float>
loaded_ensemble<T> load_ensemble(const std::string& path, const layer_registry<T>& layers = builtin_layers<T>()) {
  const std::vector<std::uint8_t> b = detail::read_model_file(path);
  return ensemble_from_bytes<T>(b.data(), b.size(), path, layers);
}

HOUSENET_END_NAMESPACE

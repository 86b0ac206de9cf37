// housenet/model_io/format.hpp: the .hsnt container: a model (and a checkpoint's extras) to bytes
// and back. docs/model-format.md is the byte layout; this file is its one implementation.
//
// WHAT THIS IS
//     "HSNT" | u32 format_version | u32 flags | u64 header_bytes | header | records | u32 crc32
//   model_format_version, model_format_min_version, model_flag_checkpoint, model_flag_ensemble
//   (read by ensemble_io.hpp; here refused with a pointer to it), model_info (public)
//   detail::encode_to(model, labels, flags, extra_header, opt_state, emit)
//       the file's bytes, streamed to emit(p, n) in order, the CRC last; pieces: label_line,
//       collect_records, header_text
//   detail::encode(...)          the same into one vector
//   detail::decode<T>(data, size, name, layers) -> decoded<T>   (layers: the layer registry)
//       checks and reads, in this order (each step one function below): the fixed header
//       (read_fixed_header), the size against payload_bytes and the CRC (check_size_and_crc),
//       the header lines (split_header_lines, then read_model_header and read_layers with a
//       header_cursor; a graph's layer lines carry from=<nodes>, format version 2), the shapes (before the arena is allocated), the records (read_records).
//       The model is built and filled; a checkpoint's optimizer records and extra header lines
//       are handed back for model_io/checkpoint.hpp.
//   Every error is one housenet::error naming the file (`name`). model_io/model_file.hpp and
//   model_io/checkpoint.hpp are the public entry points.
//
//   Not API (detail), except the constants and model_info.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ios>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../detail/binary_io.hpp"
#include "../detail/crc32.hpp"
#include "../error.hpp"
#include "../layers/factory.hpp"
#include "../graph.hpp"
#include "../version.hpp"

HOUSENET_BEGIN_NAMESPACE

// The newest format this build writes, and the range it reads. A model that is a chain is
// written as version 1 (what every earlier build reads); version 2 adds the inputs of a graph's
// layers ("from=" on a layer line).
constexpr std::uint32_t model_format_version = 2;
constexpr std::uint32_t model_format_min_version = 1;
constexpr std::uint32_t model_format_chain_version = 1;
constexpr std::uint32_t model_flag_checkpoint = 1u;  // flags bit 0: a training checkpoint
constexpr std::uint32_t model_flag_ensemble = 2u;    // flags bit 1: an ensemble (ensemble_io.hpp)

// What a file says besides the parameters.
struct model_info {
  std::vector<std::string> labels;  // empty when the file has none
  std::size_t classes = 0;          // output size of the network
  shape input;                      // 1 x C x H x W (or 1 x F)
  std::string housenet_version;     // of the writer
  std::uint32_t format_version = 0;
  std::uint32_t flags = 0;
  std::vector<std::pair<std::string, std::string>> header;  // every header line, in order
};

namespace detail {

constexpr std::size_t model_fixed_bytes = 20;   // magic, version, flags, header_bytes
constexpr std::uint64_t model_max_header = std::uint64_t(1) << 24;
constexpr std::uint32_t model_max_name = 4096;

using header_lines = std::vector<std::pair<std::string, std::string>>;

inline std::string sample_dims(const shape& s) {  // 1x3x100x100 -> 3x100x100
  std::string r;
  for (std::size_t i = 1; i < s.rank(); ++i) r += (i > 1 ? "x" : "") + std::to_string(s[i]);
  return r;
}

inline bool valid_token(const std::string& s, bool allow_equals) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (c <= ' ' || c == 0x7F || (!allow_equals && c == '=')) return false;
  return true;
}

// Unsigned decimal without sign, spaces or overflow; false otherwise.
inline bool parse_u64(const std::string& s, std::uint64_t& v) {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t r = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const std::uint64_t d = std::uint64_t(c - '0');
    if (r > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
    r = r * 10 + d;
  }
  v = r;
  return true;
}

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t b = 0;
  for (;;) {
    const std::size_t e = s.find(sep, b);
    out.push_back(s.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  return out;
}

// ---- encoding ------------------------------------------------------------------------------------

// The "labels=" value: labels joined by ','; empty, or one per output class.
inline std::string label_line(const std::vector<std::string>& labels, std::size_t classes) {
  HOUSENET_CHECK(labels.empty() || labels.size() == classes, "model: ", labels.size(),
                 " labels for a network with ", classes, " outputs");
  std::string line;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::string& l = labels[i];
    bool ok = !l.empty();
    for (unsigned char c : l) ok = ok && c >= 0x20 && c != 0x7F && c != ',';
    HOUSENET_CHECK(ok, "model: label ", i, " '", l, "' is empty or contains ',' or a control character");
    line += (i ? "," : "") + l;
  }
  return line;
}

// One record: a name, its dims, the values (float32 in the file).
template <class T>
struct record_ref {
  std::string name;
  shape s;
  const T* data;
};

// The records in file order: every parameter (layer order), then each optimizer state's
// trainable parameters as "optimizer.<state>.<param>".
template <class T>
std::vector<record_ref<T>> collect_records(const graph<T>& model,
                                           const std::vector<std::pair<std::string, const tensor<T>*>>& opt_state) {
  std::vector<record_ref<T>> records;
  const T* arena = model.values().data();
  for (const param_info& p : model.parameters()) records.push_back({p.name, p.spec.shape, arena + p.offset});
  for (const auto& st : opt_state) {
    HOUSENET_CHECK(st.second->size() == model.trainable_size(), "model: optimizer state '", st.first,
                   "' has ", st.second->size(), " values, the model ", model.trainable_size());
    for (const param_info& p : model.parameters())
      if (p.spec.trainable)
        records.push_back({"optimizer." + st.first + "." + p.name, p.spec.shape, st.second->data() + p.offset});
  }
  return records;
}

// The header text: the required keys in their order, one "layer=" line per layer, then the
// caller's extra lines (a checkpoint's).
template <class T>
std::string header_text(const graph<T>& model, const std::string& labels, std::size_t record_bytes,
                        std::size_t nrecords, const header_lines& extra_header) {
  std::string h;
  const auto kv = [&](const std::string& k, const std::string& v) { h += k + "=" + v + "\n"; };
  kv("housenet_version", HOUSENET_VERSION_STRING);
  kv("dtype", "f32");
  kv("byte_order", "little");
  kv("payload_bytes", std::to_string(record_bytes + 4));
  kv("input", sample_dims(model.input_shape()));
  kv("classes", std::to_string(model.output_shape().sample_size()));
  kv("labels", labels);
  kv("layers", std::to_string(model.size()));
  for (std::size_t i = 0; i < model.size(); ++i) {
    const layer<T>& l = model[i];
    std::string line = l.kind() + "/" + std::to_string(l.version());
    HOUSENET_CHECK(valid_token(l.kind(), false), "model: layer kind '", l.kind(), "' cannot be saved");
    for (const auto& c : l.config()) {
      HOUSENET_CHECK(valid_token(c.first, false) && valid_token(c.second, true), "model: ",
                     l.name(), ": config '", c.first, "=", c.second, "' cannot be saved (spaces?)");
      HOUSENET_CHECK(c.first != "from", "model: ", l.name(), ": config key 'from' cannot be saved (the file's name for a layer's inputs)");
      line += " " + c.first + "=" + c.second;
    }
    if (!model.is_chain()) {
      std::string ids;
      for (std::size_t id : model.inputs_of(i)) ids += (ids.empty() ? "" : ",") + std::to_string(id);
      line += " from=" + ids;
    }
    kv("layer", line);
  }
  kv("records", std::to_string(nrecords));
  kv("model_step", std::to_string(model.step()));
  for (const auto& e : extra_header) kv(e.first, e.second);
  return h;
}

// Encodes a model (and optionally checkpoint data) as the file's bytes, handed to
// emit(const std::uint8_t* p, std::size_t n) in order, the CRC last. The records are converted
// 16 K values at a time: a 485 MB checkpoint never exists as one buffer.
template <class T, class Emit>
void encode_to(const graph<T>& model, const std::vector<std::string>& labels, std::uint32_t flags,
               const header_lines& extra_header,
               const std::vector<std::pair<std::string, const tensor<T>*>>& opt_state, Emit&& emit) {
  HOUSENET_CHECK(model.is_setup(), "model: save of a model that is not set up");
  const std::string labels_value = label_line(labels, model.output_shape().sample_size());
  const std::vector<record_ref<T>> records = collect_records(model, opt_state);
  std::size_t record_bytes = 0;
  for (const record_ref<T>& r : records) record_bytes += 4 + r.name.size() + 4 + 8 * r.s.rank() + 4 * r.s.size();
  const std::string h = header_text(model, labels_value, record_bytes, records.size(), extra_header);

  // ---- the bytes, with a running CRC
  std::uint32_t crc = 0;
  const auto put = [&](byte_writer& w) {
    crc = crc32_update(crc, w.bytes().data(), w.size());
    emit(static_cast<const std::uint8_t*>(w.bytes().data()), w.size());
    w.bytes().clear();
  };
  byte_writer w;
  w.str("HSNT");
  w.u32(model.is_chain() ? model_format_chain_version : model_format_version);
  w.u32(flags);
  w.u64(h.size());
  w.str(h);
  put(w);
  constexpr std::size_t chunk = 16384;
  for (const record_ref<T>& r : records) {
    w.u32(std::uint32_t(r.name.size()));
    w.str(r.name);
    w.u32(std::uint32_t(r.s.rank()));
    for (std::size_t d = 0; d < r.s.rank(); ++d) w.u64(r.s[d]);
    const std::size_t n = r.s.size();
    for (std::size_t i = 0; i < n; i += chunk) {
      const std::size_t e = std::min(n, i + chunk);
      w.f32_array(r.data + i, e - i);
      put(w);
    }
    put(w);
  }
  w.u32(crc);
  emit(static_cast<const std::uint8_t*>(w.bytes().data()), w.size());
}

template <class T>
std::vector<std::uint8_t> encode(const graph<T>& model, const std::vector<std::string>& labels,
                                 std::uint32_t flags, const header_lines& extra_header,
                                 const std::vector<std::pair<std::string, const tensor<T>*>>& opt_state) {
  std::vector<std::uint8_t> out;
  encode_to(model, labels, flags, extra_header, opt_state,
            [&](const std::uint8_t* p, std::size_t n) { out.insert(out.end(), p, p + n); });
  return out;
}

// ---- decoding ------------------------------------------------------------------------------------

// The decoded container; the model is built and filled, optimizer records are kept aside.
template <class T>
struct decoded {
  graph<T> model;
  model_info info;
  header_lines extra;                                                   // header keys after model_step
  std::vector<std::pair<std::string, std::vector<float>>> opt_records;  // "optimizer.*" records
  std::vector<shape> opt_shapes;
};

// The 20 fixed bytes and the header text.
struct fixed_header {
  std::uint32_t version = 0, flags = 0;
  std::uint64_t header_bytes = 0;
  std::string header;
  std::size_t end = 0;  // offset of the first record
};

inline fixed_header read_fixed_header(const std::uint8_t* data, std::size_t size, const std::string& f) {
  static const char magic[4] = {'H', 'S', 'N', 'T'};
  if (size < 4) {
    const bool prefix = std::memcmp(data, magic, size) == 0;
    HOUSENET_CHECK(!prefix || size == 0, f, ": truncated at byte ", size,
                   " (a housenet model file starts with the 4 bytes 'HSNT')");
    fail(concat(f, ": not a housenet model file", size == 0 ? " (empty)" : ""));
  }
  HOUSENET_CHECK(std::memcmp(data, magic, 4) == 0, f, ": not a housenet model file (it does not start with 'HSNT')");
  fixed_header fh;
  byte_reader r(data, size, f);
  r.skip(4);
  r.set_context("fixed header ");
  fh.version = r.u32();
  HOUSENET_CHECK(fh.version >= model_format_min_version && fh.version <= model_format_version, f,
                 ": format version ", fh.version, " not supported (this build reads ",
                 model_format_min_version == model_format_version
                     ? std::to_string(model_format_version)
                     : std::to_string(model_format_min_version) + "-" + std::to_string(model_format_version),
                 ")");
  fh.flags = r.u32();
  HOUSENET_CHECK(fh.flags != model_flag_ensemble, f, ": an ensemble of models, not one model (read it with "
                 "load_ensemble, housenet/ensemble_io.hpp)");
  HOUSENET_CHECK((fh.flags & ~model_flag_checkpoint) == 0, f, ": unknown flags 0x", std::hex, fh.flags,
                 " (this build knows 0x1: checkpoint)");
  fh.header_bytes = r.u64();
  HOUSENET_CHECK(fh.header_bytes <= model_max_header, f, ": header of ", fh.header_bytes,
                 " bytes is larger than the limit of ", model_max_header, " (file damaged?)");
  r.set_context("header ");
  r.need(fh.header_bytes + 4);  // header + at least the checksum
  fh.header = r.str(fh.header_bytes);
  fh.end = r.pos();
  return fh;
}

// The total size from payload_bytes (so that a truncated file says so), then the checksum.
// Returns payload_bytes.
inline std::uint64_t check_size_and_crc(const std::uint8_t* data, std::size_t size, const std::string& f,
                                        const fixed_header& fh) {
  const std::string& header = fh.header;
  std::uint64_t payload = 0;
  bool have_payload = false;
  {
    const std::string key = "\npayload_bytes=";
    const std::size_t at = ("\n" + header).find(key);
    if (at != std::string::npos) {
      const std::size_t b = at + key.size() - 1;
      const std::size_t e = header.find('\n', b);
      have_payload = e != std::string::npos && parse_u64(header.substr(b, e - b), payload);
    }
  }
  if (have_payload) {
    const std::uint64_t expect = model_fixed_bytes + fh.header_bytes;
    HOUSENET_CHECK(payload <= std::uint64_t(size) - expect, f, ": truncated at byte ", size,
                   " (the header announces ", expect + payload, " bytes)");
    HOUSENET_CHECK(payload == std::uint64_t(size) - expect, f, ": ", std::uint64_t(size) - expect - payload,
                   " unexpected bytes after the checksum (the header announces ", expect + payload,
                   " bytes)");
  }
  std::uint32_t stored = 0;
  for (int i = 0; i < 4; ++i) stored |= std::uint32_t(data[size - 4 + std::size_t(i)]) << (8 * i);
  HOUSENET_CHECK(crc32(data, size - 4) == stored, f, ": checksum mismatch (file damaged?)");
  HOUSENET_CHECK(have_payload, f, ": header has no valid payload_bytes line");
  return payload;
}

// The header text as key=value lines, in order.
inline header_lines split_header_lines(const std::string& header, const std::string& f) {
  header_lines lines;
  HOUSENET_CHECK(!header.empty() && header.back() == '\n', f, ": header does not end with a newline");
  for (std::size_t b = 0; b < header.size();) {
    const std::size_t e = header.find('\n', b);
    const std::string line = header.substr(b, e - b);
    const std::size_t eq = line.find('=');
    HOUSENET_CHECK(eq != std::string::npos && eq > 0, f, ": header line ", lines.size() + 1,
                   " is not key=value");
    for (unsigned char c : line) HOUSENET_CHECK(c != 0 && c != '\r', f, ": header line ",
                                                 lines.size() + 1, " has a control character");
    lines.emplace_back(line.substr(0, eq), line.substr(eq + 1));
    b = e + 1;
  }
  return lines;
}

// Reads the required header keys, which come first, in their order.
struct header_cursor {
  const header_lines& lines;
  const std::string& f;
  std::size_t pos = 0;

  const std::string& expect_key(const char* key) {
    HOUSENET_CHECK(pos < lines.size() && lines[pos].first == key, f,
                   ": header line ", pos + 1, ": expected '", key, "=...', found '",
                   pos < lines.size() ? lines[pos].first : std::string("end of header"), "'");
    return lines[pos++].second;
  }
  std::uint64_t expect_u64(const char* key, std::uint64_t lo, std::uint64_t hi) {
    const std::string& v = expect_key(key);
    std::uint64_t x = 0;
    HOUSENET_CHECK(parse_u64(v, x) && x >= lo && x <= hi, f, ": header: ", key, "='", v,
                   "' is not an integer in ", lo, "..", hi);
    return x;
  }
};

// housenet_version .. labels: what model_info says besides the architecture.
inline void read_model_header(header_cursor& h, model_info& info) {
  const std::string& f = h.f;
  info.housenet_version = h.expect_key("housenet_version");
  const std::string& dtype = h.expect_key("dtype");
  HOUSENET_CHECK(dtype == "f32", f, ": dtype '", dtype, "' not supported (this build reads f32)");
  const std::string& order = h.expect_key("byte_order");
  HOUSENET_CHECK(order == "little", f, ": byte_order '", order, "' not supported (this build reads little)");
  h.expect_u64("payload_bytes", 0, ~std::uint64_t(0));
  {
    const std::string& v = h.expect_key("input");
    const auto parts = split(v, 'x');
    bool ok = !parts.empty() && parts.size() <= 3;
    std::vector<std::size_t> dims{1};
    std::uint64_t total = 1;
    for (const auto& p : parts) {
      std::uint64_t d = 0;
      ok = ok && parse_u64(p, d) && d >= 1 && d <= (1u << 20);
      if (ok) {
        total *= d;
        ok = total <= (std::uint64_t(1) << 32) && total <= std::size_t(-1);
        dims.push_back(std::size_t(d));
      }
    }
    HOUSENET_CHECK(ok, f, ": header: input='", v, "' is not CxHxW or F");
    info.input = shape::from_range(dims.begin(), dims.end());
  }
  info.classes = std::size_t(h.expect_u64("classes", 1, std::min<std::uint64_t>(std::uint64_t(1) << 32, std::size_t(-1))));
  {
    const std::string& v = h.expect_key("labels");
    if (!v.empty()) info.labels = split(v, ',');
    for (const auto& l : info.labels) HOUSENET_CHECK(!l.empty(), f, ": header: empty label in '", v, "'");
    HOUSENET_CHECK(info.labels.empty() || info.labels.size() == info.classes, f, ": header: ",
                   info.labels.size(), " labels for ", info.classes, " classes");
  }
}

// "layers=N" and the N "layer=kind/version key=value ..." lines: the architecture, rebuilt into
// model (the registry's make for each line).
template <class T>
void read_layers(header_cursor& h, graph<T>& model, const layer_registry<T>& layers, std::uint32_t version) {
  const std::string& f = h.f;
  const std::uint64_t nlayers = h.expect_u64("layers", 1, 100000);
  for (std::uint64_t i = 0; i < nlayers; ++i) {
    const std::string& v = h.expect_key("layer");
    const auto tokens = split(v, ' ');
    // (bounded: the registry's duplicate-key check is quadratic in the number of keys)
    HOUSENET_CHECK(tokens.size() <= 65, f, ": layer ", i + 1, ": ", tokens.size() - 1,
                   " key=value items (at most 64)");
    const std::size_t slash = tokens[0].find('/');
    std::uint64_t lv = 0;
    HOUSENET_CHECK(slash != std::string::npos && slash > 0 &&
                       parse_u64(tokens[0].substr(slash + 1), lv) && lv <= 1000000,
                   f, ": layer ", i + 1, ": '", tokens[0], "' is not kind/version");
    layer_config cfg;
    std::vector<node> inputs{node{std::size_t(i)}};  // a chain's: the previous layer's output
    bool have_from = false;
    for (std::size_t t = 1; t < tokens.size(); ++t) {
      const std::size_t eq = tokens[t].find('=');
      HOUSENET_CHECK(eq != std::string::npos && eq > 0, f, ": layer ", i + 1, ": '", tokens[t],
                     "' is not key=value");
      if (tokens[t].compare(0, eq, "from") == 0) {
        HOUSENET_CHECK(version >= 2, f, ": layer ", i + 1, ": 'from=' (a graph) needs format version 2, the file says ", version);
        HOUSENET_CHECK(!have_from, f, ": layer ", i + 1, ": 'from=' given twice");
        have_from = true;
        inputs.clear();
        for (const std::string& id : split(tokens[t].substr(eq + 1), ',')) {
          std::uint64_t v = 0;
          HOUSENET_CHECK(parse_u64(id, v) && v <= i, f, ": layer ", i + 1, ": '", tokens[t],
                         "': each input is 0 (the model's input) or an earlier layer's number (1..", i, ")");
          inputs.push_back(node{std::size_t(v)});
        }
        continue;
      }
      cfg.emplace_back(tokens[t].substr(0, eq), tokens[t].substr(eq + 1));
    }
    try {
      model.add(layers.make(tokens[0].substr(0, slash), int(lv), cfg), from(inputs));
    } catch (const error& e) {
      fail(concat(f, ": layer ", i + 1, ": ", e.what()));
    }
  }
}

// The records, from byte `begin` up to the checksum: parameters into the model's arena (each
// once, with the dims the rebuilt layer needs), "optimizer.*" records into out.
template <class T>
void read_records(const std::uint8_t* data, std::size_t size, std::size_t begin, std::uint64_t nrec,
                  const std::string& f, decoded<T>& out) {
  byte_reader rr(data, size - 4, f, size);
  rr.skip(begin);
  graph<T>& model = out.model;
  const auto& params = model.parameters();
  std::vector<bool> seen(params.size(), false);
  std::unordered_map<std::string, std::size_t> by_name;  // one lookup per record, not a scan
  for (std::size_t j = 0; j < params.size(); ++j) by_name.emplace(params[j].name, j);
  T* arena = model.values().data();
  for (std::uint64_t k = 0; k < nrec; ++k) {
    rr.set_context(concat("record ", k + 1, " "));
    const std::uint32_t name_len = rr.u32();
    HOUSENET_CHECK(name_len >= 1 && name_len <= model_max_name, f, ": record ", k + 1,
                   ": name length ", name_len, " not in 1..", model_max_name);
    const std::string rname = rr.str(name_len);
    const std::uint32_t rank = rr.u32();
    HOUSENET_CHECK(rank >= 1 && rank <= shape::max_rank, f, ": record '", rname, "': rank ", rank,
                   " not in 1..", shape::max_rank);
    rr.need(std::uint64_t(8) * rank);
    std::vector<std::size_t> dims;
    std::uint64_t count = 1;
    for (std::uint32_t d = 0; d < rank; ++d) {
      const std::uint64_t v = rr.u64();
      HOUSENET_CHECK(v >= 1 && count <= (rr.remaining() / 4) / v, f, ": truncated at byte ", size,
                     " (record '", rname, "' with dimension ", v, " needs more bytes than remain)");
      count *= v;
      dims.push_back(std::size_t(v));
    }
    HOUSENET_CHECK(count <= rr.remaining() / 4, f,
                   ": truncated at byte ", size, " (record '", rname, "' needs ", count * 4,
                   " bytes of data)");
    const shape s = shape::from_range(dims.begin(), dims.end());
    if (rname.compare(0, 10, "optimizer.") == 0) {
      HOUSENET_CHECK(out.info.flags & model_flag_checkpoint, f, ": record '", rname,
                     "' is optimizer state, but the file is not a checkpoint");
      std::vector<float> vals(count);
      rr.f32_array(vals.data(), count);
      out.opt_records.emplace_back(rname, std::move(vals));
      out.opt_shapes.push_back(s);
      continue;
    }
    const auto named = by_name.find(rname);
    const std::size_t idx = named == by_name.end() ? params.size() : named->second;
    HOUSENET_CHECK(idx < params.size(), f, ": record '", rname, "' is not a parameter of the network");
    HOUSENET_CHECK(!seen[idx], f, ": record '", rname, "' appears twice");
    HOUSENET_CHECK(s == params[idx].spec.shape, f, ": record '", rname, "' has dims ", s.str(),
                   ", the network needs ", params[idx].spec.shape.str());
    seen[idx] = true;
    rr.f32_array(arena + params[idx].offset, count);
  }
  HOUSENET_CHECK(rr.remaining() == 0, f, ": ", rr.remaining(),
                 " unexpected bytes after the last record (at byte ", rr.pos(), ")");
  for (std::size_t j = 0; j < params.size(); ++j)
    HOUSENET_CHECK(seen[j], f, ": no record for parameter '", params[j].name, "'");
}

template <class T>
decoded<T> decode(const std::uint8_t* data, std::size_t size, const std::string& name,
                  const layer_registry<T>& layers) {
  const std::string& f = name;
  const fixed_header fh = read_fixed_header(data, size, f);
  const std::uint64_t payload = check_size_and_crc(data, size, f, fh);

  decoded<T> out;
  model_info& info = out.info;
  info.format_version = fh.version;
  info.flags = fh.flags;
  info.header = split_header_lines(fh.header, f);
  header_cursor h{info.header, f};
  read_model_header(h, info);
  read_layers(h, out.model, layers, fh.version);
  const std::uint64_t nrec = h.expect_u64("records", 0, 10000000);
  const std::uint64_t model_step = h.expect_u64("model_step", 0, ~std::uint64_t(0));
  for (std::size_t k = h.pos; k < info.header.size(); ++k) out.extra.push_back(info.header[k]);

  // Parameters can take at most the payload's bytes: checked before the arena is allocated.
  graph<T>& model = out.model;
  try {
    model.setup_shapes(info.input, std::size_t(payload / 4));
  } catch (const error& e) {
    fail(concat(f, ": ", e.what()));
  }
  HOUSENET_CHECK(model.output_shape().sample_size() == info.classes, f, ": the network has ",
                 model.output_shape().sample_size(), " outputs, the header says classes=", info.classes);
  model.set_step(model_step);

  read_records(data, size, fh.end, nrec, f, out);
  return out;
}

}  // namespace detail
HOUSENET_END_NAMESPACE

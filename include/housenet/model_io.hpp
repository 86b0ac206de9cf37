// housenet/model_io.hpp: the housenet model file (save / load) and training checkpoints.
//
// WHAT THIS IS
//   One versioned, checksummed, little-endian container (docs/model-format.md has the byte layout):
//     "HSNT" | u32 format_version | u32 flags | u64 header_bytes | header | records | u32 crc32
//   The header (UTF-8 key=value lines) carries the architecture (one "layer=" line per layer:
//   kind/version and config), so load() rebuilds the network from the file alone (make_layer);
//   the records carry every parameter (batch-norm running statistics included) as float32.
//   A checkpoint (flags bit 0) adds the optimizer's state, the step / epoch counters and free
//   key=value metadata, so that training can resume bit-identically.
//
//     save_model(net, {"gryffindor", ...}, "model.hsnt");
//     loaded_model<float> m = load_model("model.hsnt");      // m.model, m.info.labels
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
// THREAD SAFETY: free functions; the model and optimizer must not be used by another thread
//   during a call.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#  include <fcntl.h>
#  include <sys/stat.h>
#  include <unistd.h>
#  define HOUSENET_POSIX_IO 1
#else
#  define HOUSENET_POSIX_IO 0
#endif

#include "detail/binary_io.hpp"
#include "detail/crc32.hpp"
#include "error.hpp"
#include "layers/factory.hpp"
#include "optim.hpp"
#include "sequential.hpp"
#include "version.hpp"

HOUSENET_BEGIN_NAMESPACE

// The format this build writes, and the range it reads.
constexpr std::uint32_t model_format_version = 1;
constexpr std::uint32_t model_format_min_version = 1;
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

template <class T = float>
struct loaded_model {
  sequential<T> model;
  model_info info;
};

// The training state a checkpoint carries besides the model and the optimizer.
struct checkpoint_state {
  std::uint64_t epoch = 0;  // completed epochs
  std::uint64_t step = 0;   // completed optimizer steps (batches)
  std::vector<std::pair<std::string, std::string>> meta;  // free key=value (rng state, data split…)
  // The value of a meta key, or `otherwise`.
  std::string get(const std::string& key, const std::string& otherwise = "") const {
    for (const auto& kv : meta)
      if (kv.first == key) return kv.second;
    return otherwise;
  }
};

template <class T = float>
struct loaded_checkpoint {
  sequential<T> model;
  model_info info;
  checkpoint_state state;
};

namespace detail {

constexpr std::size_t model_fixed_bytes = 20;   // magic, version, flags, header_bytes
constexpr std::uint64_t model_max_header = std::uint64_t(1) << 24;
constexpr std::uint32_t model_max_name = 4096;

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

inline bool valid_meta_key(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '.' || c == '-'))
      return false;
  return true;
}

inline bool no_newline(const std::string& s) {
  for (unsigned char c : s)
    if (c == '\n' || c == '\r' || c == 0) return false;
  return true;
}

// Encodes a model (and optionally checkpoint data) as the file's bytes, handed to
// emit(const std::uint8_t* p, std::size_t n) in order, the CRC last. The records are converted
// 16 K values at a time: a 485 MB checkpoint never exists as one buffer.
template <class T, class Emit>
void encode_to(const sequential<T>& model, const std::vector<std::string>& labels, std::uint32_t flags,
               const std::vector<std::pair<std::string, std::string>>& extra_header,
               const std::vector<std::pair<std::string, const tensor<T>*>>& opt_state, Emit&& emit) {
  HOUSENET_CHECK(model.is_setup(), "model: save of a model that is not set up");
  const std::size_t classes = model.output_shape().sample_size();
  HOUSENET_CHECK(labels.empty() || labels.size() == classes, "model: ", labels.size(),
                 " labels for a network with ", classes, " outputs");
  std::string label_line;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::string& l = labels[i];
    bool ok = !l.empty();
    for (unsigned char c : l) ok = ok && c >= 0x20 && c != 0x7F && c != ',';
    HOUSENET_CHECK(ok, "model: label ", i, " '", l, "' is empty or contains ',' or a control character");
    label_line += (i ? "," : "") + l;
  }

  // ---- the records: what they are, and their size (the header states it)
  struct record {
    std::string name;
    shape s;
    const T* data;
  };
  std::vector<record> records;
  const T* arena = model.values().data();
  for (const param_info& p : model.parameters()) records.push_back({p.name, p.spec.shape, arena + p.offset});
  for (const auto& st : opt_state) {
    HOUSENET_CHECK(st.second->size() == model.trainable_size(), "model: optimizer state '", st.first,
                   "' has ", st.second->size(), " values, the model ", model.trainable_size());
    for (const param_info& p : model.parameters())
      if (p.spec.trainable)
        records.push_back({"optimizer." + st.first + "." + p.name, p.spec.shape, st.second->data() + p.offset});
  }
  std::size_t record_bytes = 0;
  for (const record& r : records) record_bytes += 4 + r.name.size() + 4 + 8 * r.s.rank() + 4 * r.s.size();

  // ---- header
  std::string h;
  const auto kv = [&](const std::string& k, const std::string& v) { h += k + "=" + v + "\n"; };
  kv("housenet_version", HOUSENET_VERSION_STRING);
  kv("dtype", "f32");
  kv("byte_order", "little");
  kv("payload_bytes", std::to_string(record_bytes + 4));
  kv("input", sample_dims(model.input_shape()));
  kv("classes", std::to_string(classes));
  kv("labels", label_line);
  kv("layers", std::to_string(model.size()));
  for (std::size_t i = 0; i < model.size(); ++i) {
    const layer<T>& l = model[i];
    std::string line = l.kind() + "/" + std::to_string(l.version());
    HOUSENET_CHECK(valid_token(l.kind(), false), "model: layer kind '", l.kind(), "' cannot be saved");
    for (const auto& c : l.config()) {
      HOUSENET_CHECK(valid_token(c.first, false) && valid_token(c.second, true), "model: ",
                     l.name(), ": config '", c.first, "=", c.second, "' cannot be saved (spaces?)");
      line += " " + c.first + "=" + c.second;
    }
    kv("layer", line);
  }
  kv("records", std::to_string(records.size()));
  kv("model_step", std::to_string(model.step()));
  for (const auto& e : extra_header) kv(e.first, e.second);

  // ---- the bytes, with a running CRC
  std::uint32_t crc = 0;
  const auto put = [&](byte_writer& w) {
    crc = crc32_update(crc, w.bytes().data(), w.size());
    emit(static_cast<const std::uint8_t*>(w.bytes().data()), w.size());
    w.bytes().clear();
  };
  byte_writer w;
  w.str("HSNT");
  w.u32(model_format_version);
  w.u32(flags);
  w.u64(h.size());
  w.str(h);
  put(w);
  constexpr std::size_t chunk = 16384;
  for (const record& r : records) {
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
std::vector<std::uint8_t> encode(const sequential<T>& model, const std::vector<std::string>& labels,
                                 std::uint32_t flags,
                                 const std::vector<std::pair<std::string, std::string>>& extra_header,
                                 const std::vector<std::pair<std::string, const tensor<T>*>>& opt_state) {
  std::vector<std::uint8_t> out;
  encode_to(model, labels, flags, extra_header, opt_state,
            [&](const std::uint8_t* p, std::size_t n) { out.insert(out.end(), p, p + n); });
  return out;
}

inline std::string errno_text(int e) { return std::strerror(e); }

// Writes a file atomically: a temporary file in the same directory, fsync, rename.
// produce(write) calls write(const std::uint8_t* p, std::size_t n) for the file's bytes in order.
template <class Produce>
void write_file_atomic_with(const std::string& path, Produce&& produce) {
  HOUSENET_CHECK(!path.empty(), "model: empty file name");
#if HOUSENET_POSIX_IO
  std::string tmpl = path + ".tmp-XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  HOUSENET_CHECK(fd >= 0, path, ": cannot create a temporary file next to it: ", errno_text(errno));
  const std::string tmp(name.data());
  const auto fail_with = [&](const char* what) {
    const int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(concat(path, ": ", what, ": ", errno_text(e)));
  };
  // the bytes go out in 1 MiB writes
  std::vector<std::uint8_t> buf;
  buf.reserve(std::size_t(1) << 20);
  const auto flush = [&] {
    std::size_t done = 0;
    while (done < buf.size()) {
      const ::ssize_t w = ::write(fd, buf.data() + done, buf.size() - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) fail_with("cannot write");
      done += std::size_t(w);
    }
    buf.clear();
  };
  try {
    produce([&](const std::uint8_t* p, std::size_t n) {
      while (n > 0) {
        const std::size_t take = std::min(n, buf.capacity() - buf.size());
        buf.insert(buf.end(), p, p + take);
        p += take;
        n -= take;
        if (buf.size() == buf.capacity()) flush();
      }
    });
    flush();
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::fchmod(fd, 0644) != 0) fail_with("cannot set permissions");
  if (::fsync(fd) != 0) fail_with("cannot sync");
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    fail(concat(path, ": cannot close: ", errno_text(e)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    fail(concat(path, ": cannot rename the temporary file into place: ", errno_text(e)));
  }
  // Make the rename durable: fsync the directory (best effort).
  const std::size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
#else
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    HOUSENET_CHECK(f.good(), path, ": cannot create a temporary file next to it");
    try {
      produce([&](const std::uint8_t* p, std::size_t n) {
        f.write(reinterpret_cast<const char*>(p), std::streamsize(n));
      });
    } catch (...) {
      f.close();
      std::remove(tmp.c_str());
      throw;
    }
    f.flush();
    if (!f.good()) {
      f.close();
      std::remove(tmp.c_str());
      fail(concat(path, ": cannot write"));
    }
  }
  std::remove(path.c_str());
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail(concat(path, ": cannot rename the temporary file into place"));
  }
#endif
}

inline void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  write_file_atomic_with(path, [&](const auto& write) { write(bytes.data(), bytes.size()); });
}

inline std::vector<std::uint8_t> read_file_bytes(const std::string& path) {
#if HOUSENET_POSIX_IO
  struct ::stat st;
  if (::stat(path.c_str(), &st) == 0)
    HOUSENET_CHECK(!S_ISDIR(st.st_mode), path, ": is a directory, not a model file");
#endif
  std::ifstream f(path, std::ios::binary);
  HOUSENET_CHECK(f.good(), path, ": cannot open: ", errno_text(errno));
  f.seekg(0, std::ios::end);
  const std::streamoff n = f.tellg();
  HOUSENET_CHECK(n >= 0, path, ": cannot read its size");
  HOUSENET_CHECK(std::uint64_t(n) <= (std::uint64_t(1) << 38), path, ": ", n,
                 " bytes is too large for a model file");
  f.seekg(0, std::ios::beg);
  std::vector<std::uint8_t> b(static_cast<std::size_t>(n));
  if (n > 0) f.read(reinterpret_cast<char*>(b.data()), n);
  HOUSENET_CHECK(f.good() || (n == 0), path, ": cannot read: ", errno_text(errno));
  return b;
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

// The decoded container; the model is built and filled, optimizer records are kept aside.
template <class T>
struct decoded {
  sequential<T> model;
  model_info info;
  std::vector<std::pair<std::string, std::string>> extra;            // header keys after model_step
  std::vector<std::pair<std::string, std::vector<float>>> opt_records;  // "optimizer.*" records
  std::vector<shape> opt_shapes;
};

template <class T>
decoded<T> decode(const std::uint8_t* data, std::size_t size, const std::string& name) {
  const std::string& f = name;
  // ---- magic
  static const char magic[4] = {'H', 'S', 'N', 'T'};
  if (size < 4) {
    const bool prefix = std::memcmp(data, magic, size) == 0;
    HOUSENET_CHECK(!prefix || size == 0, f, ": truncated at byte ", size,
                   " (a housenet model file starts with the 4 bytes 'HSNT')");
    fail(concat(f, ": not a housenet model file", size == 0 ? " (empty)" : ""));
  }
  HOUSENET_CHECK(std::memcmp(data, magic, 4) == 0, f, ": not a housenet model file (it does not start with 'HSNT')");
  byte_reader r(data, size, f);
  r.skip(4);
  r.set_context("fixed header ");
  const std::uint32_t version = r.u32();
  HOUSENET_CHECK(version >= model_format_min_version && version <= model_format_version, f,
                 ": format version ", version, " not supported (this build reads ",
                 model_format_min_version == model_format_version
                     ? std::to_string(model_format_version)
                     : std::to_string(model_format_min_version) + "-" + std::to_string(model_format_version),
                 ")");
  const std::uint32_t flags = r.u32();
  HOUSENET_CHECK(flags != model_flag_ensemble, f, ": an ensemble of models, not one model (read it with "
                 "load_ensemble, housenet/ensemble_io.hpp)");
  HOUSENET_CHECK((flags & ~model_flag_checkpoint) == 0, f, ": unknown flags 0x", std::hex, flags,
                 " (this build knows 0x1: checkpoint)");
  const std::uint64_t header_bytes = r.u64();
  HOUSENET_CHECK(header_bytes <= model_max_header, f, ": header of ", header_bytes,
                 " bytes is larger than the limit of ", model_max_header, " (file damaged?)");
  r.set_context("header ");
  r.need(header_bytes + 4);  // header + at least the checksum
  const std::string header = r.str(header_bytes);

  // ---- total size from payload_bytes (so a truncated file says so), then the checksum
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
    const std::uint64_t expect = model_fixed_bytes + header_bytes;
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

  // ---- header lines
  decoded<T> out;
  model_info& info = out.info;
  info.format_version = version;
  info.flags = flags;
  HOUSENET_CHECK(!header.empty() && header.back() == '\n', f, ": header does not end with a newline");
  for (std::size_t b = 0; b < header.size();) {
    const std::size_t e = header.find('\n', b);
    const std::string line = header.substr(b, e - b);
    const std::size_t eq = line.find('=');
    HOUSENET_CHECK(eq != std::string::npos && eq > 0, f, ": header line ", info.header.size() + 1,
                   " is not key=value");
    for (unsigned char c : line) HOUSENET_CHECK(c != 0 && c != '\r', f, ": header line ",
                                                 info.header.size() + 1, " has a control character");
    info.header.emplace_back(line.substr(0, eq), line.substr(eq + 1));
    b = e + 1;
  }
  std::size_t pos = 0;  // required keys come first, in this order
  const auto expect_key = [&](const char* key) -> const std::string& {
    HOUSENET_CHECK(pos < info.header.size() && info.header[pos].first == key, f,
                   ": header line ", pos + 1, ": expected '", key, "=...', found '",
                   pos < info.header.size() ? info.header[pos].first : std::string("end of header"), "'");
    return info.header[pos++].second;
  };
  const auto expect_u64 = [&](const char* key, std::uint64_t lo, std::uint64_t hi) {
    const std::string& v = expect_key(key);
    std::uint64_t x = 0;
    HOUSENET_CHECK(parse_u64(v, x) && x >= lo && x <= hi, f, ": header: ", key, "='", v,
                   "' is not an integer in ", lo, "..", hi);
    return x;
  };
  info.housenet_version = expect_key("housenet_version");
  const std::string& dtype = expect_key("dtype");
  HOUSENET_CHECK(dtype == "f32", f, ": dtype '", dtype, "' not supported (this build reads f32)");
  const std::string& order = expect_key("byte_order");
  HOUSENET_CHECK(order == "little", f, ": byte_order '", order, "' not supported (this build reads little)");
  expect_u64("payload_bytes", 0, ~std::uint64_t(0));
  {
    const std::string& v = expect_key("input");
    const auto parts = split(v, 'x');
    bool ok = !parts.empty() && parts.size() <= 3;
    std::vector<std::size_t> dims{1};
    std::uint64_t total = 1;
    for (const auto& p : parts) {
      std::uint64_t d = 0;
      ok = ok && parse_u64(p, d) && d >= 1 && d <= (1u << 20);
      if (ok) {
        total *= d;
        ok = total <= (std::uint64_t(1) << 32);
        dims.push_back(std::size_t(d));
      }
    }
    HOUSENET_CHECK(ok, f, ": header: input='", v, "' is not CxHxW or F");
    info.input = shape::from_range(dims.begin(), dims.end());
  }
  info.classes = std::size_t(expect_u64("classes", 1, std::uint64_t(1) << 32));
  {
    const std::string& v = expect_key("labels");
    if (!v.empty()) info.labels = split(v, ',');
    for (const auto& l : info.labels) HOUSENET_CHECK(!l.empty(), f, ": header: empty label in '", v, "'");
    HOUSENET_CHECK(info.labels.empty() || info.labels.size() == info.classes, f, ": header: ",
                   info.labels.size(), " labels for ", info.classes, " classes");
  }
  const std::uint64_t nlayers = expect_u64("layers", 1, 100000);

  // ---- rebuild the architecture
  sequential<T>& model = out.model;
  for (std::uint64_t i = 0; i < nlayers; ++i) {
    const std::string& v = expect_key("layer");
    const auto tokens = split(v, ' ');
    // (bounded: make_layer's duplicate-key check is quadratic in the number of keys)
    HOUSENET_CHECK(tokens.size() <= 65, f, ": layer ", i + 1, ": ", tokens.size() - 1,
                   " key=value items (at most 64)");
    const std::size_t slash = tokens[0].find('/');
    std::uint64_t lv = 0;
    HOUSENET_CHECK(slash != std::string::npos && slash > 0 &&
                       parse_u64(tokens[0].substr(slash + 1), lv) && lv <= 1000000,
                   f, ": layer ", i + 1, ": '", tokens[0], "' is not kind/version");
    layer_config cfg;
    for (std::size_t t = 1; t < tokens.size(); ++t) {
      const std::size_t eq = tokens[t].find('=');
      HOUSENET_CHECK(eq != std::string::npos && eq > 0, f, ": layer ", i + 1, ": '", tokens[t],
                     "' is not key=value");
      cfg.emplace_back(tokens[t].substr(0, eq), tokens[t].substr(eq + 1));
    }
    try {
      model.add(make_layer<T>(tokens[0].substr(0, slash), int(lv), cfg));
    } catch (const error& e) {
      fail(concat(f, ": layer ", i + 1, ": ", e.what()));
    }
  }
  const std::uint64_t nrec = expect_u64("records", 0, 10000000);
  const std::uint64_t model_step = expect_u64("model_step", 0, ~std::uint64_t(0));
  for (std::size_t k = pos; k < info.header.size(); ++k) out.extra.push_back(info.header[k]);

  // Parameters can take at most the payload's bytes: checked before the arena is allocated.
  try {
    model.setup_shapes(info.input, std::size_t(payload / 4));
  } catch (const error& e) {
    fail(concat(f, ": ", e.what()));
  }
  HOUSENET_CHECK(model.output_shape().sample_size() == info.classes, f, ": the network has ",
                 model.output_shape().sample_size(), " outputs, the header says classes=", info.classes);
  model.set_step(model_step);

  // ---- records (the reader stops before the checksum)
  byte_reader rr(data, size - 4, f, size);
  rr.skip(r.pos());
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
      HOUSENET_CHECK(flags & model_flag_checkpoint, f, ": record '", rname,
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
  return out;
}

}  // namespace detail

// ---- models ------------------------------------------------------------------------------------

// The bytes of a model file.
template <class T>
std::vector<std::uint8_t> model_to_bytes(const sequential<T>& model,
                                         const std::vector<std::string>& labels = {}) {
  return detail::encode(model, labels, 0, {}, {});
}

// Writes a model file atomically, streamed: no copy of the file in memory.
template <class T>
void save_model(const sequential<T>& model, const std::vector<std::string>& labels,
                const std::string& path) {
  detail::write_file_atomic_with(path, [&](const auto& write) {
    detail::encode_to(model, labels, 0, {}, {}, write);
  });
}

// Reads a model (or a checkpoint's model) from memory; `name` prefixes the error messages.
template <class T = float>
loaded_model<T> model_from_bytes(const void* data, std::size_t size,
                                 const std::string& name = "<memory>") {
  static const std::uint8_t empty = 0;
  detail::decoded<T> d =
      detail::decode<T>(size ? static_cast<const std::uint8_t*>(data) : &empty, size, name);
  loaded_model<T> m{std::move(d.model), std::move(d.info)};
  m.model.eval();
  return m;
}

template <class T = float>
loaded_model<T> load_model(const std::string& path) {
  const std::vector<std::uint8_t> b = detail::read_file_bytes(path);
  return model_from_bytes<T>(b.data(), b.size(), path);
}

// Loads into the caller's model (and labels, when given) only if the whole file is valid.
template <class T>
void load_model(const std::string& path, sequential<T>& model,
                std::vector<std::string>* labels = nullptr) {
  loaded_model<T> m = load_model<T>(path);
  model = std::move(m.model);
  if (labels) *labels = std::move(m.info.labels);
}

// ---- checkpoints -------------------------------------------------------------------------------

namespace detail {
// The checkpoint's extra header lines and optimizer state records.
template <class T>
void checkpoint_parts(const sequential<T>& model, optimizer<T>& opt, const checkpoint_state& st,
                      std::vector<std::pair<std::string, std::string>>& extra,
                      std::vector<std::pair<std::string, const tensor<T>*>>& state) {
  std::string oline = opt.kind() + "/" + std::to_string(opt.version());
  for (const auto& c : opt.config()) oline += " " + c.first + "=" + c.second;
  extra.emplace_back("optimizer", oline);
  extra.emplace_back("optimizer_steps", std::to_string(opt.steps()));
  extra.emplace_back("epoch", std::to_string(st.epoch));
  extra.emplace_back("step", std::to_string(st.step));
  for (const auto& kv : st.meta) {
    HOUSENET_CHECK(valid_meta_key(kv.first), "model: checkpoint meta key '", kv.first,
                   "' must be [A-Za-z0-9_.-]+");
    HOUSENET_CHECK(no_newline(kv.second), "model: checkpoint meta '", kv.first,
                   "' has a newline in its value");
    extra.emplace_back("meta." + kv.first, kv.second);
  }
  for (const auto& s : opt.state()) {
    HOUSENET_CHECK(s.second->empty() || s.second->size() == model.trainable_size(), "model: optimizer state '",
                   s.first, "' does not match the model");
    if (!s.second->empty()) state.emplace_back(s.first, s.second);
  }
}
}  // namespace detail

template <class T>
std::vector<std::uint8_t> checkpoint_to_bytes(const sequential<T>& model, optimizer<T>& opt,
                                              const std::vector<std::string>& labels,
                                              const checkpoint_state& st) {
  std::vector<std::pair<std::string, std::string>> extra;
  std::vector<std::pair<std::string, const tensor<T>*>> state;
  detail::checkpoint_parts(model, opt, st, extra, state);
  return detail::encode(model, labels, model_flag_checkpoint, extra, state);
}

// Writes a checkpoint atomically, streamed: no copy of the file in memory.
template <class T>
void save_checkpoint(const std::string& path, const sequential<T>& model, optimizer<T>& opt,
                     const std::vector<std::string>& labels, const checkpoint_state& st) {
  std::vector<std::pair<std::string, std::string>> extra;
  std::vector<std::pair<std::string, const tensor<T>*>> state;
  detail::checkpoint_parts(model, opt, st, extra, state);
  detail::write_file_atomic_with(path, [&](const auto& write) {
    detail::encode_to(model, labels, model_flag_checkpoint, extra, state, write);
  });
}

// Rebuilds the model and restores opt's state (steps, lr, state tensors). opt must be of the
// file's kind with the same hyperparameters except lr; opt is changed only on success.
template <class T>
loaded_checkpoint<T> checkpoint_from_bytes(const void* data, std::size_t size, optimizer<T>& opt,
                                           const std::string& name = "<memory>") {
  static const std::uint8_t empty = 0;
  detail::decoded<T> d =
      detail::decode<T>(size ? static_cast<const std::uint8_t*>(data) : &empty, size, name);
  const std::string& f = name;
  HOUSENET_CHECK(d.info.flags & model_flag_checkpoint, f, ": a model file, not a training checkpoint");
  loaded_checkpoint<T> c{std::move(d.model), std::move(d.info), {}};
  std::size_t pos = 0;
  const auto key = [&](const char* k) -> const std::string& {
    HOUSENET_CHECK(pos < d.extra.size() && d.extra[pos].first == k, f, ": checkpoint header: expected '",
                   k, "=...'");
    return d.extra[pos++].second;
  };
  const auto u64 = [&](const char* k) {
    const std::string& v = key(k);
    std::uint64_t x = 0;
    HOUSENET_CHECK(detail::parse_u64(v, x), f, ": checkpoint header: ", k, "='", v, "' is not an integer");
    return x;
  };
  // optimizer=kind/version k=v ...
  const auto tokens = detail::split(key("optimizer"), ' ');
  const std::string want = opt.kind() + "/" + std::to_string(opt.version());
  HOUSENET_CHECK(tokens[0] == want, f, ": the checkpoint's optimizer is ", tokens[0], ", not ", want);
  double lr = opt.lr();
  const layer_config mine = opt.config();
  std::size_t matched = 0;
  for (std::size_t t = 1; t < tokens.size(); ++t) {
    const std::size_t eq = tokens[t].find('=');
    HOUSENET_CHECK(eq != std::string::npos, f, ": checkpoint optimizer line: '", tokens[t], "' is not key=value");
    const std::string k = tokens[t].substr(0, eq), v = tokens[t].substr(eq + 1);
    bool known = false;
    for (const auto& m : mine) {
      if (m.first != k) continue;
      known = true;
      ++matched;
      if (k == "lr") {
        char* end = nullptr;
        lr = std::strtod(v.c_str(), &end);
        HOUSENET_CHECK(!v.empty() && end == v.c_str() + v.size() && lr >= 0 && lr < 1e30, f,
                       ": checkpoint optimizer lr='", v, "' is not a number");
      } else {
        HOUSENET_CHECK(m.second == v, f, ": checkpoint optimizer ", k, "=", v, " but this ",
                       opt.kind(), " has ", k, "=", m.second);
      }
    }
    HOUSENET_CHECK(known, f, ": checkpoint optimizer key '", k, "' unknown to this ", opt.kind());
  }
  HOUSENET_CHECK(matched == mine.size(), f, ": checkpoint optimizer line misses keys of ", opt.kind());
  const std::uint64_t opt_steps = u64("optimizer_steps");
  c.state.epoch = u64("epoch");
  c.state.step = u64("step");
  for (; pos < d.extra.size(); ++pos) {
    const auto& kv = d.extra[pos];
    HOUSENET_CHECK(kv.first.compare(0, 5, "meta.") == 0 && kv.first.size() > 5, f,
                   ": checkpoint header: unexpected key '", kv.first, "'");
    c.state.meta.emplace_back(kv.first.substr(5), kv.second);
  }

  // optimizer state: "optimizer.<state>.<param>" for every trainable parameter of every state
  const sequential<T>& model = c.model;
  std::vector<std::pair<std::string, tensor<T>>> fresh;
  const auto slots = opt.state();
  std::vector<bool> used(d.opt_records.size(), false);
  std::unordered_map<std::string, std::size_t> record_of;  // first record of each name
  for (std::size_t j = d.opt_records.size(); j-- > 0;) record_of[d.opt_records[j].first] = j;
  for (const auto& slot : slots) {
    tensor<T> t(shape{model.trainable_size()}, T(0));
    std::size_t found = 0;
    for (const param_info& p : model.parameters()) {
      if (!p.spec.trainable) continue;
      const std::string rn = "optimizer." + slot.first + "." + p.name;
      const auto named = record_of.find(rn);
      if (named == record_of.end()) continue;
      const std::size_t j = named->second;
      HOUSENET_CHECK(!used[j], f, ": record '", rn, "' appears twice");
      HOUSENET_CHECK(d.opt_shapes[j] == p.spec.shape, f, ": record '", rn, "' has dims ",
                     d.opt_shapes[j].str(), ", the network needs ", p.spec.shape.str());
      used[j] = true;
      ++found;
      std::copy(d.opt_records[j].second.begin(), d.opt_records[j].second.end(), t.data() + p.offset);
    }
    std::size_t trainable = 0;
    for (const param_info& p : model.parameters()) trainable += p.spec.trainable ? 1 : 0;
    // A state never allocated (no step taken yet) is saved as nothing: all zeros.
    HOUSENET_CHECK(found == 0 || found == trainable, f, ": optimizer state '", slot.first, "' has ",
                   found, " of ", trainable, " records");
    fresh.emplace_back(slot.first, std::move(t));
  }
  for (std::size_t j = 0; j < used.size(); ++j)
    HOUSENET_CHECK(used[j], f, ": record '", d.opt_records[j].first, "' is not state of this ", opt.kind());

  // success: commit to the optimizer
  for (std::size_t k = 0; k < slots.size(); ++k) *slots[k].second = std::move(fresh[k].second);
  opt.set_steps(opt_steps);
  opt.set_lr(lr);
  c.model.train();
  return c;
}

template <class T>
loaded_checkpoint<T> load_checkpoint(const std::string& path, optimizer<T>& opt) {
  const std::vector<std::uint8_t> b = detail::read_file_bytes(path);
  return checkpoint_from_bytes<T>(b.data(), b.size(), opt, path);
}

HOUSENET_END_NAMESPACE

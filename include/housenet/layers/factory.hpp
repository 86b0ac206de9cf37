// housenet/layers/factory.hpp: rebuilds a layer from its kind, version and config.
//
// WHAT THIS IS
//   make_layer<T>(kind, version, cfg) is the inverse of (layer.kind(), layer.version(),
//   layer.config()): the model file stores those three and load() calls this to rebuild the
//   architecture. For every layer L:  make_layer<T>(L.kind(), L.version(), L.config()) has the same
//   kind, version and config as L (tests/test_layers.cpp checks each).
//
//   Kinds (all version 1):
//     conv2d        out_channels, kernel, stride, padding, bias (0/1), init (lecun/he);
//                   optional: dilation, groups (absent: 1)
//     linear        out_features, bias (0/1), init (lecun/he)
//     relu, sigmoid, tanh, flatten, global_avg_pool   (no keys)
//     leaky_relu    negative_slope
//     batch_norm2d  decay, eps
//     max_pool2d    kernel, stride, padding, ceil_mode (0/1)
//     avg_pool2d    kernel, stride, padding, ceil_mode (0/1), count_include_pad (0/1)
//     dropout       ratio, seed
//
// ERRORS (housenet::error, prefix "make_layer: "): unknown kind, unsupported version, a missing,
//   repeated, unknown or malformed key, or a value the layer's constructor rejects; the message
//   names the kind and the key, e.g. "make_layer: conv2d/1: key 'kernel': '3x' is not an integer".
//
// THREAD SAFETY: a free function without shared state.
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "avg_pool2d.hpp"
#include "batch_norm2d.hpp"
#include "conv2d.hpp"
#include "dropout.hpp"
#include "flatten.hpp"
#include "global_avg_pool.hpp"
#include "layer.hpp"
#include "leaky_relu.hpp"
#include "linear.hpp"
#include "max_pool2d.hpp"
#include "relu.hpp"
#include "sigmoid.hpp"
#include "tanh.hpp"

HOUSENET_BEGIN_NAMESPACE

namespace detail {

// Reads a layer_config: every key exactly once, every key used (finish()).
class config_reader {
 public:
  config_reader(const layer_config& cfg, std::string where) : cfg_(cfg), where_(std::move(where)),
                                                             used_(cfg.size(), false) {
    for (std::size_t i = 0; i < cfg.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        HOUSENET_CHECK(cfg[i].first != cfg[j].first, "make_layer: ", where_, ": key '",
                       cfg[i].first, "' given twice");
  }

  const std::string& str(const std::string& key) {
    for (std::size_t i = 0; i < cfg_.size(); ++i)
      if (cfg_[i].first == key) {
        used_[i] = true;
        return cfg_[i].second;
      }
    fail(concat("make_layer: ", where_, ": missing key '", key, "'"));
  }

  std::uint64_t u64(const std::string& key, std::uint64_t lo = 0,
                    std::uint64_t hi = ~std::uint64_t(0)) {
    const std::string& s = str(key);
    bool ok = !s.empty() && s.size() <= 20;
    for (char c : s) ok = ok && c >= '0' && c <= '9';
    std::uint64_t v = 0;
    if (ok) {
      errno = 0;
      char* end = nullptr;
      const unsigned long long r = std::strtoull(s.c_str(), &end, 10);
      ok = errno == 0 && end == s.c_str() + s.size();
      v = static_cast<std::uint64_t>(r);
    }
    HOUSENET_CHECK(ok, "make_layer: ", where_, ": key '", key, "': '", s,
                   "' is not a non-negative integer");
    HOUSENET_CHECK(v >= lo && v <= hi, "make_layer: ", where_, ": key '", key, "': ", v,
                   " is not in ", lo, "..", hi);
    return v;
  }

  std::size_t size(const std::string& key, std::size_t lo, std::size_t hi) {
    return static_cast<std::size_t>(u64(key, lo, hi));
  }
  // A key added to a layer after files without it were written: absent means `absent`.
  std::size_t size_or(const std::string& key, std::size_t absent, std::size_t lo, std::size_t hi) {
    for (const auto& kv : cfg_)
      if (kv.first == key) return size(key, lo, hi);
    return absent;
  }

  bool boolean(const std::string& key) {
    const std::string& s = str(key);
    if (s == "1" || s == "true") return true;
    if (s == "0" || s == "false") return false;
    fail(concat("make_layer: ", where_, ": key '", key, "': '", s, "' is not 0 or 1"));
  }

  double real(const std::string& key, double lo, double hi) {
    const std::string& s = str(key);
    double v = 0;
    const bool ok = detail::parse_real(s, v) && std::isfinite(v);
    HOUSENET_CHECK(ok, "make_layer: ", where_, ": key '", key, "': '", s, "' is not a number");
    HOUSENET_CHECK(v >= lo && v <= hi, "make_layer: ", where_, ": key '", key, "': ", s,
                   " is not in [", lo, ", ", hi, "]");
    return v;
  }

  void finish() const {
    for (std::size_t i = 0; i < cfg_.size(); ++i)
      HOUSENET_CHECK(used_[i], "make_layer: ", where_, ": unknown key '", cfg_[i].first, "'");
  }

 private:
  const layer_config& cfg_;
  std::string where_;
  std::vector<bool> used_;
};

}  // namespace detail

template <class T>
std::unique_ptr<layer<T>> make_layer(const std::string& kind, int version, const layer_config& cfg) {
  static const char* const names[] = {"conv2d",     "linear",     "relu",            "leaky_relu",
                                       "sigmoid",    "tanh",       "batch_norm2d",    "max_pool2d",
                                       "avg_pool2d", "global_avg_pool", "dropout",    "flatten"};
  bool known = false;
  std::string kinds;
  for (const char* n : names) {
    known = known || kind == n;
    kinds += (kinds.empty() ? "" : ", ") + std::string(n);
  }
  HOUSENET_CHECK(known, "make_layer: unknown layer kind '", kind, "' (known: ", kinds, ")");
  HOUSENET_CHECK(version == 1, "make_layer: ", kind, ": version ", version,
                 " not supported (this build reads version 1)");
  const std::size_t big = std::size_t(1) << 20;
  detail::config_reader r(cfg, kind + "/" + std::to_string(version));
  std::unique_ptr<layer<T>> l;
  try {
    if (kind == "conv2d") {
      const std::size_t k = r.size("out_channels", 1, big), ks = r.size("kernel", 1, 4096);
      const std::size_t s = r.size("stride", 1, 4096), p = r.size("padding", 0, 4096);
      const bool b = r.boolean("bias");
      const init_kind ik = parse_init_kind(r.str("init"));
      const std::size_t dil = r.size_or("dilation", 1, 1, 4096), g = r.size_or("groups", 1, 1, big);
      r.finish();
      l = std::make_unique<conv2d<T>>(k, ks, s, p, b, ik, dil, g);
    } else if (kind == "linear") {
      const std::size_t o = r.size("out_features", 1, big);
      const bool b = r.boolean("bias");
      const init_kind ik = parse_init_kind(r.str("init"));
      r.finish();
      l = std::make_unique<linear<T>>(o, b, ik);
    } else if (kind == "relu" || kind == "sigmoid" || kind == "tanh" || kind == "global_avg_pool") {
      r.finish();
      if (kind == "relu") l = std::make_unique<relu<T>>();
      if (kind == "sigmoid") l = std::make_unique<sigmoid<T>>();
      if (kind == "tanh") l = std::make_unique<tanh_layer<T>>();
      if (kind == "global_avg_pool") l = std::make_unique<global_avg_pool<T>>();
    } else if (kind == "leaky_relu") {
      const double a = r.real("negative_slope", -1e300, 1e300);
      r.finish();
      l = std::make_unique<leaky_relu<T>>(a);
    } else if (kind == "batch_norm2d") {
      const double decay = r.real("decay", 0.0, 1.0), eps = r.real("eps", 0.0, 1.0);
      r.finish();
      l = std::make_unique<batch_norm2d<T>>(decay, eps);
    } else if (kind == "max_pool2d") {
      const std::size_t ks = r.size("kernel", 1, 4096), s = r.size("stride", 1, 4096);
      const std::size_t p = r.size("padding", 0, 4096);
      const bool c = r.boolean("ceil_mode");
      r.finish();
      l = std::make_unique<max_pool2d<T>>(ks, s, p, c);
    } else if (kind == "avg_pool2d") {
      const std::size_t ks = r.size("kernel", 1, 4096), s = r.size("stride", 1, 4096);
      const std::size_t p = r.size("padding", 0, 4096);
      const bool c = r.boolean("ceil_mode"), inc = r.boolean("count_include_pad");
      r.finish();
      l = std::make_unique<avg_pool2d<T>>(ks, s, p, c, inc);
    } else if (kind == "dropout") {
      const double ratio = r.real("ratio", 0.0, 1.0);
      const std::uint64_t seed = r.u64("seed");
      r.finish();
      l = std::make_unique<dropout<T>>(ratio, seed);
    } else {  // flatten
      r.finish();
      l = std::make_unique<flatten<T>>();
    }
  } catch (const error& e) {
    const std::string m = e.what();
    if (m.rfind("make_layer: ", 0) == 0) throw;
    detail::fail(detail::concat("make_layer: ", kind, "/", version, ": ", m));
  }
  return l;
}

HOUSENET_END_NAMESPACE

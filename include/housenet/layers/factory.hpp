// housenet/layers/factory.hpp: rebuilds a layer from its kind, version and config: the registry.
//
// WHAT THIS IS
//   A layer_registry<T> is one table: kind -> factory(version, config). Loading a model file
//   (model_io.hpp) asks a registry to rebuild each layer from the (kind, version, config) the
//   file stores, which is what (layer.kind(), layer.version(), layer.config()) wrote. For every
//   layer L of a registered kind: registry.make(L.kind(), L.version(), L.config()) has the same
//   kind, version and config as L (tests/test_layers.cpp checks each built-in kind).
//
//   builtin_layers<T>() is the registry of the built-in kinds, registered in one place below; it
//   is immutable. A program with layers of its own copies it, adds them, and passes its registry
//   to the loading functions (load_model(path, registry), ...); there is no global registration:
//
//     layer_registry<float> layers = builtin_layers<float>();
//     layers.add<prelu<float>>([](int /*version*/, config_reader& c) {
//       return std::make_unique<prelu<float>>(c.real("init_slope", 0.0, 1.0));
//     });
//     loaded_model<float> m = load_model("prelu.hsnt", layers);
//
//   A factory reads every key of the config through the config_reader (str, u64, size, boolean,
//   real: each checks the value's syntax and range) and returns the layer; the registry then
//   checks that no key was left unread and that the layer is of the registered kind. add<L>()
//   takes the kind from L::kind_name, the constant L's constructor gives layer<T>.
//
//   Built-in kinds (all version 1):
//     conv2d        out_channels, kernel, stride, padding, bias (0/1), init (lecun/he);
//                   optional: dilation, groups (absent: 1)
//     linear        out_features, bias (0/1), init (lecun/he)
//     relu, sigmoid, tanh, flatten, global_avg_pool   (no keys)
//     add, concat   (no keys; several inputs: a graph's, graph.hpp)
//     leaky_relu    negative_slope
//     batch_norm2d  decay, eps
//     max_pool2d    kernel, stride, padding, ceil_mode (0/1)
//     avg_pool2d    kernel, stride, padding, ceil_mode (0/1), count_include_pad (0/1)
//     dropout       ratio, seed
//     pad2d         top, left, bottom, right
//
// ERRORS (housenet::error, prefix "make_layer: "): unknown kind, unsupported version, a missing,
//   repeated, unknown or malformed key, or a value the layer's constructor rejects; the message
//   names the kind and the key, e.g. "make_layer: conv2d/1: key 'kernel': '3x' is not an integer".
//   add() throws "layer_registry: ..." for a kind registered twice or an invalid kind name.
//
// THREAD SAFETY: make() on a const registry is safe from several threads; add() is not.
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "add.hpp"
#include "avg_pool2d.hpp"
#include "batch_norm2d.hpp"
#include "concat.hpp"
#include "conv2d.hpp"
#include "dropout.hpp"
#include "flatten.hpp"
#include "global_avg_pool.hpp"
#include "layer.hpp"
#include "leaky_relu.hpp"
#include "linear.hpp"
#include "max_pool2d.hpp"
#include "pad2d.hpp"
#include "relu.hpp"
#include "sigmoid.hpp"
#include "tanh.hpp"

HOUSENET_BEGIN_NAMESPACE

// Reads a layer_config for a factory: every key at most once, checked; the registry calls
// finish() (every key used) after the factory. Errors: "make_layer: <kind>/<version>: ...".
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
    detail::fail(detail::concat("make_layer: ", where_, ": missing key '", key, "'"));
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
    detail::fail(detail::concat("make_layer: ", where_, ": key '", key, "': '", s, "' is not 0 or 1"));
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

template <class T>
class layer_registry {
 public:
  // Makes a layer from a config (version: the file's, 1..the registered max_version).
  using factory = std::function<std::unique_ptr<layer<T>>(int version, config_reader& config)>;

  // Registers a kind ([A-Za-z0-9_]+, not registered yet) whose factory reads versions
  // 1..max_version.
  layer_registry& add(const std::string& kind, factory make, int max_version = 1) {
    bool ok = !kind.empty();
    for (char c : kind)
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
    HOUSENET_CHECK(ok, "layer_registry: kind '", kind, "' is not [A-Za-z0-9_]+");
    HOUSENET_CHECK(!contains(kind), "layer_registry: kind '", kind, "' registered twice");
    HOUSENET_CHECK(make != nullptr && max_version >= 1, "layer_registry: ", kind, ": no factory");
    entries_.push_back({kind, std::move(make), max_version});
    return *this;
  }
  // The same, the kind from L::kind_name.
  template <class L>
  layer_registry& add(factory make, int max_version = 1) {
    return add(L::kind_name, std::move(make), max_version);
  }

  bool contains(const std::string& kind) const { return find(kind) != nullptr; }
  // The registered kinds, in registration order.
  std::vector<std::string> kinds() const {
    std::vector<std::string> k;
    for (const auto& e : entries_) k.push_back(e.kind);
    return k;
  }

  // The layer of that kind, version and config; see ERRORS above.
  std::unique_ptr<layer<T>> make(const std::string& kind, int version, const layer_config& cfg) const {
    const entry* e = find(kind);
    if (!e) {
      std::string known;
      for (const auto& k : entries_) known += (known.empty() ? "" : ", ") + k.kind;
      detail::fail(detail::concat("make_layer: unknown layer kind '", kind, "' (known: ", known, ")"));
    }
    HOUSENET_CHECK(version >= 1 && version <= e->max_version, "make_layer: ", kind, ": version ", version,
                   " not supported (this build reads version",
                   e->max_version == 1 ? " 1" : "s 1-" + std::to_string(e->max_version), ")");
    config_reader r(cfg, kind + "/" + std::to_string(version));
    std::unique_ptr<layer<T>> l;
    try {
      l = e->make(version, r);
      r.finish();
    } catch (const error& err) {
      const std::string m = err.what();
      if (m.rfind("make_layer: ", 0) == 0) throw;
      detail::fail(detail::concat("make_layer: ", kind, "/", version, ": ", m));
    }
    HOUSENET_CHECK(l != nullptr && l->kind() == kind, "make_layer: ", kind, "/", version,
                   ": the factory made ", l ? "a layer of kind '" + l->kind() + "'" : std::string("nothing"));
    return l;
  }

 private:
  struct entry {
    std::string kind;
    factory make;
    int max_version;
  };
  std::vector<entry> entries_;

  const entry* find(const std::string& kind) const {
    for (const auto& e : entries_)
      if (e.kind == kind) return &e;
    return nullptr;
  }
};

// The built-in kinds: the one table of them (see the list above).
template <class T>
const layer_registry<T>& builtin_layers() {
  static const layer_registry<T> registry = [] {
    constexpr std::size_t big = std::size_t(1) << 20;
    layer_registry<T> r;
    r.template add<conv2d<T>>([](int, config_reader& c) {
      const std::size_t k = c.size("out_channels", 1, big), ks = c.size("kernel", 1, 4096);
      const std::size_t s = c.size("stride", 1, 4096), p = c.size("padding", 0, 4096);
      const bool b = c.boolean("bias");
      const init_kind ik = parse_init_kind(c.str("init"));
      const std::size_t dil = c.size_or("dilation", 1, 1, 4096), g = c.size_or("groups", 1, 1, big);
      return std::make_unique<conv2d<T>>(k, ks, s, p, b, ik, dil, g);
    });
    r.template add<linear<T>>([](int, config_reader& c) {
      const std::size_t o = c.size("out_features", 1, big);
      const bool b = c.boolean("bias");
      const init_kind ik = parse_init_kind(c.str("init"));
      return std::make_unique<linear<T>>(o, b, ik);
    });
    r.template add<relu<T>>([](int, config_reader&) { return std::make_unique<relu<T>>(); });
    r.template add<leaky_relu<T>>([](int, config_reader& c) {
      return std::make_unique<leaky_relu<T>>(c.real("negative_slope", -1e300, 1e300));
    });
    r.template add<sigmoid<T>>([](int, config_reader&) { return std::make_unique<sigmoid<T>>(); });
    r.template add<tanh_layer<T>>([](int, config_reader&) { return std::make_unique<tanh_layer<T>>(); });
    r.template add<batch_norm2d<T>>([](int, config_reader& c) {
      const double decay = c.real("decay", 0.0, 1.0), eps = c.real("eps", 0.0, 1.0);
      return std::make_unique<batch_norm2d<T>>(decay, eps);
    });
    r.template add<max_pool2d<T>>([](int, config_reader& c) {
      const std::size_t ks = c.size("kernel", 1, 4096), s = c.size("stride", 1, 4096);
      const std::size_t p = c.size("padding", 0, 4096);
      const bool ceil = c.boolean("ceil_mode");
      return std::make_unique<max_pool2d<T>>(ks, s, p, ceil);
    });
    r.template add<avg_pool2d<T>>([](int, config_reader& c) {
      const std::size_t ks = c.size("kernel", 1, 4096), s = c.size("stride", 1, 4096);
      const std::size_t p = c.size("padding", 0, 4096);
      const bool ceil = c.boolean("ceil_mode"), include_pad = c.boolean("count_include_pad");
      return std::make_unique<avg_pool2d<T>>(ks, s, p, ceil, include_pad);
    });
    r.template add<global_avg_pool<T>>([](int, config_reader&) { return std::make_unique<global_avg_pool<T>>(); });
    r.template add<dropout<T>>([](int, config_reader& c) {
      const double ratio = c.real("ratio", 0.0, 1.0);
      const std::uint64_t seed = c.u64("seed");
      return std::make_unique<dropout<T>>(ratio, seed);
    });
    r.template add<flatten<T>>([](int, config_reader&) { return std::make_unique<flatten<T>>(); });
    r.template add<pad2d<T>>([](int, config_reader& c) {
      const std::size_t t = c.size("top", 0, 4096), l = c.size("left", 0, 4096);
      const std::size_t b = c.size("bottom", 0, 4096), rt = c.size("right", 0, 4096);
      return std::make_unique<pad2d<T>>(t, l, b, rt);
    });
    r.template add<add_layer<T>>([](int, config_reader&) { return std::make_unique<add_layer<T>>(); });
    r.template add<concat_layer<T>>([](int, config_reader&) { return std::make_unique<concat_layer<T>>(); });
    return r;
  }();
  return registry;
}

// registry.make(kind, version, cfg): the inverse of (kind(), version(), config()).
template <class T>
std::unique_ptr<layer<T>> make_layer(const std::string& kind, int version, const layer_config& cfg,
                                     const layer_registry<T>& registry = builtin_layers<T>()) {
  return registry.make(kind, version, cfg);
}

HOUSENET_END_NAMESPACE

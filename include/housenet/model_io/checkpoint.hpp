// housenet/model_io/checkpoint.hpp: training checkpoints: a model file (flags bit 0) that also
// carries the optimizer's state, the step / epoch counters and free key=value metadata, so that
// training resumes bit-identically.
//
// WHAT THIS IS
//   checkpoint_to_bytes(model, opt, labels, state) / checkpoint_from_bytes<T>(data, size, opt, name)
//   save_checkpoint(path, model, opt, labels, state)   streamed to file_io.hpp's atomic writer
//   load_checkpoint(path, opt) -> loaded_checkpoint<T> {model (train mode), info, state}; opt's
//       state, step count and lr are restored, only on success
//   The extra header lines after model_step: optimizer=kind/version k=v ..., optimizer_steps,
//   epoch, step, meta.<key>=<value>...; the records "optimizer.<state>.<param>" (docs/model-format.md).
//   model_io.hpp's opening comment is the contract.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../file_io.hpp"
#include "../optim.hpp"
#include "../graph.hpp"
#include "format.hpp"
#include "model_file.hpp"

HOUSENET_BEGIN_NAMESPACE

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
  graph<T> model;
  model_info info;
  checkpoint_state state;
};

namespace detail {

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

// The checkpoint's extra header lines and optimizer state records.
template <class T>
void checkpoint_parts(const graph<T>& model, optimizer<T>& opt, const checkpoint_state& st,
                      header_lines& extra, std::vector<std::pair<std::string, const tensor<T>*>>& state) {
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

// What the checkpoint's header lines say about the optimizer and the run.
struct checkpoint_header {
  double lr = 0;
  std::uint64_t optimizer_steps = 0;
  checkpoint_state state;
};

// Reads the extra header lines (after model_step). The optimizer line must name opt's kind and
// version and every one of opt's config keys with opt's values, except lr (taken from the file).
template <class T>
checkpoint_header read_checkpoint_header(const header_lines& extra, const optimizer<T>& opt, const std::string& f) {
  checkpoint_header out;
  std::size_t pos = 0;
  const auto key = [&](const char* k) -> const std::string& {
    HOUSENET_CHECK(pos < extra.size() && extra[pos].first == k, f, ": checkpoint header: expected '",
                   k, "=...'");
    return extra[pos++].second;
  };
  const auto u64 = [&](const char* k) {
    const std::string& v = key(k);
    std::uint64_t x = 0;
    HOUSENET_CHECK(parse_u64(v, x), f, ": checkpoint header: ", k, "='", v, "' is not an integer");
    return x;
  };
  // optimizer=kind/version k=v ...
  const auto tokens = split(key("optimizer"), ' ');
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
  out.lr = lr;
  out.optimizer_steps = u64("optimizer_steps");
  out.state.epoch = u64("epoch");
  out.state.step = u64("step");
  for (; pos < extra.size(); ++pos) {
    const auto& kv = extra[pos];
    HOUSENET_CHECK(kv.first.compare(0, 5, "meta.") == 0 && kv.first.size() > 5, f,
                   ": checkpoint header: unexpected key '", kv.first, "'");
    out.state.meta.emplace_back(kv.first.substr(5), kv.second);
  }
  return out;
}

// The optimizer's state tensors from the records "optimizer.<state>.<param>": for each of its
// states (slots, opt.state()), every trainable parameter's record or none (a state never
// allocated is saved as nothing: all zeros); every record must be used. Touches no slot.
template <class T>
std::vector<std::pair<std::string, tensor<T>>> read_optimizer_state(
    const decoded<T>& d, const graph<T>& model, const std::vector<std::pair<std::string, tensor<T>*>>& slots,
    const std::string& kind, const std::string& f) {
  std::vector<std::pair<std::string, tensor<T>>> fresh;
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
    HOUSENET_CHECK(found == 0 || found == trainable, f, ": optimizer state '", slot.first, "' has ",
                   found, " of ", trainable, " records");
    fresh.emplace_back(slot.first, std::move(t));
  }
  for (std::size_t j = 0; j < used.size(); ++j)
    HOUSENET_CHECK(used[j], f, ": record '", d.opt_records[j].first, "' is not state of this ", kind);
  return fresh;
}

}  // namespace detail

template <class T>
std::vector<std::uint8_t> checkpoint_to_bytes(const graph<T>& model, optimizer<T>& opt,
                                              const std::vector<std::string>& labels,
                                              const checkpoint_state& st) {
  detail::header_lines extra;
  std::vector<std::pair<std::string, const tensor<T>*>> state;
  detail::checkpoint_parts(model, opt, st, extra, state);
  return detail::encode(model, labels, model_flag_checkpoint, extra, state);
}

// Writes a checkpoint atomically, streamed: no copy of the file in memory.
template <class T>
void save_checkpoint(const std::string& path, const graph<T>& model, optimizer<T>& opt,
                     const std::vector<std::string>& labels, const checkpoint_state& st) {
  detail::header_lines extra;
  std::vector<std::pair<std::string, const tensor<T>*>> state;
  detail::checkpoint_parts(model, opt, st, extra, state);
  write_file_atomic_with(path, [&](const auto& write) {
    detail::encode_to(model, labels, model_flag_checkpoint, extra, state, write);
  });
}

// Rebuilds the model and restores opt's state (steps, lr, state tensors). opt must be of the
// file's kind with the same hyperparameters except lr; opt is changed only on success.
template <class T>
loaded_checkpoint<T> checkpoint_from_bytes(const void* data, std::size_t size, optimizer<T>& opt,
                                           const std::string& name = "<memory>",
                                           const layer_registry<T>& layers = builtin_layers<T>()) {
  static const std::uint8_t empty = 0;
  detail::decoded<T> d =
      detail::decode<T>(size ? static_cast<const std::uint8_t*>(data) : &empty, size, name, layers);
  const std::string& f = name;
  HOUSENET_CHECK(d.info.flags & model_flag_checkpoint, f, ": a model file, not a training checkpoint");
  detail::checkpoint_header h = detail::read_checkpoint_header(d.extra, opt, f);
  loaded_checkpoint<T> c{std::move(d.model), std::move(d.info), std::move(h.state)};
  const auto slots = opt.state();
  std::vector<std::pair<std::string, tensor<T>>> fresh = detail::read_optimizer_state(d, c.model, slots, opt.kind(), f);

  // success: commit to the optimizer
  for (std::size_t k = 0; k < slots.size(); ++k) *slots[k].second = std::move(fresh[k].second);
  opt.set_steps(h.optimizer_steps);
  opt.set_lr(h.lr);
  c.model.train();
  return c;
}

template <class T>
loaded_checkpoint<T> load_checkpoint(const std::string& path, optimizer<T>& opt,
                                     const layer_registry<T>& layers = builtin_layers<T>()) {
  const std::vector<std::uint8_t> b = detail::read_model_file(path);
  return checkpoint_from_bytes<T>(b.data(), b.size(), opt, path, layers);
}

HOUSENET_END_NAMESPACE

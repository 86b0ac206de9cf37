// examples/app/checkpoint.hpp: what `housenet train` needs to stop and go on bit for bit.
//
//   train_options      the settings that must be the same when resuming (checked, one line names
//                      the first that differs)
//   train_state        where the run is: epoch, batch, running sums of the epoch, the curve rows,
//                      the best epoch so far
//   make_optimizer     sgd (momentum 0.9) or adam over the model's arena
//   save_training_checkpoint / load_training_checkpoint
//       MODEL.ckpt: the library's checkpoint file (housenet/model_io.hpp), with the app's state as
//       metadata (numbers as housenet::detail::format_real, so they round-trip exactly). Written atomically. Read back,
//       each field is checked whole: "checkpoint: FILE: field 'seen' is not a number ('12x')".
//   Since the order of every epoch and every augmentation derive from (seed, epoch, sample) and the
//   dropout masks from the model's step count, these bytes are all a resumed run needs.
#pragma once

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <housenet/model_io.hpp>
#include <housenet/optim.hpp>
#include <housenet/sequential.hpp>

#include "dataset.hpp"
#include "files.hpp"
#include "report.hpp"

namespace app {

inline double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

struct train_options {
  std::string arch, optimizer, split;
  int epochs = 100;
  std::size_t batch = 32;
  double lr = 0.01, weight_decay = 0;
  double context = 0;  // train --context: the crops' surroundings, a fraction of the box per side
  bool augment = false, balance = false;
  std::uint64_t seed = 1;
  std::uint64_t data_signature = 0;  // the file list, labels and split

  // The keys that must match on --resume (epochs may grow: a finished run can be extended).
  // "context" only when set: checkpoints written before it existed still resume.
  std::vector<std::pair<std::string, std::string>> fixed() const {
    std::vector<std::pair<std::string, std::string>> f = {
        {"arch", arch},       {"optimizer", optimizer},
        {"split", split},     {"batch", std::to_string(batch)},
        {"lr", housenet::detail::format_real(lr)},
        {"weight-decay", housenet::detail::format_real(weight_decay)},
        {"augment", augment ? "1" : "0"}, {"balance", balance ? "1" : "0"},
        {"seed", std::to_string(seed)},   {"data", std::to_string(data_signature)}};
    if (context > 0) f.emplace_back("context", housenet::detail::format_real(context));
    return f;
  }
};

// Hash of the data set as training sees it: file names, labels, which side of the split.
inline std::uint64_t dataset_signature(const dataset_index& d, const split& s) {
  std::string all;
  for (const auto& c : d.classes) all += c + "\n";
  std::vector<char> side(d.samples.size(), 'r');
  for (std::size_t i : s.test) side[i] = 't';
  for (std::size_t i = 0; i < d.samples.size(); ++i)
    all += d.samples[i].path.filename().string() + "|" + std::to_string(d.samples[i].label) + side[i] + "\n";
  return file_hash(all);
}

struct train_state {
  int epoch = 0;              // epochs finished
  std::size_t batch = 0;      // batches of the current epoch finished
  double loss_sum = 0;        // over the finished batches of the current epoch
  std::size_t errors = 0, seen = 0;
  double epoch_seconds_so_far = 0;
  int best_epoch = 0;
  double best_error = 1.0;
  std::vector<epoch_row> rows;

  double mean_epoch_seconds() const {
    if (rows.empty()) return 0;
    double s = 0;
    for (const auto& r : rows) s += r.seconds;
    return s / double(rows.size());
  }
  void next_epoch(int finished) {
    epoch = finished;
    batch = 0;
    loss_sum = 0;
    errors = seen = 0;
    epoch_seconds_so_far = 0;
  }
};

inline std::unique_ptr<housenet::optimizer<float>> make_optimizer(const train_options& o) {
  if (o.optimizer == "adam") {
    housenet::adam<float>::options a;
    a.lr = o.lr;
    a.weight_decay = o.weight_decay;
    return std::make_unique<housenet::adam<float>>(a);
  }
  housenet::sgd<float>::options s;
  s.lr = o.lr;
  s.momentum = 0.9;
  s.weight_decay = o.weight_decay;
  return std::make_unique<housenet::sgd<float>>(s);
}

using housenet::detail::format_real;

// The library's checkpoint (housenet/model_io.hpp: weights, batch-norm statistics, optimizer
// state and step counts) plus the app's own keys as metadata: the options, where the epoch is,
// the curve rows so far.
inline void save_training_checkpoint(const std::string& path, const train_options& o,
                                     const housenet::sequential<float>& net, housenet::optimizer<float>& optim,
                                     const std::vector<std::string>& classes, const train_state& s) {
  housenet::checkpoint_state st;
  st.epoch = std::uint64_t(s.epoch);
  st.step = net.step();
  for (const auto& kv : o.fixed()) st.meta.emplace_back("opt." + kv.first, kv.second);
  st.meta.emplace_back("epochs", std::to_string(o.epochs));
  st.meta.emplace_back("batch_in_epoch", std::to_string(s.batch));
  st.meta.emplace_back("loss_sum", format_real(s.loss_sum));
  st.meta.emplace_back("errors", std::to_string(s.errors));
  st.meta.emplace_back("seen", std::to_string(s.seen));
  st.meta.emplace_back("epoch_seconds", format_real(s.epoch_seconds_so_far));
  st.meta.emplace_back("best_epoch", std::to_string(s.best_epoch));
  st.meta.emplace_back("best_error", format_real(s.best_error));
  for (const auto& r : s.rows)
    st.meta.emplace_back("row." + std::to_string(r.epoch), format_real(r.train_loss) + "," + format_real(r.train_error) + "," +
                                                               format_real(r.test_loss) + "," + format_real(r.test_error) + "," +
                                                               format_real(r.seconds) + "," + format_real(r.test_balanced_accuracy));
  housenet::save_checkpoint(path, net, optim, classes, st);
}

// Restores net and optim from the checkpoint and returns where the run was; the options and the
// data must be those of the checkpoint (one line names the first difference).
inline train_state load_training_checkpoint(const std::string& path, const train_options& o,
                                            housenet::sequential<float>& net, housenet::optimizer<float>& optim) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw app_error("--resume: no checkpoint '" + path + "' (train without --resume first)");
  housenet::loaded_checkpoint<float> c = housenet::load_checkpoint<float>(path, optim);
  const housenet::checkpoint_state& st = c.state;
  for (const auto& f : o.fixed()) {
    const std::string v = st.get("opt." + f.first, "?");
    double a = 0, b = 0;  // numbers compare by value (checkpoints of older builds wrote %.17g)
    const bool same_number = housenet::detail::parse_real(v, a) && housenet::detail::parse_real(f.second, b) && a == b;
    if (v != f.second && !same_number)
      throw app_error("--resume: " + path + " was written with " + f.first + "=" + v + ", this run has " + f.first +
                      "=" + f.second + (f.first == "data" ? " (the data folder or the split changed)" : ""));
  }
  const auto num = [&](const char* k) -> std::string {
    const std::string v = st.get(k);
    if (v.empty()) throw app_error("--resume: " + path + ": no '" + k + "' (not written by housenet train?)");
    return v;
  };
  // The header is text a person can edit: every field is checked whole, with one line naming it.
  const auto bad = [&](const char* k, const std::string& v, const char* what) {
    return app_error("checkpoint: " + path + ": field '" + k + "' " + what + " ('" + v + "')");
  };
  const auto count = [&](const char* k, std::uint64_t max) -> std::uint64_t {
    const std::string v = num(k);
    errno = 0;
    char* end = nullptr;
    const unsigned long long x = std::strtoull(v.c_str(), &end, 10);
    if (!std::isdigit(static_cast<unsigned char>(v[0])) || *end != '\0') throw bad(k, v, "is not a number");
    if (errno == ERANGE || x > max) throw bad(k, v, "is out of range");
    return std::uint64_t(x);
  };
  const auto real = [&](const char* k) -> double {
    const std::string v = num(k);
    double x = 0;
    if (!housenet::detail::parse_real(v, x) || !std::isfinite(x)) throw bad(k, v, "is not a number");
    return x;
  };
  train_state s;
  if (st.epoch > 100000000) throw bad("epoch", std::to_string(st.epoch), "is out of range");
  s.epoch = int(st.epoch);
  s.batch = std::size_t(count("batch_in_epoch", std::numeric_limits<std::size_t>::max()));
  s.loss_sum = real("loss_sum");
  s.errors = std::size_t(count("errors", std::numeric_limits<std::size_t>::max()));
  s.seen = std::size_t(count("seen", std::numeric_limits<std::size_t>::max()));
  s.epoch_seconds_so_far = real("epoch_seconds");
  s.best_epoch = int(count("best_epoch", std::uint64_t(s.epoch)));
  if (s.epoch > 0 && s.best_epoch == 0) throw bad("best_epoch", "0", "is out of range");
  s.best_error = real("best_error");
  for (int e = 1; e <= s.epoch; ++e) {
    epoch_row r;
    r.epoch = e;
    const std::string v = st.get("row." + std::to_string(e));
    double* const fields[] = {&r.train_loss, &r.train_error, &r.test_loss,
                              &r.test_error, &r.seconds,     &r.test_balanced_accuracy};
    std::size_t at = 0, n = 0;
    for (; n < 6 && at <= v.size(); ++n) {
      const std::size_t comma = std::min(v.find(',', at), v.size());
      if (!housenet::detail::parse_real(v.substr(at, comma - at), *fields[n])) break;
      at = comma + 1;
    }
    if (n != 6 || at != v.size() + 1)
      throw app_error("--resume: " + path + ": bad or missing curve row " + std::to_string(e));
    s.rows.push_back(r);
  }
  if (c.model.arena_size() != net.arena_size())
    throw app_error("--resume: " + path + " holds another network than --arch " + o.arch);
  net = std::move(c.model);
  net.set_step(st.step);
  net.train();
  return s;
}

}  // namespace app

// examples/app/signals.hpp: stopping a training run — Ctrl-C, and the tests' stand-ins for it and
// for a crash — behind one object, so that the training loop only asks "stop now?".
//
// The first SIGINT (or SIGTERM) only sets a flag: the training loop finishes the batch it is on,
// writes a resumable checkpoint and exits with status 130. A second one kills the process at once
// (the default action is restored by the first); the previous complete checkpoint is then still
// there, since every file is replaced by rename.
//
// Test hooks (tests/app_e2e.sh), read once from the environment; unset, they do nothing:
//   HOUSENET_APP_INTERRUPT_AFTER=N     behave as if Ctrl-C came during the N-th batch this process runs
//   HOUSENET_APP_CRASH_AFTER_EPOCH=N   end the process at once with status 137 (what a kill -9
//                                      gives) after epoch N's files are written
#pragma once

#include <csignal>
#include <cstddef>
#include <cstdlib>

namespace app {

inline volatile std::sig_atomic_t g_interrupted = 0;

inline void on_interrupt(int sig) {
  g_interrupted = 1;
  std::signal(sig, SIG_DFL);
}

// A non-negative integer from the environment; 0 when unset or malformed.
inline std::size_t env_size(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end = nullptr;
  const unsigned long long x = std::strtoull(v, &end, 10);
  return *end == '\0' ? std::size_t(x) : 0;
}

class training_interrupts {
 public:
  // Installs the SIGINT / SIGTERM handler.
  training_interrupts() {
    g_interrupted = 0;
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);
  }

  // Called once after every batch: true when the run must stop now (and leave a checkpoint).
  bool stop_after_batch() { return g_interrupted != 0 || ++batches_ == interrupt_after_; }

  // Called once after every epoch's files: the crash test hook (nothing otherwise).
  void after_epoch(int epochs_done) const {
    if (crash_after_epoch_ && std::size_t(epochs_done) == crash_after_epoch_) std::_Exit(137);
  }

 private:
  std::size_t batches_ = 0;
  const std::size_t interrupt_after_ = env_size("HOUSENET_APP_INTERRUPT_AFTER");
  const std::size_t crash_after_epoch_ = env_size("HOUSENET_APP_CRASH_AFTER_EPOCH");
};

}  // namespace app

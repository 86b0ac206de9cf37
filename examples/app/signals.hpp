// examples/app/signals.hpp: Ctrl-C during training.
//
// The first SIGINT (or SIGTERM) only sets a flag: the training loop finishes the batch it is on,
// writes a resumable checkpoint and exits with status 130. A second one kills the process at once
// (the default action is restored by the first); the previous complete checkpoint is then still
// there, since every file is replaced by rename.
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

inline void install_interrupt_handler() {
  g_interrupted = 0;
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
}

inline bool interrupted() { return g_interrupted != 0; }

// A non-negative integer from the environment; 0 when unset or malformed.
inline std::size_t env_size(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end = nullptr;
  const unsigned long long x = std::strtoull(v, &end, 10);
  return *end == '\0' ? std::size_t(x) : 0;
}

}  // namespace app

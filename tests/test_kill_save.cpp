// kill -9 at any moment of saving leaves the previous model file intact (docs/errors.md,
// "Training safety"). A child process saves model A and model B to the same path in a loop (and
// checkpoints to a second path); the test SIGKILLs it at random moments, then loads both files:
// each must load and be exactly A or B, never a damaged or half-written file.
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/layers.hpp>
#include <housenet/model_io.hpp>
#include <housenet/optim.hpp>
#include <housenet/random.hpp>
#include <housenet/sequential.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

using namespace housenet;
namespace fs = std::filesystem;

namespace {

// About 1.2 MB of parameters: a save takes long enough to be caught in the middle.
sequential<float> model(std::uint64_t seed) {
  sequential<float> n;
  n.add<flatten<float>>();
  n.add<linear<float>>(300);
  n.add<relu<float>>();
  n.add<linear<float>>(4);
  n.setup(shape{1, 1000}, seed);
  return n;
}

bool same_values(const sequential<float>& a, const sequential<float>& b) {
  return a.values().size() == b.values().size() &&
         std::memcmp(a.values().data(), b.values().data(), a.values().size() * sizeof(float)) == 0;
}

void sleep_us(long us) {
  timespec ts{us / 1000000, (us % 1000000) * 1000};
  while (::nanosleep(&ts, &ts) != 0) {
  }
}

}  // namespace

TEST_CASE("kill -9 during save: the model file is the old or the new one, never damaged") {
  const housenet_test::scratch_dir tmp("kill-save");
  const fs::path dir = tmp.path();
  const std::string path = (dir / "m.hsnt").string(), ckpt = (dir / "m.ckpt").string();
  const sequential<float> a = model(1), b = model(2);
  const std::vector<std::string> labels = {"gryffindor", "hufflepuff", "ravenclaw", "slytherin"};
  save_model(a, labels, path);
  sgd<float> opt;
  checkpoint_state st;
  st.epoch = 1;
  save_checkpoint(ckpt, a, opt, labels, st);

  // How long one save takes here (ASan builds are slower): kill moments span about 3 saves.
  const auto t0 = std::chrono::steady_clock::now();
  save_model(b, labels, path);
  save_model(a, labels, path);
  const long save_us = std::max<long>(
      200, long(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count() / 2));

  prng r(2026);
  int seen_a = 0, seen_b = 0;
  const int rounds = 60;
  for (int round = 0; round < rounds; ++round) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {  // the child: save forever, alternating A and B
      for (std::uint64_t i = 0;; ++i) {
        const sequential<float>& m = (i % 2) ? a : b;
        save_model(m, labels, path);
        st.epoch = i;
        save_checkpoint(ckpt, m, opt, labels, st);
      }
    }
    sleep_us(long(r.uniform_int(std::uint64_t(3 * save_us))) + 50);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));

    loaded_model<float> m = load_model(path);  // throws (fails the test) if damaged
    const bool is_a = same_values(m.model, a), is_b = same_values(m.model, b);
    CHECK((is_a || is_b));
    CHECK(m.info.labels == labels);
    seen_a += is_a;
    seen_b += is_b;
    sgd<float> o2;
    loaded_checkpoint<float> c = load_checkpoint(ckpt, o2);
    CHECK((same_values(c.model, a) || same_values(c.model, b)));
  }
  MESSAGE("after " << rounds << " kills: " << seen_a << " x model A, " << seen_b << " x model B; one save ~"
                   << save_us << " us");
  // Killed temporary files (<name>.tmp-XXXXXX) may remain; the model files themselves are whole.
}

// The thread pool when starting a worker throws: set_num_threads reports it, and the pool stays
// usable (1 thread) instead of keeping its busy flag set, which made the next set_num_threads
// spin forever.
//
// The failure is made real without a hook in the library: this executable replaces the global
// operator new, and a test arms it to throw std::bad_alloc from the k-th allocation on, which
// lands in the pool's worker vector or in a std::thread's state while the workers start. Under
// WebAssembly without pthreads (tests/wasm.cmake builds this file with HOUSENET_NO_THREADS=0)
// std::thread itself refuses every worker: the same path, for real.
#include <doctest/doctest.h>

#include <housenet/parallel.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

namespace {
std::atomic<bool> failing{false};
std::atomic<long> allowed{0};  // allocations that still succeed while failing
}  // namespace

void* operator new(std::size_t n) {
  if (failing.load() && allowed.fetch_sub(1) <= 0) throw std::bad_alloc();
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// (GCC sees new-expressions freed here and warns: these deletes are their pair.)
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

// Every allocation after the first k (from now) throws, until disarm().
void arm(long k) {
  allowed.store(k);
  failing.store(true);
}
void disarm() { failing.store(false); }

// Ends the process with a message if the test is still running after `seconds` (a hang, not a
// slow machine: the calls it guards return in microseconds). No thread where none can start.
class watchdog {
 public:
  explicit watchdog(int seconds) {
    try {
      t_ = std::thread([this, seconds] {
        std::unique_lock<std::mutex> lk(m_);
        if (!cv_.wait_for(lk, std::chrono::seconds(seconds), [this] { return done_; })) {
          std::fprintf(stderr, "test_parallel: hung for %d s (the pool's busy flag left set?)\n", seconds);
          std::_Exit(1);
        }
      });
    } catch (const std::exception&) {
    }
  }
  ~watchdog() {
    {
      std::lock_guard<std::mutex> lk(m_);
      done_ = true;
    }
    cv_.notify_all();
    if (t_.joinable()) t_.join();
  }

 private:
  std::thread t_;
  std::mutex m_;
  std::condition_variable cv_;
  bool done_ = false;
};

// parallel_for covers [0, n) exactly once.
bool covers(std::size_t n) {
  std::vector<std::atomic<int>> hits(n);
  housenet::parallel_for(n, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) hits[i].fetch_add(1);
  });
  for (auto& h : hits)
    if (h.load() != 1) return false;
  return true;
}

// Whether this platform starts threads at all (not WebAssembly without pthreads).
bool threads_start() {
  try {
    std::thread([] {}).join();
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

TEST_CASE("set_num_threads: a worker that cannot start leaves the pool usable") {
  const int before = housenet::num_threads();
  const bool can_thread = threads_start();
  watchdog guard(120);
  int failures = 0;
  bool started = false;
  for (long k = 0; k < 12 && !started; ++k) {
    CAPTURE(k);
    bool threw = false;
    arm(k);
    try {
      housenet::set_num_threads(4);
    } catch (const std::exception&) {
      threw = true;
    }
    disarm();
    if (threw) {
      ++failures;
      CHECK(housenet::num_threads() == 1);
    } else {
      started = true;
      CHECK(housenet::num_threads() == 4);
    }
    CHECK(covers(1000));
    // the next set_num_threads returns (it spun forever on the busy flag left set)
    if (can_thread) {
      housenet::set_num_threads(2);
      CHECK(housenet::num_threads() == 2);
    } else {
      CHECK_THROWS(housenet::set_num_threads(2));
      CHECK(housenet::num_threads() == 1);
    }
    CHECK(covers(1000));
  }
  CHECK(failures >= 1);            // the allocation failures did reach the pool
  CHECK(started == can_thread);    // with enough memory the workers start, where threads exist
  housenet::set_num_threads(before);
}

TEST_CASE("set_num_threads: waits for a running job, then resizes") {
  if (!threads_start()) return;  // nothing can run concurrently here
  watchdog guard(120);
  housenet::set_num_threads(2);
  std::atomic<bool> in_job{false}, release{false};
  std::thread user([&] {
    housenet::parallel_for(2, [&](std::size_t, std::size_t) {
      in_job.store(true);
      while (!release.load()) std::this_thread::yield();
    });
  });
  while (!in_job.load()) std::this_thread::yield();
  std::thread resizer([] { housenet::set_num_threads(3); });
  release.store(true);
  user.join();
  resizer.join();
  CHECK(housenet::num_threads() == 3);
  CHECK(covers(999));
}

// housenet/parallel.hpp: the library's one thread pool.
//
//   parallel_for(n, fn)      calls fn(begin, end) on contiguous blocks that cover [0, n).
//   parallel_blocks(k, fn)   calls fn(block) for block = 0..k-1.
//   block_range(n, k, i)     the [begin, end) of block i when [0, n) is cut into k blocks.
//   detail::elementwise(n, fn)  parallel_for for n >= 65536, else fn(0, n) in the caller (for
//                            element-wise loops, whose results do not depend on the blocks).
//   set_num_threads(t), num_threads()
//
// DETERMINISM
//   parallel_for cuts [0, n) into num_threads() blocks (fewer if n is smaller), by thread count
//   only: which thread runs a block never changes the blocks. A reduction that writes one partial
//   per block and sums the partials in block order therefore gives the same bits for the same
//   thread count, whatever the scheduling.
//
// THREAD SAFETY
//   Safe to call from any thread. The pool runs one job at a time; a call made while it is busy
//   (another user thread, or a nested call from inside a job) runs its blocks inline, in order, in
//   the calling thread: same blocks, same results, no deadlock. Exceptions thrown by fn are
//   rethrown in the caller (the first one, by block order).
//   The pool starts on first use with HOUSENET_NUM_THREADS threads (environment), or the
//   hardware concurrency; with 1 thread if the system refuses to start worker threads (e.g.
//   WebAssembly without pthreads). Worker threads are joined at exit.
//   set_num_threads(t) waits for the running job; if a worker cannot be started it throws what
//   starting it threw, and the pool is left usable with 1 thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "error.hpp"

HOUSENET_BEGIN_NAMESPACE

namespace detail {

class thread_pool {
 public:
  static thread_pool& instance() {
    static thread_pool pool;
    return pool;
  }

  int size() const { return threads_; }

  // Waits for the running job, then restarts the workers. When a worker cannot be started (the
  // system refuses a thread, or memory runs out), the pool falls back to 1 thread (no worker),
  // stays usable, and the exception propagates.
  void resize(int n) {
    HOUSENET_CHECK(n >= 1 && n <= 1024, "set_num_threads: ", n, " is not in 1..1024");
    bool expected = false;
    while (!busy_.compare_exchange_weak(expected, true)) {
      expected = false;
      std::this_thread::yield();
    }
    struct release {
      std::atomic<bool>& b;
      ~release() { b.store(false); }
    } release_busy{busy_};
    stop_workers();
    threads_ = n;
    try {
      start_workers();
    } catch (...) {
      stop_workers();  // the ones that did start
      threads_ = 1;
      throw;
    }
  }

  // Runs fn(0) .. fn(k-1); the calling thread takes part.
  void run(std::size_t k, const std::function<void(std::size_t)>& fn) {
    if (k == 0) return;
    bool expected = false;
    if (k == 1 || workers_.empty() || !busy_.compare_exchange_strong(expected, true)) {
      for (std::size_t i = 0; i < k; ++i) fn(i);  // busy or nested: inline, same blocks
      return;
    }
    struct release {
      std::atomic<bool>& b;
      ~release() { b.store(false); }
    } release_busy{busy_};
    errors_.assign(k, nullptr);
    {
      std::lock_guard<std::mutex> lk(m_);
      fn_ = &fn;
      blocks_ = k;
      next_.store(0);
      pending_ = workers_.size();
      ++generation_;
    }
    cv_.notify_all();
    work();
    {
      std::unique_lock<std::mutex> lk(m_);
      done_cv_.wait(lk, [&] { return pending_ == 0; });
      fn_ = nullptr;
    }
    for (auto& e : errors_)
      if (e) std::rethrow_exception(e);
  }

  ~thread_pool() { stop_workers(); }

 private:
  thread_pool() {
    threads_ = default_threads();
    try {
      start_workers();
    } catch (...) {  // no threads to be had: serial (set_num_threads reports the failure)
      stop_workers();
      threads_ = 1;
    }
  }

  static int default_threads() {
#if HOUSENET_NO_THREADS
    return 1;
#else
    if (const char* env = std::getenv("HOUSENET_NUM_THREADS")) {
      char* end = nullptr;
      const long v = std::strtol(env, &end, 10);
      if (end != env && *end == '\0' && v >= 1 && v <= 1024) return int(v);
    }
    const unsigned hc = std::thread::hardware_concurrency();
    return hc == 0 ? 1 : int(std::min(hc, 1024u));
#endif
  }

  void work() {
    const auto& fn = *fn_;
    for (;;) {
      const std::size_t i = next_.fetch_add(1);
      if (i >= blocks_) break;
      try {
        fn(i);
      } catch (...) {
        errors_[i] = std::current_exception();
      }
    }
  }

  // seen: the job generation already handled when this worker starts (workers started by
  // set_num_threads after earlier jobs must not run those again).
  void worker_loop(std::size_t seen) {
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      work();
      {
        std::lock_guard<std::mutex> lk(m_);
        if (--pending_ == 0) done_cv_.notify_one();
      }
    }
  }

  void start_workers() {
#if !HOUSENET_NO_THREADS
    stop_ = false;
    const std::size_t gen = generation_;
    workers_.reserve(std::size_t(threads_ - 1));
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, gen] { worker_loop(gen); });
#endif
  }
  void stop_workers() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  int threads_ = 1;
  std::vector<std::thread> workers_;
  std::atomic<bool> busy_{false};  // one job at a time
  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(std::size_t)>* fn_ = nullptr;
  std::size_t blocks_ = 0;
  std::atomic<std::size_t> next_{0};
  std::size_t pending_ = 0;
  std::size_t generation_ = 0;
  bool stop_ = false;
  std::vector<std::exception_ptr> errors_;
};

}  // namespace detail

inline int num_threads() { return detail::thread_pool::instance().size(); }
inline void set_num_threads(int n) { detail::thread_pool::instance().resize(n); }

// [begin, end) of block i when [0, n) is cut into k nearly equal contiguous blocks.
inline std::pair<std::size_t, std::size_t> block_range(std::size_t n, std::size_t k, std::size_t i) {
  const std::size_t q = n / k, r = n % k;
  const std::size_t begin = i * q + std::min(i, r);
  return {begin, begin + q + (i < r ? 1 : 0)};
}

template <class F>
void parallel_blocks(std::size_t k, F&& fn) {
  const std::function<void(std::size_t)> f = [&](std::size_t i) { fn(i); };
  detail::thread_pool::instance().run(k, f);
}

// fn(begin, end) over num_threads() contiguous blocks of [0, n) (fewer when n is smaller).
template <class F>
void parallel_for(std::size_t n, F&& fn) {
  if (n == 0) return;
  const std::size_t k = std::min<std::size_t>(n, std::size_t(num_threads()));
  if (k == 1) {
    fn(std::size_t(0), n);
    return;
  }
  parallel_blocks(k, [&](std::size_t i) {
    const auto r = block_range(n, k, i);
    fn(r.first, r.second);
  });
}

namespace detail {
template <class F>
void elementwise(std::size_t n, F&& fn) {
  if (n >= (std::size_t(1) << 16))
    parallel_for(n, fn);
  else
    fn(std::size_t(0), n);
}
}  // namespace detail

HOUSENET_END_NAMESPACE

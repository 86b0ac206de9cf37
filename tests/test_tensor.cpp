#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/parallel.hpp>
#include <housenet/random.hpp>
#include <housenet/tensor.hpp>

#include <atomic>
#include <cstdint>
#include <numeric>
#include <thread>
#include <vector>

using namespace housenet;

TEST_CASE("shape: rank, size, str") {
  shape s{2, 3, 7, 5};
  CHECK(s.rank() == 4);
  CHECK(s.size() == 210);
  CHECK(s.sample_size() == 105);
  CHECK(s.str() == "2x3x7x5");
  shape v{4, 6};
  CHECK(v.c() == 6);
  CHECK(v.h() == 1);
  CHECK(v.size() == 24);
  CHECK(v.str() == "4x6");
  CHECK(shape{}.size() == 0);
  CHECK(v != s);
  CHECK(s.with_n(1).str() == "1x3x7x5");
  CHECK_THROWS_AS(shape({1, 2, 3, 4, 5}), error);
}

TEST_CASE("tensor: aligned, NCHW indexing, move-only, resize reuses storage") {
  tensor<float> t(shape{2, 3, 4, 5});
  CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
  std::iota(t.begin(), t.end(), 0.0f);
  CHECK(t(1, 2, 3, 4) == 119.0f);
  CHECK(t(1, 0, 0, 0) == 60.0f);
  const float* p = t.data();
  t.resize(shape{1, 3, 4, 5});
  CHECK(t.data() == p);  // smaller: same storage
  CHECK(t.size() == 60);
  tensor<float> u = std::move(t);
  CHECK(u.data() == p);
  CHECK(t.data() == nullptr);
  tensor<float> c = u.clone();
  CHECK(c.data() != u.data());
  CHECK(c[59] == 59.0f);
  c.zero();
  CHECK(c[59] == 0.0f);
  // 2^50 elements: over the 1 TiB limit with a 64-bit size_t, more than a 32-bit one counts
  CHECK_THROWS_AS(tensor<double>(shape{std::size_t(1) << 20, std::size_t(1) << 20, 1024}), error);
}

TEST_CASE("shape: an element count that does not fit in size_t is an error, never a wrapped size") {
  const std::size_t half = std::size_t(1) << (4 * sizeof(std::size_t));  // 2^16 (wasm32) or 2^32
  const shape s{half, half, 1, 1};  // exactly 2^bits: wraps to 0
  CHECK_THROWS_WITH_AS(s.size(), doctest::Contains("has more elements than size_t holds"), error);
  CHECK(s.sample_size() == half);
  CHECK_THROWS_AS((void)shape({1, half, half}).sample_size(), error);
  CHECK(shape({1, half - 1, half + 1}).size() == std::size_t(-1));  // the most that fits
  CHECK(shape({half, half, half, 0}).size() == 0);  // a zero dimension: 0 elements, however wide
  CHECK(shape({half, half, 0}).sample_size() == 0);
  tensor<float> t;
  CHECK_THROWS_AS(t.resize(s), error);
  CHECK(t.data() == nullptr);
}

TEST_CASE("random: deterministic, uniform range, normal moments") {
  prng a(42), b(42), c(43);
  for (int i = 0; i < 10; ++i) CHECK(a.next_u64() == b.next_u64());
  CHECK(a.next_u64() != c.next_u64());
  prng r(7);
  double sum = 0, sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    const double z = r.normal();
    sum += z;
    sq += z * z;
  }
  CHECK(std::abs(sum / n) < 0.01);
  CHECK(std::abs(sq / n - 1.0) < 0.02);
  for (int i = 0; i < 1000; ++i) CHECK(r.uniform_int(7) < 7);
}

TEST_CASE("parallel_for: covers [0,n) exactly once, deterministic blocks, nested calls") {
  const housenet_test::settings_guard restore;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    CHECK(num_threads() == threads);
    for (std::size_t n : {std::size_t(1), std::size_t(2), std::size_t(7), std::size_t(1000)}) {
      std::vector<std::atomic<int>> hits(n);
      parallel_for(n, [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) hits[i]++;
        // nested: runs inline, must not deadlock
        parallel_for(3, [](std::size_t, std::size_t) {});
      });
      for (auto& h : hits) CHECK(h.load() == 1);
    }
  }
  // exceptions propagate to the caller
  set_num_threads(2);
  CHECK_THROWS_AS(parallel_for(10, [](std::size_t b, std::size_t) {
                    if (b > 0) throw error("boom");
                  }),
                  error);
  CHECK_THROWS_AS(set_num_threads(0), error);
}

TEST_CASE("parallel_for: concurrent callers from user threads" * doctest::test_suite("threads")) {
  if (HOUSENET_NO_THREADS) return housenet_test::skip("a build without threads (WebAssembly)");
  const housenet_test::settings_guard restore;
  set_num_threads(2);
  std::atomic<long> total{0};
  std::vector<std::thread> users;
  for (int u = 0; u < 4; ++u)
    users.emplace_back([&] {
      for (int rep = 0; rep < 50; ++rep)
        parallel_for(100, [&](std::size_t b, std::size_t e) { total += long(e - b); });
    });
  for (auto& t : users) t.join();
  CHECK(total.load() == 4 * 50 * 100);
}

TEST_CASE("block_range: contiguous, balanced") {
  std::size_t prev = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    auto r = block_range(10, 3, i);
    CHECK(r.first == prev);
    CHECK(r.second - r.first >= 3);
    prev = r.second;
  }
  CHECK(prev == 10);
}

TEST_CASE("prng: from_state continues the stream") {
  prng a(11);
  for (int i = 0; i < 5; ++i) a.next_u64();
  prng b = prng::from_state(a.state());
  for (int i = 0; i < 10; ++i) CHECK(a.next_u64() == b.next_u64());
}

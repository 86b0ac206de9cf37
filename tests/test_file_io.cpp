// tests/test_file_io.cpp: the one atomic writer (housenet/file_io.hpp), which model files,
// checkpoints, image::save and the app all use: whole files or nothing, the old file kept on
// failure, no temporary file left, errors that name the path, unique temporary files.
#include <doctest/doctest.h>
#include <housenet/file_io.hpp>

#include "support.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
namespace hn = housenet;

namespace {

using housenet_test::list_dir;
using housenet_test::read_file;
using housenet_test::scratch_dir;

// The folder holds exactly this file.
bool only(const scratch_dir& d, const std::string& name) { return list_dir(d.str()) == std::vector<std::string>{name}; }

void put(const std::string& path, const std::string& s) { hn::write_file_atomic(path, s.data(), s.size()); }

// The last failure the hook below saw.
hn::write_failure seen;
bool temp_existed = false;
std::string remember(const std::string& path, const hn::write_failure& w) {
  seen = w;
  temp_existed = fs::exists(w.temp);
  return "hook: " + path;
}

}  // namespace

TEST_CASE("write_file_atomic: writes, replaces, mode 0644, leaves no temporary file") {
  const scratch_dir d("file-io-basic");
  put(d("a.txt"), "one");
  CHECK(read_file(d("a.txt")) == "one");
  put(d("a.txt"), "a longer second version");
  CHECK(read_file(d("a.txt")) == "a longer second version");
  put(d("a.txt"), "");
  CHECK(read_file(d("a.txt")).empty());
  CHECK(fs::exists(d("a.txt")));
  struct ::stat st;
  REQUIRE(::stat(d("a.txt").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  CHECK(only(d, "a.txt"));
}

TEST_CASE("write_file_atomic_with: the bytes of every piece, in order, across the 1 MiB buffer") {
  const scratch_dir d("file-io-pieces");
  std::string expect;
  hn::write_file_atomic_with(d("b.bin"), [&](const auto& write) {
    for (std::size_t n : {0ul, 1ul, 1000ul, (1ul << 20) - 1001, 2ul, (1ul << 20) + 17, 3ul, 5ul << 20}) {
      std::vector<std::uint8_t> piece(n);
      for (std::size_t i = 0; i < n; ++i) piece[i] = std::uint8_t((i * 131 + n) & 0xff);
      write(piece.data(), piece.size());
      expect.append(piece.begin(), piece.end());
    }
  });
  CHECK(read_file(d("b.bin")) == expect);
  CHECK(only(d, "b.bin"));
}

TEST_CASE("write_file_atomic_with: an exception midway (after 3 MiB reached the disk) keeps the old file") {
  const scratch_dir d("file-io-throw");
  put(d("m.hsnt"), "the old model");
  const std::vector<std::uint8_t> mib(std::size_t(1) << 20, 7);
  CHECK_THROWS_WITH_AS(hn::write_file_atomic_with(d("m.hsnt"),
                                                  [&](const auto& write) {
                                                    for (int i = 0; i < 3; ++i) write(mib.data(), mib.size());
                                                    throw std::runtime_error("stopped by the producer");
                                                  }),
                       "stopped by the producer", std::runtime_error);
  CHECK(read_file(d("m.hsnt")) == "the old model");
  CHECK(only(d, "m.hsnt"));
}

TEST_CASE("write_file_atomic: a write the system refuses midway (file size limit) keeps the old file" *
          doctest::test_suite("rlimit")) {
  if (HOUSENET_WASM) return housenet_test::skip("WebAssembly's file systems have no file size limit");
  const scratch_dir d("file-io-limit");
  put(d("big.bin"), "the old file");
  struct ::rlimit old_limit;
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  // The limit makes write() fail with EFBIG once 1 MiB is written (SIGXFSZ ignored).
  struct ::rlimit limit = old_limit;
  limit.rlim_cur = 1 << 20;
  const auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
  const std::string big(3u << 20, 'x');
  std::string error;
  try {
    put(d("big.bin"), big);
  } catch (const hn::error& e) {
    error = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ::signal(SIGXFSZ, old_handler);
  CHECK(error == d("big.bin") + ": cannot write: File too large");
  CHECK(read_file(d("big.bin")) == "the old file");
  CHECK(only(d, "big.bin"));
  put(d("big.bin"), big);  // and without the limit it fits
  CHECK(read_file(d("big.bin")) == big);
}

TEST_CASE("write_file_atomic: errors name the path and say why; nothing is left behind") {
  const scratch_dir d("file-io-errors");
  const std::string missing = d("no/such/dir/x.bin");
  CHECK_THROWS_WITH_AS(put(missing, "x"), (missing + ": cannot create a temporary file next to it: No such file or directory").c_str(),
                       hn::error);
  // a folder where the file should go: the rename fails
  fs::create_directories(d("a-folder"));
  CHECK_THROWS_WITH_AS(put(d("a-folder"), "x"),
                       (d("a-folder") + ": cannot rename the temporary file into place: Is a directory").c_str(), hn::error);
  CHECK(only(d, "a-folder"));
  CHECK(fs::is_empty(d("a-folder")));
  CHECK_THROWS_WITH_AS(put("", "x"), "write_file_atomic: empty file name", hn::error);
}

TEST_CASE("write_file_atomic: the caller's message sees the failed step and the temporary file") {
  const scratch_dir d("file-io-hook");
  const std::string missing = d("none/x.png");
  CHECK_THROWS_WITH_AS(hn::write_file_atomic(missing, "x", 1, remember), ("hook: " + missing).c_str(), hn::error);
  CHECK(seen.step == hn::write_step::create);
  CHECK(seen.temp == missing + ".tmp-XXXXXX");
  CHECK(seen.reason == "No such file or directory");
  fs::create_directories(d("dir.png"));
  CHECK_THROWS_WITH_AS(hn::write_file_atomic(d("dir.png"), "x", 1, remember), ("hook: " + d("dir.png")).c_str(), hn::error);
  CHECK(seen.step == hn::write_step::rename);
  CHECK(seen.temp.rfind(d("dir.png") + ".tmp-", 0) == 0);
  CHECK(seen.temp.size() == d("dir.png").size() + 11);  // mkstemp's 6 characters
  CHECK(seen.temp != d("dir.png") + ".tmp-XXXXXX");
  CHECK(temp_existed);                  // the message is made while the temporary file exists...
  CHECK(!fs::exists(seen.temp));        // ... and it is removed after
  CHECK(seen.reason == "Is a directory");
  CHECK(std::string(hn::write_step_text(hn::write_step::sync)) == "cannot sync");
}

TEST_CASE("write_file_atomic: threads writing one path at once; a reader only ever sees whole files" *
          doctest::test_suite("threads")) {
  if (HOUSENET_NO_THREADS) return housenet_test::skip("a build without threads (WebAssembly)");
  // Temporary names unique per call (not per process): two threads never share a temporary file.
  const scratch_dir d("file-io-threads");
  const std::string path = d("shared.bin");
  const auto content = [](int t, int i) { return std::string(4096 * std::size_t(1 + i % 5) + std::size_t(t), char('a' + t)); };
  put(path, content(0, 0));
  std::atomic<bool> done{false};
  std::atomic<int> bad{0}, reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      const std::string s = read_file(path);
      const bool whole = !s.empty() && s[0] >= 'a' && s[0] < 'a' + 4 &&
                         s.size() % 4096 == std::size_t(s[0] - 'a') &&
                         std::all_of(s.begin(), s.end(), [&](char c) { return c == s[0]; });
      if (!whole) ++bad;
      ++reads;
    }
  });
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        try {
          put(path, content(t, i));
        } catch (const hn::error&) {
          ++failures;
        }
      }
    });
  for (auto& w : writers) w.join();
  done = true;
  reader.join();
  CHECK(failures == 0);
  CHECK(bad == 0);
  CHECK(reads > 0);
  const std::string last = read_file(path);
  CHECK(last.size() % 4096 == std::size_t(last[0] - 'a'));
  CHECK(only(d, "shared.bin"));
}

// housenet/file_io.hpp: whole files: THE atomic writer of the library (model files, checkpoints,
// images) and of the app, and a reader with a size bound.
//
// WHAT THIS IS
//   write_file_atomic(path, data, size [, message])
//   write_file_atomic_with(path, produce [, message])
//       produce(write) calls write(const std::uint8_t* p, std::size_t n) for the file's bytes in
//       order (so a large file is streamed, never held whole). The bytes go to a new temporary
//       file in the same directory, "<path>.tmp-XXXXXX" (mkstemp: unique across processes and
//       threads, never an existing file), in 1 MiB writes; then the file is given mode 0644,
//       fsynced and closed, renamed over path, and the directory is fsynced (best effort).
//       A reader, a crash or a kill at any moment sees the old file or the new one, whole; a
//       killed writer may leave its temporary file behind. On failure, or an exception from
//       produce (propagated unchanged), the temporary file is removed and the old file at path,
//       if any, is intact.
//       Errors: one housenet::error built by message(path, failure) from the step that failed,
//       the temporary file's name and strerror; the default, write_failure_text, gives
//         "<path>: cannot create a temporary file next to it: No such file or directory"
//         "<path>: cannot write: No space left on device"
//         "<path>: cannot rename the temporary file into place: Is a directory"
//   detail::read_file_bytes(path, what, max_bytes)   the whole file, at most max_bytes
//
// THREAD SAFETY
//   Any number of threads (or processes) may write the same path at once: each write is whole,
//   the last rename wins.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "config.hpp"
#include "error.hpp"

#if HOUSENET_POSIX
#  include <fcntl.h>
#  include <sys/stat.h>
#  include <unistd.h>
#else
#  include <atomic>
#  include <chrono>
#endif

HOUSENET_BEGIN_NAMESPACE

// The step of write_file_atomic that failed.
enum class write_step { create, write, permissions, sync, close, rename };

struct write_failure {
  write_step step = write_step::create;
  std::string temp;    // the temporary file ("<path>.tmp-XXXXXX" when it could not be created)
  std::string reason;  // strerror of the call that failed
};

// What a step does, as the default message says it: "cannot write", ...
inline const char* write_step_text(write_step s) {
  switch (s) {
    case write_step::create: return "cannot create a temporary file next to it";
    case write_step::write: return "cannot write";
    case write_step::permissions: return "cannot set permissions";
    case write_step::sync: return "cannot sync";
    case write_step::close: return "cannot close";
    case write_step::rename: return "cannot rename the temporary file into place";
  }
  return "cannot write";
}

// The default error message: "<path>: <what the step does>: <reason>".
inline std::string write_failure_text(const std::string& path, const write_failure& w) {
  return detail::concat(path, ": ", write_step_text(w.step), ": ", w.reason);
}

using write_failure_message = std::string (*)(const std::string& path, const write_failure& w);

namespace detail {

inline std::string errno_text(int e) { return std::strerror(e); }

#if HOUSENET_POSIX
// The temporary file while it exists: closed and removed on every way out except success.
struct temp_file {
  int fd = -1;
  std::string name;
  bool keep = false;
  temp_file() = default;
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  ~temp_file() {
    if (fd >= 0) ::close(fd);
    if (!keep && !name.empty()) ::unlink(name.c_str());
  }
};
#endif

}  // namespace detail

template <class Produce>
void write_file_atomic_with(const std::string& path, Produce&& produce,
                            write_failure_message message = write_failure_text) {
  HOUSENET_CHECK(!path.empty(), "write_file_atomic: empty file name");
  const auto give_up = [&](write_step step, const std::string& temp, int e) {
    detail::fail(message(path, write_failure{step, temp, detail::errno_text(e)}));
  };
#if HOUSENET_POSIX
  const std::string pattern = path + ".tmp-XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  detail::temp_file tmp;
  tmp.fd = ::mkstemp(name.data());
  if (tmp.fd < 0) give_up(write_step::create, pattern, errno);
  tmp.name = name.data();
  // the bytes go out in 1 MiB writes
  std::vector<std::uint8_t> buf;
  buf.reserve(std::size_t(1) << 20);
  const auto flush = [&] {
    std::size_t done = 0;
    while (done < buf.size()) {
      const ::ssize_t w = ::write(tmp.fd, buf.data() + done, buf.size() - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) give_up(write_step::write, tmp.name, w < 0 ? errno : EIO);
      done += std::size_t(w);
    }
    buf.clear();
  };
  produce([&](const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
      const std::size_t take = std::min(n, buf.capacity() - buf.size());
      buf.insert(buf.end(), p, p + take);
      p += take;
      n -= take;
      if (buf.size() == buf.capacity()) flush();
    }
  });
  flush();
  if (::fchmod(tmp.fd, 0644) != 0) give_up(write_step::permissions, tmp.name, errno);
  if (::fsync(tmp.fd) != 0) give_up(write_step::sync, tmp.name, errno);
  const int fd = tmp.fd;
  tmp.fd = -1;  // closed below whatever close() says
  if (::close(fd) != 0) give_up(write_step::close, tmp.name, errno);
  if (::rename(tmp.name.c_str(), path.c_str()) != 0) give_up(write_step::rename, tmp.name, errno);
  tmp.keep = true;
  // Make the rename durable: fsync the directory (best effort: not every file system can).
  const std::size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
#else
  // No mkstemp: a name unique in this process (a counter) and across processes (the clock),
  // created only if it does not exist ("x"); no fsync in standard C++.
  static std::atomic<unsigned long long> counter{0};
  std::string tmp;
  std::FILE* f = nullptr;
  for (int attempt = 0; !f && attempt < 100; ++attempt) {
    tmp = detail::concat(path, ".tmp-", std::chrono::steady_clock::now().time_since_epoch().count(), "-", ++counter);
    errno = 0;
    f = std::fopen(tmp.c_str(), "wbx");
    if (!f && errno != EEXIST) break;
  }
  if (!f) give_up(write_step::create, tmp, errno);
  try {
    produce([&](const std::uint8_t* p, std::size_t n) {
      if (std::fwrite(p, 1, n, f) != n) give_up(write_step::write, tmp, errno);
    });
  } catch (...) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  const bool flushed = std::fflush(f) == 0;
  const int flush_error = errno;
  const bool closed = std::fclose(f) == 0;
  if (!flushed || !closed) {
    const int e = flushed ? errno : flush_error;
    std::remove(tmp.c_str());
    give_up(flushed ? write_step::close : write_step::write, tmp, e);
  }
  std::remove(path.c_str());  // (rename does not replace a file everywhere)
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int r = errno;
    std::remove(tmp.c_str());
    give_up(write_step::rename, tmp, r);
  }
#endif
}

// write_file_atomic_with for bytes in memory.
inline void write_file_atomic(const std::string& path, const void* data, std::size_t size,
                              write_failure_message message = write_failure_text) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  write_file_atomic_with(path, [&](const auto& write) { write(p, size); }, message);
}

namespace detail {

// The whole file at path; `what` names the kind of file the caller expects ("model file"), and
// a file larger than max_bytes is an error before anything is allocated.
inline std::vector<std::uint8_t> read_file_bytes(const std::string& path, const char* what, std::uint64_t max_bytes) {
#if HOUSENET_POSIX
  struct ::stat st;
  if (::stat(path.c_str(), &st) == 0)
    HOUSENET_CHECK(!S_ISDIR(st.st_mode), path, ": is a directory, not a ", what);
#endif
  std::ifstream f(path, std::ios::binary);
  HOUSENET_CHECK(f.good(), path, ": cannot open: ", errno_text(errno));
  f.seekg(0, std::ios::end);
  const std::streamoff n = f.tellg();
  HOUSENET_CHECK(n >= 0, path, ": cannot read its size");
  HOUSENET_CHECK(std::uint64_t(n) <= max_bytes && std::uint64_t(n) < std::size_t(-1), path, ": ", n,
                 " bytes is too large for a ", what);  // (a 32-bit size_t holds less than max_bytes)
  f.seekg(0, std::ios::beg);
  std::vector<std::uint8_t> b(static_cast<std::size_t>(n));
  if (n > 0) f.read(reinterpret_cast<char*>(b.data()), n);
  HOUSENET_CHECK(f.good() || (n == 0), path, ": cannot read: ", errno_text(errno));
  return b;
}

}  // namespace detail
HOUSENET_END_NAMESPACE

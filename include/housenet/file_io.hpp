// housenet/file_io.hpp: whole files, written atomically and read with a size bound.
//
// WHAT THIS IS
//   detail::write_file_atomic_with(path, produce)   produce(write) calls write(p, n) for the
//       file's bytes in order; they go to a temporary file in the same directory (mkstemp:
//       "<path>.tmp-XXXXXX"), which is fsynced, renamed over path, and the directory fsynced.
//       On failure (or an exception from produce) the temporary file is removed and the old file
//       at path, if any, is intact.
//   detail::write_file_atomic(path, bytes)          the same for bytes in memory
//   detail::read_file_bytes(path, what, max_bytes)  the whole file, at most max_bytes
//
//   Not API (detail): may change.
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

#if defined(__unix__) || defined(__APPLE__)
#  include <fcntl.h>
#  include <sys/stat.h>
#  include <unistd.h>
#  define HOUSENET_POSIX_IO 1
#else
#  define HOUSENET_POSIX_IO 0
#endif

#include "error.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace detail {

inline std::string errno_text(int e) { return std::strerror(e); }

// Writes a file atomically: a temporary file in the same directory, fsync, rename.
// produce(write) calls write(const std::uint8_t* p, std::size_t n) for the file's bytes in order.
template <class Produce>
void write_file_atomic_with(const std::string& path, Produce&& produce) {
  HOUSENET_CHECK(!path.empty(), "model: empty file name");
#if HOUSENET_POSIX_IO
  std::string tmpl = path + ".tmp-XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  HOUSENET_CHECK(fd >= 0, path, ": cannot create a temporary file next to it: ", errno_text(errno));
  const std::string tmp(name.data());
  const auto fail_with = [&](const char* what) {
    const int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(concat(path, ": ", what, ": ", errno_text(e)));
  };
  // the bytes go out in 1 MiB writes
  std::vector<std::uint8_t> buf;
  buf.reserve(std::size_t(1) << 20);
  const auto flush = [&] {
    std::size_t done = 0;
    while (done < buf.size()) {
      const ::ssize_t w = ::write(fd, buf.data() + done, buf.size() - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) fail_with("cannot write");
      done += std::size_t(w);
    }
    buf.clear();
  };
  try {
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
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::fchmod(fd, 0644) != 0) fail_with("cannot set permissions");
  if (::fsync(fd) != 0) fail_with("cannot sync");
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    fail(concat(path, ": cannot close: ", errno_text(e)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    fail(concat(path, ": cannot rename the temporary file into place: ", errno_text(e)));
  }
  // Make the rename durable: fsync the directory (best effort).
  const std::size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
#else
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    HOUSENET_CHECK(f.good(), path, ": cannot create a temporary file next to it");
    try {
      produce([&](const std::uint8_t* p, std::size_t n) {
        f.write(reinterpret_cast<const char*>(p), std::streamsize(n));
      });
    } catch (...) {
      f.close();
      std::remove(tmp.c_str());
      throw;
    }
    f.flush();
    if (!f.good()) {
      f.close();
      std::remove(tmp.c_str());
      fail(concat(path, ": cannot write"));
    }
  }
  std::remove(path.c_str());
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail(concat(path, ": cannot rename the temporary file into place"));
  }
#endif
}

inline void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  write_file_atomic_with(path, [&](const auto& write) { write(bytes.data(), bytes.size()); });
}

// The whole file at path; `what` names the kind of file the caller expects ("model file"), and
// a file larger than max_bytes is an error before anything is allocated.
inline std::vector<std::uint8_t> read_file_bytes(const std::string& path, const char* what, std::uint64_t max_bytes) {
#if HOUSENET_POSIX_IO
  struct ::stat st;
  if (::stat(path.c_str(), &st) == 0)
    HOUSENET_CHECK(!S_ISDIR(st.st_mode), path, ": is a directory, not a ", what);
#endif
  std::ifstream f(path, std::ios::binary);
  HOUSENET_CHECK(f.good(), path, ": cannot open: ", errno_text(errno));
  f.seekg(0, std::ios::end);
  const std::streamoff n = f.tellg();
  HOUSENET_CHECK(n >= 0, path, ": cannot read its size");
  HOUSENET_CHECK(std::uint64_t(n) <= max_bytes, path, ": ", n, " bytes is too large for a ", what);
  f.seekg(0, std::ios::beg);
  std::vector<std::uint8_t> b(static_cast<std::size_t>(n));
  if (n > 0) f.read(reinterpret_cast<char*>(b.data()), n);
  HOUSENET_CHECK(f.good() || (n == 0), path, ": cannot read: ", errno_text(errno));
  return b;
}

}  // namespace detail
HOUSENET_END_NAMESPACE

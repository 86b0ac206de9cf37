// tests/support.hpp: what the test programs share (one place for each helper).
//
//   error_of(f)        the message of the error f throws ("" when it returns), one line checked
//   contains, starts_with
//   read_file, read_bytes, write_file, list_dir, scratch_dir (a fresh folder, removed at scope exit)
//   same_bits          two tensors (or anything with data() and size()) bit for bit
//   rewrite_header     a .hsnt file with one header substring replaced (header_bytes, CRC fixed)
//   random_vec         deterministic values in [-1, 1) from the library's generator
//   tensor_of, set_values  a tensor from a list of values (hand-computed cases)
//   settings_guard     restores threads, instruction set and convolution algorithm at scope exit,
//                      so that no test case leaves them changed for the next one
//   skip(reason)       marks the running test case as skipped (see below)
//
// SKIPPING
//   A case that needs data from outside the repository (../shared, Debian's opencv-data) carries
//   a doctest suite naming it, and when the data are absent calls skip(reason) and returns. The
//   program (tests/test_main.cpp) then exits with skip_exit_code unless a case failed; ctest
//   reports that as Skipped only for the ctests that tests/CMakeLists.txt declares skippable
//   (HOUSENET_TESTS_THAT_SKIP: one ctest per such suite), and as a failure anywhere else, so no
//   case can skip unnoticed.
#pragma once

#include <doctest/doctest.h>

#include <housenet/conv_algorithm.hpp>
#include <housenet/detail/binary_io.hpp>
#include <housenet/detail/crc32.hpp>
#include <housenet/error.hpp>
#include <housenet/parallel.hpp>
#include <housenet/random.hpp>
#include <housenet/simd.hpp>
#include <housenet/tensor.hpp>

#include <stdlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

namespace housenet_test {

// The message of the Error that f throws, or "" when f returns normally. Another exception
// fails the running test case (and gives "not a housenet::error: <message>"). Errors are one line
// (docs/errors.md): a message with a newline fails the running test case too. (The app's tests
// take Error = std::exception: the app throws its own type as well.)
template <class Error = housenet::error>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    const std::string m = e.what();
    if (dynamic_cast<const Error*>(&e) == nullptr) {
      FAIL_CHECK("not a housenet::error: " << m);
      return "not a housenet::error: " + m;
    }
    CHECK_MESSAGE(m.find('\n') == std::string::npos, "an error message of more than one line: " << m);
    return m;
  }
  return "";
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
inline bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// The whole file as bytes ("" when it cannot be read).
inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

inline void write_file(const std::string& path, const void* bytes, std::size_t size) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(static_cast<const char*>(bytes), std::streamsize(size));
  REQUIRE_MESSAGE(f.good(), "cannot write " << path);
}
inline void write_file(const std::string& path, const std::string& bytes) {
  write_file(path, bytes.data(), bytes.size());
}
template <class Byte>
void write_file(const std::string& path, const std::vector<Byte>& bytes) {
  static_assert(sizeof(Byte) == 1, "bytes");
  write_file(path, bytes.data(), bytes.size());
}

// The whole file as bytes; REQUIREs that it can be read.
inline std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), "cannot read " << path);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// The names in a folder (not . and ..), sorted; empty when it cannot be read.
inline std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    out.push_back(it->path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// A fresh, empty folder under the system's temporary folder, removed with its contents (made
// writable first) when the object goes.
class scratch_dir {
 public:
  explicit scratch_dir(const std::string& tag = "test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / ("housenet-" + tag + "-XXXXXX")).string();
    REQUIRE_MESSAGE(::mkdtemp(tmpl.data()) != nullptr, "cannot make a folder " << tmpl);
    dir_ = tmpl;
  }
  ~scratch_dir() {
    std::error_code ec;
    for (std::filesystem::recursive_directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_directory(ec)) std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(dir_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  const std::filesystem::path& path() const { return dir_; }
  std::string str() const { return dir_.string(); }
  std::string operator()(const std::string& name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
};

// Rebuilds a .hsnt file (a model or an ensemble) with one header substring replaced, fixing
// header_bytes and the CRC (payload_bytes stays as it was).
inline std::vector<std::uint8_t> rewrite_header(const std::vector<std::uint8_t>& file, const std::string& from,
                                                const std::string& to) {
  std::uint64_t hb = 0;
  for (int i = 0; i < 8; ++i) hb |= std::uint64_t(file[12 + std::size_t(i)]) << (8 * i);
  std::string h(file.begin() + 20, file.begin() + 20 + std::ptrdiff_t(hb));
  const std::size_t at = h.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, "header has no '" << from << "'");
  h.replace(at, from.size(), to);
  housenet::detail::byte_writer w;
  w.raw(file.data(), 12);
  w.u64(h.size());
  w.str(h);
  w.raw(file.data() + 20 + hb, file.size() - 20 - hb - 4);
  w.u32(housenet::detail::crc32(w.bytes().data(), w.size()));
  return w.bytes();
}

// The same number of elements with the same bits (tensors: and the same shape).
template <class A, class B>
bool same_bits(const A& a, const B& b) {
  static_assert(sizeof(*a.data()) == sizeof(*b.data()), "same element type");
  return a.size() == b.size() && (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size() * sizeof(*a.data())) == 0);
}
template <class T>
bool same_bits(const housenet::tensor<T>& a, const housenet::tensor<T>& b) {
  return a.shape() == b.shape() && same_bits<housenet::tensor<T>, housenet::tensor<T>>(a, b);
}

// count values in [-1, 1), from the library's own generator
template <class T>
std::vector<T> random_vec(std::size_t count, std::uint64_t seed) {
  std::vector<T> v(count);
  housenet::prng g(seed);
  for (auto& x : v) x = T(g.uniform(-1.0, 1.0));
  return v;
}

// A tensor of shape s holding v (one value per element, converted to T).
template <class T>
housenet::tensor<T> tensor_of(const housenet::shape& s, const std::vector<double>& v) {
  REQUIRE(v.size() == s.size());
  housenet::tensor<T> t(s);
  for (std::size_t i = 0; i < v.size(); ++i) t[i] = static_cast<T>(v[i]);
  return t;
}

// Overwrites every element of t (a tensor or a parameter view) with v.
template <class Tensor>
void set_values(Tensor&& t, const std::vector<double>& v) {
  REQUIRE(v.size() == t.size());
  for (std::size_t i = 0; i < v.size(); ++i) t[i] = static_cast<std::remove_reference_t<decltype(t[i])>>(v[i]);
}

// The library's process-wide settings, put back at scope exit (also when an assertion throws).
struct settings_guard {
  int threads = housenet::num_threads();
  housenet::isa simd = housenet::active_isa();
  housenet::conv_algorithm conv = housenet::get_conv_algorithm();
  settings_guard() = default;
  settings_guard(const settings_guard&) = delete;
  settings_guard& operator=(const settings_guard&) = delete;
  ~settings_guard() {
    housenet::set_num_threads(threads);
    housenet::set_isa(simd);
    housenet::set_conv_algorithm(conv);
  }
};

// ---- skipping ----------------------------------------------------------------------------------
constexpr int skip_exit_code = 77;  // tests/CMakeLists.txt: SKIP_RETURN_CODE

inline int& skipped_cases() {
  static int n = 0;
  return n;
}

// Marks the running test case as skipped; the caller returns right after.
inline void skip(const std::string& reason) {
  ++skipped_cases();
  MESSAGE("SKIPPED: " << reason);
}

}  // namespace housenet_test

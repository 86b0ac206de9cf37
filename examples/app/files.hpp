// examples/app/files.hpp: file helpers of the housenet app.
//
//   write_file_atomic(path, bytes)   the library's writer (temp file in the same folder, fsync,
//                                    rename): a reader (or a crash, or Ctrl-C) sees the old file or
//                                    the new one, never half.
//   read_file(path)                  the whole file, or app_error.
//   check_writable(path)             app_error unless a file can be written at path (tried).
//   file_hash(bytes)                 64-bit FNV-1a; used with the size to find exact duplicates.
//   is_image_name(path)              by extension (png, jpg, jpeg, bmp, ppm, pgm, pnm, tga, gif).
//   find_data_file(name)             the bundled data (cascade, default model, samples): see below.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <housenet/file_io.hpp>

#include "cli.hpp"

namespace app {

namespace fs = std::filesystem;

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw app_error("cannot read '" + path + "': " + std::strerror(errno));
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

// Writes bytes to path with the library's atomic writer (housenet/file_io.hpp).
inline void write_file_atomic(const std::string& path, const std::string& bytes) {
  try {
    housenet::write_file_atomic(path, bytes.data(), bytes.size());
  } catch (const housenet::error& e) {
    throw app_error(e.what());
  }
}

// Fails early, before any work, when no file can be written at path: a folder there, or its folder
// missing or read-only (tried by creating and removing a temporary file beside it). The message is
// the one the library's writers give: "<path>: cannot create a temporary file next to it: <why>".
inline void check_writable(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw app_error(path + ": is a folder (expected a file name)");
  const std::string tmp = path + ".tmp-check-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw app_error(path + ": cannot create a temporary file next to it: " + std::strerror(errno));
  ::close(fd);
  ::unlink(tmp.c_str());
}

inline std::uint64_t file_hash(const std::string& bytes) {
  std::uint64_t h = 1469598103934665603ull;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

inline bool is_image_name(const fs::path& p) {
  const std::string name = p.filename().string();
  if (name.empty() || name[0] == '.') return false;
  const std::string ext = lower(p.extension().string());
  for (const char* e : {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".pnm", ".tga", ".gif"})
    if (ext == e) return true;
  return false;
}

// Sorted sub-folders of dir (hidden ones skipped).
inline std::vector<fs::path> list_subdirs(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw app_error("'" + dir.string() + "' is not a folder");
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory() && e.path().filename().string()[0] != '.') out.push_back(e.path());
  if (ec) throw app_error("cannot list '" + dir.string() + "': " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

// Sorted image files directly in dir.
inline std::vector<fs::path> list_images(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && is_image_name(e.path())) out.push_back(e.path());
  if (ec) throw app_error("cannot list '" + dir.string() + "': " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

// Names the output image of each input: OUT itself (one input, OUT not a folder), OUT/<stem>.<ext>
// (OUT a folder, or several inputs: the folder is created), or <stem><suffix>.<ext> in the current
// folder (no OUT, when `always`). <ext> is the input's when it is png/jpg/jpeg, else png; a name
// already given gets "-2", "-3", ...
class output_namer {
 public:
  output_namer(std::string out, std::size_t inputs, std::string suffix, bool always = false)
      : out_(std::move(out)), suffix_(std::move(suffix)), always_(always) {
    std::error_code ec;
    folder_ = !out_.empty() && (inputs > 1 || fs::is_directory(out_, ec));
    if (folder_) {
      fs::create_directories(out_, ec);
      if (ec) throw app_error("cannot create '" + out_ + "': " + ec.message());
    }
  }
  bool enabled() const { return always_ || !out_.empty(); }
  std::string name_for(const std::string& input) {
    const fs::path in(input);
    if (!out_.empty() && !folder_) return out_;
    std::string ext = lower(in.extension().string());
    if (ext != ".png" && ext != ".jpg" && ext != ".jpeg") ext = ".png";
    const std::string stem = in.stem().string() + (folder_ ? "" : suffix_);
    const fs::path dir = folder_ ? fs::path(out_) : fs::path();
    std::string name = (dir / (stem + ext)).string();
    for (int k = 2; used_.count(name); ++k) name = (dir / (stem + "-" + std::to_string(k) + ext)).string();
    used_.insert(name);
    return name;
  }

 private:
  std::string out_, suffix_;
  bool always_, folder_ = false;
  std::set<std::string> used_;
};

// ---- where the bundled data lives -----------------------------------------------------------
// Looked up, in order, in: $HOUSENET_DATA_DIR; the source tree's data/ when the program runs from
// its build tree; <exe>/../share/housenet (an installed, possibly relocated prefix); the install
// prefix it was configured with; the source tree's data/. The two compiled-in folders come from
// examples/CMakeLists.txt.
#ifndef HOUSENET_APP_SOURCE_DATA_DIR
#  define HOUSENET_APP_SOURCE_DATA_DIR ""
#endif
#ifndef HOUSENET_APP_INSTALL_DATA_DIR
#  define HOUSENET_APP_INSTALL_DATA_DIR ""
#endif
#ifndef HOUSENET_APP_BINARY_DIR
#  define HOUSENET_APP_BINARY_DIR ""
#endif

inline fs::path executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

inline std::vector<fs::path> data_dirs() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("HOUSENET_DATA_DIR"); env && *env) dirs.emplace_back(env);
  const fs::path exe = executable_dir();
  const std::string bin = HOUSENET_APP_BINARY_DIR;
  const std::string src = HOUSENET_APP_SOURCE_DATA_DIR;
  const bool in_build_tree = !bin.empty() && !exe.empty() && exe.string().rfind(bin, 0) == 0;
  if (in_build_tree && !src.empty()) dirs.emplace_back(src);
  if (!exe.empty()) dirs.push_back(exe.parent_path() / "share" / "housenet");
  if (std::string(HOUSENET_APP_INSTALL_DATA_DIR).size()) dirs.emplace_back(HOUSENET_APP_INSTALL_DATA_DIR);
  if (!src.empty()) dirs.emplace_back(src);
  return dirs;
}

// The first existing data/<name>; empty when none.
inline fs::path find_data_file(const std::string& name) {
  std::error_code ec;
  for (const auto& d : data_dirs())
    if (fs::is_regular_file(d / name, ec)) return d / name;
  return {};
}

inline std::string data_dirs_list() {
  std::string s;
  for (const auto& d : data_dirs()) s += (s.empty() ? "" : ", ") + d.string();
  return s;
}

}  // namespace app

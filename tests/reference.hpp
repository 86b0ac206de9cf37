// tests/reference.hpp: reading a libtorch oracle and comparing with it (the reference tests).
//
// FORMAT (tests/data/README.md; the same as ../shared/data/reference): a folder with
//   tensors.txt  one line `name dims file` per tensor, dims like 2x3x7x9 (a scalar: 1);
//   <file>       raw little-endian IEEE-754 float32, row-major, 4 * product(dims) bytes;
//   config.txt   `key value` lines (widths, seed, ...), optional.
// COMPARISON (the oracle README's criterion, per tensor):
//   max_i |got_i - ref_i| <= tol * max_i |ref_i|.
#pragma once

#include <doctest/doctest.h>

#include <housenet/tensor.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace housenet_test {

class reference {
 public:
  // True when dir holds a tensors.txt.
  static bool present(const std::string& dir) { return std::ifstream(dir + "/tensors.txt").good(); }

  // Reads every tensor of dir (REQUIREs a well-formed folder: every file as long as its dims say).
  explicit reference(const std::string& dir) : dir_(dir) {
    std::ifstream index(dir + "/tensors.txt");
    REQUIRE_MESSAGE(index.good(), "no libtorch reference at " << dir);
    std::string name, dims, file;
    while (index >> name >> dims >> file) {
      entry& e = tensors_[name];
      std::stringstream ss(dims);
      std::string part;
      std::size_t n = 1;
      while (std::getline(ss, part, 'x')) {
        e.dims.push_back(std::stoul(part));
        n *= e.dims.back();
      }
      std::ifstream in(dir + "/" + file, std::ios::binary);
      std::vector<unsigned char> bytes(4 * n);
      in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size()));
      REQUIRE_MESSAGE(std::size_t(in.gcount()) == bytes.size(), dir << "/" << file << ": short file");
      e.values.resize(n);
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t u = std::uint32_t(bytes[4 * i]) | std::uint32_t(bytes[4 * i + 1]) << 8 |
                                std::uint32_t(bytes[4 * i + 2]) << 16 | std::uint32_t(bytes[4 * i + 3]) << 24;
        std::memcpy(&e.values[i], &u, 4);
      }
    }
    REQUIRE_MESSAGE(!tensors_.empty(), dir << "/tensors.txt lists no tensor");
    std::ifstream config(dir + "/config.txt");
    std::string key, value;
    while (config >> key >> value) config_[key] = value;
  }

  const std::string& dir() const { return dir_; }
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }

  housenet::shape shape_of(const std::string& name) const {
    const auto& d = find(name).dims;
    return housenet::shape::from_range(d.begin(), d.end());
  }

  template <class T>
  housenet::tensor<T> get(const std::string& name) const {
    const entry& e = find(name);
    housenet::tensor<T> t(housenet::shape::from_range(e.dims.begin(), e.dims.end()));
    for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<T>(e.values[i]);
    return t;
  }

  // The value of a config.txt key, or `otherwise` when absent.
  std::string config(const std::string& key, const std::string& otherwise = "") const {
    const auto it = config_.find(key);
    return it == config_.end() ? otherwise : it->second;
  }

 private:
  struct entry {
    std::vector<std::size_t> dims;
    std::vector<float> values;
  };
  const entry& find(const std::string& name) const {
    const auto it = tensors_.find(name);
    REQUIRE_MESSAGE(it != tensors_.end(), "reference tensor '" << name << "' missing in " << dir_);
    return it->second;
  }

  std::string dir_;
  std::map<std::string, entry> tensors_;
  std::map<std::string, std::string> config_;
};

// max_i |got_i - ref_i| / max_i |ref_i| (the largest absolute difference when ref is all 0).
template <class A, class B>
double relative_error(const A& got, const B& ref) {
  REQUIRE(got.size() == ref.size());
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    diff = std::max(diff, std::fabs(double(got[i]) - double(ref[i])));
    scale = std::max(scale, std::fabs(double(ref[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

// The worst relative error seen per tolerance within one test case, for its closing MESSAGE.
class error_report {
 public:
  void add(double tol, double e, const std::string& what) {
    auto& w = worst_[tol];
    if (e >= w.first) w = {e, what};
  }
  std::string str() const {
    std::ostringstream os;
    os << "max |got - ref| / max |ref| per tolerance:";
    for (const auto& w : worst_) os << "\n  tol " << w.first << ": worst " << w.second.first << " (" << w.second.second << ")";
    return os.str();
  }

 private:
  std::map<double, std::pair<double, std::string>> worst_;
};

// Checks got against the reference tensor `name`: the same dims and max |got - ref| <= tol *
// max |ref|. Returns the relative error (also recorded in `report` when given).
template <class G>
double check_close(const reference& ref, const std::string& name, const G& got, double tol,
                   error_report* report = nullptr, const std::string& what = "") {
  const housenet::tensor<double> want = ref.get<double>(name);
  const std::string label = what.empty() ? name : what + " vs " + name;
  INFO(label << ": got " << got.shape().str() << ", reference " << want.shape().str());
  CHECK(got.shape() == want.shape());
  const double e = relative_error(got, want);
  if (report) report->add(tol, e, label);
  CHECK_MESSAGE(e <= tol, label << ": max |got - ref| / max |ref| = " << e << " > tol " << tol);
  return e;
}

}  // namespace housenet_test

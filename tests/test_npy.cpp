// .npy reading and writing (housenet/npy.hpp) against files written by NumPy (tests/data/npy,
// README.md there says how), and every documented error on damaged and unsupported inputs.
#include <doctest/doctest.h>

#include <housenet/npy.hpp>

#include "support.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

using namespace housenet;
using housenet_test::error_of;
using housenet_test::scratch_dir;
namespace fs = std::filesystem;

namespace {

const fs::path dir = fs::path(HOUSENET_SOURCE_DIR) / "tests" / "data" / "npy";

std::vector<std::uint8_t> bytes_of(const fs::path& p) { return housenet_test::read_bytes(p.string()); }

std::string read_error(const std::vector<std::uint8_t>& b) {
  return error_of([&] { npy_from_bytes(b.data(), b.size(), "x.npy"); });
}

}  // namespace

TEST_CASE("npy: NumPy's files of float32 read with their shapes and values") {
  const tensor<float> a = read_npy((dir / "f4_2x3x4.npy").string());
  CHECK(a.shape() == shape{2, 3, 4});
  for (std::size_t i = 0; i < 24; ++i) CHECK(a.data()[i] == (float(i) - 7.5f) / 3.0f);
  const tensor<float> b = read_npy((dir / "f4_5.npy").string());
  CHECK(b.shape() == shape{5});
  CHECK(b.data()[0] == 1.5f);
  CHECK(b.data()[1] == -2.0f);
  CHECK(b.data()[4] == 1e-8f);
  const tensor<float> c = read_npy((dir / "f4_1x2x2x3.npy").string());
  CHECK(c.shape() == shape{1, 2, 2, 3});
  CHECK(c.data()[11] == 5.5f);
  const tensor<float> d = read_npy((dir / "f4_v2_2x2.npy").string());  // format version 2.0
  CHECK(d.shape() == shape{2, 2});
  CHECK(d.data()[3] == 4.0f);
}

TEST_CASE("npy: written as NumPy writes it, byte for byte, and read back") {
  const scratch_dir tmp("npy");
  for (const char* name : {"f4_2x3x4.npy", "f4_5.npy", "f4_1x2x2x3.npy"}) {
    CAPTURE(name);
    const tensor<float> x = read_npy((dir / name).string());
    CHECK(npy_bytes(x) == bytes_of(dir / name));
    write_npy(tmp(name), x);
    const tensor<float> y = read_npy(tmp(name));
    CHECK(y.shape() == x.shape());
    CHECK(std::vector<float>(y.begin(), y.end()) == std::vector<float>(x.begin(), x.end()));
  }
}

TEST_CASE("npy: what housenet's tensors cannot hold is refused in one line") {
  CHECK(read_error(bytes_of(dir / "f8_3.npy")) ==
        "x.npy: data type '<f8' not supported (float32, '<f4', only: save x.astype(np.float32))");
  CHECK(read_error(bytes_of(dir / "f4_big_endian.npy")) ==
        "x.npy: data type '>f4' not supported (float32, '<f4', only: save x.astype(np.float32))");
  CHECK(read_error(bytes_of(dir / "f4_fortran.npy")) == "x.npy: Fortran order not supported (save np.ascontiguousarray(x))");
  CHECK(read_error(bytes_of(dir / "f4_scalar.npy")) == "x.npy: shape (): 0 dimensions (housenet's tensors have 1 to 4)");
  CHECK(read_error(bytes_of(dir / "f4_5d.npy")) == "x.npy: shape (1, 1, 1, 1, 2): 5 dimensions (housenet's tensors have 1 to 4)");
}

TEST_CASE("npy: damaged files give one error naming the file, never a crash") {
  const std::vector<std::uint8_t> good = bytes_of(dir / "f4_2x3x4.npy");
  CHECK(read_error({}) == "x.npy: not a .npy file (empty)");
  CHECK(read_error({'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0}) == "x.npy: not a .npy file (it starts with 50 4b 03 04)");
  std::vector<std::uint8_t> b = good;
  b[6] = 4;
  CHECK(read_error(b) == "x.npy: .npy version 4.0 not supported (1.0, 2.0, 3.0)");
  // truncated: in the header, in the data; trailing bytes
  CHECK(read_error(std::vector<std::uint8_t>(good.begin(), good.begin() + 40)) ==
        "x.npy: truncated .npy header (118 bytes announced, 30 there)");
  CHECK(read_error(std::vector<std::uint8_t>(good.begin(), good.end() - 4)) ==
        "x.npy: truncated: the shape (2, 3, 4) needs 96 bytes of data, the file has 92");
  b = good;
  b.push_back(0);
  CHECK(read_error(b) == "x.npy: trailing bytes: the shape (2, 3, 4) needs 96 bytes of data, the file has 97");
  // a header claiming a huge shape: refused before any allocation
  const auto with_header = [](const std::string& dict) {
    std::string s("\x93NUMPY\x01\x00", 8);
    s += char(dict.size());
    s += '\0';
    s += dict;
    s.append(8, '\0');
    return std::vector<std::uint8_t>(s.begin(), s.end());
  };
  CHECK(read_error(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100000), }")) ==
        "x.npy: truncated: the shape (100000, 100000, 100000) needs 4000000000000000 bytes of data, the file has 8");
  CHECK(read_error(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 1000000000000), }")) ==
        "x.npy: shape (1000000000000, 1000000000000) too large");
  CHECK(read_error(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 2), }")) ==
        "x.npy: shape (0, 2) has no elements");
  CHECK(read_error(with_header("{'descr': '<f4', 'shape': (2,), }")) ==
        "x.npy: bad .npy header (the header lacks 'descr', 'fortran_order' or 'shape')");
  CHECK(read_error(with_header("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }")) ==
        "x.npy: bad .npy header ('fortran_order' must be True or False)");
  CHECK(read_error(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }")) ==
        "x.npy: bad .npy header (a dimension must be a non-negative integer)");
  CHECK(read_error(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}")) ==
        "x.npy: bad .npy header (unknown header key 'x')");
  CHECK(read_error(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)")) ==
        "x.npy: bad .npy header (expected ',' or '}' in the header)");
  CHECK(read_error(with_header("{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}")) ==
        "x.npy: bad .npy header (expected ',' or '}' in the header)");
  CHECK(read_error(with_header("{'descr' '<f4', 'fortran_order': False, 'shape': (2,)}")) == "x.npy: bad .npy header (expected ':')");
  CHECK(error_of([] { read_npy((dir / "missing.npy").string()); }).find("missing.npy") != std::string::npos);
}

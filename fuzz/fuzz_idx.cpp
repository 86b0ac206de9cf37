// libFuzzer target: IDX and gzip reading (housenet/data/idx.hpp, data/gzip.hpp, in-memory API).
// Each input is tried as a plain IDX file and as a gzip file; a gzip input is tried a second time
// with its trailer (CRC-32 and size) recomputed from what stb_image inflates, so the fuzzer also
// reaches the checks behind the checksum and the IDX parser on inflated bytes. Any input must give
// an array (or bytes) or one housenet::error. A parsed images array is paired with labels made
// from its own bytes and run through make_labelled_images, pixel_mean_std and gather_batch.
#include <housenet/data/idx.hpp>
#include <housenet/detail/crc32.hpp>

#include <stb_image.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace {

constexpr std::size_t max_bytes = std::size_t(1) << 24;  // 16 MiB: fast runs, well under -rss_limit_mb

void use(housenet::idx_array a) {
  std::size_t n = 1;
  for (std::uint32_t d : a.dims) n *= d;
  if (n != a.data.size()) __builtin_trap();
  // A count is bounded by the file only through the image size, which may be 0: the labels made
  // here are bounded by the input instead.
  if (a.dims.size() != 3 || a.dims[0] == 0 || a.dims[0] > 65536) return;
  housenet::idx_array labels;
  labels.dims = {a.dims[0]};
  labels.data.resize(a.dims[0]);
  for (std::size_t i = 0; i < labels.data.size(); ++i) labels.data[i] = a.data.empty() ? 0 : a.data[i % a.data.size()];
  try {
    const housenet::labelled_images d = housenet::make_labelled_images(std::move(a), labels, 200, "i", "l");
    if (d.pixels.size() != d.count * d.height * d.width || d.labels.size() != d.count) __builtin_trap();
    const auto ms = housenet::pixel_mean_std(d);
    if (!(ms.first >= 0 && ms.first <= 1 && ms.second >= 0)) __builtin_trap();
    if (d.height * d.width <= 4096) {
      housenet::tensor<float> x;
      std::vector<int> l;
      housenet::gather_batch(d, {0, d.count - 1}, 0, 2, ms.first, ms.second > 0 ? ms.second : 1.0, x, l);
      if (x.size() != 2 * d.height * d.width || l.size() != 2) __builtin_trap();
    }
  } catch (const housenet::error&) {
  }
}

void try_gzip(const std::uint8_t* data, std::size_t size) {
  try {
    const std::vector<std::uint8_t> raw = housenet::gunzip(data, size, "fuzz.gz", max_bytes);
    use(housenet::idx_from_bytes(raw.data(), raw.size(), "fuzz.idx", max_bytes));
  } catch (const housenet::error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    use(housenet::idx_from_bytes(data, size, "fuzz.idx", max_bytes));
  } catch (const housenet::error&) {
  }
  try_gzip(data, size);
  if (!housenet::is_gzip(data, size) || size < 18) return 0;
  // The same file with a trailer that matches whatever the deflate data (from byte 10, optional
  // header fields included: a wrong guess is just more fuzz) inflates to.
  int len = 0;
  char* out = stbi_zlib_decode_noheader_malloc(reinterpret_cast<const char*>(data) + 10, int(size - 10), &len);
  if (!out) return 0;
  if (len >= 0 && std::size_t(len) <= max_bytes) {
    std::vector<std::uint8_t> fixed(data, data + size);
    const std::uint32_t crc = housenet::detail::crc32(out, std::size_t(len)), n = std::uint32_t(len);
    for (int i = 0; i < 4; ++i) {
      fixed[size - 8 + std::size_t(i)] = std::uint8_t(crc >> (8 * i));
      fixed[size - 4 + std::size_t(i)] = std::uint8_t(n >> (8 * i));
    }
    try_gzip(fixed.data(), fixed.size());
  }
  stbi_image_free(out);
  return 0;
}

// housenet/data/idx.hpp: IDX files (the MNIST / Fashion-MNIST format), plain or gzip'd.
//
// NEEDS stb for gzip'd files (this header includes data/gzip.hpp: link what the vision headers
// link, PkgConfig::stb). idx_from_bytes alone touches no stb code.
//
// WHAT THIS IS
//   The IDX format (LeCun et al.): big-endian, "00 00 <type> <ndims>", then ndims u32 sizes, then
//   the elements in row-major order. Only unsigned bytes (type 0x08) are read: every MNIST-family
//   data set (MNIST, Fashion-MNIST, KMNIST, EMNIST) stores its images and labels so.
//
//   idx_from_bytes(data, n, name [, max_bytes])   parses one IDX file held in memory
//   read_idx(path [, max_bytes])                   reads a file, gunzipped when it starts with the
//                                                  gzip magic (whatever its name)
//   read_idx_dataset(images, labels, classes)      an images file (N x H x W) and its labels file
//                                                  (N), checked against each other
//   load_mnist_split(dir, split)                   DIR/<split>-images-idx3-ubyte[.gz] and
//                                                  DIR/<split>-labels-idx1-ubyte[.gz], split
//                                                  "train" or "t10k" (the .gz name is tried first)
//   fashion_mnist_classes()                        the 10 class names of Fashion-MNIST, label order
//   gather_batch(d, order, first, count, mean, stddev, x, labels)
//       images order[first .. first + count) as a count x 1 x H x W float tensor, each pixel
//       (p / 255 - mean) / stddev, and their labels (x and labels are resized: no allocation
//       after the first batch of a given size)
//   pixel_mean_std(d [, items])                    mean and standard deviation of the pixels / 255
//
//   Every length is checked before anything is allocated: the sizes' product (overflow-checked)
//   against the bytes that are there, and the whole file against max_bytes (default 1 GiB;
//   Fashion-MNIST's training images are 47 MB).
//
// ERRORS (housenet::error, prefix "<file name>: "), e.g.
//   "train-images-idx3-ubyte: not an IDX file (it starts with 1f 8b 08 00)"
//   "x.idx: IDX element type 0x0d (float) not supported; this reader takes unsigned bytes (0x08)"
//   "x.idx: truncated: the sizes 60000x28x28 need 47040000 bytes of data, the file has 1000"
//   "x.idx: 16 bytes after the data of 60000x28x28 (damaged file?)"
//   "t10k-labels-idx1-ubyte.gz: expected images (3 sizes: count x rows x columns), found 1 size
//    (a labels file?)"
//   "train-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz: 60000 images but 10000 labels"
//   "t10k-labels-idx1-ubyte.gz: label 12 of item 345 is out of range 0..9"
//   and gzip.hpp's errors for a damaged .gz.
// THREAD SAFETY: free functions without shared state.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../file_io.hpp"
#include "../tensor.hpp"
#include "gzip.hpp"

HOUSENET_BEGIN_NAMESPACE

// The default limit on an IDX file's size, decompressed (1 GiB).
constexpr std::size_t default_max_idx_bytes = std::size_t(1) << 30;

// One IDX array of unsigned bytes: sizes (dims[0] is the item count) and the elements, row-major.
struct idx_array {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> data;
  std::string dims_str() const {
    std::string s;
    for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
    return s;
  }
};

// N gray images of H x W bytes (0 = background) and one label each.
struct labelled_images {
  std::size_t count = 0, height = 0, width = 0;
  std::vector<std::uint8_t> pixels;  // count * height * width, image after image
  std::vector<int> labels;           // count, each in 0..classes-1
  const std::uint8_t* image(std::size_t i) const { return pixels.data() + i * height * width; }
};

namespace detail {
inline const char* idx_type_name(unsigned t) {
  switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "unknown";
  }
}
inline std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}
}  // namespace detail

inline idx_array idx_from_bytes(const std::uint8_t* data, std::size_t n, const std::string& name,
                                std::size_t max_bytes = default_max_idx_bytes) {
  HOUSENET_CHECK(n >= 4, name, ": truncated IDX file (", n, " bytes; the magic number alone is 4)");
  HOUSENET_CHECK(data[0] == 0 && data[1] == 0, name, ": not an IDX file (it starts with ", detail::hex_bytes(data, 4),
                 ")");
  const unsigned type = data[2], ndims = data[3];
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", type);
  HOUSENET_CHECK(type == 0x08, name, ": IDX element type ", hex, " (", detail::idx_type_name(type),
                 ") not supported; this reader takes unsigned bytes (0x08)");
  HOUSENET_CHECK(ndims >= 1, name, ": the IDX header has no sizes (0 dimensions)");
  HOUSENET_CHECK(n >= 4 + 4 * std::size_t(ndims), name, ": truncated: the header of ", ndims, " sizes needs ",
                 4 + 4 * ndims, " bytes, the file has ", n);
  HOUSENET_CHECK(n <= max_bytes, name, ": ", n, " bytes, more than the limit of ", max_bytes);
  idx_array a;
  a.dims.resize(ndims);
  std::uint64_t count = 1;
  bool overflow = false;
  for (std::size_t i = 0; i < ndims; ++i) {
    const std::uint8_t* p = data + 4 + 4 * i;
    a.dims[i] = std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | std::uint32_t(p[3]);
    if (a.dims[i] != 0 && count > (std::uint64_t(1) << 62) / a.dims[i]) overflow = true;
    else count *= a.dims[i];
  }
  const std::size_t have = n - 4 - 4 * std::size_t(ndims);
  HOUSENET_CHECK(!overflow && count <= have, name, ": truncated: the sizes ", a.dims_str(), " need ",
                 overflow ? std::string("more than 2^62") : std::to_string(count), " bytes of data, the file has ",
                 have);
  HOUSENET_CHECK(count == have, name, ": ", have - count, " bytes after the data of ", a.dims_str(),
                 " (damaged file?)");
  a.data.assign(data + (n - have), data + n);
  return a;
}

inline idx_array read_idx(const std::string& path, std::size_t max_bytes = default_max_idx_bytes) {
  const std::string name = detail::base_name(path);
  std::vector<std::uint8_t> bytes = detail::read_file_bytes(path, "data file", max_bytes);
  if (is_gzip(bytes.data(), bytes.size())) bytes = gunzip(bytes.data(), bytes.size(), name, max_bytes);
  return idx_from_bytes(bytes.data(), bytes.size(), name, max_bytes);
}

// Checks an images array (N x H x W) and a labels array (N, each < classes) against each other.
inline labelled_images make_labelled_images(idx_array images, const idx_array& labels, std::size_t classes,
                                            const std::string& images_name, const std::string& labels_name) {
  HOUSENET_CHECK(images.dims.size() == 3, images_name, ": expected images (3 sizes: count x rows x columns), found ",
                 images.dims.size(), images.dims.size() == 1 ? " size (a labels file?)" : " sizes");
  HOUSENET_CHECK(labels.dims.size() == 1, labels_name, ": expected labels (1 size: the count), found ",
                 labels.dims.size(), " sizes", labels.dims.size() == 3 ? " (an images file?)" : "");
  HOUSENET_CHECK(images.dims[0] == labels.dims[0], images_name, ", ", labels_name, ": ", images.dims[0],
                 " images but ", labels.dims[0], " labels");
  HOUSENET_CHECK(images.dims[0] >= 1, images_name, ": no images");
  HOUSENET_CHECK(images.dims[1] >= 1 && images.dims[2] >= 1, images_name, ": empty images (", images.dims_str(), ")");
  HOUSENET_CHECK(classes >= 1, labels_name, ": classes must be >= 1");
  labelled_images d;
  d.count = images.dims[0];
  d.height = images.dims[1];
  d.width = images.dims[2];
  d.labels.resize(d.count);
  for (std::size_t i = 0; i < d.count; ++i) {
    const unsigned l = labels.data[i];
    HOUSENET_CHECK(l < classes, labels_name, ": label ", l, " of item ", i, " is out of range 0..", classes - 1);
    d.labels[i] = int(l);
  }
  d.pixels = std::move(images.data);
  return d;
}

inline labelled_images read_idx_dataset(const std::string& images_path, const std::string& labels_path,
                                        std::size_t classes, std::size_t max_bytes = default_max_idx_bytes) {
  idx_array labels = read_idx(labels_path, max_bytes);  // the small file first: a wrong pair fails fast
  idx_array images = read_idx(images_path, max_bytes);
  return make_labelled_images(std::move(images), labels, classes, detail::base_name(images_path),
                              detail::base_name(labels_path));
}

// split: "train" or "t10k". Each file is DIR/<name>.gz when that exists, else DIR/<name>.
inline labelled_images load_mnist_split(const std::string& dir, const std::string& split, std::size_t classes = 10) {
  HOUSENET_CHECK(split == "train" || split == "t10k", "load_mnist_split: split '", split,
                 "' is neither train nor t10k");
  const auto path_of = [&](const std::string& kind) {
    const std::string base = (dir.empty() ? std::string(".") : dir) + "/" + split + "-" + kind + "-ubyte";
    return std::ifstream(base + ".gz").good() || !std::ifstream(base).good() ? base + ".gz" : base;
  };
  return read_idx_dataset(path_of("images-idx3"), path_of("labels-idx1"), classes);
}

inline std::vector<std::string> fashion_mnist_classes() {
  return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
}

// Mean and (population) standard deviation of the pixels / 255 of the images `items` (all of them
// without), in double.
inline std::pair<double, double> pixel_mean_std(const labelled_images& d, const std::vector<std::size_t>& items) {
  std::uint64_t hist[256] = {};
  const std::size_t hw = d.height * d.width;
  for (std::size_t i : items) {
    HOUSENET_CHECK(i < d.count, "pixel_mean_std: item ", i, " of a data set of ", d.count);
    for (const std::uint8_t* p = d.image(i); p != d.image(i) + hw; ++p) ++hist[*p];
  }
  double n = 0, s = 0, s2 = 0;
  for (int v = 0; v < 256; ++v) {
    const double x = v / 255.0, c = double(hist[v]);
    n += c;
    s += c * x;
    s2 += c * x * x;
  }
  if (n == 0) return {0.0, 1.0};
  const double mean = s / n;
  return {mean, std::sqrt(std::max(0.0, s2 / n - mean * mean))};
}
inline std::pair<double, double> pixel_mean_std(const labelled_images& d) {
  std::vector<std::size_t> all(d.count);
  for (std::size_t i = 0; i < d.count; ++i) all[i] = i;
  return pixel_mean_std(d, all);
}

template <class T>
void gather_batch(const labelled_images& d, const std::vector<std::size_t>& order, std::size_t first,
                  std::size_t count, double mean, double stddev, tensor<T>& x, std::vector<int>& labels) {
  HOUSENET_CHECK(first <= order.size() && count <= order.size() - first, "gather_batch: items ", first, "..",
                 first + count, " of an order of ", order.size());
  HOUSENET_CHECK(stddev > 0 && std::isfinite(stddev) && std::isfinite(mean), "gather_batch: mean ", mean,
                 " / stddev ", stddev, " invalid");
  const std::size_t hw = d.height * d.width;
  x.resize(shape{count, 1, d.height, d.width});
  labels.resize(count);
  T lut[256];
  for (int v = 0; v < 256; ++v) lut[v] = static_cast<T>((v / 255.0 - mean) / stddev);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t s = order[first + i];
    HOUSENET_CHECK(s < d.count, "gather_batch: item ", s, " of a data set of ", d.count);
    const std::uint8_t* p = d.image(s);
    T* out = x.data() + i * hw;
    for (std::size_t j = 0; j < hw; ++j) out[j] = lut[p[j]];
    labels[i] = d.labels[s];
  }
}

HOUSENET_END_NAMESPACE

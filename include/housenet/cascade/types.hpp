// housenet/cascade/types.hpp: what the detector works on: its options, a loaded cascade's
// arrays, one pyramid level, and OpenCV's rounding.
//
// WHAT THIS IS
//   size2, detect_options     the public options of cascade::detect_multi_scale (cascade.hpp)
//   detail::cascade_data      a loaded cascade as flat arrays: features, tree nodes, trees,
//                             stages, leaves, LBP category masks. Filled by cascade/parse.hpp,
//                             read by the scans (cascade/scan.hpp, cascade/scan_simd.hpp).
//                             Invariants (checked on load): every child index is a later node of
//                             its tree or a leaf, every feature index and rectangle is in range.
//   detail::level_data        one pyramid level: the scaled image and its integral images
//                             (cascade/pyramid.hpp builds it)
//   detail::cv_round          cvRound: to nearest, ties to even
//   detail::fp_round          forces a value to be rounded to its type here (no FMA contraction)
//
//   Not API (detail): may change.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../config.hpp"

HOUSENET_BEGIN_NAMESPACE

struct size2 {
  int width = 0, height = 0;
};

struct detect_options {
  double scale_factor = 1.1;
  int min_neighbors = 3;
  size2 min_size{0, 0};
  size2 max_size{0, 0};  // 0x0: the image size
};

namespace detail {

inline int cv_round(double v) { return int(std::lrint(v)); }

// Forces v to be rounded to its type here: an empty asm the compiler cannot see through, so
// a * b + c is never contracted into one fused multiply-add (GCC contracts across statements
// with -ffp-contract=fast, its default in GNU mode, whenever the target has FMA, e.g. with
// -march=native). OpenCV's arithmetic rounds every product; so must ours. Costs no instruction.
template <class T>
HOUSENET_ALWAYS_INLINE T fp_round(T v) {
#if HOUSENET_X86 && defined(__SSE2__)
  __asm__("" : "+x"(v));
#elif HOUSENET_ARM64
  __asm__("" : "+w"(v));
#elif HOUSENET_GNUC
  __asm__("" : "+m"(v));
#endif
  return v;
}
inline int cv_round(float v) { return int(std::lrintf(v)); }

enum class cascade_feature_type { haar, lbp };

struct cascade_rect {
  int x = 0, y = 0, w = 0, h = 0;
  float weight = 0.f;
};
struct cascade_feature {
  cascade_rect r[3];  // Haar: up to 3 weighted rectangles; LBP: r[0] is the block
  int nrects = 0;
  bool tilted = false;
};
struct cascade_node {
  int left = 0, right = 0, feature = 0;
  float threshold = 0.f;
};
struct cascade_tree {
  int node_ofs = 0, node_count = 0, leaf_ofs = 0;
};
struct cascade_stage {
  int first_tree = 0, ntrees = 0;
  float threshold = 0.f;  // already minus 1e-5f, as OpenCV stores it
};

// A loaded cascade. A child index > 0 is a node of the same tree, <= 0 the leaf -child; a
// tree's leaves are leaves[leaf_ofs .. leaf_ofs + node_count].
struct cascade_data {
  std::string name;
  cascade_feature_type type = cascade_feature_type::haar;
  int win_w = 0, win_h = 0;
  int cat_count = 0, subset_size = 0;
  bool has_tilted = false;
  int max_nodes_per_tree = 0;
  std::vector<cascade_feature> features;
  std::vector<cascade_node> nodes;
  std::vector<cascade_tree> trees;
  std::vector<cascade_stage> stages;
  std::vector<float> leaves;
  std::vector<std::int32_t> subsets;  // subset_size ints per node (LBP)
};

// One level of the pyramid: the scaled image's integrals, laid out as OpenCV does
// (stride = sw + 1; the tilted integral follows the sum in the same buffer).
struct level_data {
  int sw = 0, sh = 0, stride = 0;
  float scale = 1.f;
  int step = 2;
  std::vector<std::uint8_t> img;
  std::vector<std::uint32_t> sum;  // sum (+ tilted at tofs)
  std::vector<std::uint32_t> sq;
  std::size_t tofs = 0;
};

}  // namespace detail
HOUSENET_END_NAMESPACE

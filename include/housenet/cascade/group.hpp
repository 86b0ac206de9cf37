// housenet/cascade/group.hpp: cv::groupRectangles, the detector's last step.
//
// WHAT THIS IS
//   group_rectangles(rects, min_neighbors, eps = 0.2)   OpenCV 4.6's groupRectangles: "similar"
//   rectangles (all four edges within eps * (min(w) + min(h)) / 2) are joined into classes
//   (connected components), each class averaged as OpenCV does (int sums times 1.f / n, rounded
//   half to even); classes of <= min_neighbors members are dropped, then classes inside a bigger,
//   stronger one. docs/cascade.md, step 6.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <vector>

#include "../image.hpp"
#include "types.hpp"

HOUSENET_BEGIN_NAMESPACE

// OpenCV's groupRectangles(rects, min_neighbors, eps): clusters of similar rectangles averaged,
// clusters with <= min_neighbors members dropped, small clusters inside large ones dropped.
// min_neighbors <= 0 returns rects unchanged. Result order: by class, unspecified.
inline std::vector<rect> group_rectangles(const std::vector<rect>& rects, int min_neighbors, double eps = 0.2) {
  if (min_neighbors <= 0 || rects.empty()) return rects;
  const std::size_t n = rects.size();
  // union-find partition by the "similar" relation (connected components, as cv::partition)
  std::vector<std::size_t> parent(n);
  for (std::size_t i = 0; i < n; ++i) parent[i] = i;
  auto find = [&](std::size_t i) {
    while (parent[i] != i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  auto similar = [eps](const rect& a, const rect& b) {
    const double delta = eps * (std::min(a.width, b.width) + std::min(a.height, b.height)) * 0.5;
    return std::abs(a.x - b.x) <= delta && std::abs(a.y - b.y) <= delta &&
           std::abs(a.x + a.width - b.x - b.width) <= delta && std::abs(a.y + a.height - b.y - b.height) <= delta;
  };
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j)
      if (similar(rects[i], rects[j])) {
        const std::size_t a = find(i), b = find(j);
        if (a != b) parent[std::max(a, b)] = std::min(a, b);
      }
  std::vector<int> label(n, -1);
  std::vector<std::size_t> root_label(n, std::size_t(-1));
  int nclasses = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t r = find(i);
    if (root_label[r] == std::size_t(-1)) root_label[r] = std::size_t(nclasses++);
    label[i] = int(root_label[r]);
  }
  std::vector<long long> sx(static_cast<std::size_t>(nclasses), 0), sy(static_cast<std::size_t>(nclasses), 0), sw(static_cast<std::size_t>(nclasses), 0),
      sh(static_cast<std::size_t>(nclasses), 0);
  std::vector<int> cnt(static_cast<std::size_t>(nclasses), 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = std::size_t(label[i]);
    sx[c] += rects[i].x;
    sy[c] += rects[i].y;
    sw[c] += rects[i].width;
    sh[c] += rects[i].height;
    ++cnt[c];
  }
  std::vector<rect> avg(static_cast<std::size_t>(nclasses));
  for (std::size_t c = 0; c < std::size_t(nclasses); ++c) {
    const float s = 1.f / float(cnt[c]);
    // OpenCV: int sums (Rect fields) times a float, cvRound
    avg[c] = rect{detail::cv_round(float(int(sx[c])) * s), detail::cv_round(float(int(sy[c])) * s),
                  detail::cv_round(float(int(sw[c])) * s), detail::cv_round(float(int(sh[c])) * s)};
  }
  std::vector<rect> out;
  for (std::size_t i = 0; i < std::size_t(nclasses); ++i) {
    const rect r1 = avg[i];
    const int n1 = cnt[i];
    if (n1 <= min_neighbors) continue;
    bool inside = false;
    for (std::size_t j = 0; j < std::size_t(nclasses); ++j) {
      const int n2 = cnt[j];
      if (j == i || n2 <= min_neighbors) continue;
      const rect r2 = avg[j];
      const int dx = detail::cv_round(r2.width * eps), dy = detail::cv_round(r2.height * eps);
      if (r1.x >= r2.x - dx && r1.y >= r2.y - dy && r1.x + r1.width <= r2.x + r2.width + dx &&
          r1.y + r1.height <= r2.y + r2.height + dy && (n2 > std::max(3, n1) || n1 < 3)) {
        inside = true;
        break;
      }
    }
    if (!inside) out.push_back(r1);
  }
  return out;
}

HOUSENET_END_NAMESPACE

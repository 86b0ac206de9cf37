// housenet/detail/winograd.hpp: Winograd (Toom-Cook) convolution for wide stride-1 layers
// (not API; may change). conv2d's kernels (detail/kernels.hpp) call it when it pays.
//
// WHAT THIS IS
//   The minimal filtering algorithm F(m x m, r x r): an m x m block of outputs of an r x r
//   correlation from an n x n input tile (n = m + r - 1 <= 8) with n*n multiplications instead of
//   m*m*r*r:   Y = AT [ (G g GT) . (BT d B) ] A      (. = element-wise)
//   Over channels the n*n element-wise products become n*n independent GEMMs:
//     forward        M[p] (k x tiles)  = U[p] (k x c) * V[p] (c x tiles)     U = G w GT, V = BT x B
//     backward_data  the forward's adjoint: dV[p] (c x tiles) = U[p]^T dM[p], dM = A dYblock AT,
//                    dx = the sum over tiles of B dV BT (overlapping input windows added up)
//     backward_wts   dW[p] (k x c)    += Z[p] (k x tiles) * V[p]^T            Z = G' dYtile G'T,
//                    then dw += A'T dW A' : the F(r x r, m x m) algorithm (the roles of output and
//                    filter swapped), whose input transform BT is the same as the forward's.
//   F(4x4, 5x5) (conv3 of the blog's network) does 64 multiplications per 16 outputs instead of
//   400: 6.25x fewer. The matrices come from the points 0, 1, -1, 2, -2, 1/2, -1/2 (the first n-1)
//   and infinity, computed here in double (make_wino_matrices; the test checks them against
//   direct correlation).
//
// PRECISION
//   The transforms add rounding: in float, outputs differ from the direct convolution by about
//   1e-6 (F(2,3)) to 1e-5 (F(4,5)) of the output's scale, the usual price of Winograd in training
//   frameworks. The policy (conv_algorithm::automatic, conv_algorithm.hpp) uses it only
//   for wide layers.
//
// HOW
//   Images are processed in chunks of about 256 tiles. Per chunk: input transform (16 tiles per
//   lanes_sandwich call, simd.hpp), n*n single-threaded GEMMs split over the library pool by
//   point p, output transform (backward-data: the adjoint transforms, the tiles' n x n input
//   windows added into dx channel by channel). Every output element is computed by one thread in
//   a fixed order: results do not depend on the thread count. Scratch buffers are thread_local to
//   the calling thread and only grow.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "../conv_algorithm.hpp"
#include "../error.hpp"
#include "../gemm.hpp"
#include "../parallel.hpp"
#include "../simd.hpp"
#include "reference.hpp"

HOUSENET_BEGIN_NAMESPACE

namespace detail {

constexpr int wino_max_n = 8;
constexpr std::size_t wino_lanes = 16;

// The matrices of F(m, r) (1-D; the 2-D algorithm applies them on both sides), row stride 8:
//   at [m x n], g [n x r], bt [n x n];  y = at * ((g * filter) . (bt * data))
struct wino_matrices {
  int m = 0, r = 0, n = 0;
  double at[64] = {}, g[64] = {}, bt[64] = {};
};

// Toom-Cook by transposition: the polynomial product s = h * g is s = E_n^-1 [(E_m h) . (E_r g)]
// with E_k the n x k evaluation matrix (rows [1, a, a^2, ...] at each finite point a, and the
// leading coefficient for infinity); correlation is its transpose in h, so at = E_m^T, g = E_r,
// bt = E_n^-T. Row j of bt is scaled by f_j = prod_{l != j} (a_j - a_l) and row j of g by 1/f_j
// (the product is unchanged; bt gets small integer-like entries).
inline wino_matrices make_wino_matrices(int m, int r) {
  HOUSENET_CHECK(m >= 2 && r >= 2 && m + r - 1 <= wino_max_n, "winograd: F(", m, ",", r,
                 ") needs m, r >= 2 and m + r - 1 <= 8");
  static const double pts[7] = {0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5};
  wino_matrices w;
  w.m = m;
  w.r = r;
  w.n = m + r - 1;
  const int n = w.n, finite = n - 1;
  const auto eval = [&](int j, int k, int cols) {  // E_cols[j][k]
    if (j < finite) return std::pow(pts[j], k);
    return k == cols - 1 ? 1.0 : 0.0;
  };
  // E_n^-1 by Gauss-Jordan with partial pivoting ([E | I] -> [I | E^-1])
  double e[8][16] = {};
  for (int j = 0; j < n; ++j) {
    for (int k = 0; k < n; ++k) e[j][k] = eval(j, k, n);
    e[j][n + j] = 1.0;
  }
  for (int col = 0; col < n; ++col) {
    int piv = col;
    for (int i = col + 1; i < n; ++i)
      if (std::fabs(e[i][col]) > std::fabs(e[piv][col])) piv = i;
    for (int k = 0; k < 2 * n; ++k) std::swap(e[col][k], e[piv][k]);
    const double d = e[col][col];
    for (int k = 0; k < 2 * n; ++k) e[col][k] /= d;
    for (int i = 0; i < n; ++i)
      if (i != col && e[i][col] != 0.0) {
        const double f = e[i][col];
        for (int k = 0; k < 2 * n; ++k) e[i][k] -= f * e[col][k];
      }
  }
  double scale[8];
  for (int j = 0; j < n; ++j) {
    scale[j] = 1.0;
    if (j < finite)
      for (int l = 0; l < finite; ++l)
        if (l != j) scale[j] *= pts[j] - pts[l];
  }
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n; ++i) w.bt[j * 8 + i] = scale[j] * e[i][n + j];  // (E^-1)^T, row-scaled
  for (int j = 0; j < n; ++j)
    for (int k = 0; k < r; ++k) w.g[j * 8 + k] = eval(j, k, r) / scale[j];
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) w.at[i * 8 + j] = eval(j, i, m);
  return w;
}

// The output block size m for an r x r kernel on an oh x ow output: the one with the least
// transformed work (tiles * n^2), n = m + r - 1 <= 8.
inline int wino_pick_m(std::size_t r, std::size_t oh, std::size_t ow) {
  int best = 0;
  double best_cost = 0;
  for (int m = 2; m + int(r) - 1 <= wino_max_n; ++m) {
    const double n = double(m) + double(r) - 1;
    const double cost = double((oh + m - 1) / m) * double((ow + m - 1) / m) * n * n;
    if (best == 0 || cost < best_cost) best = m, best_cost = cost;
  }
  return best;
}

// Whether Winograd applies to d at all (shape), and whether the policy picks it.
// (one group, no dilation: a grouped convolution runs each group as a conv of its own, which
// may come here; see detail/kernels.hpp)
inline bool wino_applicable(const conv_dims& d) {
  return d.groups == 1 && d.dilation == 1 && d.stride == 1 && d.kh == d.kw && d.kh >= 2 && d.kh <= 7 &&
         d.pad < d.kh && d.oh >= 1 && d.ow >= 1;
}
inline bool conv_use_winograd(const conv_dims& d) {
  switch (get_conv_algorithm()) {
    case conv_algorithm::direct: return false;
    case conv_algorithm::winograd: return wino_applicable(d);
    default: break;
  }
  // The transforms cost O(c + k) per tile and the GEMMs O(c * k): only wide layers win clearly,
  // and the weight transform (O(c * k) per call) needs a batch of at least 16 tiles to pay off.
  if (!(wino_applicable(d) && d.kh >= 3 && d.kh <= 5 && d.c >= 64 && d.k >= 64 && d.c * d.k >= 16384))
    return false;
  const std::size_t m = std::size_t(wino_pick_m(d.kh, d.oh, d.ow));
  return d.n * ((d.oh + m - 1) / m) * ((d.ow + m - 1) / m) >= 16;
}

// A convolution in forward form: `ci` input maps of ih x iw, zero padding `pad`, r x r kernel,
// `co` output maps of oh x ow, computed in m x m blocks.
template <class T>
struct wino_problem {
  std::size_t n, ci, ih, iw, co, oh, ow, r, pad;
  int m, nn;                 // block size, tile size m + r - 1
  std::size_t th, tw, tpi;   // tiles per column, per row, per image
  T at[64], g[64], bt[64];   // F(m, r)

  static wino_problem make(std::size_t n, std::size_t ci, std::size_t ih, std::size_t iw, std::size_t co,
                           std::size_t r, std::size_t pad) {
    wino_problem p{};
    p.n = n, p.ci = ci, p.ih = ih, p.iw = iw, p.co = co, p.r = r, p.pad = pad;
    p.oh = ih + 2 * pad - r + 1;
    p.ow = iw + 2 * pad - r + 1;
    p.m = wino_pick_m(r, p.oh, p.ow);
    p.nn = p.m + int(r) - 1;
    p.th = (p.oh + std::size_t(p.m) - 1) / std::size_t(p.m);
    p.tw = (p.ow + std::size_t(p.m) - 1) / std::size_t(p.m);
    p.tpi = p.th * p.tw;
    const wino_matrices w = make_wino_matrices(p.m, int(r));
    for (int i = 0; i < 64; ++i) p.at[i] = T(w.at[i]), p.g[i] = T(w.g[i]), p.bt[i] = T(w.bt[i]);
    return p;
  }
  std::size_t points() const { return std::size_t(nn) * std::size_t(nn); }
  // images per chunk: about 256 tiles, balanced over the batch
  std::size_t chunk_images() const {
    const std::size_t total = n * tpi, chunks = std::max<std::size_t>(1, (total + 255) / 256);
    return std::max<std::size_t>(1, (n + chunks - 1) / chunks);
  }
};

// Tiles t, t+1, ... of a chunk as (image within the chunk, tile row, tile column), without a
// division per tile.
struct wino_tile_walk {
  std::size_t img, ty, tx, th, tw;
  wino_tile_walk(std::size_t t, std::size_t th_, std::size_t tw_)
      : img(t / (th_ * tw_)), ty((t % (th_ * tw_)) / tw_), tx(t % tw_), th(th_), tw(tw_) {}
  void next() {
    if (++tx == tw) {
      tx = 0;
      if (++ty == th) ty = 0, ++img;
    }
  }
};

inline std::size_t wino_round_up(std::size_t v) { return (v + wino_lanes - 1) / wino_lanes * wino_lanes; }

// The n*n planes of one channel are interleaved (row t of plane p at c*stride + p*ld); the extra
// 16 floats per channel keep a GEMM's rows (stride = this) out of one cache set: np*ld alone is a
// multiple of 4 KiB for np = 64, and 12 C rows or 128 B rows 64 KiB apart thrash one L1/L2 set.
inline std::size_t wino_channel_stride(std::size_t np, std::size_t ld) { return np * ld + wino_lanes; }

// a row of 16 zeros: the source of the lanes past the last tile (row stride 0)
template <class T>
const T* wino_zeros() {
  alignas(64) static const T z[wino_lanes] = {};
  return z;
}

// slot 0: transformed weights U, 1: transformed inputs V / dM, 2: GEMM outputs M / dV / dW sums,
// 3: transformed dY (backward-weights), 4: U packed as GEMM panels
template <class T>
scratch<T>& wino_scratch(int slot) {
  thread_local scratch<T> s[5];
  return s[slot];
}

// The n*n products C[p] = A[p] B[p] of one chunk over the pool (one point per task, a
// single-threaded GEMM each); A[p] [m, k] is stored transposed at a + p*a_step (row stride lda).
// When the short K allows, every A[p] is packed once per call (prepack_a) instead of once per
// chunk.
template <class T>
struct wino_gemms {
  std::size_t np, m, k;
  const T* a;
  std::size_t a_step, lda;
  T* packed = nullptr;  // np sets of packed_step floats (the GEMM's A panels), or null
  std::size_t packed_step = 0;

  // chunks: how many times run() will be called; with one, the GEMM packs A itself just as well
  void prepack_a(std::size_t chunks) {
    if (chunks < 2 || !gemm_prepack_fits<T>(k)) return;
    packed_step = gemm_packed_a_size<T>(m, k);
    packed = wino_scratch<T>(4).get(np * packed_step);
    parallel_for(np, [&](std::size_t p0, std::size_t p1) {
      for (std::size_t p = p0; p < p1; ++p) gemm_pack_a<T>(true, m, k, a + p * a_step, lda, packed + p * packed_step);
    });
  }
  // C[p] [m, n] = op(A[p]) B[p], B[p] = b + p*b_step (row stride ldb), C[p] = c + p*c_step
  void run(std::size_t n, const T* b, std::size_t b_step, std::size_t ldb, T* c, std::size_t c_step,
           std::size_t ldc) const {
    parallel_for(np, [&](std::size_t p0, std::size_t p1) {
      for (std::size_t p = p0; p < p1; ++p) {
        gemm_args<T> g{true, false, m, n, k, T(1), a + p * a_step, lda, b + p * b_step, ldb, T(0), c + p * c_step, ldc};
        if (packed) g.a_packed = packed + p * packed_step;
        gemm<T>(g, 1);
      }
    });
  }
};

// fn(row, first, in, out) for every row < rows and every group of 16 lanes [first, first + 16)
// of [0, width), split over the pool; in and out are the calling thread's lane buffers for
// lanes_sandwich. Every transform below is one of these sweeps.
template <class T, class F>
void wino_for_lane_groups(std::size_t rows, std::size_t width, F&& fn) {
  const std::size_t groups = (width + wino_lanes - 1) / wino_lanes;
  parallel_for(rows * groups, [&](std::size_t b0, std::size_t b1) {
    alignas(64) T in[64 * wino_lanes], out[64 * wino_lanes];
    for (std::size_t b = b0; b < b1; ++b) fn(b / groups, (b % groups) * wino_lanes, in, out);
  });
}

// U[p] = (G w_oi GT)[p] for w [co, ci, r, r], stored for the GEMM that uses it:
//   by_ci = true:  U[(p*ci + i)*co + o]  ([ci, co]: the forward's A^T, packed by plain copies)
//   by_ci = false: U[(p*co + o)*ci + i]  ([co, ci]: backward-data's A^T = U[p], likewise)
// The 16 lanes run along the stored rows, so each point's result is one contiguous store.
template <class T>
void wino_weight_transform(const wino_problem<T>& P, const T* w, bool by_ci, T* U) {
  const std::size_t r = P.r, rr = r * r, np = P.points();
  const int nn = P.nn, ri = int(r);
  const std::size_t rows = by_ci ? P.ci : P.co, width = by_ci ? P.co : P.ci;
  wino_for_lane_groups<T>(rows, width, [&](std::size_t row, std::size_t l0, T* in, T* out) {
    const std::size_t lanes = std::min(wino_lanes, width - l0);
    const T* src[wino_lanes];  // lane l: the r x r filter w[o][i], contiguous
    std::size_t ld[wino_lanes];
    for (std::size_t l = 0; l < wino_lanes; ++l) {
      const std::size_t o = by_ci ? l0 + l : row, i = by_ci ? row : l0 + l;
      src[l] = l < lanes ? w + (o * P.ci + i) * rr : wino_zeros<T>();
      ld[l] = l < lanes ? r : 0;
    }
    lanes_gather(src, ld, ri, ri, in);
    lanes_sandwich(P.g, nn, ri, P.g, nn, ri, in, out);
    for (std::size_t p = 0; p < np; ++p)
      std::memcpy(U + (p * rows + row) * width + l0, out + p * wino_lanes, lanes * sizeof(T));
  });
}

// The tile transform of a chunk: out[c*cs + p*ld + t] = (L S LT)[p] (cs = wino_channel_stride(np,
// ld)) for every plane c < C of images n0 .. n0+g-1 of src [n, C, H, W] and every tile t < g*tpi
// (zero lanes up to a multiple of 16), where S is the s x s window of tile t = (ty, tx) at
// (ty*m + off, tx*m + off), zero outside the plane, and L is n x s (row stride 8):
//   input transform  (forward, backward-weights): x, s = n, off = -pad, L = BT
//   block transform  (backward-weights: L = G'; backward-data: L = A): dy, s = m, off = 0
// The n*n planes of one channel are interleaved row by row, so that a group of 16 tiles touches
// one n*n*ld block (the GEMM of point p reads rows cs apart).
template <class T>
void wino_tiles_transform(const wino_problem<T>& P, const T* src, std::size_t C, std::size_t H, std::size_t W,
                          int s, std::ptrdiff_t off, const T* L, std::size_t n0, std::size_t g, T* out,
                          std::size_t ld) {
  const std::size_t tiles = g * P.tpi, np = P.points(), cs = wino_channel_stride(np, ld);
  const std::ptrdiff_t h = std::ptrdiff_t(H), w = std::ptrdiff_t(W);
  wino_for_lane_groups<T>(C, ld, [&](std::size_t c, std::size_t t0, T* in, T* res) {
    // each lane reads its window in place, or a zero-padded copy at the borders
    alignas(64) T edge[wino_lanes][64];
    const T* from[wino_lanes];
    std::size_t lds[wino_lanes];
    wino_tile_walk tile(t0, P.th, P.tw);
    for (std::size_t l = 0; l < wino_lanes; ++l, tile.next()) {
      if (t0 + l >= tiles) {
        from[l] = wino_zeros<T>(), lds[l] = 0;
        continue;
      }
      const std::ptrdiff_t y0 = std::ptrdiff_t(tile.ty * std::size_t(P.m)) + off;
      const std::ptrdiff_t x0 = std::ptrdiff_t(tile.tx * std::size_t(P.m)) + off;
      const T* plane = src + ((n0 + tile.img) * C + c) * H * W;
      if (y0 >= 0 && x0 >= 0 && y0 + s <= h && x0 + s <= w) {
        from[l] = plane + y0 * w + x0, lds[l] = W;
        continue;
      }
      // the window's columns [j0, j1) that lie inside the plane, for every row inside it
      const int j0 = int(std::max<std::ptrdiff_t>(0, -x0)), j1 = int(std::min<std::ptrdiff_t>(s, w - x0));
      for (int i = 0; i < s; ++i) {
        T* e = edge[l] + i * s;
        const std::ptrdiff_t yy = y0 + i;
        std::fill(e, e + s, T(0));
        if (yy >= 0 && yy < h && j0 < j1) std::memcpy(e + j0, plane + yy * w + x0 + j0, std::size_t(j1 - j0) * sizeof(T));
      }
      from[l] = edge[l], lds[l] = std::size_t(s);
    }
    lanes_gather(from, lds, s, s, in);
    lanes_sandwich(L, P.nn, s, L, P.nn, s, in, res);
    for (std::size_t p = 0; p < np; ++p)
      std::memcpy(out + c * cs + p * ld + t0, res + p * wino_lanes, wino_lanes * sizeof(T));
  });
}

// V = BT d B for the input tiles of x (see wino_tiles_transform)
template <class T>
void wino_input_transform(const wino_problem<T>& P, const T* x, std::size_t n0, std::size_t g, T* V,
                          std::size_t ldv) {
  wino_tiles_transform(P, x, P.ci, P.ih, P.iw, P.nn, -std::ptrdiff_t(P.pad), P.bt, n0, g, V, ldv);
}

// y[img][o] block of tile t = (AT M A) (+ bias[o]), for the tiles of images n0 .. n0+g-1
template <class T>
void wino_output_transform(const wino_problem<T>& P, const T* M, std::size_t ldm, const T* bias,
                           std::size_t n0, std::size_t g, T* y) {
  const std::size_t tiles = g * P.tpi, np = P.points();
  const int nn = P.nn, m = P.m;
  wino_for_lane_groups<T>(P.co, tiles, [&](std::size_t o, std::size_t t0, T* in, T* out) {
    // n*n streams are too many for the hardware prefetcher: fetch this row's next group now
    const T* Mo = M + o * wino_channel_stride(np, ldm);
    if (t0 + wino_lanes < tiles)
      for (std::size_t p = 0; p < np; ++p) __builtin_prefetch(Mo + p * ldm + t0 + wino_lanes);
    for (std::size_t p = 0; p < np; ++p)
      std::memcpy(in + p * wino_lanes, Mo + p * ldm + t0, wino_lanes * sizeof(T));
    lanes_sandwich(P.at, m, nn, P.at, m, nn, in, out);
    const T bo = bias ? bias[o] : T(0);
    const std::size_t lanes = std::min(wino_lanes, tiles - t0);
    // each lane writes its m x m block in place, or to `edge` when the block is clipped
    alignas(64) T edge[wino_lanes][64];
    T* dst[wino_lanes];
    std::size_t ld[wino_lanes];
    bool clipped = false;
    wino_tile_walk tile(t0, P.th, P.tw);
    for (std::size_t l = 0; l < lanes; ++l, tile.next()) {
      const std::size_t y0 = tile.ty * std::size_t(m), x0 = tile.tx * std::size_t(m);
      if (y0 + std::size_t(m) <= P.oh && x0 + std::size_t(m) <= P.ow) {
        dst[l] = y + ((n0 + tile.img) * P.co + o) * P.oh * P.ow + y0 * P.ow + x0, ld[l] = P.ow;
      } else {
        dst[l] = edge[l], ld[l] = std::size_t(m);
        clipped = true;
      }
    }
    lanes_scatter(out, m, m, bo, dst, ld, int(lanes));
    if (!clipped) return;
    tile = wino_tile_walk(t0, P.th, P.tw);
    for (std::size_t l = 0; l < lanes; ++l, tile.next()) {
      if (dst[l] != edge[l]) continue;
      const std::size_t y0 = tile.ty * std::size_t(m), x0 = tile.tx * std::size_t(m);
      const std::size_t hm = std::min<std::size_t>(std::size_t(m), P.oh - y0);
      const std::size_t wm = std::min<std::size_t>(std::size_t(m), P.ow - x0);
      T* yo = y + ((n0 + tile.img) * P.co + o) * P.oh * P.ow;
      for (std::size_t i = 0; i < hm; ++i)
        for (std::size_t j = 0; j < wm; ++j) yo[(y0 + i) * P.ow + x0 + j] = edge[l][i * std::size_t(m) + j];
    }
  });
}

// Z = L dYblock LT for the m x m output blocks of dy [n, co, oh, ow] (see wino_tiles_transform)
template <class T>
void wino_block_transform(const wino_problem<T>& P, const T* dy, std::size_t n0, std::size_t g, const T* L,
                          T* Z, std::size_t ldz) {
  wino_tiles_transform(P, dy, P.co, P.oh, P.ow, P.m, 0, L, n0, g, Z, ldz);
}

// The adjoint of wino_input_transform: dx[img][c] = sum over tiles t of the n x n block
// (B dV_ct BT) placed at the tile's input window (clipped to the image; padding dropped), for the
// images n0 .. n0+g-1 (ASSIGNED: their planes are zeroed first). Windows overlap (stride m < n):
// each channel is summed by one thread, tiles in order (the same bits for any thread count).
template <class T>
void wino_input_transform_adjoint(const wino_problem<T>& P, const T* dV, std::size_t ldv, std::size_t n0,
                                  std::size_t g, T* dx) {
  const std::size_t np = P.points(), tiles = g * P.tpi, groups = (tiles + wino_lanes - 1) / wino_lanes;
  const std::size_t cs = wino_channel_stride(np, ldv), hw = P.ih * P.iw;
  const int nn = P.nn;
  const std::ptrdiff_t ih = std::ptrdiff_t(P.ih), iw = std::ptrdiff_t(P.iw), pad = std::ptrdiff_t(P.pad);
  T btT[64] = {};  // B = BT^T
  for (int i = 0; i < nn; ++i)
    for (int j = 0; j < nn; ++j) btT[i * 8 + j] = P.bt[j * 8 + i];
  parallel_for(P.ci, [&](std::size_t c0, std::size_t c1) {
    alignas(64) T in[64 * wino_lanes], out[64 * wino_lanes], blk[wino_lanes][64];
    T* dst[wino_lanes];
    std::size_t ld[wino_lanes];
    for (std::size_t l = 0; l < wino_lanes; ++l) dst[l] = blk[l], ld[l] = std::size_t(nn);
    for (std::size_t c = c0; c < c1; ++c) {
      for (std::size_t img = 0; img < g; ++img) std::fill_n(dx + ((n0 + img) * P.ci + c) * hw, hw, T(0));
      const T* dVc = dV + c * cs;
      for (std::size_t grp = 0; grp < groups; ++grp) {
        const std::size_t t0 = grp * wino_lanes, lanes = std::min(wino_lanes, tiles - t0);
        for (std::size_t p = 0; p < np; ++p) std::memcpy(in + p * wino_lanes, dVc + p * ldv + t0, wino_lanes * sizeof(T));
        lanes_sandwich(btT, nn, nn, btT, nn, nn, in, out);
        lanes_scatter(out, nn, nn, T(0), dst, ld, int(lanes));
        wino_tile_walk tile(t0, P.th, P.tw);
        for (std::size_t l = 0; l < lanes; ++l, tile.next()) {
          const std::ptrdiff_t y0 = std::ptrdiff_t(tile.ty * std::size_t(P.m)) - pad;
          const std::ptrdiff_t x0 = std::ptrdiff_t(tile.tx * std::size_t(P.m)) - pad;
          const int i0 = int(std::max<std::ptrdiff_t>(0, -y0)), i1 = int(std::min<std::ptrdiff_t>(nn, ih - y0));
          const int j0 = int(std::max<std::ptrdiff_t>(0, -x0)), j1 = int(std::min<std::ptrdiff_t>(nn, iw - x0));
          T* xc = dx + ((n0 + tile.img) * P.ci + c) * hw;
          for (int i = i0; i < i1; ++i) {
            T* row = xc + (y0 + i) * iw + x0;
            const T* b = blk[l] + i * nn;
            for (int j = j0; j < j1; ++j) row[j] += b[j];
          }
        }
      }
    }
  });
}

// The forward's transformed weights U for the layer of d (any batch size): how many values, and
// the transform. conv2d keeps them across eval calls while its weights stay the same.
template <class T>
std::size_t wino_forward_weights_size(const conv_dims& d) {
  return wino_problem<T>::make(1, d.c, d.h, d.w, d.k, d.kh, d.pad).points() * d.k * d.c;
}
template <class T>
void wino_forward_weights(const conv_dims& d, const T* w, T* U) {
  wino_weight_transform(wino_problem<T>::make(1, d.c, d.h, d.w, d.k, d.kh, d.pad), w, true, U);
}

// y = conv(x, w) (+ bias): per chunk, V = BT x B, M[p] = U[p] V[p], y = AT M A. With given_u
// (wino_forward_weights of w), the weight transform is skipped.
template <class T>
void conv2d_forward_winograd(const conv_dims& d, const T* x, const T* w, const T* bias, T* y,
                             const T* given_u = nullptr) {
  const auto P = wino_problem<T>::make(d.n, d.c, d.h, d.w, d.k, d.kh, d.pad);
  const std::size_t np = P.points();
  const T* U = given_u;
  if (!U) {
    T* u = wino_scratch<T>(0).get(np * P.co * P.ci);
    wino_weight_transform(P, w, true, u);
    U = u;
  }
  wino_gemms<T> gemms{np, P.co, P.ci, U, P.co * P.ci, P.co};  // A[p] = U[p] = (U stored [ci, co])^T
  const std::size_t G = P.chunk_images(), ld = wino_round_up(G * P.tpi);
  gemms.prepack_a((P.n + G - 1) / G);
  T* V = wino_scratch<T>(1).get(P.ci * wino_channel_stride(np, ld));
  T* M = wino_scratch<T>(2).get(P.co * wino_channel_stride(np, ld));
  for (std::size_t n0 = 0; n0 < P.n; n0 += G) {
    const std::size_t g = std::min(G, P.n - n0), ldv = wino_round_up(g * P.tpi);
    const std::size_t cs = wino_channel_stride(np, ldv);
    wino_input_transform(P, x, n0, g, V, ldv);
    gemms.run(ldv, V, ldv, cs, M, ldv, cs);
    wino_output_transform(P, M, ldv, bias, n0, g, y);
  }
}

// dx = the adjoint of the forward: per point p, dV[p] (c x tiles) = U[p]^T dM[p] with
// dM = A dYblock AT, then dx = the sum over tiles of B dV BT at the tiles' input windows. Same
// tiles, same U and same GEMM size as the forward (a padded forward of dy would need more tiles).
template <class T>
void conv2d_backward_data_winograd(const conv_dims& d, const T* dy, const T* w, T* dx) {
  const auto P = wino_problem<T>::make(d.n, d.c, d.h, d.w, d.k, d.kh, d.pad);
  const std::size_t np = P.points();
  T aT[64] = {};  // A = AT^T, n x m
  for (int i = 0; i < P.nn; ++i)
    for (int j = 0; j < P.m; ++j) aT[i * 8 + j] = P.at[j * 8 + i];
  T* U = wino_scratch<T>(0).get(np * P.co * P.ci);
  wino_weight_transform(P, w, false, U);
  wino_gemms<T> gemms{np, P.ci, P.co, U, P.co * P.ci, P.ci};  // A[p] = U[p]^T (U stored [co, ci])
  const std::size_t G = P.chunk_images(), ld = wino_round_up(G * P.tpi);
  gemms.prepack_a((P.n + G - 1) / G);
  T* dM = wino_scratch<T>(1).get(P.co * wino_channel_stride(np, ld));
  T* dV = wino_scratch<T>(2).get(P.ci * wino_channel_stride(np, ld));
  for (std::size_t n0 = 0; n0 < P.n; n0 += G) {
    const std::size_t g = std::min(G, P.n - n0), ldv = wino_round_up(g * P.tpi);
    const std::size_t cs = wino_channel_stride(np, ldv);
    wino_block_transform(P, dy, n0, g, aT, dM, ldv);
    gemms.run(ldv, dM, ldv, cs, dV, ldv, cs);
    wino_input_transform_adjoint(P, dV, ldv, n0, g, dx);
  }
}

// dw += sum over images and tiles of A'T [ (G' dYtile G'T) . (BT x B) ] A'   (F(r, m));
// db += the sums of dy
template <class T>
void conv2d_backward_weights_winograd(const conv_dims& d, const T* x, const T* dy, T* dw, T* db) {
  const auto P = wino_problem<T>::make(d.n, d.c, d.h, d.w, d.k, d.kh, d.pad);
  const wino_matrices wg = make_wino_matrices(int(d.kh), P.m);  // F(r, m): at [r x n], g [n x m]
  T at2[64], g2[64];
  for (int i = 0; i < 64; ++i) at2[i] = T(wg.at[i]), g2[i] = T(wg.g[i]);
  const std::size_t np = P.points(), r = d.kh;
  const int nn = P.nn, ri = int(r);
  const std::size_t G = P.chunk_images(), ld = wino_round_up(G * P.tpi);
  T* V = wino_scratch<T>(1).get(P.ci * wino_channel_stride(np, ld));
  T* S = wino_scratch<T>(2).get(np * P.co * P.ci);  // the transformed dW, summed over chunks
  T* Z = wino_scratch<T>(3).get(P.co * wino_channel_stride(np, ld));
  for (std::size_t n0 = 0; n0 < P.n; n0 += G) {
    const std::size_t g = std::min(G, P.n - n0), ldz = wino_round_up(g * P.tpi);
    const std::size_t cs = wino_channel_stride(np, ldz);
    wino_input_transform(P, x, n0, g, V, ldz);
    wino_block_transform(P, dy, n0, g, g2, Z, ldz);  // Z = G' dYblock G'T
    const bool first = n0 == 0;
    parallel_for(np, [&](std::size_t p0, std::size_t p1) {
      for (std::size_t p = p0; p < p1; ++p)
        gemm<T>(false, true, P.co, P.ci, ldz, T(1), Z + p * ldz, cs, V + p * ldz, cs,
                first ? T(0) : T(1), S + p * P.co * P.ci, P.ci, 1);
    });
  }
  // dw[o][i] += A'T S_oi A'  (r x r), 16 input channels per call
  const std::size_t rr = r * r;
  wino_for_lane_groups<T>(P.co, P.ci, [&](std::size_t o, std::size_t i0, T* in, T* out) {
    const std::size_t lanes = std::min(wino_lanes, P.ci - i0);
    for (std::size_t p = 0; p < np; ++p)
      for (std::size_t l = 0; l < wino_lanes; ++l)
        in[p * wino_lanes + l] = l < lanes ? S[(p * P.co + o) * P.ci + i0 + l] : T(0);
    lanes_sandwich(at2, ri, nn, at2, ri, nn, in, out);
    for (std::size_t l = 0; l < lanes; ++l)
      for (std::size_t q = 0; q < rr; ++q) dw[(o * P.ci + i0 + l) * rr + q] += out[q * wino_lanes + l];
  });
  if (db)
    for (std::size_t img = 0; img < d.n; ++img)
      for (std::size_t o = 0; o < d.k; ++o) {
        db[o] += row_sum(dy + (img * d.k + o) * d.oh * d.ow, d.oh * d.ow);
      }
}

}  // namespace detail
HOUSENET_END_NAMESPACE

// housenet/gemm.hpp: blocked, packed GEMM (BLIS design) over the micro-kernels of simd.hpp.
//
//   sgemm(trans_a, trans_b, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)     float
//   dgemm(...)                                                                 double
//
//   Row-major, same semantics as detail::gemm_reference:
//     C [m, n] = alpha * op(A) op(B) + beta * C;  op(A) is [m, k], op(B) is [k, n];
//     A is stored [m, lda] (or [k, lda] when trans_a), B is [k, ldb] (or [n, ldb] when trans_b).
//     beta == 0 ignores C's old contents (NaN in C does not propagate).
//   Requires: lda >= (trans_a ? m : k), ldb >= (trans_b ? k : n), ldc >= n (checked: error).
//
// HOW
//   Loops jc (NC columns) / pc (K in equal blocks of at most KC) / ic (MC rows) around packed
//   panels: B's KC x NC block and A's MC x KC block are copied into contiguous, zero-padded
//   micro-panels (AVX-512: 16x16 transposes for the layouts whose k index is contiguous), then
//   an MR x NR register-blocked FMA micro-kernel (AVX-512 12x32, AVX2 6x16, SIMD128 4x8, scalar 4x8) runs
//   over them: B micro-panel outer / A micro-panel inner (BLIS), or, when the packed B block
//   fits in L2 (short K), A micro-panel outer so that C is swept along its rows.
//   The float ISA is active_isa() (simd.hpp); double uses the portable kernel.
//   Internal extensions of gemm_args: row_bias (C[i][j] += bias[i] in the kernel's epilogue),
//   pack_b (B produced while packing: conv's implicit im2col) and a_packed (A packed once by
//   gemm_pack_a for several products: Winograd's filters).
//   Short products: with trans_b, m <= 4 (a fully connected layer at batch 1..4) is a dot-product
//   sweep that streams B once at memory bandwidth, and 4 < m <= 32 (AVX-512) is computed as
//   C^T = B A^T by a kernel that broadcasts from B's rows in place (B never packed); without
//   trans_b, m <= 36 reads B's full panels in place. The last two keep the packed path's
//   arithmetic per element: the same bits.
//   Threads: the library pool splits C into one block of whole MR-row (or NR-column) tiles per
//   thread; every element is reduced over k in the same order by the same kernel whatever the
//   thread count, so results are deterministic (in fact identical for any thread count).
//   Packing buffers are thread_local and reused: no heap allocation after the first call with a
//   given blocking.
//
// THREAD SAFETY
//   Reentrant: calls from several threads at once are safe (each thread has its own buffers).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "config.hpp"
#include "error.hpp"
#include "parallel.hpp"
#include "simd.hpp"
#include "tensor.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace detail {

// A growable, 64-byte-aligned scratch buffer that never shrinks (one per thread and use).
template <class T>
class scratch {
 public:
  scratch() = default;
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;
  ~scratch() { aligned_free_bytes(p_); }
  T* get(std::size_t count) {
    if (count > cap_) {
      HOUSENET_CHECK(fits_max_bytes(count, sizeof(T)), "scratch: ", count, " values is too large");
      aligned_free_bytes(p_);
      p_ = nullptr;
      cap_ = 0;
      p_ = static_cast<T*>(aligned_alloc_bytes(count * sizeof(T)));
      cap_ = count;
    }
    return p_;
  }

 private:
  T* p_ = nullptr;
  std::size_t cap_ = 0;
};

// sum of p[0 .. n) in 8 interleaved partial sums (vectorizes; the order is fixed)
template <class T>
T row_sum(const T* p, std::size_t n) {
  T s[8] = {};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (std::size_t l = 0; l < 8; ++l) s[l] += p[i + l];
  T r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; ++i) r += p[i];
  return r;
}

template <class T>
struct gemm_args {
  bool ta, tb;
  std::size_t m, n, k;
  T alpha;
  const T* a;
  std::size_t lda;
  const T* b;
  std::size_t ldb;
  T beta;
  T* c;
  std::size_t ldc;
  const T* row_bias = nullptr;  // internal: C[i][j] += row_bias[i] (conv bias), or null
  // internal: B is not in memory but produced while packing (implicit GEMM: a convolution's
  // im2col). pack_b(ctx, p0, kc, j0, cols, nr, out): out[p*nr + j] = op(B)(p0 + p, j0 + j) for
  // j < cols, 0 for cols <= j < nr. b and ldb are then unused (and tb must be false).
  void (*pack_b)(const void* ctx, std::size_t p0, std::size_t kc, std::size_t j0, std::size_t cols,
                 std::size_t nr, T* out) = nullptr;
  const void* pack_b_ctx = nullptr;
  // internal: A already packed by gemm_pack_a (the same A for several products); a and lda are
  // then unused. Only for products with one K block (gemm_prepack_fits(k)).
  const T* a_packed = nullptr;
};

// kernel traits: MR x NR tile, blocking, and the micro-kernel
// fast_pack_a / fast_pack_b: the transposing packs (row-major A, trans B) when the ISA has them.
struct scalar_f32_traits {
  using value_type = float;
  static constexpr bool fast_pack = false, direct_b = false;
  static void kernel_b(std::size_t, const float*, const float*, std::size_t, float*, std::size_t, float,
                       float, const float*) {}
  static void fast_pack_a(const float*, std::size_t, std::size_t, std::size_t, float*) {}
  static void fast_pack_b(const float*, std::size_t, std::size_t, std::size_t, float*) {}
  static void fast_pack_a_t(const float*, std::size_t, std::size_t, std::size_t, float*) {}
  static void fast_pack_b_n(const float*, std::size_t, std::size_t, std::size_t, float*) {}
  static constexpr std::size_t mr = 4, nr = 8, kc = 256, mc = 128, nc = 2048;
  static void kernel(std::size_t k, const float* a, const float* b, float* c, std::size_t ldc,
                     float alpha, float beta, const float* bias) {
    scalar::gemm_kernel<float, 4, 8>(k, a, b, c, ldc, alpha, beta, bias);
  }
};
struct scalar_f64_traits {
  using value_type = double;
  static constexpr bool fast_pack = false, direct_b = false;
  static void kernel_b(std::size_t, const double*, const double*, std::size_t, double*, std::size_t,
                       double, double, const double*) {}
  static void fast_pack_a(const double*, std::size_t, std::size_t, std::size_t, double*) {}
  static void fast_pack_b(const double*, std::size_t, std::size_t, std::size_t, double*) {}
  static void fast_pack_a_t(const double*, std::size_t, std::size_t, std::size_t, double*) {}
  static void fast_pack_b_n(const double*, std::size_t, std::size_t, std::size_t, double*) {}
  static constexpr std::size_t mr = 4, nr = 8, kc = 256, mc = 96, nc = 1024;
  static void kernel(std::size_t k, const double* a, const double* b, double* c, std::size_t ldc,
                     double alpha, double beta, const double* bias) {
    scalar::gemm_kernel<double, 4, 8>(k, a, b, c, ldc, alpha, beta, bias);
  }
};
#if HOUSENET_X86
struct avx2_traits {
  using value_type = float;
  static constexpr bool fast_pack = false, direct_b = false;
  static void kernel_b(std::size_t, const float*, const float*, std::size_t, float*, std::size_t, float,
                       float, const float*) {}
  static void fast_pack_a(const float*, std::size_t, std::size_t, std::size_t, float*) {}
  static void fast_pack_b(const float*, std::size_t, std::size_t, std::size_t, float*) {}
  static void fast_pack_a_t(const float*, std::size_t, std::size_t, std::size_t, float*) {}
  static void fast_pack_b_n(const float*, std::size_t, std::size_t, std::size_t, float*) {}
  static constexpr std::size_t mr = avx2::mr, nr = avx2::nr, kc = 256, mc = 144, nc = 3072;
  static void kernel(std::size_t k, const float* a, const float* b, float* c, std::size_t ldc,
                     float alpha, float beta, const float* bias) {
    avx2::sgemm_kernel(k, a, b, c, ldc, alpha, beta, bias);
  }
};
struct avx512_traits {
  using value_type = float;
  static constexpr bool fast_pack = true, direct_b = true;
  static void kernel_b(std::size_t k, const float* a, const float* b, std::size_t ldb, float* c,
                       std::size_t ldc, float alpha, float beta, const float* bias) {
    avx512::sgemm_kernel_b(k, a, b, ldb, c, ldc, alpha, beta, bias);
  }
  static void fast_pack_a(const float* a, std::size_t lda, std::size_t rows, std::size_t kc, float* out) {
    avx512::pack_a_rows(a, lda, rows, kc, out);
  }
  static void fast_pack_b(const float* b, std::size_t ldb, std::size_t cols, std::size_t kc, float* out) {
    avx512::pack_b_cols(b, ldb, cols, kc, out);
  }
  static void fast_pack_a_t(const float* a, std::size_t lda, std::size_t rows, std::size_t kc, float* out) {
    avx512::pack_a_cols(a, lda, rows, kc, out);
  }
  static void fast_pack_b_n(const float* b, std::size_t ldb, std::size_t cols, std::size_t kc, float* out) {
    avx512::pack_b_rows(b, ldb, cols, kc, out);
  }
  static constexpr std::size_t mr = avx512::mr, nr = avx512::nr, kc = 384, mc = 240, nc = 3072;
  static void kernel(std::size_t k, const float* a, const float* b, float* c, std::size_t ldc,
                     float alpha, float beta, const float* bias) {
    avx512::sgemm_kernel(k, a, b, c, ldc, alpha, beta, bias);
  }
};
#endif
#if HOUSENET_WASM_SIMD128
struct simd128_traits : scalar_f32_traits {  // the scalar path's KC: the same sums per K block
  static constexpr std::size_t mr = simd128::mr, nr = simd128::nr, kc = scalar_f32_traits::kc, mc = 132,
                               nc = 2048;
  static void kernel(std::size_t k, const float* a, const float* b, float* c, std::size_t ldc,
                     float alpha, float beta, const float* bias) {
    simd128::sgemm_kernel(k, a, b, c, ldc, alpha, beta, bias);
  }
};
#endif

// out[p*MR + i] = op(A)(i0 + i, p0 + p), zero-padded to MR rows
template <class T, std::size_t MR>
void pack_a(const gemm_args<T>& g, std::size_t i0, std::size_t mr, std::size_t p0, std::size_t kc,
            T* HOUSENET_RESTRICT out) {
  if (g.ta) {
    for (std::size_t p = 0; p < kc; ++p) {
      const T* src = g.a + (p0 + p) * g.lda + i0;
      T* dst = out + p * MR;
      std::size_t i = 0;
      for (; i < mr; ++i) dst[i] = src[i];
      for (; i < MR; ++i) dst[i] = T(0);
    }
  } else if (mr == MR) {
    const T* src[MR];
    for (std::size_t i = 0; i < MR; ++i) src[i] = g.a + (i0 + i) * g.lda + p0;
    for (std::size_t p = 0; p < kc; ++p)
      for (std::size_t i = 0; i < MR; ++i) out[p * MR + i] = src[i][p];
  } else {
    for (std::size_t p = 0; p < kc; ++p) {
      T* dst = out + p * MR;
      std::size_t i = 0;
      for (; i < mr; ++i) dst[i] = g.a[(i0 + i) * g.lda + p0 + p];
      for (; i < MR; ++i) dst[i] = T(0);
    }
  }
}

// out[p*NR + j] = op(B)(p0 + p, j0 + j), zero-padded to NR columns
template <class T, std::size_t NR>
void pack_b(const gemm_args<T>& g, std::size_t j0, std::size_t nr, std::size_t p0, std::size_t kc,
            T* HOUSENET_RESTRICT out) {
  if (!g.tb) {
    if (nr == NR) {
      for (std::size_t p = 0; p < kc; ++p) {
        const T* src = g.b + (p0 + p) * g.ldb + j0;
        T* dst = out + p * NR;
        for (std::size_t j = 0; j < NR; ++j) dst[j] = src[j];
      }
    } else {
      for (std::size_t p = 0; p < kc; ++p) {
        const T* src = g.b + (p0 + p) * g.ldb + j0;
        T* dst = out + p * NR;
        std::size_t j = 0;
        for (; j < nr; ++j) dst[j] = src[j];
        for (; j < NR; ++j) dst[j] = T(0);
      }
    }
  } else {
    if (nr < NR)
      for (std::size_t p = 0; p < kc; ++p)
        for (std::size_t j = nr; j < NR; ++j) out[p * NR + j] = T(0);
    // 16 deep at a time: the touched output lines (16 x NR) and source lines stay in L1
    constexpr std::size_t PB = 16;
    for (std::size_t pb = 0; pb < kc; pb += PB) {
      const std::size_t pe = std::min(kc, pb + PB);
      for (std::size_t j = 0; j < nr; ++j) {
        const T* src = g.b + (j0 + j) * g.ldb + p0;
        for (std::size_t p = pb; p < pe; ++p) out[p * NR + j] = src[p];
      }
    }
  }
}

// One packed A micro-panel: rows [i0, i0 + rows) (rows <= MR, zero-padded), K range [pc, pc + kc).
template <class K>
void pack_a_panel(const gemm_args<typename K::value_type>& g, std::size_t i0, std::size_t rows,
                  std::size_t pc, std::size_t kc, typename K::value_type* out) {
  if (K::fast_pack && !g.ta)
    K::fast_pack_a(g.a + i0 * g.lda + pc, g.lda, rows, kc, out);
  else if (K::fast_pack)
    K::fast_pack_a_t(g.a + pc * g.lda + i0, g.lda, rows, kc, out);
  else
    pack_a<typename K::value_type, K::mr>(g, i0, rows, pc, kc, out);
}

// C rows [i0, i1) x columns [j0, j1), in the calling thread. i0 is a multiple of MR, j0 of NR
// (so the tiles do not depend on how C was split).
template <class K>
void gemm_block(const gemm_args<typename K::value_type>& g, std::size_t i0, std::size_t i1,
                std::size_t j0, std::size_t j1) {
  using T = typename K::value_type;
  constexpr std::size_t MR = K::mr, NR = K::nr, KC = K::kc, MC = K::mc, NC = K::nc;
  static_assert(MC % MR == 0 && NC % NR == 0, "blocking must be a multiple of the tile");
  if (i0 >= i1 || j0 >= j1) return;
  thread_local scratch<T> bufa, bufb;
  // K in equal blocks of at most KC (784 = 392 + 392, not 384 + 384 + 16): fewer passes over C
  const std::size_t kblocks = (g.k + KC - 1) / KC;
  const std::size_t kc_max = (g.k + kblocks - 1) / kblocks;
  HOUSENET_CHECK(!g.a_packed || kblocks == 1, "gemm: pre-packed A needs one K block (k = ", g.k, ")");
  const std::size_t nc_max = std::min(NC, (j1 - j0 + NR - 1) / NR * NR);
  const std::size_t mc_max = std::min(MC, (i1 - i0 + MR - 1) / MR * MR);
  T* bp = bufb.get(kc_max * nc_max);
  T* ap = bufa.get(kc_max * mc_max);
  alignas(64) T tmp[MR * NR];
  // A short product (at most 3 A micro-panels, e.g. a fully connected layer's backward at batch
  // 32) uses each B micro-panel 3 times or fewer: the kernel reads B's rows in place instead of
  // packing them (same arithmetic, same bits). Whole NR-wide panels only.
  const bool direct = K::direct_b && !g.tb && !g.pack_b && i1 - i0 <= 3 * MR;

  for (std::size_t jc = j0; jc < j1; jc += NC) {
    const std::size_t nc = std::min(NC, j1 - jc);
    for (std::size_t pc = 0; pc < g.k; pc += kc_max) {
      const std::size_t kc = std::min(kc_max, g.k - pc);
      const T beta = pc == 0 ? g.beta : T(1);
      const T* bias = pc == 0 ? g.row_bias : nullptr;
      for (std::size_t jr = 0; jr < nc; jr += NR) {
        if (direct && nc - jr >= NR) continue;  // read in place by the kernel
        if (g.pack_b)
          g.pack_b(g.pack_b_ctx, pc, kc, jc + jr, std::min(NR, nc - jr), NR, bp + jr * kc);
        else if (K::fast_pack && g.tb)
          K::fast_pack_b(g.b + (jc + jr) * g.ldb + pc, g.ldb, std::min(NR, nc - jr), kc, bp + jr * kc);
        else if (K::fast_pack)
          K::fast_pack_b_n(g.b + pc * g.ldb + jc + jr, g.ldb, std::min(NR, nc - jr), kc, bp + jr * kc);
        else
          pack_b<T, NR>(g, jc + jr, std::min(NR, nc - jr), pc, kc, bp + jr * kc);
      }
      for (std::size_t ic = i0; ic < i1; ic += MC) {
        const std::size_t mc = std::min(MC, i1 - ic);
        // the A block's micro-panels: packed here, or the caller's (row ic's panel at ic*k)
        const T* ab = g.a_packed ? g.a_packed + ic * kc : ap;
        if (!g.a_packed)
          for (std::size_t ir = 0; ir < mc; ir += MR) pack_a_panel<K>(g, ic + ir, std::min(MR, mc - ir), pc, kc, ap + ir * kc);
        // one tile: C rows ic+ir.., columns jc+jr..
        auto tile = [&](std::size_t ir, std::size_t jr) {
          const std::size_t nr = std::min(NR, nc - jr);
          const T* bpanel = bp + jr * kc;
          const bool in_place = direct && nr == NR;
          const T* bdirect = in_place ? g.b + pc * g.ldb + jc + jr : nullptr;  // g.b is null when B is packed by a callback
          const std::size_t mr = std::min(MR, mc - ir);
          T* c = g.c + (ic + ir) * g.ldc + jc + jr;
          const auto micro = [&](T* cc, std::size_t ldcc, T b, const T* bi) {
            if (in_place)
              K::kernel_b(kc, ab + ir * kc, bdirect, g.ldb, cc, ldcc, g.alpha, b, bi);
            else
              K::kernel(kc, ab + ir * kc, bpanel, cc, ldcc, g.alpha, b, bi);
          };
          if (mr == MR && nr == NR) {
            micro(c, g.ldc, beta, bias ? bias + ic + ir : nullptr);
          } else {
            T tile_bias[MR] = {};
            if (bias)
              for (std::size_t i = 0; i < mr; ++i) tile_bias[i] = bias[ic + ir + i];
            micro(tmp, NR, T(0), bias ? tile_bias : nullptr);
            for (std::size_t i = 0; i < mr; ++i)
              for (std::size_t j = 0; j < nr; ++j) {
                T& out = c[i * g.ldc + j];
                out = beta == T(0) ? tmp[i * NR + j] : tmp[i * NR + j] + beta * out;
              }
          }
        };
        if (kc * nc * sizeof(T) <= (std::size_t(512) << 10)) {
          // the packed B block fits in L2: keep one A micro-panel in L1 and sweep C along its rows
          // (streams C; best when K is short and C is large, e.g. a batch-32 weight gradient)
          for (std::size_t ir = 0; ir < mc; ir += MR)
            for (std::size_t jr = 0; jr < nc; jr += NR) tile(ir, jr);
        } else {
          // BLIS order: one B micro-panel reused across the A block (from L2)
          for (std::size_t jr = 0; jr < nc; jr += NR)
            for (std::size_t ir = 0; ir < mc; ir += MR) tile(ir, jr);
        }
      }
    }
  }
}

template <class T>
void scale_c(const gemm_args<T>& g) {
  for (std::size_t i = 0; i < g.m; ++i) {
    T* c = g.c + i * g.ldc;
    const T bi = g.row_bias ? g.row_bias[i] : T(0);
    if (g.beta == T(0))
      std::fill(c, c + g.n, bi);
    else
      for (std::size_t j = 0; j < g.n; ++j) c[j] = c[j] * g.beta + bi;
  }
}

// Splits C over the pool in whole tiles (serial when `threads` is 1).
template <class K>
void gemm_driver(const gemm_args<typename K::value_type>& g, std::size_t threads) {
  constexpr std::size_t MR = K::mr, NR = K::nr;
  const std::size_t um = (g.m + MR - 1) / MR, un = (g.n + NR - 1) / NR;
  // below ~2 MFLOP a second thread costs more than it saves
  if (threads <= 1 || double(g.m) * double(g.n) * double(g.k) < 1e6 || (um < 2 && un < 2)) {
    gemm_block<K>(g, 0, g.m, 0, g.n);
    return;
  }
  const bool split_m = um >= 4 * threads || um >= un;
  const std::size_t units = split_m ? um : un;
  const std::size_t blocks = std::min(threads, units);
  parallel_blocks(blocks, [&](std::size_t t) {
    const auto r = block_range(units, blocks, t);
    if (split_m)
      gemm_block<K>(g, r.first * MR, std::min(g.m, r.second * MR), 0, g.n);
    else
      gemm_block<K>(g, 0, g.m, r.first * NR, std::min(g.n, r.second * NR));
  });
}

// C = alpha * A B^T + beta C for small m: each row of B is read once (memory-bound GEMV).
template <class T>
void rows_dot_dispatch(const gemm_args<T>& g, std::size_t j0, std::size_t j1) {
  if constexpr (std::is_same<T, float>::value) {
#if HOUSENET_X86
    const isa i = active_isa();
    if (i == isa::avx512)
      return avx512::rows_dot(g.m, g.k, g.a, g.lda, g.b, g.ldb, j0, j1, g.c, g.ldc, g.alpha, g.beta);
    if (i == isa::avx2)
      return avx2::rows_dot(g.m, g.k, g.a, g.lda, g.b, g.ldb, j0, j1, g.c, g.ldc, g.alpha, g.beta);
#endif
#if HOUSENET_WASM_SIMD128
    if (active_isa() == isa::simd128)
      return simd128::rows_dot(g.m, g.k, g.a, g.lda, g.b, g.ldb, j0, j1, g.c, g.ldc, g.alpha, g.beta);
#endif
  }
  scalar::rows_dot(g.m, g.k, g.a, g.lda, g.b, g.ldb, j0, j1, g.c, g.ldc, g.alpha, g.beta);
}

template <class T>
void gemm_rows_dot(const gemm_args<T>& g, std::size_t threads) {
  constexpr std::size_t unit = 16;  // whole groups of 4 rows of B: same sums for any split
  const std::size_t units = (g.n + unit - 1) / unit;
  const std::size_t blocks = std::min(threads, units);
  if (blocks <= 1 || double(g.n) * double(g.k) * double(g.m) < 2e5) {
    rows_dot_dispatch(g, 0, g.n);
    return;
  }
  parallel_blocks(blocks, [&](std::size_t t) {
    const auto r = block_range(units, blocks, t);
    rows_dot_dispatch(g, r.first * unit, std::min(g.n, r.second * unit));
  });
}

#if HOUSENET_X86
// C [m, n] = alpha * A B^T + beta * C for 4 < m <= 32 (a fully connected layer's forward at batch
// 5..32; B = the weights, [n, k]): computed as C^T = B A^T, 12 rows of B at a time read in place
// by the A-rows kernel, A^T packed once (k x 32). B streams from memory once and is never packed.
// Per element the same arithmetic as gemm_block (one FMA chain per K block of the same size,
// blocks added in order), so the same bits for alpha = 1 and beta in {0, 1} (the layers' calls).
inline void gemm_small_m_avx512(const gemm_args<float>& g, std::size_t threads) {
  constexpr std::size_t MR = avx512::mr, NR = avx512::nr, KC = avx512_traits::kc;
  const std::size_t kblocks = (g.k + KC - 1) / KC, kc_max = (g.k + kblocks - 1) / kblocks;
  thread_local scratch<float> bufa;
  float* at = bufa.get(g.k * NR);
  avx512::pack_b_cols(g.a, g.lda, g.m, g.k, at);  // at[p*32 + i] = A[i][p], zero for i >= m
  const std::size_t units = (g.n + MR - 1) / MR;
  const std::size_t blocks = threads <= 1 || double(g.m) * double(g.n) * double(g.k) < 1e6
                                 ? 1 : std::min(threads, units);
  parallel_blocks(blocks, [&](std::size_t t) {
    const auto r = block_range(units, blocks, t);
    thread_local scratch<float> tail;
    alignas(64) float ct[MR * NR];  // the C^T tile
    for (std::size_t u = r.first; u < r.second; ++u) {
      const std::size_t j0 = u * MR, rows = std::min(MR, g.n - j0);
      const float* brows = g.b + j0 * g.ldb;
      std::size_t ldb = g.ldb;
      if (rows < MR) {  // the last rows of B, zero-padded to 12 rows
        float* z = tail.get(MR * g.k);
        std::fill(z, z + MR * g.k, 0.0f);
        for (std::size_t i = 0; i < rows; ++i) std::memcpy(z + i * g.k, brows + i * g.ldb, g.k * sizeof(float));
        brows = z, ldb = g.k;
      }
      if (g.beta != 0.0f)
        for (std::size_t i = 0; i < rows; ++i)
          for (std::size_t c = 0; c < g.m; ++c) ct[i * NR + c] = g.c[c * g.ldc + j0 + i];
      for (std::size_t pc = 0; pc < g.k; pc += kc_max) {
        const std::size_t kc = std::min(kc_max, g.k - pc);
        avx512::sgemm_kernel_a(kc, brows + pc, ldb, at + pc * NR, ct, NR, g.alpha, pc == 0 ? g.beta : 1.0f);
      }
      for (std::size_t c = 0; c < g.m; ++c)
        for (std::size_t i = 0; i < rows; ++i) g.c[c * g.ldc + j0 + i] = ct[i * NR + c];
    }
  });
}
#endif

template <class T>
void check_gemm_args(const gemm_args<T>& g) {
  HOUSENET_CHECK(g.m == 0 || g.n == 0 || g.c != nullptr, "gemm: C is null");
  HOUSENET_CHECK(g.n == 0 || g.ldc >= g.n, "gemm: ldc ", g.ldc, " < n ", g.n);
  if (g.m == 0 || g.n == 0 || g.k == 0) return;
  HOUSENET_CHECK((g.a != nullptr || g.a_packed) && (g.b != nullptr || g.pack_b), "gemm: A or B is null");
  HOUSENET_CHECK(g.a_packed || g.lda >= (g.ta ? g.m : g.k), "gemm: lda ", g.lda, " too small");
  HOUSENET_CHECK(g.pack_b ? !g.tb : g.ldb >= (g.tb ? g.k : g.n), "gemm: ldb ", g.ldb, " too small");
}

// f(traits) with the kernel traits gemm() uses for T on the active path
template <class T, class F>
void with_gemm_traits(F&& f) {
  if constexpr (std::is_same<T, float>::value) {
#if HOUSENET_X86
    const isa i = active_isa();
    if (i == isa::avx512) return f(avx512_traits{});
    if (i == isa::avx2) return f(avx2_traits{});
#endif
#if HOUSENET_WASM_SIMD128
    if (active_isa() == isa::simd128) return f(simd128_traits{});
#endif
    f(scalar_f32_traits{});
  } else {
    f(scalar_f64_traits{});
  }
}

// threads: how many pool threads may work on this product (1 = the calling thread only).
template <class T>
void gemm(const gemm_args<T>& g, std::size_t threads) {
  check_gemm_args(g);
  if (g.m == 0 || g.n == 0) return;
  if (g.k == 0 || g.alpha == T(0)) {
    scale_c(g);
    return;
  }
  if (g.tb && !g.ta && g.m <= 4 && !g.a_packed) {
    gemm_rows_dot(g, threads);
    if (g.row_bias)
      for (std::size_t i = 0; i < g.m; ++i)
        for (std::size_t j = 0; j < g.n; ++j) g.c[i * g.ldc + j] += g.row_bias[i];
    return;
  }
  static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value, "gemm: float or double");
#if HOUSENET_X86
  if constexpr (std::is_same<T, float>::value)
    if (active_isa() == isa::avx512 && g.tb && !g.ta && g.m <= avx512::nr && !g.row_bias && !g.a_packed)
      return gemm_small_m_avx512(g, threads);
#endif
  with_gemm_traits<T>([&](auto traits) { gemm_driver<decltype(traits)>(g, threads); });
}

// Pre-packing A (gemm_args::a_packed) for products with a short K (one K block on this path):
// gemm_pack_a writes op(A) [m, k] as the kernel's micro-panels, gemm_packed_a_size floats.
template <class T>
bool gemm_prepack_fits(std::size_t k) {
  bool fits = false;
  with_gemm_traits<T>([&](auto traits) { fits = k <= decltype(traits)::kc; });
  return fits;
}
template <class T>
std::size_t gemm_packed_a_size(std::size_t m, std::size_t k) {
  std::size_t size = 0;
  with_gemm_traits<T>([&](auto traits) {
    constexpr std::size_t MR = decltype(traits)::mr;
    size = (m + MR - 1) / MR * MR * k;
  });
  return size;
}
template <class T>
void gemm_pack_a(bool ta, std::size_t m, std::size_t k, const T* a, std::size_t lda, T* out) {
  HOUSENET_CHECK(gemm_prepack_fits<T>(k), "gemm: pre-packed A needs one K block (k = ", k, ")");
  with_gemm_traits<T>([&](auto traits) {
    using K = decltype(traits);
    const gemm_args<T> g{ta, false, m, 0, k, T(1), a, lda, nullptr, 0, T(0), nullptr, 0};
    for (std::size_t i = 0; i < m; i += K::mr) pack_a_panel<K>(g, i, std::min(K::mr, m - i), 0, k, out + i * k);
  });
}

template <class T>
void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
          std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc,
          std::size_t threads) {
  gemm(gemm_args<T>{ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc}, threads);
}

}  // namespace detail

// Multithreaded over the library pool (num_threads()).
inline void sgemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                  float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                  float beta, float* c, std::size_t ldc) {
  detail::gemm<float>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                      std::size_t(num_threads()));
}
inline void dgemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                  double alpha, const double* a, std::size_t lda, const double* b, std::size_t ldb,
                  double beta, double* c, std::size_t ldc) {
  detail::gemm<double>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                       std::size_t(num_threads()));
}

HOUSENET_END_NAMESPACE

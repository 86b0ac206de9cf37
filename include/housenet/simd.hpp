// housenet/simd.hpp: the one SIMD place: CPU detection, the ISA switch, and the micro-kernels.
//
// WHAT THIS IS
//   isa            scalar | avx2 (AVX2 + FMA) | avx512 (AVX-512F) | simd128 (WebAssembly SIMD128)
//   best_isa()     the best path this CPU (and this compiler) supports
//   active_isa()   the path the kernels use. Chosen ONCE, on first use: HOUSENET_ISA=scalar|avx2|
//                  avx512|simd128 from the environment if set (an unsupported or unknown value
//                  falls back to best_isa()), else best_isa().
//   set_isa(i)     forces a path (tests, benchmarks). Throws housenet::error if the CPU lacks it.
//   isa_name(i)    "scalar", "avx2", "avx512", "simd128"
//
//   Each ISA's kernels live in their own namespace (detail::scalar, detail::avx2, detail::avx512,
//   detail::simd128). The x86 ones are compiled with GCC/Clang function target attributes, so a
//   default build (no -m flags) runs on any x86-64 and uses AVX-512 where the CPU has it.
//   WebAssembly has no run-time detection (a module that uses SIMD128 does not load where it is
//   missing): simd128 exists when the build has -msimd128 (HOUSENET_WASM_SIMD128), and is then the
//   best. It has no fused multiply-add: its kernels multiply, round, then add, in the scalar
//   kernels' order, so they give the scalar path's bits (tests/test_gemm.cpp). Elsewhere only the
//   scalar path exists. This file and simd/ are the only ones that use intrinsics: simd/cascade.hpp
//   holds the face detector's window kernels (vision code, kept out of the numeric core), chosen
//   by the same active_isa().
//
//   Micro-kernel contract (all ISAs), for the packed GEMM in gemm.hpp:
//     a: packed A micro-panel, kc x MR  (a[p*MR + i])
//     b: packed B micro-panel, kc x NR  (b[p*NR + j])
//     c: MR x NR tile, row stride ldc:  c = alpha * (a^T b) + beta * c + bias[i]
//        (beta == 0: c not read; bias: MR values or null)
//     AVX-512 also reads unpacked operands with the same FMA chain per element (same bits):
//     sgemm_kernel_b (B's rows in place, ldb apart) and sgemm_kernel_a (A's 12 rows in place).
//   dot-form kernel (GEMV, one image through a fully connected layer):
//     rows_dot(m, k, x, ldx, w, ldw, j0, j1, y, ldy, alpha, beta):
//        y[i*ldy + j] = alpha * dot(x[i*ldx..], w[j*ldw..]) + beta*y  for i < m, j in [j0, j1)
//   lanes_sandwich (the Winograd tile transforms of detail/winograd.hpp), on 16 lanes at once:
//     lanes_sandwich(L, A, I, R, B, J, in, out):
//        out[(a*B + b)*16 + l] = sum_{i<I, j<J} L[a*8 + i] * in[(i*J + j)*16 + l] * R[b*8 + j]
//        (A, I, B, J <= 8; L and R row-major with row stride 8; zero coefficients are skipped)
//   and the moves between 16 tiles (one per lane, each anywhere in memory) and that layout:
//     lanes_gather(src, ld, rows, cols, out):   out[(i*cols + j)*16 + l] = src[l][i*ld[l] + j]
//     lanes_scatter(in, rows, cols, add, dst, ld, lanes):
//                                    dst[l][i*ld[l] + j] = in[(i*cols + j)*16 + l] + add, l < lanes
//        (rows, cols <= 16; AVX-512: one 16x16 register transpose per tile row)
//
// THREAD SAFETY
//   active_isa() is safe from any thread. set_isa() must not race with running kernels.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "config.hpp"
#include "error.hpp"

#if HOUSENET_X86
#  include <immintrin.h>
#endif
#if HOUSENET_WASM_SIMD128
#  include <wasm_simd128.h>
#endif

HOUSENET_BEGIN_NAMESPACE

enum class isa : int { scalar = 0, avx2 = 1, avx512 = 2, simd128 = 3 };

inline const char* isa_name(isa i) {
  switch (i) {
    case isa::avx512: return "avx512";
    case isa::avx2: return "avx2";
    case isa::simd128: return "simd128";
    default: return "scalar";
  }
}

namespace detail {

inline bool cpu_has(isa i) {
  if (i == isa::scalar) return true;
#if HOUSENET_X86
  __builtin_cpu_init();
  if (i == isa::avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (i == isa::avx512)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
           __builtin_cpu_supports("fma");
#endif
  if (i == isa::simd128) return HOUSENET_WASM_SIMD128;
  return false;
}

inline isa detect_best_isa() {
  if (cpu_has(isa::simd128)) return isa::simd128;
  if (cpu_has(isa::avx512)) return isa::avx512;
  if (cpu_has(isa::avx2)) return isa::avx2;
  return isa::scalar;
}

inline isa initial_isa() {
  const isa best = detect_best_isa();
  if (const char* env = std::getenv("HOUSENET_ISA")) {
    isa want = best;
    if (std::strcmp(env, "scalar") == 0) want = isa::scalar;
    else if (std::strcmp(env, "avx2") == 0) want = isa::avx2;
    else if (std::strcmp(env, "avx512") == 0) want = isa::avx512;
    else if (std::strcmp(env, "simd128") == 0) want = isa::simd128;
    if (cpu_has(want)) return want;
  }
  return best;
}

inline std::atomic<int>& isa_slot() {
  static std::atomic<int> slot{int(initial_isa())};
  return slot;
}

}  // namespace detail

inline isa best_isa() {
  static const isa best = detail::detect_best_isa();
  return best;
}
inline bool isa_supported(isa i) { return detail::cpu_has(i); }
inline isa active_isa() { return isa(detail::isa_slot().load(std::memory_order_relaxed)); }
inline void set_isa(isa i) {
  HOUSENET_CHECK(detail::cpu_has(i), "simd: this CPU does not support ", isa_name(i));
  detail::isa_slot().store(int(i), std::memory_order_relaxed);
}

namespace detail {

// ---- portable scalar path (also the double path for every ISA) -----------------------------------
namespace scalar {

template <class T, int MR, int NR>
void gemm_kernel(std::size_t kc, const T* HOUSENET_RESTRICT a, const T* HOUSENET_RESTRICT b,
                 T* HOUSENET_RESTRICT c, std::size_t ldc, T alpha, T beta,
                 const T* bias = nullptr) {
  T acc[MR][NR] = {};
  for (std::size_t p = 0; p < kc; ++p) {
    const T* ap = a + p * MR;
    const T* bp = b + p * NR;
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += ap[i] * bp[j];
  }
  for (int i = 0; i < MR; ++i) {
    T* ci = c + std::size_t(i) * ldc;
    const T bi = bias ? bias[i] : T(0);
    if (beta == T(0))
      for (int j = 0; j < NR; ++j) ci[j] = alpha * acc[i][j] + bi;
    else
      for (int j = 0; j < NR; ++j) ci[j] = alpha * acc[i][j] + beta * ci[j] + bi;
  }
}

template <class T>
T dot(std::size_t k, const T* HOUSENET_RESTRICT x, const T* HOUSENET_RESTRICT w) {
  T s[8] = {};
  std::size_t p = 0;
  for (; p + 8 <= k; p += 8)
    for (int l = 0; l < 8; ++l) s[l] += x[p + std::size_t(l)] * w[p + std::size_t(l)];
  T r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; p < k; ++p) r += x[p] * w[p];
  return r;
}

template <class T>
void rows_dot(std::size_t m, std::size_t k, const T* x, std::size_t ldx, const T* w, std::size_t ldw,
              std::size_t j0, std::size_t j1, T* y, std::size_t ldy, T alpha, T beta) {
  for (std::size_t j = j0; j < j1; ++j)
    for (std::size_t i = 0; i < m; ++i) {
      const T v = alpha * dot(k, x + i * ldx, w + j * ldw);
      T& out = y[i * ldy + j];
      out = beta == T(0) ? v : v + beta * out;
    }
}

}  // namespace scalar

// The lane loops of lanes_sandwich, written once: each ISA's wrapper compiles them with its own
// target, where they vectorize over the 16 lanes. The output width is a template parameter so
// that each pass keeps W independent accumulators in registers (one FMA chain each).
template <class T, int W>
HOUSENET_ALWAYS_INLINE void lanes_left(const T* L, int A, int I, const T* HOUSENET_RESTRICT in,
                                       T* HOUSENET_RESTRICT out) {  // out[a][w] = sum_i L[a][i] in[i][w]
  constexpr int lanes = 16;
  for (int a = 0; a < A; ++a) {
    T acc[W][lanes] = {};
    for (int i = 0; i < I; ++i) {
      const T c = L[a * 8 + i];
      if (c == T(0)) continue;
      const T* src = in + i * W * lanes;
      for (int w = 0; w < W; ++w)
        for (int l = 0; l < lanes; ++l) acc[w][l] += c * src[w * lanes + l];
    }
    for (int w = 0; w < W; ++w)
      for (int l = 0; l < lanes; ++l) out[(a * W + w) * lanes + l] = acc[w][l];
  }
}
template <class T, int W>
HOUSENET_ALWAYS_INLINE void lanes_right(const T* R, int A, int J, const T* HOUSENET_RESTRICT in,
                                        T* HOUSENET_RESTRICT out) {  // out[a][w] = sum_j in[a][j] R[w][j]
  constexpr int lanes = 16;
  for (int a = 0; a < A; ++a) {
    T acc[W][lanes] = {};
    for (int j = 0; j < J; ++j) {
      const T* src = in + (a * J + j) * lanes;
      for (int w = 0; w < W; ++w) {
        const T c = R[w * 8 + j];
        for (int l = 0; l < lanes; ++l) acc[w][l] += c * src[l];
      }
    }
    for (int w = 0; w < W; ++w)
      for (int l = 0; l < lanes; ++l) out[(a * W + w) * lanes + l] = acc[w][l];
  }
}
template <class T>
HOUSENET_ALWAYS_INLINE void lanes_sandwich_generic(const T* L, int A, int I, const T* R, int B, int J,
                                                   const T* HOUSENET_RESTRICT in,
                                                   T* HOUSENET_RESTRICT out) {
  alignas(64) T tmp[8 * 8 * 16];
  switch (J) {
#define HOUSENET_LANES_CASE(n) \
  case n: lanes_left<T, n>(L, A, I, in, tmp); break;
    HOUSENET_LANES_CASE(1) HOUSENET_LANES_CASE(2) HOUSENET_LANES_CASE(3) HOUSENET_LANES_CASE(4)
    HOUSENET_LANES_CASE(5) HOUSENET_LANES_CASE(6) HOUSENET_LANES_CASE(7) HOUSENET_LANES_CASE(8)
#undef HOUSENET_LANES_CASE
    default: return;
  }
  switch (B) {
#define HOUSENET_LANES_CASE(n) \
  case n: lanes_right<T, n>(R, A, J, tmp, out); break;
    HOUSENET_LANES_CASE(1) HOUSENET_LANES_CASE(2) HOUSENET_LANES_CASE(3) HOUSENET_LANES_CASE(4)
    HOUSENET_LANES_CASE(5) HOUSENET_LANES_CASE(6) HOUSENET_LANES_CASE(7) HOUSENET_LANES_CASE(8)
#undef HOUSENET_LANES_CASE
    default: return;
  }
}

namespace scalar {
template <class T>
void lanes_sandwich(const T* L, int A, int I, const T* R, int B, int J, const T* in, T* out) {
  lanes_sandwich_generic(L, A, I, R, B, J, in, out);
}
template <class T>
void lanes_gather(const T* const* src, const std::size_t* ld, int rows, int cols, T* out) {
  for (int l = 0; l < 16; ++l)
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j) out[(i * cols + j) * 16 + l] = src[l][std::size_t(i) * ld[l] + std::size_t(j)];
}
template <class T>
void lanes_scatter(const T* in, int rows, int cols, T add, T* const* dst, const std::size_t* ld,
                   int lanes) {
  for (int l = 0; l < lanes; ++l)
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j)
        dst[l][std::size_t(i) * ld[l] + std::size_t(j)] = in[(i * cols + j) * 16 + l] + add;
}
}  // namespace scalar

#if HOUSENET_X86
// ---- AVX2 + FMA: 6 x 16 tile (12 ymm accumulators) -----------------------------------------------
namespace avx2 {

constexpr int mr = 6, nr = 16;

__attribute__((target("avx2,fma"))) inline void sgemm_kernel(std::size_t kc, const float* a,
                                                               const float* b, float* c,
                                                               std::size_t ldc, float alpha,
                                                               float beta, const float* bias) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (std::size_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 t;
    t = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(t, b0, c00); c01 = _mm256_fmadd_ps(t, b1, c01);
    t = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(t, b0, c10); c11 = _mm256_fmadd_ps(t, b1, c11);
    t = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(t, b0, c20); c21 = _mm256_fmadd_ps(t, b1, c21);
    t = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(t, b0, c30); c31 = _mm256_fmadd_ps(t, b1, c31);
    t = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(t, b0, c40); c41 = _mm256_fmadd_ps(t, b1, c41);
    t = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(t, b0, c50); c51 = _mm256_fmadd_ps(t, b1, c51);
    a += mr;
    b += nr;
  }
  const __m256 va = _mm256_set1_ps(alpha);
  const __m256 vb = _mm256_set1_ps(beta);
  const bool use_beta = beta != 0.0f;
#define HOUSENET_AVX2_STORE(i)                                              \
  {                                                                         \
    float* row = c + (i)*ldc;                                               \
    __m256 x0 = _mm256_mul_ps(c##i##0, va), x1 = _mm256_mul_ps(c##i##1, va); \
    if (use_beta) {                                                         \
      x0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row), x0);                   \
      x1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row + 8), x1);               \
    }                                                                       \
    if (bias) {                                                             \
      const __m256 bb = _mm256_set1_ps(bias[i]);                            \
      x0 = _mm256_add_ps(x0, bb);                                           \
      x1 = _mm256_add_ps(x1, bb);                                           \
    }                                                                       \
    _mm256_storeu_ps(row, x0);                                              \
    _mm256_storeu_ps(row + 8, x1);                                          \
  }
  HOUSENET_AVX2_STORE(0)
  HOUSENET_AVX2_STORE(1)
  HOUSENET_AVX2_STORE(2)
  HOUSENET_AVX2_STORE(3)
  HOUSENET_AVX2_STORE(4)
  HOUSENET_AVX2_STORE(5)
#undef HOUSENET_AVX2_STORE
}

__attribute__((target("avx2,fma"))) inline float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

__attribute__((target("avx2,fma"))) inline float sdot(std::size_t k, const float* x, const float* w) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(),
         s3 = _mm256_setzero_ps();
  std::size_t p = 0;
  for (; p + 32 <= k; p += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p), _mm256_loadu_ps(w + p), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p + 8), _mm256_loadu_ps(w + p + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p + 16), _mm256_loadu_ps(w + p + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p + 24), _mm256_loadu_ps(w + p + 24), s3);
  }
  for (; p + 8 <= k; p += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p), _mm256_loadu_ps(w + p), s0);
  float r = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; p < k; ++p) r += x[p] * w[p];
  return r;
}

__attribute__((target("avx2,fma"))) inline void rows_dot(std::size_t m, std::size_t k, const float* x,
                                                          std::size_t ldx, const float* w,
                                                          std::size_t ldw, std::size_t j0,
                                                          std::size_t j1, float* y, std::size_t ldy,
                                                          float alpha, float beta) {
  for (std::size_t j = j0; j < j1; ++j)
    for (std::size_t i = 0; i < m; ++i) {
      const float v = alpha * sdot(k, x + i * ldx, w + j * ldw);
      float& out = y[i * ldy + j];
      out = beta == 0.0f ? v : v + beta * out;
    }
}

__attribute__((target("avx2,fma"))) inline void lanes_sandwich(const float* L, int A, int I,
                                                                 const float* R, int B, int J,
                                                                 const float* in, float* out) {
  lanes_sandwich_generic(L, A, I, R, B, J, in, out);
}

}  // namespace avx2

// ---- AVX-512F: 12 x 32 tile (24 zmm accumulators) ------------------------------------------------
namespace avx512 {

constexpr int mr = 12, nr = 32;

// One 12 x 32 tile, written once for three operand layouts:
//   a_rows = false: a is a packed A micro-panel (a[p*12 + i]); a_rows = true: A's rows in place
//                   (a[i*lda + p]: the weight rows of a fully connected layer, not packed)
//   ldb = 32: b is a packed B micro-panel; ldb > 32: B's rows in place (b[p*ldb + j])
// The arithmetic is the same in every case (one FMA chain per element, in order p = 0, 1, ...),
// so the layouts give the same bits.
#define HOUSENET_AVX512_ROW(i)                                      \
  t = _mm512_set1_ps(a_rows ? a[std::size_t(i) * lda] : a[i]);      \
  c##i##0 = _mm512_fmadd_ps(t, b0, c##i##0);                        \
  c##i##1 = _mm512_fmadd_ps(t, b1, c##i##1);

template <bool a_rows>
__attribute__((target("avx512f,avx2,fma"), always_inline)) inline void sgemm_tile(
    std::size_t kc, const float* a, std::size_t lda, const float* b, std::size_t ldb, float* c,
    std::size_t ldc, float alpha, float beta, const float* bias) {
  __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
  __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
  __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
  __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
  __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
  __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
  __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
  __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
  __m512 c80 = _mm512_setzero_ps(), c81 = _mm512_setzero_ps();
  __m512 c90 = _mm512_setzero_ps(), c91 = _mm512_setzero_ps();
  __m512 c100 = _mm512_setzero_ps(), c101 = _mm512_setzero_ps();
  __m512 c110 = _mm512_setzero_ps(), c111 = _mm512_setzero_ps();
  // the C tile is read/written only after the loop: fetch its 24 lines now
  for (int i = 0; i < mr; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + std::size_t(i) * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + std::size_t(i) * ldc + 31), _MM_HINT_T0);
  }
  const bool b_in_place = ldb != std::size_t(nr);
  for (std::size_t p = 0; p < kc; ++p) {
    if (b_in_place) {  // B's rows in memory: fetch the next panel's two lines of this row into L2
      _mm_prefetch(reinterpret_cast<const char*>(b + nr), _MM_HINT_T1);
      _mm_prefetch(reinterpret_cast<const char*>(b + nr + 16), _MM_HINT_T1);
    }
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
    __m512 t;
    HOUSENET_AVX512_ROW(0)
    HOUSENET_AVX512_ROW(1)
    HOUSENET_AVX512_ROW(2)
    HOUSENET_AVX512_ROW(3)
    HOUSENET_AVX512_ROW(4)
    HOUSENET_AVX512_ROW(5)
    HOUSENET_AVX512_ROW(6)
    HOUSENET_AVX512_ROW(7)
    HOUSENET_AVX512_ROW(8)
    HOUSENET_AVX512_ROW(9)
    HOUSENET_AVX512_ROW(10)
    HOUSENET_AVX512_ROW(11)
    a += a_rows ? 1 : mr;
    b += ldb;
  }
  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
  const bool use_beta = beta != 0.0f;
#define HOUSENET_AVX512_STORE(i)                                            \
  {                                                                         \
    float* row = c + (i)*ldc;                                               \
    __m512 x0 = _mm512_mul_ps(c##i##0, va), x1 = _mm512_mul_ps(c##i##1, va); \
    if (use_beta) {                                                         \
      x0 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(row), x0);                   \
      x1 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(row + 16), x1);              \
    }                                                                       \
    if (bias) {                                                             \
      const __m512 bb = _mm512_set1_ps(bias[i]);                            \
      x0 = _mm512_add_ps(x0, bb);                                           \
      x1 = _mm512_add_ps(x1, bb);                                           \
    }                                                                       \
    _mm512_storeu_ps(row, x0);                                              \
    _mm512_storeu_ps(row + 16, x1);                                         \
  }
  HOUSENET_AVX512_STORE(0)
  HOUSENET_AVX512_STORE(1)
  HOUSENET_AVX512_STORE(2)
  HOUSENET_AVX512_STORE(3)
  HOUSENET_AVX512_STORE(4)
  HOUSENET_AVX512_STORE(5)
  HOUSENET_AVX512_STORE(6)
  HOUSENET_AVX512_STORE(7)
  HOUSENET_AVX512_STORE(8)
  HOUSENET_AVX512_STORE(9)
  HOUSENET_AVX512_STORE(10)
  HOUSENET_AVX512_STORE(11)
#undef HOUSENET_AVX512_STORE
}
#undef HOUSENET_AVX512_ROW

// packed A, packed B (the contract above)
__attribute__((target("avx512f,avx2,fma"))) inline void sgemm_kernel(std::size_t kc, const float* a,
                                                                      const float* b, float* c,
                                                                      std::size_t ldc, float alpha,
                                                                      float beta, const float* bias) {
  sgemm_tile<false>(kc, a, 0, b, nr, c, ldc, alpha, beta, bias);
}
// packed A, B's rows in place (32 columns readable in each of kc rows ldb apart)
__attribute__((target("avx512f,avx2,fma"))) inline void sgemm_kernel_b(std::size_t kc, const float* a,
                                                                        const float* b, std::size_t ldb,
                                                                        float* c, std::size_t ldc,
                                                                        float alpha, float beta,
                                                                        const float* bias) {
  sgemm_tile<false>(kc, a, 0, b, ldb, c, ldc, alpha, beta, bias);
}
// A's 12 rows in place (lda apart, kc columns each), packed B
__attribute__((target("avx512f,avx2,fma"))) inline void sgemm_kernel_a(std::size_t kc, const float* a,
                                                                        std::size_t lda, const float* b,
                                                                        float* c, std::size_t ldc,
                                                                        float alpha, float beta) {
  sgemm_tile<true>(kc, a, lda, b, nr, c, ldc, alpha, beta, nullptr);
}

__attribute__((target("avx512f,avx2,fma"))) inline float hsum(__m512 v) {
  alignas(64) float t[16];
  _mm512_store_ps(t, v);
  for (int w = 8; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) t[l] += t[l + w];
  return t[0];
}

__attribute__((target("avx512f,avx2,fma"))) inline float sdot(std::size_t k, const float* x,
                                                               const float* w) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(),
         s3 = _mm512_setzero_ps();
  std::size_t p = 0;
  for (; p + 64 <= k; p += 64) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + p), _mm512_loadu_ps(w + p), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + p + 16), _mm512_loadu_ps(w + p + 16), s1);
    s2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + p + 32), _mm512_loadu_ps(w + p + 32), s2);
    s3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + p + 48), _mm512_loadu_ps(w + p + 48), s3);
  }
  for (; p + 16 <= k; p += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + p), _mm512_loadu_ps(w + p), s0);
  if (p < k) {
    const __mmask16 mask = __mmask16((1u << (k - p)) - 1u);
    s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, x + p), _mm512_maskz_loadu_ps(mask, w + p), s1);
  }
  return hsum(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

// Four weight rows at a time against one x row: each w row is read once from memory.
__attribute__((target("avx512f,avx2,fma"))) inline void dot4(std::size_t k, const float* x,
                                                              const float* w, std::size_t ldw,
                                                              float* out) {
  const float* w0 = w;
  const float* w1 = w + ldw;
  const float* w2 = w + 2 * ldw;
  const float* w3 = w + 3 * ldw;
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(),
         a3 = _mm512_setzero_ps();
  __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps(), b2 = _mm512_setzero_ps(),
         b3 = _mm512_setzero_ps();
  std::size_t p = 0;
  for (; p + 32 <= k; p += 32) {
    const __m512 x0 = _mm512_loadu_ps(x + p), x1 = _mm512_loadu_ps(x + p + 16);
    a0 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(w0 + p), a0);
    a1 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(w1 + p), a1);
    a2 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(w2 + p), a2);
    a3 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(w3 + p), a3);
    b0 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(w0 + p + 16), b0);
    b1 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(w1 + p + 16), b1);
    b2 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(w2 + p + 16), b2);
    b3 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(w3 + p + 16), b3);
  }
  for (; p < k; p += 16) {
    const std::size_t left = k - p;
    const __mmask16 mask = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1u);
    const __m512 x0 = _mm512_maskz_loadu_ps(mask, x + p);
    a0 = _mm512_fmadd_ps(x0, _mm512_maskz_loadu_ps(mask, w0 + p), a0);
    a1 = _mm512_fmadd_ps(x0, _mm512_maskz_loadu_ps(mask, w1 + p), a1);
    a2 = _mm512_fmadd_ps(x0, _mm512_maskz_loadu_ps(mask, w2 + p), a2);
    a3 = _mm512_fmadd_ps(x0, _mm512_maskz_loadu_ps(mask, w3 + p), a3);
  }
  out[0] = hsum(_mm512_add_ps(a0, b0));
  out[1] = hsum(_mm512_add_ps(a1, b1));
  out[2] = hsum(_mm512_add_ps(a2, b2));
  out[3] = hsum(_mm512_add_ps(a3, b3));
}

__attribute__((target("avx512f,avx2,fma"))) inline void rows_dot(
    std::size_t m, std::size_t k, const float* x, std::size_t ldx, const float* w, std::size_t ldw,
    std::size_t j0, std::size_t j1, float* y, std::size_t ldy, float alpha, float beta) {
  std::size_t j = j0;
  float r[4];
  for (; j + 4 <= j1; j += 4)
    for (std::size_t i = 0; i < m; ++i) {
      dot4(k, x + i * ldx, w + j * ldw, ldw, r);
      for (std::size_t l = 0; l < 4; ++l) {
        float& out = y[i * ldy + j + l];
        out = beta == 0.0f ? alpha * r[l] : alpha * r[l] + beta * out;
      }
    }
  for (; j < j1; ++j)
    for (std::size_t i = 0; i < m; ++i) {
      const float v = alpha * sdot(k, x + i * ldx, w + j * ldw);
      float& out = y[i * ldy + j];
      out = beta == 0.0f ? v : v + beta * out;
    }
}


// ---- packing with 16x16 transposes (the layouts whose reduction index is contiguous) ----------
// r[0..15] rows in, r[j] = column j out.
__attribute__((target("avx512f,avx2,fma"), always_inline)) inline void transpose16(__m512* r) {
  // the maskz forms (all lanes) avoid GCC 12's false "may be used uninitialized" on the plain ones
  const __mmask16 all = 0xFFFF;
  const __mmask8 all8 = 0xFF;
  __m512 t[16];
  #pragma GCC unroll 16
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_maskz_unpacklo_ps(all, r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_maskz_unpackhi_ps(all, r[2 * i], r[2 * i + 1]);
  }
  #pragma GCC unroll 16
  for (int i = 0; i < 4; ++i) {
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i + 0] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(all8, a, c));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(all8, a, c));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(all8, b, d));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(all8, b, d));
  }
  // now lane L of r[4i + c] holds column 4L + c of rows 4i .. 4i+3
  #pragma GCC unroll 16
  for (int c = 0; c < 4; ++c) {
    const __m512 u = _mm512_maskz_shuffle_f32x4(all, r[c], r[4 + c], 0x88);
    const __m512 v = _mm512_maskz_shuffle_f32x4(all, r[c], r[4 + c], 0xdd);
    const __m512 w = _mm512_maskz_shuffle_f32x4(all, r[8 + c], r[12 + c], 0x88);
    const __m512 x = _mm512_maskz_shuffle_f32x4(all, r[8 + c], r[12 + c], 0xdd);
    t[0 + c] = _mm512_maskz_shuffle_f32x4(all, u, w, 0x88);
    t[4 + c] = _mm512_maskz_shuffle_f32x4(all, v, x, 0x88);
    t[8 + c] = _mm512_maskz_shuffle_f32x4(all, u, w, 0xdd);
    t[12 + c] = _mm512_maskz_shuffle_f32x4(all, v, x, 0xdd);
  }
  #pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

// out[p*ostride + q] = src[q*ld + p] for q < rows (<= 16), p < kc; lanes q >= rows of each
// output row are written as 0 when q < width (width <= 16 lanes are stored per output row).
__attribute__((target("avx512f,avx2,fma"))) inline void pack_transposed(const float* src, std::size_t ld,
                                                                         std::size_t rows,
                                                                         std::size_t kc, float* out,
                                                                         std::size_t ostride,
                                                                         unsigned width) {
  const __mmask16 store_mask = __mmask16((1u << width) - 1u);
  __m512 r[16];
  for (std::size_t p0 = 0; p0 < kc; p0 += 16) {  // (the inner loops are unrolled, not this one)
    const std::size_t left = kc - p0;
    const __mmask16 load_mask = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1u);
    if (left >= 16 && rows == 16)
      #pragma GCC unroll 16
      for (std::size_t q = 0; q < 16; ++q) r[q] = _mm512_loadu_ps(src + q * ld + p0);
    else
      #pragma GCC unroll 16
      for (std::size_t q = 0; q < 16; ++q)
        r[q] = q < rows ? _mm512_maskz_loadu_ps(load_mask, src + q * ld + p0) : _mm512_setzero_ps();
    transpose16(r);
    const std::size_t np = left >= 16 ? 16 : left;
    if (width == 16)
      #pragma GCC unroll 16
      for (std::size_t p = 0; p < np; ++p) _mm512_storeu_ps(out + (p0 + p) * ostride, r[p]);
    else
      #pragma GCC unroll 16
      for (std::size_t p = 0; p < np; ++p) _mm512_mask_storeu_ps(out + (p0 + p) * ostride, store_mask, r[p]);
  }
}

// packed B micro-panel from row-major B: out[p*32 + j] = b[p*ldb + j], zero past cols
__attribute__((target("avx512f,avx2,fma"))) inline void pack_b_rows(const float* b, std::size_t ldb,
                                                                     std::size_t cols, std::size_t kc,
                                                                     float* out) {
  if (cols == nr) {
    for (std::size_t p = 0; p < kc; ++p) {
      _mm512_store_ps(out + p * nr, _mm512_loadu_ps(b + p * ldb));
      _mm512_store_ps(out + p * nr + 16, _mm512_loadu_ps(b + p * ldb + 16));
    }
    return;
  }
  const __mmask16 m0 = cols >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << cols) - 1u);
  const __mmask16 m1 = cols <= 16 ? __mmask16(0) : __mmask16((1u << (cols - 16)) - 1u);
  for (std::size_t p = 0; p < kc; ++p) {
    _mm512_store_ps(out + p * nr, _mm512_maskz_loadu_ps(m0, b + p * ldb));
    _mm512_store_ps(out + p * nr + 16, _mm512_maskz_loadu_ps(m1, b + p * ldb + 16));
  }
}
// packed A micro-panel from A^T stored row-major: out[p*12 + i] = a[p*lda + i], zero past rows
__attribute__((target("avx512f,avx2,fma"))) inline void pack_a_cols(const float* a, std::size_t lda,
                                                                     std::size_t rows, std::size_t kc,
                                                                     float* out) {
  const __mmask16 load = __mmask16((1u << rows) - 1u), store = __mmask16((1u << mr) - 1u);
  for (std::size_t p = 0; p < kc; ++p)
    _mm512_mask_storeu_ps(out + p * mr, store, _mm512_maskz_loadu_ps(load, a + p * lda));
}

// packed A micro-panel (12 rows) from row-major A: out[p*12 + i] = a[i*lda + p]
__attribute__((target("avx512f,avx2,fma"))) inline void pack_a_rows(const float* a, std::size_t lda,
                                                                     std::size_t rows, std::size_t kc,
                                                                     float* out) {
  pack_transposed(a, lda, rows, kc, out, mr, mr);
}
// packed B micro-panel (32 columns) from B^T stored row-major: out[p*32 + j] = b[j*ldb + p]
__attribute__((target("avx512f,avx2,fma"))) inline void pack_b_cols(const float* b, std::size_t ldb,
                                                                     std::size_t cols, std::size_t kc,
                                                                     float* out) {
  pack_transposed(b, ldb, cols < 16 ? cols : 16, kc, out, nr, 16);
  pack_transposed(b + 16 * ldb, ldb, cols > 16 ? cols - 16 : 0, kc, out + 16, nr, 16);
}

__attribute__((target("avx512f,avx2,fma"))) inline void lanes_sandwich(const float* L, int A, int I,
                                                                         const float* R, int B, int J,
                                                                         const float* in, float* out) {
  lanes_sandwich_generic(L, A, I, R, B, J, in, out);
}

__attribute__((target("avx512f,avx2,fma"))) inline void lanes_gather(const float* const* src,
                                                                       const std::size_t* ld, int rows,
                                                                       int cols, float* out) {
  const __mmask16 mask = __mmask16((1u << cols) - 1u);
  __m512 r[16];
  for (int i = 0; i < rows; ++i) {
    #pragma GCC unroll 16
    for (int l = 0; l < 16; ++l) r[l] = _mm512_maskz_loadu_ps(mask, src[l] + std::size_t(i) * ld[l]);
    transpose16(r);
    for (int j = 0; j < cols; ++j) _mm512_storeu_ps(out + (i * cols + j) * 16, r[j]);
  }
}

__attribute__((target("avx512f,avx2,fma"))) inline void lanes_scatter(const float* in, int rows, int cols,
                                                                        float add, float* const* dst,
                                                                        const std::size_t* ld,
                                                                        int lanes) {
  const __mmask16 mask = __mmask16((1u << cols) - 1u);
  const __m512 va = _mm512_set1_ps(add);
  __m512 r[16];
  for (int i = 0; i < rows; ++i) {
    #pragma GCC unroll 16
    for (int j = 0; j < 16; ++j)
      r[j] = j < cols ? _mm512_add_ps(_mm512_loadu_ps(in + (i * cols + j) * 16), va) : _mm512_setzero_ps();
    transpose16(r);
    for (int l = 0; l < lanes; ++l) _mm512_mask_storeu_ps(dst[l] + std::size_t(i) * ld[l], mask, r[l]);
  }
}

}  // namespace avx512
#endif  // HOUSENET_X86

#if HOUSENET_WASM_SIMD128
// ---- WebAssembly SIMD128: 4 x 8 tile (8 v128 accumulators) ---------------------------------------
// No FMA: each product is rounded, then added, in the scalar kernels' order (the same bits).
// The tile fits the engine, not the ISA: V8 compiles v128 to x86's 16 xmm registers and keeps one
// as its scratch, so 8 accumulators + 2 B rows + the broadcast A value + the product (12) stay in
// registers, where a 6 x 8 tile (16) spills in the inner loop and ran at half the speed (Chromium
// and node, docs/performance.md#in-the-browser). 4 rows also divide the model's channel counts.
namespace simd128 {

constexpr int mr = 4, nr = 8;

inline void sgemm_kernel(std::size_t kc, const float* a, const float* b, float* c, std::size_t ldc,
                         float alpha, float beta, const float* bias) {
  v128_t c0[mr], c1[mr];
  for (int i = 0; i < mr; ++i) c0[i] = c1[i] = wasm_f32x4_splat(0.0f);
  for (std::size_t p = 0; p < kc; ++p) {
    const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
#pragma clang loop unroll(full)
    for (int i = 0; i < mr; ++i) {
      const v128_t t = wasm_v128_load32_splat(a + i);
      c0[i] = wasm_f32x4_add(c0[i], wasm_f32x4_mul(t, b0));
      c1[i] = wasm_f32x4_add(c1[i], wasm_f32x4_mul(t, b1));
    }
    a += mr;
    b += nr;
  }
  // c = alpha * acc + beta * c + bias, left to right as the scalar kernel (bias 0 is added too:
  // -0 + 0 is +0 there)
  const v128_t va = wasm_f32x4_splat(alpha), vb = wasm_f32x4_splat(beta);
  for (int i = 0; i < mr; ++i) {
    float* row = c + std::size_t(i) * ldc;
    v128_t x0 = wasm_f32x4_mul(va, c0[i]), x1 = wasm_f32x4_mul(va, c1[i]);
    if (beta != 0.0f) {
      x0 = wasm_f32x4_add(x0, wasm_f32x4_mul(vb, wasm_v128_load(row)));
      x1 = wasm_f32x4_add(x1, wasm_f32x4_mul(vb, wasm_v128_load(row + 4)));
    }
    const v128_t bb = wasm_f32x4_splat(bias ? bias[i] : 0.0f);
    wasm_v128_store(row, wasm_f32x4_add(x0, bb));
    wasm_v128_store(row + 4, wasm_f32x4_add(x1, bb));
  }
}

// scalar::dot's eight partial sums as two vectors, summed in its order
inline float sdot(std::size_t k, const float* x, const float* w) {
  v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0;
  std::size_t p = 0;
  for (; p + 8 <= k; p += 8) {
    s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(x + p), wasm_v128_load(w + p)));
    s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(wasm_v128_load(x + p + 4), wasm_v128_load(w + p + 4)));
  }
  float r = ((wasm_f32x4_extract_lane(s0, 0) + wasm_f32x4_extract_lane(s0, 1)) +
             (wasm_f32x4_extract_lane(s0, 2) + wasm_f32x4_extract_lane(s0, 3))) +
            ((wasm_f32x4_extract_lane(s1, 0) + wasm_f32x4_extract_lane(s1, 1)) +
             (wasm_f32x4_extract_lane(s1, 2) + wasm_f32x4_extract_lane(s1, 3)));
  for (; p < k; ++p) r += x[p] * w[p];
  return r;
}

inline void rows_dot(std::size_t m, std::size_t k, const float* x, std::size_t ldx, const float* w,
                     std::size_t ldw, std::size_t j0, std::size_t j1, float* y, std::size_t ldy,
                     float alpha, float beta) {
  for (std::size_t j = j0; j < j1; ++j)
    for (std::size_t i = 0; i < m; ++i) {
      const float v = alpha * sdot(k, x + i * ldx, w + j * ldw);
      float& out = y[i * ldy + j];
      out = beta == 0.0f ? v : v + beta * out;
    }
}

}  // namespace simd128
#endif  // HOUSENET_WASM_SIMD128

// lanes_sandwich on the active ISA (float) or the portable path (double)
inline void lanes_sandwich(const float* L, int A, int I, const float* R, int B, int J,
                           const float* in, float* out) {
#if HOUSENET_X86
  switch (active_isa()) {
    case isa::avx512: return avx512::lanes_sandwich(L, A, I, R, B, J, in, out);
    case isa::avx2: return avx2::lanes_sandwich(L, A, I, R, B, J, in, out);
    default: break;
  }
#endif
  scalar::lanes_sandwich(L, A, I, R, B, J, in, out);
}
inline void lanes_sandwich(const double* L, int A, int I, const double* R, int B, int J,
                           const double* in, double* out) {
  scalar::lanes_sandwich(L, A, I, R, B, J, in, out);
}

// lanes_gather / lanes_scatter: AVX-512 has a transposing version; the others are the loops
inline void lanes_gather(const float* const* src, const std::size_t* ld, int rows, int cols, float* out) {
#if HOUSENET_X86
  if (active_isa() == isa::avx512) return avx512::lanes_gather(src, ld, rows, cols, out);
#endif
  scalar::lanes_gather(src, ld, rows, cols, out);
}
inline void lanes_gather(const double* const* src, const std::size_t* ld, int rows, int cols, double* out) {
  scalar::lanes_gather(src, ld, rows, cols, out);
}
inline void lanes_scatter(const float* in, int rows, int cols, float add, float* const* dst,
                          const std::size_t* ld, int lanes) {
#if HOUSENET_X86
  if (active_isa() == isa::avx512) return avx512::lanes_scatter(in, rows, cols, add, dst, ld, lanes);
#endif
  scalar::lanes_scatter(in, rows, cols, add, dst, ld, lanes);
}
inline void lanes_scatter(const double* in, int rows, int cols, double add, double* const* dst,
                          const std::size_t* ld, int lanes) {
  scalar::lanes_scatter(in, rows, cols, add, dst, ld, lanes);
}

}  // namespace detail
HOUSENET_END_NAMESPACE

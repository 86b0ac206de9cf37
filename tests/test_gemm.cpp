// Tests of housenet/gemm.hpp and simd.hpp: the packed GEMM against detail::gemm_reference on odd
// shapes, for every SIMD path this CPU supports, and its determinism across thread counts.
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/detail/reference.hpp>
#include <housenet/gemm.hpp>
#include <housenet/parallel.hpp>
#include <housenet/random.hpp>
#include <housenet/simd.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

using namespace housenet;

namespace {

using housenet_test::random_vec;

struct shape_case {
  bool ta, tb;
  std::size_t m, n, k, lda_extra, ldb_extra, ldc_extra;
  double alpha, beta;
};

// Runs fast gemm (with `threads`) and the reference; returns the fast result, checks closeness.
template <class T>
std::vector<T> check_case(const shape_case& s, std::size_t threads, const char* what) {
  const std::size_t lda = (s.ta ? s.m : s.k) + s.lda_extra;
  const std::size_t ldb = (s.tb ? s.k : s.n) + s.ldb_extra;
  const std::size_t ldc = s.n + s.ldc_extra;
  const auto a = random_vec<T>((s.ta ? s.k : s.m) * lda + 1, 1 + s.m);
  const auto b = random_vec<T>((s.tb ? s.n : s.k) * ldb + 1, 2 + s.n);
  auto c = random_vec<T>(s.m * ldc + 1, 3 + s.k);
  auto r = c;
  if (s.beta == 0.0)  // beta == 0 must ignore C entirely, even NaN
    for (std::size_t i = 0; i < s.m; ++i) c[i * ldc] = T(NAN);
  detail::gemm<T>(s.ta, s.tb, s.m, s.n, s.k, T(s.alpha), a.data(), lda, b.data(), ldb, T(s.beta),
                  c.data(), ldc, threads);
  detail::gemm_reference<T>(s.ta, s.tb, s.m, s.n, s.k, T(s.alpha), a.data(), lda, b.data(), ldb,
                            T(s.beta), r.data(), ldc);
  const double eps = sizeof(T) == 4 ? 1.2e-7 : 2.3e-16;
  const double tol = 4.0 * eps * double(s.k + 2) * (std::fabs(s.alpha) + std::fabs(s.beta) + 1.0);
  std::size_t bad = 0;
  double worst = 0;
  for (std::size_t i = 0; i < s.m; ++i)
    for (std::size_t j = 0; j < ldc; ++j) {
      const double got = double(c[i * ldc + j]), want = double(r[i * ldc + j]);
      const double err = std::fabs(got - want);
      // columns past n (ldc padding) must be untouched: bitwise equal to the reference's copy
      if (j >= s.n ? got != want : !(err <= tol)) {
        ++bad;
        worst = std::max(worst, err);
      }
    }
  INFO(what, " ta=", s.ta, " tb=", s.tb, " m=", s.m, " n=", s.n, " k=", s.k, " alpha=", s.alpha,
       " beta=", s.beta, " threads=", threads, " worst=", worst, " tol=", tol);
  CHECK(bad == 0);
  CHECK(c[s.m * ldc] == r[s.m * ldc]);  // nothing written past the end
  return c;
}

std::vector<isa> supported_isas() {
  std::vector<isa> v;
  for (isa i : {isa::scalar, isa::avx2, isa::avx512, isa::simd128})
    if (isa_supported(i)) v.push_back(i);
  return v;
}


}  // namespace

TEST_CASE("simd: isa detection and forcing") {
  const housenet_test::settings_guard restore;
  CHECK(isa_supported(isa::scalar));
  CHECK(isa_supported(best_isa()));
  CHECK(isa_supported(active_isa()));
  CHECK(std::string(isa_name(isa::avx512)) == "avx512");
  CHECK(std::string(isa_name(isa::avx2)) == "avx2");
  CHECK(std::string(isa_name(isa::scalar)) == "scalar");
  CHECK(std::string(isa_name(isa::simd128)) == "simd128");
  set_isa(isa::scalar);
  CHECK(active_isa() == isa::scalar);
  for (isa i : {isa::avx2, isa::avx512, isa::simd128})
    if (!isa_supported(i)) CHECK_THROWS_AS(set_isa(i), housenet::error);
  // WebAssembly: SIMD128 exactly when the build has it, and then it is the best
  CHECK(isa_supported(isa::simd128) == bool(HOUSENET_WASM_SIMD128));
  if (HOUSENET_WASM_SIMD128) CHECK(best_isa() == isa::simd128);
}

// SIMD128 has no fused multiply-add: its kernels round each product, then add, in the scalar
// kernels' order, with the scalar path's K blocks, so every product gives the scalar bits.
TEST_CASE("sgemm: the simd128 path gives the scalar path's bits" * doctest::skip(!HOUSENET_WASM_SIMD128)) {
  const housenet_test::settings_guard restore;
  const shape_case cases[] = {
      {false, false, 17, 129, 7, 0, 0, 0, 1.0, 0.0},   {true, false, 17, 129, 300, 3, 0, 5, 1.0, 0.0},
      {false, true, 129, 17, 33, 0, 2, 0, 0.5, 1.0},   {true, true, 7, 129, 17, 1, 1, 1, -2.0, 0.25},
      {false, true, 1, 1000, 129, 0, 3, 0, 1.0, 1.0},  {false, true, 3, 77, 1001, 5, 0, 2, 1.5, -1.0},
      {false, false, 250, 70, 777, 1, 1, 1, 1.0, 0.5}, {false, true, 32, 1000, 801, 1, 2, 3, 1.0, 1.0},
  };
  for (const auto& s : cases) {
    CAPTURE(s.m);
    CAPTURE(s.n);
    CAPTURE(s.k);
    set_isa(isa::scalar);
    const auto want = check_case<float>(s, 1, "scalar");
    set_isa(isa::simd128);
    const auto got = check_case<float>(s, 1, "simd128");
    CHECK(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0);
  }
}

TEST_CASE("sgemm: every odd shape, every ISA path, against the reference") {
  const housenet_test::settings_guard restore;
  const std::size_t sizes[] = {1, 7, 17, 129};
  for (isa path : supported_isas()) {
    set_isa(path);
    CAPTURE(isa_name(path));
    for (std::size_t m : sizes)
      for (std::size_t n : sizes)
        for (std::size_t k : sizes)
          check_case<float>({false, false, m, n, k, 0, 0, 0, 1.0, 0.0}, 1, "plain");
    // transposes, strides, alpha and beta
    const shape_case cases[] = {
        {true, false, 17, 129, 7, 3, 0, 5, 1.0, 0.0},   {false, true, 129, 17, 33, 0, 2, 0, 0.5, 1.0},
        {true, true, 7, 129, 17, 1, 1, 1, -2.0, 0.25},  {false, true, 1, 1000, 129, 0, 3, 0, 1.0, 1.0},
        {false, true, 3, 77, 1001, 5, 0, 2, 1.5, -1.0}, {false, true, 4, 16, 17, 0, 0, 0, 1.0, 0.0},
        {true, false, 1, 129, 17, 0, 0, 0, 1.0, 0.0},   {false, false, 7, 17, 129, 9, 4, 3, 0.0, 0.5},
        {false, false, 7, 17, 0, 0, 0, 0, 1.0, 2.0},    {false, false, 0, 17, 5, 0, 0, 0, 1.0, 0.0},
        {true, true, 129, 1, 129, 0, 0, 0, 1.0, 0.0},   {false, false, 250, 70, 777, 1, 1, 1, 1.0, 0.5},
    };
    for (const auto& s : cases) check_case<float>(s, 1, "mixed");
  }
}

TEST_CASE("sgemm: blocking edges (several KC, MC and NC blocks)") {
  const housenet_test::settings_guard restore;
  for (isa path : supported_isas()) {
    set_isa(path);
    CAPTURE(isa_name(path));
    check_case<float>({false, false, 263, 3100, 5, 0, 0, 0, 1.0, 0.0}, 1, "wide");
    check_case<float>({true, true, 300, 45, 800, 0, 0, 0, 1.0, 1.0}, 2, "deep");
    // packed B block larger than L2: the B-panel-outer (BLIS) loop order
    check_case<float>({false, true, 50, 401, 384, 0, 0, 0, 1.0, 0.5}, 1, "blis order");
    check_case<float>({true, false, 29, 700, 500, 3, 2, 1, 0.5, 0.0}, 2, "blis order, threads");
  }
}

TEST_CASE("sgemm: short products (a fully connected layer at batch 5..32) on every path") {
  // m <= 32 with B^T: C^T from B's rows in place; m <= 36 without: B read in place by the kernel
  const housenet_test::settings_guard restore;
  for (isa path : supported_isas()) {
    set_isa(path);
    CAPTURE(isa_name(path));
    const shape_case cases[] = {
        {false, true, 5, 13, 7, 0, 0, 0, 1.0, 0.0},        {false, true, 32, 1000, 801, 1, 2, 3, 1.0, 1.0},
        {false, true, 17, 97, 1001, 0, 0, 0, -0.5, 0.25},  {false, true, 31, 12, 385, 2, 0, 1, 1.0, 1.0},
        {false, false, 32, 1000, 801, 1, 2, 3, 1.0, 0.0},  {false, false, 36, 129, 17, 0, 0, 0, 2.0, 1.0},
        {false, false, 5, 33, 770, 0, 5, 0, 1.0, -1.0},    {false, false, 13, 64, 1, 0, 0, 0, 1.0, 0.0},
    };
    for (const auto& s : cases) {
      check_case<float>(s, 1, "short");
      check_case<float>(s, 2, "short, threads");
    }
  }
}

TEST_CASE("sgemm: the short-product paths give the bits of the packed path (alpha 1, beta 0 or 1)") {
  // The first rows of a 48-row product (packed path) vs the same rows alone (in-place paths).
  const housenet_test::settings_guard restore;
  for (isa path : supported_isas()) {
    set_isa(path);
    CAPTURE(isa_name(path));
    for (bool tb : {true, false})
      for (float beta : {0.0f, 1.0f})
        for (std::size_t m : {std::size_t(5), std::size_t(12), std::size_t(29), std::size_t(32)}) {
          CAPTURE(tb);
          CAPTURE(beta);
          CAPTURE(m);
          const std::size_t big = 48, n = 203, k = 1100;
          const auto a = random_vec<float>(big * k, 21), b = random_vec<float>(n * k, 22);
          const auto c0 = random_vec<float>(big * n, 23);
          std::vector<float> all = c0, part(c0.begin(), c0.begin() + std::ptrdiff_t(m * n));
          detail::gemm<float>(false, tb, big, n, k, 1.0f, a.data(), k, b.data(), tb ? k : n, beta,
                              all.data(), n, 1);
          detail::gemm<float>(false, tb, m, n, k, 1.0f, a.data(), k, b.data(), tb ? k : n, beta,
                              part.data(), n, 2);
          bool same = true;
          for (std::size_t i = 0; i < m * n; ++i) same = same && part[i] == all[i];
          CHECK(same);
        }
  }
}

TEST_CASE("sgemm: a pre-packed A (gemm_pack_a) gives the bits of the plain call") {
  const housenet_test::settings_guard restore;
  for (isa path : supported_isas()) {
    set_isa(path);
    CAPTURE(isa_name(path));
    for (bool ta : {false, true})
      for (std::size_t m : {std::size_t(1), std::size_t(13), std::size_t(257)}) {
        CAPTURE(ta);
        CAPTURE(m);
        const std::size_t n = 70, k = 129;
        REQUIRE(detail::gemm_prepack_fits<float>(k));
        const auto a = random_vec<float>(m * k, 51), b = random_vec<float>(k * n, 52);
        std::vector<float> want(m * n), got(m * n, -1.0f), packed(detail::gemm_packed_a_size<float>(m, k));
        const std::size_t lda = ta ? m : k;
        detail::gemm<float>(ta, false, m, n, k, 1.0f, a.data(), lda, b.data(), n, 0.0f, want.data(), n, 1);
        detail::gemm_pack_a<float>(ta, m, k, a.data(), lda, packed.data());
        detail::gemm_args<float> g{ta, false, m, n, k, 1.0f, nullptr, lda, b.data(), n, 0.0f, got.data(), n};
        g.a_packed = packed.data();
        detail::gemm<float>(g, 2);
        CHECK(got == want);
      }
  }
  CHECK_FALSE(detail::gemm_prepack_fits<float>(100000));
}

TEST_CASE("dgemm: odd shapes against the reference") {
  const std::size_t sizes[] = {1, 7, 17, 129};
  for (std::size_t m : sizes)
    for (std::size_t n : sizes)
      check_case<double>({false, false, m, n, 17, 0, 0, 0, 1.0, 0.0}, 1, "plain");
  check_case<double>({true, true, 129, 7, 129, 2, 1, 3, 0.5, -1.0}, 2, "tt");
  check_case<double>({false, true, 2, 70, 300, 0, 0, 0, 1.0, 1.0}, 2, "rows_dot");
  check_case<double>({true, false, 40, 300, 500, 0, 0, 0, 1.0, 0.0}, 2, "tn");
}

TEST_CASE("sgemm: deterministic across runs and thread counts") {
  const housenet_test::settings_guard restore;
  const shape_case cases[] = {
      {false, false, 200, 150, 400, 0, 0, 0, 1.0, 0.0},   // split over M
      {false, true, 24, 700, 300, 0, 0, 0, 1.0, 1.0},     // split over N
      {false, true, 1, 1000, 513, 0, 0, 0, 1.0, 0.0},     // dot-product path (GEMV)
  };
  for (isa path : supported_isas()) {
    set_isa(path);
    CAPTURE(isa_name(path));
    for (const auto& s : cases) {
      set_num_threads(2);
      const auto two_a = check_case<float>(s, 2, "threads 2");
      const auto two_b = check_case<float>(s, 2, "threads 2 again");
      set_num_threads(1);
      const auto one = check_case<float>(s, 1, "threads 1");
      CHECK(two_a == two_b);
      CHECK(one == two_a);  // tiles never depend on the split: identical bits
    }
  }
}

TEST_CASE("sgemm: public API and argument checks") {
  const float a[6] = {1, 2, 3, 4, 5, 6};   // [2, 3]
  const float b[6] = {1, 0, 0, 1, 1, 1};   // [3, 2]
  float c[4] = {9, 9, 9, 9};
  sgemm(false, false, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2);
  CHECK(c[0] == 4);
  CHECK(c[1] == 5);
  CHECK(c[2] == 10);
  CHECK(c[3] == 11);
  double ad[2] = {1, 2}, bd[2] = {3, 4}, cd[1] = {1};
  dgemm(false, true, 1, 1, 2, 2.0, ad, 2, bd, 2, 1.0, cd, 1);
  CHECK(cd[0] == 23);
  CHECK_THROWS_AS(sgemm(false, false, 2, 2, 3, 1.0f, a, 2, b, 2, 0.0f, c, 2), housenet::error);
  CHECK_THROWS_AS(sgemm(false, false, 2, 2, 3, 1.0f, a, 3, b, 1, 0.0f, c, 2), housenet::error);
  CHECK_THROWS_AS(sgemm(false, false, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 1), housenet::error);
}

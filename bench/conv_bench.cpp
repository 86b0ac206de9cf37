// bench/conv_bench.cpp: housenet's GEMM, convolution and linear kernels against the plain
// reference loops and (when built with OpenBLAS) im2col + cblas_sgemm, in one run.
//
//   Case names: <impl>/<case>/threads:<n>, impl in {housenet, reference, openblas}.
//   Every case has a GFLOP/s counter (2 * multiply-adds per iteration); stream_read has GB/s.
//   The fast kernels are validated against the reference once, before any timing (stderr).
//
//   Run (Release build, -DHOUSENET_BUILD_BENCH=ON), with OpenBLAS at its real speed:
//     env -u OPENBLAS_CORETYPE build/bench/conv_bench
//     env -u OPENBLAS_CORETYPE build/bench/conv_bench --benchmark_filter='sgemm|conv3'
//   --skip_validation skips the up-front check. The machine is shared: for the tables in
//   docs/performance.md run with --benchmark_repetitions=3 and take each case's best run.
#include <benchmark/benchmark.h>

#include "bench_main.hpp"

#include <housenet/detail/im2col.hpp>
#include <housenet/detail/kernels.hpp>
#include <housenet/detail/reference.hpp>
#include <housenet/gemm.hpp>
#include <housenet/loss.hpp>
#include <housenet/networks.hpp>
#include <housenet/optim.hpp>
#include <housenet/parallel.hpp>
#include <housenet/simd.hpp>
#include <housenet/tensor.hpp>

#if HOUSENET_BENCH_OPENBLAS
#  include <cblas.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace housenet;
using detail::conv_dims;
using detail::linear_dims;

namespace {

// ---- data --------------------------------------------------------------------------------------
void fill_random(float* p, std::size_t count, std::uint64_t seed) {
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ull + 12345;
  for (std::size_t i = 0; i < count; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    p[i] = float(double(s >> 40) * (1.0 / 16777216.0) * 2.0 - 1.0);
  }
}

tensor<float> random_tensor(std::size_t count, std::uint64_t seed) {
  tensor<float> t(shape{count});
  fill_random(t.data(), count, seed);
  return t;
}

void set_threads(int n) {
  if (num_threads() != n) set_num_threads(n);
#if HOUSENET_BENCH_OPENBLAS
  openblas_set_num_threads(n);
#endif
}

// ---- the network's layers -------------------------------------------------------------------------
struct conv_layer {
  const char* name;
  std::size_t c, hw, k, ks;
  conv_dims dims(std::size_t n) const { return conv_dims::make(n, c, hw, hw, k, ks, ks, 1, 0); }
};
const conv_layer conv_layers[] = {
    {"conv1", 3, 100, 128, 7},
    {"conv3", 128, 32, 256, 5},
    {"conv5", 256, 10, 384, 3},
};
struct fc_layer {
  const char* name;
  std::size_t in, out;
};
const fc_layer fc_layers[] = {{"fc7", 6144, 8192}, {"fc8", 8192, 1024}};

enum class pass { fwd, bwd_data, bwd_weights };
const char* pass_name(pass p) {
  return p == pass::fwd ? "fwd" : p == pass::bwd_data ? "bwd_data" : "bwd_weights";
}

// Buffers of the case being run; one case's buffers live at a time (fc7 alone is 400 MB).
struct buffers {
  std::string key;
  std::vector<tensor<float>> t;
};
buffers& current_buffers(const std::string& key, const std::vector<std::size_t>& sizes) {
  static buffers b;
  if (b.key != key) {
    b.t.clear();
    b.key = key;
    std::uint64_t seed = 1;
    for (std::size_t s : sizes) b.t.push_back(random_tensor(s, seed++));
  }
  return b;
}

// ---- OpenBLAS equivalents: im2col + cblas_sgemm, G images per GEMM as housenet does -------------
#if HOUSENET_BENCH_OPENBLAS
struct blas_ws {
  std::vector<float> col, tmp;
};
blas_ws& ws() {
  static blas_ws w;
  return w;
}

void blas_conv(pass p, const conv_dims& d, const float* x, const float* w, const float* b,
               const float* dy, float* out, float* dw, float* db) {
  const std::size_t ckk = d.c * d.kh * d.kw, ohw = d.oh * d.ow, in_sz = d.c * d.h * d.w,
                    out_sz = d.k * ohw;
  const std::size_t G = detail::conv_group_size(d);
  auto& W = ws();
  for (std::size_t n0 = 0; n0 < d.n; n0 += G) {
    const std::size_t g = std::min(G, d.n - n0), cols = g * ohw;
    if (W.col.size() < ckk * cols) W.col.resize(ckk * cols);
    if (W.tmp.size() < d.k * cols) W.tmp.resize(d.k * cols);
    float* col = W.col.data();
    float* tmp = W.tmp.data();
    if (p != pass::bwd_data)
      for (std::size_t gi = 0; gi < g; ++gi) detail::im2col(d, x + (n0 + gi) * in_sz, col + gi * ohw, cols);
    if (p != pass::fwd)  // gather dY [k, g*ohw]
      for (std::size_t k = 0; k < d.k; ++k)
        for (std::size_t gi = 0; gi < g; ++gi)
          std::memcpy(tmp + k * cols + gi * ohw, dy + (n0 + gi) * out_sz + k * ohw, ohw * sizeof(float));
    if (p == pass::fwd) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(d.k), int(cols), int(ckk), 1.0f, w,
                  int(ckk), col, int(cols), 0.0f, tmp, int(cols));
      for (std::size_t gi = 0; gi < g; ++gi)
        for (std::size_t k = 0; k < d.k; ++k) {
          float* dst = out + (n0 + gi) * out_sz + k * ohw;
          const float* src = tmp + k * cols + gi * ohw;
          for (std::size_t i = 0; i < ohw; ++i) dst[i] = src[i] + b[k];
        }
    } else if (p == pass::bwd_data) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(ckk), int(cols), int(d.k), 1.0f, w,
                  int(ckk), tmp, int(cols), 0.0f, col, int(cols));
      for (std::size_t gi = 0; gi < g; ++gi) {
        float* dxi = out + (n0 + gi) * in_sz;
        std::fill(dxi, dxi + in_sz, 0.0f);
        detail::col2im(d, col + gi * ohw, cols, dxi);
      }
    } else {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(d.k), int(ckk), int(cols), 1.0f, tmp,
                  int(cols), col, int(cols), 1.0f, dw, int(ckk));
      for (std::size_t k = 0; k < d.k; ++k) {
        float s = 0;
        for (std::size_t i = 0; i < cols; ++i) s += tmp[k * cols + i];
        db[k] += s;
      }
    }
  }
}

void blas_linear(pass p, const linear_dims& d, const float* x, const float* w, const float* b,
                 const float* dy, float* out, float* dw, float* db) {
  if (p == pass::fwd) {
    for (std::size_t i = 0; i < d.n; ++i) std::memcpy(out + i * d.out, b, d.out * sizeof(float));
    if (d.n == 1)
      cblas_sgemv(CblasRowMajor, CblasNoTrans, int(d.out), int(d.in), 1.0f, w, int(d.in), x, 1, 1.0f,
                  out, 1);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(d.n), int(d.out), int(d.in), 1.0f, x,
                  int(d.in), w, int(d.in), 1.0f, out, int(d.out));
  } else if (p == pass::bwd_data) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(d.n), int(d.in), int(d.out), 1.0f, dy,
                int(d.out), w, int(d.in), 0.0f, out, int(d.in));
  } else {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(d.out), int(d.in), int(d.n), 1.0f, dy,
                int(d.out), x, int(d.in), 1.0f, dw, int(d.in));
    for (std::size_t o = 0; o < d.out; ++o) {
      float s = 0;
      for (std::size_t i = 0; i < d.n; ++i) s += dy[i * d.out + o];
      db[o] += s;
    }
  }
}
#endif

// ---- one call of a conv / linear pass by impl ---------------------------------------------------------
// buffer order: x, w, b, dy, out (y or dx), dw, db
void run_conv(const std::string& impl, pass p, const conv_dims& d, std::vector<tensor<float>>& t) {
  const float *x = t[0].data(), *w = t[1].data(), *b = t[2].data(), *dy = t[3].data();
  float *out = t[4].data(), *dw = t[5].data(), *db = t[6].data();
  if (impl == "housenet") {
    if (p == pass::fwd) detail::conv2d_forward(d, x, w, b, out);
    else if (p == pass::bwd_data) detail::conv2d_backward_data(d, dy, w, out);
    else detail::conv2d_backward_weights(d, x, dy, dw, db);
  } else if (impl == "reference") {
    if (p == pass::fwd) detail::conv2d_forward_reference(d, x, w, b, out);
    else if (p == pass::bwd_data) detail::conv2d_backward_data_reference(d, dy, w, out);
    else detail::conv2d_backward_weights_reference(d, x, dy, dw, db);
  } else {
#if HOUSENET_BENCH_OPENBLAS
    blas_conv(p, d, x, w, b, dy, out, dw, db);
#endif
  }
}
std::vector<std::size_t> conv_sizes(const conv_dims& d) {
  const std::size_t xs = d.n * d.c * d.h * d.w, ws = d.k * d.c * d.kh * d.kw, ys = d.n * d.k * d.oh * d.ow;
  return {xs, ws, d.k, ys, std::max(xs, ys), ws, d.k};
}

void run_linear(const std::string& impl, pass p, const linear_dims& d, std::vector<tensor<float>>& t) {
  const float *x = t[0].data(), *w = t[1].data(), *b = t[2].data(), *dy = t[3].data();
  float *out = t[4].data(), *dw = t[5].data(), *db = t[6].data();
  if (impl == "housenet") {
    if (p == pass::fwd) detail::linear_forward(d, x, w, b, out);
    else if (p == pass::bwd_data) detail::linear_backward_data(d, dy, w, out);
    else detail::linear_backward_weights(d, x, dy, dw, db);
  } else if (impl == "reference") {
    if (p == pass::fwd) detail::linear_forward_reference(d, x, w, b, out);
    else if (p == pass::bwd_data) detail::linear_backward_data_reference(d, dy, w, out);
    else detail::linear_backward_weights_reference(d, x, dy, dw, db);
  } else {
#if HOUSENET_BENCH_OPENBLAS
    blas_linear(p, d, x, w, b, dy, out, dw, db);
#endif
  }
}
std::vector<std::size_t> linear_sizes(const linear_dims& d, pass p) {
  const bool need_dw = p == pass::bwd_weights;
  return {d.n * d.in, d.out * d.in, d.out, d.n * d.out, d.n * std::max(d.in, d.out),
          need_dw ? d.out * d.in : 1, d.out};
}

void set_flops(benchmark::State& state, double macs) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * macs / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// ---- benchmark bodies ------------------------------------------------------------------------------
void bm_sgemm(benchmark::State& state, std::string impl, std::size_t n, int threads) {
  set_threads(threads);
  auto& b = current_buffers("sgemm" + std::to_string(n), {n * n, n * n, n * n});
  const float *a = b.t[0].data(), *bb = b.t[1].data();
  float* c = b.t[2].data();
  for (auto _ : state) {
    if (impl == "housenet")
      sgemm(false, false, n, n, n, 1.0f, a, n, bb, n, 0.0f, c, n);
    else if (impl == "reference")
      detail::gemm_reference(false, false, n, n, n, 1.0f, a, n, bb, n, 0.0f, c, n);
#if HOUSENET_BENCH_OPENBLAS
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(n), int(n), int(n), 1.0f, a, int(n),
                  bb, int(n), 0.0f, c, int(n));
#endif
    benchmark::DoNotOptimize(c[0]);
    benchmark::ClobberMemory();
  }
  set_flops(state, double(n) * n * n);
}

void bm_conv(benchmark::State& state, std::string impl, conv_layer l, pass p, std::size_t batch,
             int threads) {
  set_threads(threads);
  const conv_dims d = l.dims(batch);
  auto& b = current_buffers(std::string(l.name) + std::to_string(batch), conv_sizes(d));
  run_conv(impl, p, d, b.t);  // warm-up: workspaces
  for (auto _ : state) {
    run_conv(impl, p, d, b.t);
    benchmark::ClobberMemory();
  }
  set_flops(state, d.macs());
}

void bm_linear(benchmark::State& state, std::string impl, fc_layer l, pass p, std::size_t batch,
               int threads) {
  set_threads(threads);
  const linear_dims d{batch, l.in, l.out};
  auto& b = current_buffers(std::string(l.name) + std::to_string(batch) + pass_name(p),
                            linear_sizes(d, p));
  run_linear(impl, p, d, b.t);
  for (auto _ : state) {
    run_linear(impl, p, d, b.t);
    benchmark::ClobberMemory();
  }
  set_flops(state, d.macs());
  state.counters["GB/s"] = benchmark::Counter(double(d.in) * d.out * 4 / 1e9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

// STREAM-like read: sum a 512 MiB array (well past the 32 MiB L3), split over the threads.
void bm_stream_read(benchmark::State& state, int threads) {
  set_threads(threads);
  const std::size_t count = std::size_t(128) << 20;
  auto& b = current_buffers("stream", {count});
  const float* p = b.t[0].data();
  std::vector<float> partial(std::size_t(threads), 0.0f);
  const std::size_t blocks = std::size_t(threads);
  for (auto _ : state) {
    parallel_blocks(blocks, [&](std::size_t t) {
      const auto r = block_range(count, blocks, t);
      float y = 0;
      // a 1-row "dot" with itself reads each byte once from memory (the second read hits L1)
      detail::gemm<float>(false, true, 1, 1, r.second - r.first, 1.0f, p + r.first, 0 + (r.second - r.first),
                          p + r.first, r.second - r.first, 0.0f, &y, 1, 1);
      partial[t] = y;
    });
    benchmark::DoNotOptimize(partial.data());
  }
  state.counters["GB/s"] =
      benchmark::Counter(double(count) * 4 / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// ---- whole network -----------------------------------------------------------------------------------
// Forward MACs of the seed network on one image (conv + linear; the rest is O(activations)).
double seed_network_macs() {
  double m = 0;
  for (const auto& l : conv_layers) m += l.dims(1).macs();
  return m + 6144.0 * 8192 + 8192.0 * 1024 + 1024.0 * 4;
}

struct net_state {
  sequential<float> net = make_seed_network<float>(4);
  sgd<float> opt{sgd<float>::options{0.01, 0.9, 5e-4, false}};
  softmax_cross_entropy<float> loss;
  tensor<float> x, dz;
  std::vector<int> labels;
};
net_state& seed_net() {
  static std::unique_ptr<net_state> s;
  if (!s) s = std::make_unique<net_state>();
  return *s;
}

void bm_train_step(benchmark::State& state, int threads) {
  set_threads(threads);
  current_buffers("none", {});
  auto& s = seed_net();
  const std::size_t batch = 32;
  s.x.resize(shape{batch, 3, 100, 100});
  fill_random(s.x.data(), s.x.size(), 99);
  s.labels.resize(batch);
  for (std::size_t i = 0; i < batch; ++i) s.labels[i] = int(i % 4);
  s.net.train();
  auto step = [&] {
    s.net.zero_grad();
    const tensor<float>& z = s.net.forward(s.x);
    s.loss.forward(z, s.labels);
    s.loss.backward(s.dz);
    s.net.backward(s.dz);
    s.opt.step(s.net);
  };
  step();  // warm-up: activations, workspaces, optimizer state
  for (auto _ : state) step();
  // forward + backward data + backward weights = 3x the forward MACs (approximately)
  set_flops(state, 3.0 * seed_network_macs() * double(batch));
}

void bm_infer(benchmark::State& state, int threads) {
  set_threads(threads);
  current_buffers("none", {});
  auto& s = seed_net();
  s.x.resize(shape{1, 3, 100, 100});
  fill_random(s.x.data(), s.x.size(), 98);
  s.net.eval();
  s.net.forward(s.x);  // warm-up: per-layer outputs are members, reused
  for (auto _ : state) {
    const tensor<float>& z = s.net.forward(s.x);
    benchmark::DoNotOptimize(z.data());
  }
  s.net.train();
  set_flops(state, seed_network_macs());
}

// ---- validation ------------------------------------------------------------------------------------
double max_rel_diff(const float* a, const float* b, std::size_t count) {
  double worst = 0, scale = 1e-30;
  for (std::size_t i = 0; i < count; ++i) scale = std::max(scale, double(std::fabs(b[i])));
  for (std::size_t i = 0; i < count; ++i) worst = std::max(worst, std::fabs(double(a[i]) - double(b[i])));
  return worst / scale;
}

bool validate() {
  bool ok = true;
  auto report = [&](const std::string& what, double err, double tol) {
    const bool good = err <= tol;
    ok = ok && good;
    std::fprintf(stderr, "validate %-32s max |diff| / max |ref| = %.2e %s\n", what.c_str(), err,
                 good ? "ok" : "FAILED");
  };
  const std::vector<std::string> impls = {"housenet"
#if HOUSENET_BENCH_OPENBLAS
                                          ,
                                          "openblas"
#endif
  };
  {  // sgemm on a 300x257x511 product against the reference
    const std::size_t m = 300, n = 257, k = 511;
    auto a = random_tensor(m * k, 1), b = random_tensor(k * n, 2);
    tensor<float> c(shape{m * n}), r(shape{m * n});
    sgemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n);
    detail::gemm_reference(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, r.data(), n);
    report("housenet sgemm 300x257x511", max_rel_diff(c.data(), r.data(), m * n), 1e-5);
  }
  for (const auto& l : conv_layers) {  // the real layer shapes, few images (the reference is slow)
    const conv_dims d = l.dims(std::string(l.name) == "conv5" ? 5 : 1);
    const auto sizes = conv_sizes(d);
    std::vector<tensor<float>> t;
    for (std::size_t i = 0; i < sizes.size(); ++i) t.push_back(random_tensor(sizes[i], 10 + i));
    std::vector<tensor<float>> r;
    for (std::size_t i = 0; i < sizes.size(); ++i) r.push_back(random_tensor(sizes[i], 10 + i));
    for (pass p : {pass::fwd, pass::bwd_data, pass::bwd_weights}) {
      run_conv("reference", p, d, r);
      const std::size_t outn = p == pass::bwd_data ? d.n * d.c * d.h * d.w : d.n * d.k * d.oh * d.ow;
      for (const auto& impl : impls) {
        std::vector<tensor<float>> f;
        for (std::size_t i = 0; i < sizes.size(); ++i) f.push_back(random_tensor(sizes[i], 10 + i));
        run_conv(impl, p, d, f);
        const std::string what = impl + " " + l.name + " " + pass_name(p);
        if (p == pass::bwd_weights)
          report(what, max_rel_diff(f[5].data(), r[5].data(), sizes[5]), 1e-4);
        else
          report(what, max_rel_diff(f[4].data(), r[4].data(), outn), 1e-4);
      }
    }
  }
  for (std::size_t batch : {1, 3}) {  // fc8's shape
    const linear_dims d{batch, 8192, 1024};
    for (pass p : {pass::fwd, pass::bwd_data, pass::bwd_weights}) {
      const auto sizes = linear_sizes(d, p);
      std::vector<tensor<float>> r, f;
      for (std::size_t i = 0; i < sizes.size(); ++i) r.push_back(random_tensor(sizes[i], 20 + i));
      run_linear("reference", p, d, r);
      for (const auto& impl : impls) {
        f.clear();
        for (std::size_t i = 0; i < sizes.size(); ++i) f.push_back(random_tensor(sizes[i], 20 + i));
        run_linear(impl, p, d, f);
        const std::string what = impl + " fc8 b" + std::to_string(batch) + " " + pass_name(p);
        const std::size_t idx = p == pass::bwd_weights ? 5 : 4;
        const std::size_t count = p == pass::fwd ? d.n * d.out : p == pass::bwd_data ? d.n * d.in : sizes[5];
        report(what, max_rel_diff(f[idx].data(), r[idx].data(), count), 1e-4);
      }
    }
  }
  return ok;
}

// ---- registration ------------------------------------------------------------------------------------
using bench::add;

void register_all() {
  std::vector<std::string> impls = {"housenet", "openblas", "reference"};
#if !HOUSENET_BENCH_OPENBLAS
  impls.erase(impls.begin() + 1);
#endif
  // Grouped by thread count (the pool is resized once per group); within a group the impls of
  // one case run back to back, so a ratio compares runs made seconds apart.
  for (int threads : {1, 2}) {
    const std::string th = "/threads:" + std::to_string(threads);
    for (std::size_t n : {std::size_t(1024), std::size_t(2048)})
      for (const auto& impl : impls) {
        if (impl == "reference" && (threads != 1 || n > 1024)) continue;  // serial and slow
        add(impl + "/sgemm_" + std::to_string(n) + th,
            [=](benchmark::State& s) { bm_sgemm(s, impl, n, threads); });
      }
    for (const auto& l : conv_layers)
      for (std::size_t batch : {std::size_t(1), std::size_t(32)})
        for (pass p : {pass::fwd, pass::bwd_data, pass::bwd_weights})
          for (const auto& impl : impls) {
            if (impl == "reference" && (threads != 1 || batch > 1 || std::string(l.name) == "conv3"))
              continue;
            add(impl + "/" + l.name + "_" + pass_name(p) + "_b" + std::to_string(batch) + th,
                [=](benchmark::State& s) { bm_conv(s, impl, l, p, batch, threads); });
          }
    for (const auto& l : fc_layers)
      for (std::size_t batch : {std::size_t(1), std::size_t(32)})
        for (pass p : {pass::fwd, pass::bwd_data, pass::bwd_weights})
          for (const auto& impl : impls) {
            if (impl == "reference" && (threads != 1 || batch > 1 || p != pass::fwd)) continue;
            add(impl + "/" + l.name + "_" + pass_name(p) + "_b" + std::to_string(batch) + th,
                [=](benchmark::State& s) { bm_linear(s, impl, l, p, batch, threads); });
          }
    add("housenet/stream_read" + th, [=](benchmark::State& s) { bm_stream_read(s, threads); });
    add("housenet/infer_b1" + th, [=](benchmark::State& s) { bm_infer(s, threads); });
    add("housenet/train_step_b32" + th, [=](benchmark::State& s) { bm_train_step(s, threads); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool skip_validation = false;
  if (!bench::init(argc, argv, skip_validation)) return 1;
  std::fprintf(stderr, "housenet isa: %s (best %s), pool threads: %d\n", isa_name(active_isa()),
               isa_name(best_isa()), num_threads());
#if HOUSENET_BENCH_OPENBLAS
  std::fprintf(stderr, "openblas: %s\n", openblas_get_corename());
#endif
  if (!skip_validation && !validate())
    std::fprintf(stderr, "WARNING: validation failed; timings below are of wrong results\n");
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

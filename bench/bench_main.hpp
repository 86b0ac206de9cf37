// bench/bench_main.hpp: what the validating benches share (conv_bench, fmnist_bench).
//
//   bench::init(argc, argv, skip_validation)   Google Benchmark's Initialize, after taking out
//       --skip_validation (also implied by --benchmark_list_tests); false on an argument neither
//       knows (the caller exits 1).
//   bench::add(name, fn)                       registers a case timed in real time, in ms.
#pragma once

#include <benchmark/benchmark.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace bench {

inline bool init(int argc, char** argv, bool& skip_validation) {
  skip_validation = false;
  static std::vector<char*> args;
  args.clear();
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--skip_validation") == 0)
      skip_validation = true;
    else
      args.push_back(argv[i]);
    if (std::strncmp(argv[i], "--benchmark_list_tests", 22) == 0) skip_validation = true;
  }
  int n = int(args.size());
  benchmark::Initialize(&n, args.data());
  return !benchmark::ReportUnrecognizedArguments(n, args.data());
}

inline void add(const std::string& name, std::function<void(benchmark::State&)> fn) {
  benchmark::RegisterBenchmark(name.c_str(), [fn](benchmark::State& s) { fn(s); })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace bench

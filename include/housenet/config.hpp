// housenet/config.hpp: the ONLY header that reads HOUSENET_* configuration macros and detects the
// compiler and the target. Every other header includes it (through error.hpp) and asks these
// macros, never __GNUC__, __x86_64__ and the like.
//
// BUILD OPTIONS (define to 0 or 1 before the first housenet include, or through CMake's options
// HOUSENET_NO_THREADS / HOUSENET_ASSERTS, which become INTERFACE definitions of the targets)
//   HOUSENET_ASSERTS    1 enables inner-loop index checks (HOUSENET_ASSERT); default: on when
//                       NDEBUG is not defined.
//   HOUSENET_NO_THREADS 1 makes parallel_for run serially in the calling thread (no pool);
//                       default: 1 under emscripten without -pthread, else 0.
//
// THE ABI NAMESPACE
//   Every public name lives in an inline namespace named after the version AND the options,
//   housenet::abi_v0_1_0_t1_a0 (t: threads on, a: asserts on), as nlohmann/json does. Two
//   translation units built with different versions or options therefore use different names for
//   every inline function and class, so linking them into one program cannot silently violate
//   the one-definition rule; user code names housenet::... and never sees the inline namespace.
//
// TARGET DETECTION (each 0 or 1)
//   HOUSENET_GNUC      GCC or Clang (GNU extensions: builtins, inline asm, vector attributes)
//   HOUSENET_X86       x86 / x86-64 with GNU extensions: run-time ISA dispatch (simd.hpp)
//   HOUSENET_ARM64     AArch64 with GNU extensions
//   HOUSENET_WASM      WebAssembly (emscripten)
//   HOUSENET_WASM_SIMD128  WebAssembly built with -msimd128 (simd.hpp's simd128 path)
//   HOUSENET_POSIX     a POSIX system (mkstemp, fsync, rename over a file): file_io.hpp
//
// RUN-TIME SETTINGS come from the environment, read once, never from macros:
//   HOUSENET_NUM_THREADS=n   thread count of the pool (default: hardware concurrency)
//   HOUSENET_ISA=scalar|avx2|avx512|simd128   forces a SIMD path (default: the best the CPU has)
//   HOUSENET_CONV=auto|direct|winograd  conv2d's algorithm (default auto: conv_algorithm.hpp)
#pragma once

#include "version.hpp"

// ---- build options, normalised to 0 / 1 --------------------------------------------------------
#ifndef HOUSENET_ASSERTS
#  ifdef NDEBUG
#    define HOUSENET_ASSERTS 0
#  else
#    define HOUSENET_ASSERTS 1
#  endif
#elif HOUSENET_ASSERTS
#  undef HOUSENET_ASSERTS
#  define HOUSENET_ASSERTS 1
#else
#  undef HOUSENET_ASSERTS
#  define HOUSENET_ASSERTS 0
#endif

#ifndef HOUSENET_NO_THREADS
#  if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)  // std::thread throws there
#    define HOUSENET_NO_THREADS 1
#  else
#    define HOUSENET_NO_THREADS 0
#  endif
#elif HOUSENET_NO_THREADS
#  undef HOUSENET_NO_THREADS
#  define HOUSENET_NO_THREADS 1
#else
#  undef HOUSENET_NO_THREADS
#  define HOUSENET_NO_THREADS 0
#endif

// ---- the ABI namespace: version + options ------------------------------------------------------
#if HOUSENET_NO_THREADS
#  define HOUSENET_ABI_THREADS_ 0
#else
#  define HOUSENET_ABI_THREADS_ 1
#endif
#define HOUSENET_ABI_NAME_(major, minor, patch, threads, asserts) \
  abi_v##major##_##minor##_##patch##_t##threads##_a##asserts
#define HOUSENET_ABI_NAME(major, minor, patch, threads, asserts) \
  HOUSENET_ABI_NAME_(major, minor, patch, threads, asserts)
#define HOUSENET_ABI_NAMESPACE                                                           \
  HOUSENET_ABI_NAME(HOUSENET_VERSION_MAJOR, HOUSENET_VERSION_MINOR, HOUSENET_VERSION_PATCH, \
                    HOUSENET_ABI_THREADS_, HOUSENET_ASSERTS)
#define HOUSENET_BEGIN_NAMESPACE namespace housenet { inline namespace HOUSENET_ABI_NAMESPACE {
#define HOUSENET_END_NAMESPACE } }

// ---- compiler and target -----------------------------------------------------------------------
#if defined(__GNUC__) || defined(__clang__)
#  define HOUSENET_GNUC 1
#else
#  define HOUSENET_GNUC 0
#endif

#if HOUSENET_GNUC && (defined(__x86_64__) || defined(__i386__))
#  define HOUSENET_X86 1
#else
#  define HOUSENET_X86 0
#endif

#if HOUSENET_GNUC && defined(__aarch64__)
#  define HOUSENET_ARM64 1
#else
#  define HOUSENET_ARM64 0
#endif

#if defined(__wasm__) || defined(__EMSCRIPTEN__)
#  define HOUSENET_WASM 1
#else
#  define HOUSENET_WASM 0
#endif

#if defined(__unix__) || defined(__APPLE__)
#  define HOUSENET_POSIX 1
#else
#  define HOUSENET_POSIX 0
#endif

#if HOUSENET_WASM && defined(__wasm_simd128__)
#  define HOUSENET_WASM_SIMD128 1
#else
#  define HOUSENET_WASM_SIMD128 0
#endif

#if HOUSENET_GNUC
#  define HOUSENET_RESTRICT __restrict__
#  define HOUSENET_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#  define HOUSENET_RESTRICT
#  define HOUSENET_ALWAYS_INLINE inline
#endif

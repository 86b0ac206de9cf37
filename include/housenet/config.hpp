// housenet/config.hpp: the ONLY header that reads HOUSENET_* configuration macros.
//
//   HOUSENET_ASSERTS    1 enables inner-loop index checks (HOUSENET_ASSERT); default: on when
//                       NDEBUG is not defined.
//   HOUSENET_NO_THREADS 1 makes parallel_for run serially in the calling thread (no pool).
//
// Run-time settings come from the environment, read once, never from macros:
//   HOUSENET_NUM_THREADS=n   thread count of the pool (default: hardware concurrency)
//   HOUSENET_ISA=scalar|avx2|avx512   forces a SIMD path (default: the best the CPU has)
//   HOUSENET_CONV=auto|direct|winograd  conv2d's algorithm (default auto: detail/winograd.hpp)
#pragma once

#include "version.hpp"

#ifndef HOUSENET_ASSERTS
#  ifdef NDEBUG
#    define HOUSENET_ASSERTS 0
#  else
#    define HOUSENET_ASSERTS 1
#  endif
#endif

#ifndef HOUSENET_NO_THREADS
#  define HOUSENET_NO_THREADS 0
#endif

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#  define HOUSENET_X86_DISPATCH 1
#else
#  define HOUSENET_X86_DISPATCH 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define HOUSENET_RESTRICT __restrict__
#  define HOUSENET_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#  define HOUSENET_RESTRICT
#  define HOUSENET_ALWAYS_INLINE inline
#endif

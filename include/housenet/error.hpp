// housenet/error.hpp: the library's one error type.
//
// Every failure the library can report is a housenet::error (a std::runtime_error) whose message
// starts with a stable context prefix: "model: ", "cascade: ", "image: ", "conv2d #3: ", ...
// followed by what was expected and what was found. The library never prints and never exits.
//
//   HOUSENET_CHECK(cond, parts...)  always on: API-boundary checks (shapes, file contents).
//                                   parts are streamed into the message (operator<<).
//   HOUSENET_ASSERT(cond)           inner-loop invariants; only when HOUSENET_ASSERTS is 1.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "config.hpp"

HOUSENET_BEGIN_NAMESPACE

struct error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream os;
  (os << ... << std::forward<Parts>(parts));
  return os.str();
}

[[noreturn]] inline void fail(const std::string& msg) { throw error(msg); }
}  // namespace detail

HOUSENET_END_NAMESPACE

#define HOUSENET_CHECK(cond, ...)                                        \
  do {                                                                   \
    if (!(cond)) ::housenet::detail::fail(::housenet::detail::concat(__VA_ARGS__)); \
  } while (0)

#if HOUSENET_ASSERTS
#  define HOUSENET_ASSERT(cond)                                                          \
    do {                                                                                 \
      if (!(cond))                                                                       \
        ::housenet::detail::fail(::housenet::detail::concat("internal: assertion failed: ", \
                                                            #cond, " at ", __FILE__, ":", __LINE__)); \
    } while (0)
#else
#  define HOUSENET_ASSERT(cond) ((void)0)
#endif

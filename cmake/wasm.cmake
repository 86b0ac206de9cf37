# cmake/wasm.cmake: the library's wasm32 flavour, included by the top-level CMakeLists.txt when
# the toolchain is emscripten's (scripts/build-wasm.sh configures it with emcmake; docs/web.md).
#
#   - no threads: HOUSENET_NO_THREADS is config.hpp's default without -pthread (std::thread
#     throws there); Threads::Threads is an empty target
#   - C++ exceptions as WebAssembly exceptions (-fwasm-exceptions): a housenet::error is caught,
#     not an abort
#   - WebAssembly SIMD128 (-msimd128, HOUSENET_WASM_SIMD=ON): simd.hpp's simd128 kernels
#   - stb compiled from its headers (Debian's libstb is a native library): PkgConfig::stb is that
#   - doctest's headers from the host (header-only), doctest::doctest
#   - memory grows on demand up to 4 GB (wasm32's limit)
#   - tests run under node (the emulator), with the host's file system (NODERAWFS)
# The toolchain needs NODE_PATH=/usr/share/nodejs on Debian (em++ links at -O2 and above load
# acorn from there); the link step gets it when the environment does not.

option(HOUSENET_WASM_SIMD "WebAssembly SIMD128 kernels (-msimd128)" ON)
set(HOUSENET_WASM_STB_DIR "/usr/include/stb" CACHE PATH "Where stb_image.h and friends are (compiled from source)")
set(HOUSENET_WASM_DOCTEST_DIR "/usr/include" CACHE PATH "The folder holding doctest/doctest.h")

enable_language(C)
set(HOUSENET_WASM_COMPILE -fwasm-exceptions $<$<BOOL:${HOUSENET_WASM_SIMD}>:-msimd128>)
add_compile_options(${HOUSENET_WASM_COMPILE})
add_link_options(-fwasm-exceptions -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB)

if(NOT DEFINED ENV{NODE_PATH} AND EXISTS /usr/share/nodejs/acorn)
  set(CMAKE_CXX_LINKER_LAUNCHER ${CMAKE_COMMAND} -E env NODE_PATH=/usr/share/nodejs)
endif()

# node 20's global fetch() makes emscripten 3.1.6's glue try to fetch the .wasm by file name
find_program(HOUSENET_NODE NAMES node nodejs REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${HOUSENET_NODE} --no-experimental-fetch)

add_library(Threads::Threads INTERFACE IMPORTED)

if(NOT EXISTS ${HOUSENET_WASM_STB_DIR}/stb_image.h)
  message(FATAL_ERROR "wasm: stb_image.h not found in HOUSENET_WASM_STB_DIR=${HOUSENET_WASM_STB_DIR} (apt-get install libstb-dev)")
endif()
add_library(housenet_stb STATIC ${CMAKE_CURRENT_LIST_DIR}/wasm_stb.c)
target_include_directories(housenet_stb SYSTEM PUBLIC ${HOUSENET_WASM_STB_DIR})
add_library(PkgConfig::stb ALIAS housenet_stb)
set(stb_FOUND TRUE)

# doctest: only its headers (the host's /usr/include must not be on a wasm include path)
if(EXISTS ${HOUSENET_WASM_DOCTEST_DIR}/doctest/doctest.h)
  file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/wasm-include)
  file(CREATE_LINK ${HOUSENET_WASM_DOCTEST_DIR}/doctest ${PROJECT_BINARY_DIR}/wasm-include/doctest SYMBOLIC)
  file(WRITE ${PROJECT_BINARY_DIR}/wasm-cmake/doctestConfig.cmake
       "if(NOT TARGET doctest::doctest)\n"
       "  add_library(doctest::doctest INTERFACE IMPORTED)\n"
       "  set_target_properties(doctest::doctest PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${PROJECT_BINARY_DIR}/wasm-include)\n"
       "endif()\n")
  set(doctest_DIR ${PROJECT_BINARY_DIR}/wasm-cmake CACHE PATH "doctest for wasm (headers only)" FORCE)
  set(CMAKE_FIND_ROOT_PATH ${CMAKE_FIND_ROOT_PATH} ${PROJECT_BINARY_DIR}/wasm-cmake)
elseif(HOUSENET_BUILD_TESTS)
  message(FATAL_ERROR "wasm: doctest/doctest.h not found in HOUSENET_WASM_DOCTEST_DIR=${HOUSENET_WASM_DOCTEST_DIR}")
endif()

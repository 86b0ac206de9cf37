#!/usr/bin/env bash
# scripts/build-wasm.sh: the wasm32 build (docs/web.md): the web page (web/) and the test suites,
# which ctest runs under node.
#
#   scripts/build-wasm.sh [BUILD_DIR] [extra cmake -D options...]     (default BUILD_DIR: build-wasm)
#   ctest --test-dir build-wasm --output-on-failure                 the test suites under node
#   the page: BUILD_DIR/web/ (serve it as static files)
#
# Needs emscripten (emcmake, em++), node, stb's and doctest's headers (Debian: emscripten nodejs
# libstb-dev doctest-dev). Exits 77 when emcmake is missing (ctest reports the test as skipped).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build-wasm}
[[ $# -gt 0 ]] && shift
command -v emcmake >/dev/null 2>&1 || { echo "build-wasm: skipped: emcmake not found (install emscripten)"; exit 77; }
# Debian's em++ needs acorn from /usr/share/nodejs to link at -O2 and above
[[ -z ${NODE_PATH:-} && -d /usr/share/nodejs/acorn ]] && export NODE_PATH=/usr/share/nodejs
jobs=${HOUSENET_WASM_JOBS:-2}
emcmake cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DHOUSENET_WERROR=ON \
  -DHOUSENET_BUILD_EXAMPLES=OFF -DHOUSENET_INSTALL=OFF "$@" >/dev/null
cmake --build "$dir" -j"$jobs"

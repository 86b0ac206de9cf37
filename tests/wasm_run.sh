#!/bin/sh
# tests/wasm_run.sh SCRIPT.js [options]: node on a wasm32 test program (ctest label wasm) or on
# tests/browser.mjs (label browser); tests/wasm.cmake. Where emscripten or node is missing it says
# "wasm_run: skipped: ..." (ctest's SKIP_REGULAR_EXPRESSION) and exits 77.
command -v emcmake >/dev/null 2>&1 || { echo "wasm_run: skipped: emscripten is not installed"; exit 77; }
command -v node >/dev/null 2>&1 || { echo "wasm_run: skipped: node is not installed"; exit 77; }
[ -f "$1" ] || { echo "$1 was not built (see the wasm_build test)"; exit 1; }
# node 20's fetch() makes emscripten 3.1.6's glue fetch the .wasm by file name: off
exec node --no-experimental-fetch "$@"

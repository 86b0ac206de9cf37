#!/bin/sh
# tests/wasm_run.sh SCRIPT.js [options]: node on a wasm32 test suite (ctest label wasm) or on
# tests/browser.mjs (label browser); tests/wasm.cmake. Exit 77 (skipped) where emscripten or
# node is missing.
command -v emcmake >/dev/null 2>&1 || { echo "skipped: emscripten is not installed"; exit 77; }
command -v node >/dev/null 2>&1 || { echo "skipped: node is not installed"; exit 77; }
[ -f "$1" ] || { echo "$1 was not built (see the wasm_build test)"; exit 1; }
# node 20's fetch() makes emscripten 3.1.6's glue fetch the .wasm by file name: off
exec node --no-experimental-fetch "$@"

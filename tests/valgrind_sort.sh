#!/usr/bin/env bash
# Valgrind memcheck on `housenet sort` over the bundled sample (issue 7): no invalid read or write,
# no use of uninitialised values, no leak. Uses the bundled default model when there is one, else
# a small model trained here in a second. Skips (77) without valgrind.
#
#   valgrind_sort.sh HOUSENET_BINARY SOURCE_DIR WORK_DIR
set -euo pipefail
HN=$(realpath "$1") SRC=$(realpath "$2") W=$3
command -v valgrind > /dev/null || { echo "SKIP: valgrind not installed"; exit 77; }
rm -rf "$W" && mkdir -p "$W" && cd "$W"
model=()
if [[ ! -f "$SRC/data/houses.hsnt" ]]; then
  mkdir -p d/bright d/dark
  for i in 1 2 3; do
    { printf 'P6\n24 20\n255\n'; head -c 1440 < <(yes "vg-b$i") | tr '\000-\177' '\200-\377'; } > d/bright/b$i.ppm
    { printf 'P6\n24 20\n255\n'; head -c 1440 < <(yes "vg-d$i") | tr '\200-\377' '\000-\177'; } > d/dark/d$i.ppm
  done
  "$HN" train d -o m.hsnt --arch small --epochs 1 --batch 2 --test-count 2 --threads 1 2> train.txt
  model=(-m m.hsnt)
fi
for threads in 1 2; do
  HOUSENET_NUM_THREADS=$threads valgrind --tool=memcheck --error-exitcode=9 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
    "$HN" sort "$SRC/data/samples/astronaut.png" "${model[@]}" -o sorted.png --json > sort.json 2> vg.txt ||
    { tail -40 vg.txt; echo "FAIL: valgrind (threads=$threads)"; exit 1; }
  grep -q 'ERROR SUMMARY: 0 errors' vg.txt || { tail -40 vg.txt; echo "FAIL: valgrind errors"; exit 1; }
  grep -q '"faces": \[{' sort.json || { cat sort.json; echo "FAIL: no face sorted"; exit 1; }
  echo "ok: valgrind memcheck clean, threads=$threads: $(grep -o 'total heap usage.*' vg.txt)"
done

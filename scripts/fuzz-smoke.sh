#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang and runs each for SECONDS (default 30), one
# after the other. Exits non-zero on the first crash, leak, timeout or sanitizer report.
#
#   scripts/fuzz-smoke.sh [SECONDS] [BUILD_DIR] [TARGET...]
#
# BUILD_DIR (default build-fuzz) keeps the growing corpora in BUILD_DIR/corpus/<target>; the
# seeds (fuzz/seeds, the repository's cascade files, tests/data/idx, tests/data/onnx, and model/image
# files made by make_seeds) are copied in each time. Crash inputs land in BUILD_DIR/artifacts/. Needs clang and
# libclang-rt (Debian: clang-14 libclang-rt-14-dev) and libstb-dev.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-30}
B=${2:-build-fuzz}
shift $(( $# > 2 ? 2 : $# ))
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=(cascade model image dataset idx onnx npy)

CXX_FUZZ=${CXX_FUZZ:-$(command -v clang++ || command -v clang++-14 || true)}
CC_FUZZ=${CC_FUZZ:-$(command -v clang || command -v clang-14 || true)}
[[ -n $CXX_FUZZ ]] || { echo "fuzz-smoke: clang++ not found" >&2; exit 1; }
if [[ ! -f $B/CMakeCache.txt ]]; then
  CC=$CC_FUZZ CXX=$CXX_FUZZ cmake -S fuzz -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
fi
cmake --build "$B" -j"${FUZZ_JOBS:-2}" --target make_seeds $(printf 'fuzz_%s ' "${TARGETS[@]}") > /dev/null

mkdir -p "$B/seeds/model" "$B/seeds/image" "$B/seeds/onnx" "$B/artifacts"
"$B/make_seeds" "$B/seeds" > /dev/null
for t in "${TARGETS[@]}"; do mkdir -p "$B/corpus/$t"; done
[[ -d $B/corpus/cascade ]] && cp fuzz/seeds/cascade/*.xml data/lbpcascade_frontalface_improved.xml \
  tests/data/*.xml "$B/corpus/cascade/"
[[ -d $B/corpus/model ]] && cp "$B"/seeds/model/* "$B/corpus/model/"
[[ -d $B/corpus/image ]] && cp "$B"/seeds/image/* tests/data/plates_gray.png "$B/corpus/image/"
[[ -d $B/corpus/dataset ]] && cp fuzz/seeds/dataset/* "$B/corpus/dataset/"
[[ -d $B/corpus/idx ]] && cp tests/data/idx/*-ubyte tests/data/idx/*.gz tests/data/idx/float-idx1 "$B/corpus/idx/"
[[ -d $B/corpus/onnx ]] && cp tests/data/onnx/*.onnx "$B"/seeds/onnx/*.onnx "$B/corpus/onnx/"
[[ -d $B/corpus/npy ]] && cp tests/data/npy/*.npy "$B/corpus/npy/"

status=0
for t in "${TARGETS[@]}"; do
  args=(-max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -timeout=20 -rss_limit_mb=2560
        -print_final_stats=1 -artifact_prefix="$B/artifacts/$t-")
  [[ $t == cascade ]] && args+=(-dict=fuzz/cascade.dict)
  log="$B/fuzz-$t.log"
  echo "== fuzz_$t for ${SECONDS_PER_TARGET}s (log: $log)"
  if "$B/fuzz_$t" "${args[@]}" "$B/corpus/$t" > "$log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true
    grep -E 'stat::number_of_executed_units' "$log" || true
  else
    status=1
    echo "FAIL: fuzz_$t found a problem:" >&2
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written|deadly signal' "$log" | head -20 >&2
  fi
done
exit $status

#!/usr/bin/env bash
# scripts/train-default-model.sh: the default model, data/houses.hsnt, from the developers' photos.
#
#   scripts/train-default-model.sh            crop + train the shipped model -> data/houses.hsnt
#   scripts/train-default-model.sh blog       the blog's protocol: seed network, 100 epochs,
#                                              random 20-image test split (minutes to hours)
#   scripts/train-default-model.sh blog-group the same, with whole characters held out
#
# Needs: a built app (build/examples/housenet, or $HOUSENET) and ../shared/data/houses (or
# $HOUSENET_SHARED_DIR/data/houses): real people, never copied into the repository. Everything is
# written under build/default-model/ (or $WORK); only the final model is copied to data/.
# Deterministic: fixed seeds and a fixed thread count (2), so re-running on the same machine
# gives the same file (the SIMD path chosen at run time is part of "the same machine").
set -euo pipefail
export LC_ALL=C

root=$(cd "$(dirname "$0")/.." && pwd)
hn=${HOUSENET:-$root/build/examples/housenet}
shared=${HOUSENET_SHARED_DIR:-$root/../shared}
work=${WORK:-$root/build/default-model}
mode=${1:-default}
threads=2
seed=1

[[ -x $hn ]] || { echo "train-default-model: no housenet program at $hn (build it, or set HOUSENET)" >&2; exit 1; }
[[ -d $shared/data/houses ]] || { echo "train-default-model: $shared/data/houses not found (set HOUSENET_SHARED_DIR)" >&2; exit 1; }
mkdir -p "$work"

# 1. Faces: the largest detection of each photo (OpenCV's defaults: 1.1, 3, 30), 100x100.
if [[ ! -f $work/faces/.done ]]; then
  rm -rf "$work/faces"
  "$hn" crop "$shared/data/houses" "$work/faces" --size 100 --largest | tee "$work/crop.txt"
  touch "$work/faces/.done"
fi

run() {  # run NAME train-options...
  local name=$1; shift
  local t0=$SECONDS
  rm -f "$work/$name.hsnt.ckpt"
  "$hn" train "$work/faces" -o "$work/$name.hsnt" --seed "$seed" --threads "$threads" "$@" 2> >(tee "$work/$name.log" >&2)
  echo "$name: $((SECONDS - t0)) s wall" | tee -a "$work/$name.log"
  local best
  best=$(tail -n +2 "$work/$name.hsnt.csv" | sort -t, -k5,5g -k1,1n | head -1)
  echo "$name: minimum test error $(echo "$best" | cut -d, -f5) at epoch $(echo "$best" | cut -d, -f1)" | tee -a "$work/$name.log"
}

case $mode in
  default)
    # The shipped model: the small network, Adam (momentum SGD at 0.01 diverged in the first
    # epochs, as the libtorch anchor saw), class-balanced loss, augmentation, whole characters
    # held out (about 20%), the epoch with the lowest test error.
    run houses --arch small --epochs 30 --batch 32 --optimizer adam --lr 0.0005 \
        --split group --test-fraction 0.2 --balance --augment
    cp "$work/houses.hsnt" "$root/data/houses.hsnt"
    "$hn" info "$root/data/houses.hsnt" | head -3
    sha256sum "$root/data/houses.hsnt"
    ;;
  blog)
    run blog --arch seed --epochs 100 --test-count 20 --split random
    ;;
  blog-group)
    run blog-group --arch seed --epochs 100 --test-count 20 --split group
    ;;
  *)
    echo "usage: $0 [default|blog|blog-group]" >&2
    exit 2
    ;;
esac

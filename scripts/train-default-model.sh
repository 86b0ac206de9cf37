#!/usr/bin/env bash
# scripts/train-default-model.sh: the default model, data/houses.hsnt, from the developers' photos.
#
#   scripts/train-default-model.sh            crop + train the shipped model -> data/houses.hsnt
#   scripts/train-default-model.sh blog       the blog's protocol: seed network, 100 epochs,
#                                              random 20-image test split (minutes to hours)
#   scripts/train-default-model.sh blog-group the same, with whole characters held out
#   scripts/train-default-model.sh cv         grouped 5-fold cross-validation of the shipped recipe
#   scripts/train-default-model.sh cv-seed    the same with the blog's network
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
  cv|cv-seed)
    # Grouped 5-fold cross-validation over characters (stratified by house) of the shipped
    # recipe (cv) or of the blog's network with the same settings (cv-seed). Figures at the LAST
    # epoch (choosing the best epoch on the test fold would flatter): mean and sample standard
    # deviation of the accuracy and the balanced accuracy over the folds.
    arch=small; [[ $mode == cv-seed ]] && arch=seed
    for k in 1 2 3 4 5; do
      run "$mode-$k" --arch "$arch" --epochs 30 --batch 32 --optimizer adam --lr 0.0005 \
          --split group --folds 5 --fold "$k" --balance --augment
    done
    for k in 1 2 3 4 5; do tail -1 "$work/$mode-$k.hsnt.csv"; done | awk -F, '
      { a[NR] = 1 - $5; b[NR] = $7 }
      END { n = NR; for (i = 1; i <= n; i++) { sa += a[i]; sb += b[i] } ma = sa / n; mb = sb / n
            for (i = 1; i <= n; i++) { va += (a[i] - ma)^2; vb += (b[i] - mb)^2 }
            printf "'"$mode"': accuracy %.3f +- %.3f, balanced accuracy %.3f +- %.3f (5 grouped folds, last epoch)\n",
                   ma, sqrt(va / (n - 1)), mb, sqrt(vb / (n - 1)) }' | tee "$work/$mode.txt"
    # The held-out confusion matrix: every image is on the test side of exactly one fold, so the
    # sum of the five folds' last-epoch test matrices (MODEL.test.json) counts each image once.
    for k in 1 2 3 4 5; do
      sed -E 's/.*"confusion": *\[\[(.*)\]\], *"classes": *\[([^]]*)\].*/\2|\1/' "$work/$mode-$k.hsnt.test.json"
    done | awk -F'|' '
      { nc = split($1, names, ","); gsub(/[][ ]/, "", $2); split($2, v, ",")
        for (c = 1; c <= nc; c++) { sub(/^ *"/, "", names[c]); sub(/" *$/, "", names[c]) }
        for (i = 1; i <= nc * nc; i++) sum[i] += v[i] }
      END { printf "held-out confusion matrix (rows: true house, columns: predicted), 5 folds, last epoch\n%-12s", ""
            for (c = 1; c <= nc; c++) printf " %10s", names[c]; printf " %8s\n", "recall"
            for (r = 1; r <= nc; r++) { printf "%-12s", names[r]; row = 0
              for (c = 1; c <= nc; c++) { x = sum[(r - 1) * nc + c]; printf " %10d", x; row += x; all += x; if (r == c) ok += x }
              rec = row ? sum[(r - 1) * nc + r] / row : 0; bal += rec; printf " %8.3f\n", rec }
            printf "%d images: accuracy %.3f, balanced accuracy %.3f\n", all, ok / all, bal / nc }' \
      | tee "$work/$mode-confusion.txt"
    ;;
  blog)
    run blog --arch seed --epochs 100 --test-count 20 --split random
    ;;
  blog-group)
    run blog-group --arch seed --epochs 100 --test-count 20 --split group
    ;;
  *)
    echo "usage: $0 [default|cv|cv-seed|blog|blog-group]" >&2
    exit 2
    ;;
esac

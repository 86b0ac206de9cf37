#!/usr/bin/env bash
# End-to-end test of the housenet app, with no shared data: the bundled sample photo and images
# this script makes (binary PPMs written with printf/head/tr).
#
#   app_e2e.sh HOUSENET_BINARY SOURCE_DIR WORK_DIR            crop -> train -> eval -> sort -> info -> detect
#   app_e2e.sh --shared HOUSENET_BINARY SHARED_DIR WORK_DIR   crop a few of the shared photos (skips: 77)
#
# Checks that every step exits 0, writes its files, prints JSON with the documented keys; that an
# interrupted training resumed with --resume gives the same model file byte for byte; and that bad
# inputs exit non-zero with exactly one line on stderr.
set -euo pipefail
export LC_ALL=C

if [[ "${1:-}" == "--shared" ]]; then
  HN=$2 SHARED=$3 W=$4
  if [[ ! -d "$SHARED/data/houses" ]]; then
    echo "SKIP: $SHARED/data/houses not found"
    exit 77
  fi
  rm -rf "$W" && mkdir -p "$W/photos"
  for d in "$SHARED"/data/houses/*/; do
    c=$(basename "$d")
    mkdir -p "$W/photos/$c"
    ls "$d" | grep -i '\.png$' | head -n 2 | while read -r f; do cp "$d/$f" "$W/photos/$c/"; done
  done
  "$HN" crop "$W/photos" "$W/faces" > "$W/crop.txt"
  cat "$W/crop.txt"
  n=$(find "$W/faces" -mindepth 2 -name '*__*.png' | wc -l)
  [[ $n -ge 4 ]] || { echo "FAIL: only $n crops from the shared photos"; exit 1; }
  echo "OK: $n crops"
  exit 0
fi

HN=$1 SRC=$2 W=$3
SAMPLE="$SRC/data/samples/astronaut.png"
rm -rf "$W" && mkdir -p "$W"
cd "$W"

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

# A w x h binary PPM whose bytes are random (seeded by $4) and squeezed into a range by tr.
# kind=bright: values 128..255; kind=dark: 0..127.
ppm() {  # ppm FILE W H SEED KIND
  local n=$(( $2 * $3 * 3 ))
  { printf 'P6\n%d %d\n255\n' "$2" "$3"
    rand_bytes "$4" "$n" | if [[ $5 == bright ]]; then tr '\000-\177' '\200-\377'; else tr '\200-\377' '\000-\177'; fi
  } > "$1"
}
# Deterministic bytes from a seed, with coreutils only (a repeated text: enough for a test).
rand_bytes() { head -c "$2" < <(yes "housenet-$1-$(( ${#1} * 7919 ))"); }

# Python's json module checks the JSON lines when there is a python3; otherwise a rough grep.
check_json() {  # check_json FILE key...
  local f=$1; shift
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$f" "$@" <<'EOF' || fail "bad JSON in $f"
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
assert lines, "no lines"
for l in lines:
    d = json.loads(l)
    for k in sys.argv[2:]:
        assert k in d, "missing key %s in %s" % (k, l)
EOF
  else
    for k in "$@"; do grep -q "\"$k\"" "$f" || fail "no key $k in $f"; done
  fi
}

# One line on stderr and a non-zero exit.
expect_error() {  # expect_error WHAT command...
  local what=$1; shift
  set +e
  "$@" > /dev/null 2> err.txt
  local rc=$?
  set -e
  [[ $rc -ne 0 ]] || fail "$what: exit status 0"
  [[ $(wc -l < err.txt) -eq 1 ]] || { cat err.txt; fail "$what: stderr is not one line"; }
  grep -q '^housenet: ' err.txt || fail "$what: stderr does not start with 'housenet: '"
  echo "   ok ($what): $(cat err.txt)"
}

step "version and help"
"$HN" --version | grep -q '^housenet [0-9]' || fail "--version"
for c in sort detect crop train eval info ensemble run export; do "$HN" $c --help | grep -q "^usage: housenet $c" || fail "$c --help"; done

step "detect --json on the bundled sample"
"$HN" detect --json "$SAMPLE" > detect.json
cat detect.json
check_json detect.json image w h faces
grep -q '"w": 512, "h": 512' detect.json || fail "detect: size"
grep -q '"faces": \[\[' detect.json || fail "detect: no face found on the sample"

step "crop: photos/<class>/ -> faces/<class>/<stem>__<k>.png + contact sheets + table"
mkdir -p photos/astro photos/noise
cp "$SAMPLE" photos/astro/eileen.png
cp "$SAMPLE" photos/astro/eileen_copy.png              # an exact duplicate: skipped
ppm photos/noise/static__1.ppm 64 48 1 bright           # no face in it
"$HN" crop photos faces --size 64 > crop.txt
cat crop.txt
[[ -f faces/astro/eileen__1.png ]] || fail "crop: faces/astro/eileen__1.png missing"
[[ ! -e faces/astro/eileen_copy__1.png ]] || fail "crop: the duplicate was not skipped"
ls faces/*.png > /dev/null 2>&1 || fail "crop: no contact sheet"
grep -qi 'astro' crop.txt && grep -qi 'noise' crop.txt || fail "crop: no per-class table"

step "crop --context: the box and its surroundings (SIZE + 2 * round(F * SIZE) square)"
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{ printf "%dx%d", $3 * 256 + $4, $7 * 256 + $8 }'; }
"$HN" crop photos faces-ctx --size 64 --context 0.25 > crop-ctx.txt
[[ $(png_size faces-ctx/astro/eileen__1.png) == 96x96 ]] || fail "crop --context: $(png_size faces-ctx/astro/eileen__1.png), want 96x96"
[[ $(png_size faces/astro/eileen__1.png) == 64x64 ]] || fail "crop: $(png_size faces/astro/eileen__1.png), want 64x64"

step "train --arch small (synthetic bright/dark images, group split, augment, balance)"
mkdir -p synth/bright synth/dark
for i in 1 2 3 4 5 6; do
  for k in 1 2; do
    ppm synth/bright/b$i"__"$k.ppm 40 36 "b$i$k" bright
    ppm synth/dark/d$i"__"$k.ppm 40 36 "d$i$k" dark
  done
done
ppm synth/dark/d7__1.ppm 40 36 d71 dark                  # imbalance: 13 dark, 12 bright
common=(--arch small --epochs 3 --batch 8 --test-count 6 --split group --augment --balance --seed 7 --threads 2)
"$HN" train synth -o m.hsnt "${common[@]}" 2> train.txt
cat train.txt
for f in m.hsnt m.hsnt.last m.hsnt.csv m.hsnt.svg; do [[ -s $f ]] || fail "train: $f missing"; done
[[ $(head -1 m.hsnt.csv) == "epoch,train_loss,train_error,test_loss,test_error,seconds,test_balanced_accuracy" ]] || fail "train: csv header"
[[ $(wc -l < m.hsnt.csv) -eq 4 ]] || fail "train: csv rows"
grep -q '<svg' m.hsnt.svg || fail "train: svg"
# MODEL.test.json: eval --json's object for the test side at the last epoch, one line.
[[ -s m.hsnt.test.json && $(wc -l < m.hsnt.test.json) -eq 1 ]] || fail "train: m.hsnt.test.json missing or not one line"
cat m.hsnt.test.json
check_json m.hsnt.test.json accuracy balanced_accuracy per_class confusion classes
grep -q '"classes": \["bright", "dark"\]' m.hsnt.test.json || fail "train: test.json class names"
tested=$(sed -n 's/.* train, \([0-9]*\) test, .*/\1/p' train.txt)
in_matrix=$(grep -o '"confusion": \[[][0-9, ]*\]' m.hsnt.test.json | grep -o '[0-9][0-9]*' | awk '{s += $1} END {print s + 0}')
[[ -n $tested && $tested -gt 0 && $in_matrix -eq $tested ]] ||
  fail "train: the confusion matrix holds $in_matrix images, train printed ${tested:-nothing} test images"
echo "   ok: the confusion matrix holds the $tested test images"

step "train --context: crops with surroundings (random boxes in them), the same files from the same seed"
"$HN" train synth -o c1.hsnt "${common[@]}" --context 0.2 2> ctx.txt || { cat ctx.txt; fail "train --context"; }
"$HN" train synth -o c2.hsnt "${common[@]}" --context 0.2 2> /dev/null || fail "train --context (again)"
cmp c1.hsnt.last c2.hsnt.last || fail "train --context: not deterministic"
cmp -s c1.hsnt.last m.hsnt.last && fail "train --context: the same model as without it"
echo "   ok: deterministic, and not the model trained without surroundings"

step "train: interrupted after 2 batches, then --resume: the same files byte for byte"
HOUSENET_APP_INTERRUPT_AFTER=2 "$HN" train synth -o r.hsnt "${common[@]}" 2> int.txt && fail "interrupt: exit 0"
[[ -s r.hsnt.ckpt ]] || fail "interrupt: no checkpoint"
"$HN" train synth -o r.hsnt "${common[@]}" --resume 2> resume.txt || { cat resume.txt; fail "resume"; }
cmp m.hsnt.last r.hsnt.last || fail "resume: last model differs from the uninterrupted run"
cmp m.hsnt r.hsnt || fail "resume: best model differs from the uninterrupted run"
cmp m.hsnt.test.json r.hsnt.test.json || fail "resume: test.json differs from the uninterrupted run"
diff <(cut -d, -f1-5,7 m.hsnt.csv) <(cut -d, -f1-5,7 r.hsnt.csv) || fail "resume: curves differ"

step "train: MODEL.ckpt at the end, and after an epoch only when --checkpoint-every says so"
[[ -s m.hsnt.ckpt ]] || fail "checkpoint: not written at the end of the run"
# HOUSENET_APP_CRASH_AFTER_EPOCH=N: the process dies (no Ctrl-C handling) after epoch N's files.
set +e
HOUSENET_APP_CRASH_AFTER_EPOCH=2 "$HN" train synth -o k.hsnt "${common[@]}" --checkpoint-every 100000 2> crash.txt
rc=$?
set -e
[[ $rc -eq 137 ]] || { cat crash.txt; fail "crash hook: exit status $rc"; }
[[ -s k.hsnt && $(wc -l < k.hsnt.csv) -eq 3 ]] || fail "crash: MODEL and MODEL.csv are still written every epoch"
[[ ! -e k.hsnt.ckpt ]] || fail "checkpoint: written after epoch 1 or 2 although --checkpoint-every 100000"
set +e
HOUSENET_APP_CRASH_AFTER_EPOCH=2 "$HN" train synth -o c.hsnt "${common[@]}" --checkpoint-every 0 2> crash0.txt
rc=$?
set -e
[[ $rc -eq 137 && -s c.hsnt.ckpt ]] || fail "checkpoint: --checkpoint-every 0 did not write it after epoch 2"
"$HN" train synth -o c.hsnt "${common[@]}" --resume 2> resume0.txt || { cat resume0.txt; fail "resume after a crash"; }
grep -q "resuming c.hsnt.ckpt at epoch 3, batch 0" resume0.txt || { cat resume0.txt; fail "resume: not from epoch 3"; }
cmp m.hsnt.last c.hsnt.last || fail "resume after a crash: last model differs from the uninterrupted run"
cmp m.hsnt c.hsnt || fail "resume after a crash: best model differs from the uninterrupted run"

step "train --test-count 0: no MODEL.test.json (an earlier one removed)"
echo '{}' > z.hsnt.test.json
"$HN" train synth -o z.hsnt --arch small --epochs 1 --batch 8 --test-count 0 --threads 2 2> z.txt || { cat z.txt; fail "train --test-count 0"; }
[[ -s z.hsnt && ! -e z.hsnt.test.json ]] || fail "train --test-count 0: z.hsnt.test.json exists"
grep -q "no test side; epoch 1 -> z.hsnt and z.hsnt.last" z.txt || fail "train --test-count 0: the last line"

step "eval --json"
"$HN" eval synth -m m.hsnt --json > eval.json
cat eval.json
check_json eval.json accuracy balanced_accuracy per_class confusion classes
"$HN" eval synth -m m.hsnt > eval.txt && grep -qi 'balanced' eval.txt || fail "eval table"

step "sort --json with the trained model: annotated copy + probabilities"
"$HN" sort "$SAMPLE" -m m.hsnt -o sorted.png --json > sort.json
cat sort.json
check_json sort.json image faces
grep -q '"probs": {"bright": ' sort.json || fail "sort: probs"
[[ -s sorted.png ]] || fail "sort: sorted.png missing"
mkdir -p outdir
"$HN" sort "$SAMPLE" photos/noise/static__1.ppm -m m.hsnt -o outdir > sort.txt
[[ -s outdir/astronaut.png && -s outdir/static__1.png ]] || fail "sort: folder output"
"$HN" sort photos/noise/static__1.ppm -m m.hsnt --json -o noface.png > noface.json
grep -q '"faces": \[\]' noface.json || fail "sort: a photo with no face"

if [[ -f "$SRC/data/houses.hsnt" ]]; then
  step "sort with the bundled default model (no -m)"
  "$HN" sort "$SAMPLE" -o default.png --json > default.json
  check_json default.json image faces
  grep -q '"label": "' default.json || fail "sort: the default model labelled no face"
  "$HN" info | grep -q Gryffindor || fail "info: the default model"
fi

step "info"
"$HN" info m.hsnt > info.txt
cat info.txt
grep -q 'bright' info.txt && grep -qi 'param' info.txt || fail "info"
grep -q 'a single model' info.txt || fail "info: a model file is not said to be a single model"

step "ensemble: two models as one file; info, eval and sort read it"
"$HN" ensemble m.hsnt m.hsnt.last -o e2.hsnt > ens.txt
cat ens.txt
"$HN" info e2.hsnt > info2.txt
cat info2.txt
grep -q 'an ensemble of 2 models' info2.txt || fail "info: the ensemble"
"$HN" eval synth -m e2.hsnt --json > eval2.json
check_json eval2.json accuracy balanced_accuracy ece identities
"$HN" sort "$SAMPLE" -m e2.hsnt --json -o sorted2.png > sort2.json
check_json sort2.json image faces

mkdir -p tri/a tri/b tri/c
cp synth/bright/b1__1.ppm tri/a/ && cp synth/dark/d1__1.ppm tri/b/ && cp synth/dark/d2__1.ppm tri/c/
"$HN" train tri -o tri.hsnt --arch small --epochs 1 --batch 8 --test-count 0 --threads 2 2> /dev/null
expect_error "ensemble of models with other classes" "$HN" ensemble m.hsnt tri.hsnt -o bad.hsnt
[[ ! -e bad.hsnt ]] || fail "ensemble: a file was written after an error"

step "ONNX: export, then -m MODEL.onnx in info, sort, eval and run (.npy in and out)"
"$HN" export m.hsnt m.onnx > export.txt
"$HN" info m.onnx > info_onnx.txt
grep -q 'ONNX model, opset 13' info_onnx.txt && grep -q 'bright' info_onnx.txt || { cat info_onnx.txt; fail "info of an ONNX file"; }
"$HN" sort "$SAMPLE" -m m.onnx --json -o sorted_onnx.png > sort_onnx.json
cmp sort.json sort_onnx.json || fail "sort: the exported ONNX model answers otherwise than the model file"
"$HN" eval synth -m m.onnx --json > eval_onnx.json
"$HN" eval synth -m m.hsnt --json > eval_hsnt.json
cmp eval_hsnt.json eval_onnx.json || fail "eval: the exported ONNX model answers otherwise than the model file"
npy_zeros() {  # npy_zeros FILE DIMS... : a float32 .npy of zeros ('<f4', C order)
  local f=$1; shift
  local shape count=1 d
  shape=$(IFS=,; echo "$*" | sed 's/,/, /g')
  [[ $# -eq 1 ]] && shape="$shape,"
  for d in "$@"; do count=$((count * d)); done
  local header="{'descr': '<f4', 'fortran_order': False, 'shape': ($shape), }"
  local pad=$(( (64 - (10 + ${#header} + 1) % 64) % 64 ))
  { printf '\x93NUMPY\x01\x00'; printf "\\x$(printf %02x $(( (${#header} + pad + 1) % 256 )))\\x$(printf %02x $(( (${#header} + pad + 1) / 256 )))"
    printf '%s%*s\n' "$header" "$pad" ''; head -c $((count * 4)) /dev/zero; } > "$f"
}
npy_zeros x.npy 3 3 100 100
"$HN" run -m m.hsnt --input x.npy -o y_hsnt.npy > run.txt
"$HN" run -m m.onnx --input x.npy -o y_onnx.npy --batch 2 >> run.txt
cat run.txt
grep -q '3x2, the network' run.txt || fail "run: output shape"
cmp y_hsnt.npy y_onnx.npy || fail "run: the ONNX model's output differs from the model file's"
[[ $(head -c 6 y_hsnt.npy | tail -c 5) == NUMPY ]] || fail "run: not a .npy file"
"$HN" run -m e2.hsnt --input x.npy -o y_ens.npy | grep -q 'class probabilities' || fail "run: an ensemble gives probabilities"
"$HN" train synth -o ft.hsnt --init-from m.onnx --epochs 1 --batch 8 --test-count 0 --threads 2 2> ft.txt || { cat ft.txt; fail "train --init-from an ONNX file"; }
"$HN" info ft.hsnt | grep -q 'a single model' || fail "train --init-from: the model written"
expect_error "train --init-from with another class count" "$HN" train tri -o ft3.hsnt --init-from m.onnx --epochs 1
expect_error "train --init-from and --arch" "$HN" train synth -o ft4.hsnt --init-from m.onnx --arch small
npy_zeros wrong.npy 2 3 50 50
expect_error "run: input of another shape" "$HN" run -m m.hsnt --input wrong.npy -o y.npy
expect_error "run: not a .npy file" "$HN" run -m m.hsnt --input m.hsnt -o y.npy
expect_error "run: no --input" "$HN" run -m m.hsnt -o y.npy

step "eval: the test side of a fold, predictions, no flip"
"$HN" eval synth -m m.hsnt --folds 3 --fold 2 --split group --seed 7 --predictions pred.csv --json > fold.json
head -3 pred.csv
[[ $(head -1 pred.csv) == "file,identity,true,predicted,bright,dark" ]] || fail "eval --predictions: header"
n_fold=$(grep -o '"images": [0-9]*' fold.json | grep -o '[0-9]*$')
[[ $(( $(wc -l < pred.csv) - 1 )) -eq $n_fold && $n_fold -lt 25 ]] || fail "eval --folds: $n_fold images, $(wc -l < pred.csv) csv lines"
"$HN" eval synth -m m.hsnt --no-flip > noflip.txt && grep -q 'calibration error' noflip.txt || fail "eval --no-flip"
expect_error "eval --jitter without --stability" "$HN" eval synth -m m.hsnt --jitter

step "eval --detect: photos, the largest face of each (a photo without a face left out)"
mkdir -p detphotos/bright detphotos/dark
cp "$SAMPLE" detphotos/bright/eileen__1.png && cp "$SAMPLE" detphotos/dark/eileen__2.png
cp synth/dark/d1__1.ppm detphotos/dark/noface__1.ppm
"$HN" eval detphotos -m m.hsnt --detect --json --predictions det.csv > det.json 2> det.err
cat det.json det.err
grep -q '"images": 2,' det.json || fail "eval --detect: the two photos with a face"
grep -q '1 without a face left out' det.err || fail "eval --detect: the photo without a face"
[[ $(wc -l < det.csv) -eq 3 ]] || fail "eval --detect --predictions: 2 rows"
"$HN" eval detphotos -m m.hsnt --detect --jitter > /dev/null 2>&1 || fail "eval --detect --jitter"

step "eval --stability: photos (detector) and crops"
mkdir -p stab/people
cp "$SAMPLE" stab/people/eileen__1.png && cp "$SAMPLE" stab/people/eileen__2.png
"$HN" eval stab -m m.hsnt --stability > stab.txt
cat stab.txt
grep -q '^(a) mirrored ' stab.txt && grep -q '^(b) box' stab.txt && grep -q '^(c) JPEG' stab.txt || fail "stability: rows"
grep -q '^(d) identities .*(1 of 1 identities' stab.txt || fail "stability: the same photo twice is one identity with one label"
"$HN" eval synth -m e2.hsnt --stability --crops --json > stab.json
cat stab.json
check_json stab.json images faces mirror jpeg identities
grep -q '"mirror": {"kept": 25, "found": 25' stab.json || fail "stability: with test-time flip a mirrored crop keeps its label"

step "bad inputs: one line on stderr, non-zero exit"
mkdir -p empty three/a three/b three/c
printf 'this is not an image' > broken.png
cp synth/bright/b1__1.ppm three/a/ && cp synth/dark/d1__1.ppm three/b/ && cp synth/dark/d2__1.ppm three/c/
expect_error "empty folder" "$HN" train empty -o e.hsnt --arch small --epochs 1
expect_error "missing model" "$HN" sort "$SAMPLE" -m does-not-exist.hsnt -o x.png
expect_error "corrupt image" "$HN" detect broken.png
expect_error "corrupt image (sort)" "$HN" sort broken.png -m m.hsnt -o x.png
expect_error "corrupt model" "$HN" info broken.png
expect_error "wrong class count" "$HN" eval three -m m.hsnt
expect_error "unknown option" "$HN" detect --frobnicate "$SAMPLE"
expect_error "bad number" "$HN" train synth -o e.hsnt --epochs many
expect_error "unknown command" "$HN" frobnicate
expect_error "missing cascade" "$HN" detect --cascade nope.xml "$SAMPLE"

echo "OK: app end-to-end"

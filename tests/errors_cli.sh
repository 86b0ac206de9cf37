#!/usr/bin/env bash
# docs/errors.md, app rows: each bad input makes `housenet` exit non-zero with exactly the
# documented line on stderr (and nothing else there), or, for the rows that say so, go on with a
# warning. Library rows are tests/test_errors.cpp.
#
#   errors_cli.sh HOUSENET_BINARY SOURCE_DIR WORK_DIR
#
set -uo pipefail
export LC_ALL=C
HN=$(realpath "$1") SRC=$(realpath "$2") W=$3
SAMPLE="$SRC/data/samples/astronaut.png"
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
failures=0

# A w x h binary PPM of deterministic bytes, bright (128..255) or dark (0..127).
ppm() {  # ppm FILE W H SEED KIND
  local n=$(( $2 * $3 * 3 ))
  { printf 'P6\n%d %d\n255\n' "$2" "$3"
    head -c "$n" < <(yes "errors-$4") | if [[ $5 == bright ]]; then tr '\000-\177' '\200-\377'; else tr '\200-\377' '\000-\177'; fi
  } > "$1"
}

# row NAME EXPECTED_STDERR_LINE command...: exit status != 0 and stderr == that one line.
row() {
  local name=$1 want=$2; shift 2
  "$@" > out.txt 2> err.txt
  local rc=$?
  local lines; lines=$(wc -l < err.txt)
  if [[ $rc -ne 0 && $lines -eq 1 && "$(cat err.txt)" == "$want" ]]; then
    echo "ok   $name: $want"
  else
    echo "FAIL $name: exit $rc, $lines stderr lines:"; sed 's/^/     | /' err.txt
    echo "     wanted: $want"
    failures=$((failures + 1))
  fi
}
# last_line NAME EXPECTED command...: exit != 0 and the LAST stderr line is EXPECTED (train prints
# its progress on stderr before the error).
last_line() {
  local name=$1 want=$2; shift 2
  "$@" > out.txt 2> err.txt
  local rc=$?
  if [[ $rc -ne 0 && "$(tail -n 1 err.txt)" == "$want" ]]; then
    echo "ok   $name: $want"
  else
    echo "FAIL $name: exit $rc, stderr:"; sed 's/^/     | /' err.txt
    echo "     wanted (last line): $want"
    failures=$((failures + 1))
  fi
}

# ---- inputs
mkdir -p synth/bright synth/dark
for i in 1 2 3 4; do ppm synth/bright/b$i.ppm 40 36 b$i bright; ppm synth/dark/d$i.ppm 40 36 d$i dark; done
"$HN" train synth -o m.hsnt --arch small --epochs 1 --batch 4 --test-count 2 --threads 1 2> train.txt ||
  { cat train.txt; echo "FAIL: could not train the test model"; exit 1; }

: > empty.jpg
printf 'these are my notes, not a photo\n' > notes.jpg
head -c 20000 "$SAMPLE" > half.png
# A PNG signature + IHDR claiming 100000 x 100000 RGB (CRC not checked by stb).
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x02\x00\x00\x00\x00\x00\x00\x00' > huge.png
# A JPEG cut inside its header (SOI, then a DQT segment cut short); a 2x2 TGA (stb_image reads it,
# the library's contract does not list it).
printf '\xff\xd8\xff\xdb\x00\x43\x00\x08\x06' > head.jpg
{ printf '\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x02\x00\x18\x00'; head -c 12 < <(yes x); } > x.tga
sed 's/<featureType>HAAR</<featureType>HOG</' "$SRC/fuzz/seeds/cascade/mini_haar.xml" > hog.xml
XML="$SRC/data/haarcascade_frontalface_default.xml"
head -c $(( $(wc -c < "$XML") / 2 )) "$XML" > half.xml
# format version 2: byte 4 of the file
{ head -c 4 m.hsnt; printf '\x03'; tail -c +6 m.hsnt; } > v3.hsnt
# one flipped bit in the middle
size=$(wc -c < m.hsnt); mid=$(( size / 2 ))
byte=$(tail -c +$((mid + 1)) m.hsnt | head -c 1 | od -An -tu1 | tr -d ' ')
{ head -c "$mid" m.hsnt; printf "\\$(printf '%03o' $(( byte ^ 1 )))"; tail -c +$((mid + 2)) m.hsnt; } > flipped.hsnt
mkdir -p empty three/a three/b three/c one/only
cp synth/bright/b1.ppm three/a/; cp synth/dark/d1.ppm three/b/; cp synth/dark/d2.ppm three/c/
cp synth/bright/b1.ppm synth/bright/b2.ppm one/only/
mkdir -p photos/bright photos/dark
cp synth/bright/b1.ppm synth/bright/b2.ppm photos/bright/; cp synth/dark/d1.ppm photos/dark/
cp notes.jpg photos/dark/notes.jpg; : > photos/bright/zero.png
RO=/proc  # not writable even by root
[[ $(id -u) -ne 0 ]] && { mkdir -p ro && chmod 555 ro && RO=ro; }

# ---- the rows of docs/errors.md
row "empty file" "housenet: image: cannot read 'empty.jpg': empty file" "$HN" detect empty.jpg
row "empty model file" "housenet: empty.jpg: not a housenet model file (empty)" "$HN" info empty.jpg
row "truncated PNG" "housenet: image: cannot read 'half.png': outofdata (corrupt or truncated file)" "$HN" detect half.png
row "header claiming 100000x100000" \
  "housenet: image: cannot read 'huge.png': 100000x100000 pixels exceeds the limit of 100000000 pixels" "$HN" detect huge.png
row "JPEG cut inside its header" \
  "housenet: image: cannot read 'head.jpg': corrupt or truncated JPEG: no SOF" "$HN" detect head.jpg
row "a TGA file (a format the library does not read)" \
  "housenet: image: cannot read 'x.tga': unsupported format TGA (JPEG, PNG, BMP, GIF and PGM/PPM are read)" "$HN" detect x.tga
row "text file named .jpg" \
  "housenet: image: cannot read 'notes.jpg': unknown image type (not a JPEG, PNG, BMP, GIF or PGM/PPM file)" \
  "$HN" detect notes.jpg
row "cascade with a wrong featureType" \
  "housenet: cascade: hog.xml:4: unsupported featureType 'HOG' (expected HAAR or LBP)" "$HN" detect --cascade hog.xml "$SAMPLE"
row "cascade cut in half" "housenet: cascade: half.xml:11739: unterminated tag <internalNo>" \
  "$HN" detect --cascade half.xml "$SAMPLE"
row "model of another format version" "housenet: v3.hsnt: format version 3 not supported (this build reads 1-2)" "$HN" info v3.hsnt
row "export with an opset other than 11, 13, 17" \
  "housenet: export: --opset: '12' is not one of 11|13|17 (see 'housenet export --help')" \
  "$HN" export "$SRC/data/houses.hsnt" x.onnx --opset 12
# ONNX files, .npy tensors, run and train --init-from (docs/errors.md, "ONNX files and .npy tensors")
: > empty.onnx
echo "not a model" > notes.onnx
head -c 3000 "$SRC/tests/data/onnx/seed.onnx" > cut.onnx
row "empty ONNX file" "housenet: empty.onnx: not an ONNX file (empty)" "$HN" info empty.onnx
row "text file named .onnx" "housenet: notes.onnx: malformed protobuf at byte 0: wire type 6 (field 13) is not supported" \
  "$HN" sort "$SAMPLE" -m notes.onnx -o x.png
row "truncated ONNX file" "housenet: cut.onnx: malformed protobuf at byte 20: length 4811 runs past the end (2978 bytes remain)" \
  "$HN" info cut.onnx
row "ONNX attribute housenet cannot honour" \
  "housenet: $SRC/tests/data/onnx/node/test_gemm_transposeA.onnx: node '' (Gemm): transA 1 is not supported" \
  "$HN" info "$SRC/tests/data/onnx/node/test_gemm_transposeA.onnx"
row ".npy of float64" \
  "housenet: $SRC/tests/data/npy/f8_3.npy: data type '<f8' not supported (float32, '<f4', only: save x.astype(np.float32))" \
  "$HN" run -m m.hsnt --input "$SRC/tests/data/npy/f8_3.npy" -o y.npy
row ".npy of another shape than the model's input" \
  "housenet: run: $SRC/tests/data/npy/f4_2x3x4.npy holds 2x3x4; the model takes N x 3x100x100 (or one 3x100x100)" \
  "$HN" run -m m.hsnt --input "$SRC/tests/data/npy/f4_2x3x4.npy" -o y.npy
row "train --init-from an ensemble" \
  "housenet: train: --init-from $SRC/data/houses.hsnt is an ensemble of 3 models; training starts from one network" \
  "$HN" train synth -o ft.hsnt --init-from "$SRC/data/houses.hsnt" --epochs 1
row "train --init-from a model of another class count" \
  "housenet: train: --init-from $SRC/tests/data/onnx/seed.onnx has 3 classes, the data set 2" \
  "$HN" train synth -o ft.hsnt --init-from "$SRC/tests/data/onnx/seed.onnx" --epochs 1
row "model with a flipped byte" "housenet: flipped.hsnt: checksum mismatch (file damaged?)" "$HN" sort "$SAMPLE" -m flipped.hsnt -o x.png
row "class count differs from the data folder" \
  "housenet: eval: 'three' has 3 classes (a,b,c), the model has 2 (bright,dark)" "$HN" eval three -m m.hsnt
row "empty data folder" "housenet: 'empty' has no class sub-folders (expected DATA_DIR/<class>/<image>)" \
  "$HN" train empty -o e.hsnt --arch small --epochs 1
# (the temporary file's name varies: these two compare a prefix)
"$HN" sort "$SAMPLE" -m m.hsnt -o no/dir/x.png > out.txt 2> err.txt; rc=$?
if [[ $rc -ne 0 && $(wc -l < err.txt) -eq 1 && "$(cat err.txt)" == "housenet: image: cannot write 'no/dir/x.png': cannot create no/dir/x.png.tmp-"* ]]; then
  echo "ok   missing output directory (sort): $(cat err.txt)"
else echo "FAIL missing output directory (sort): exit $rc: $(cat err.txt)"; failures=$((failures + 1)); fi
row "missing output directory (train, said before loading the data)" \
  "housenet: no/dir/m.hsnt: cannot create a temporary file next to it: No such file or directory" \
  "$HN" train synth -o no/dir/m.hsnt --arch small --epochs 1 --test-count 2 --threads 1
row "missing output directory (train): checked before the data folder is looked at" \
  "housenet: no/dir/m.hsnt: cannot create a temporary file next to it: No such file or directory" \
  "$HN" train no-such-data -o no/dir/m.hsnt --arch small --epochs 1
"$HN" sort "$SAMPLE" -m m.hsnt -o $RO/x.png > out.txt 2> err.txt; rc=$?
if [[ $rc -ne 0 && $(wc -l < err.txt) -eq 1 && "$(cat err.txt)" == "housenet: image: cannot write '$RO/x.png': cannot create $RO/x.png.tmp-"* ]]; then
  echo "ok   read-only output path (sort): $(cat err.txt)"
else echo "FAIL read-only output path (sort): exit $rc: $(cat err.txt)"; failures=$((failures + 1)); fi
"$HN" train synth -o $RO/m.hsnt --arch small --epochs 1 --test-count 2 --threads 1 > out.txt 2> err.txt; rc=$?
if [[ $rc -eq 1 && $(wc -l < err.txt) -eq 1 && "$(cat err.txt)" == "housenet: $RO/m.hsnt: cannot create a temporary file next to it: "* ]] &&
   ! ls $RO/m.hsnt* > /dev/null 2>&1; then
  echo "ok   read-only output path (train, said before loading the data): $(cat err.txt)"
else echo "FAIL read-only output path (train): exit $rc: $(cat err.txt)"; failures=$((failures + 1)); fi

# unreadable files mixed in (crop): skipped with one warning each, counted in the table, exit 0
if "$HN" crop photos faces --size 32 > crop.txt 2> err.txt &&
   grep -qx "housenet crop: skipping: image: cannot read 'photos/bright/zero.png': empty file" err.txt &&
   grep -qx "housenet crop: skipping: image: cannot read 'photos/dark/notes.jpg': unknown image type (not a JPEG, PNG, BMP, GIF or PGM/PPM file)" err.txt &&
   [[ $(wc -l < err.txt) -eq 2 ]] &&
   grep -Eq '^total +3 +[0-9]+ +[0-9]+ +0 +2$' crop.txt; then
  echo "ok   unreadable files mixed in (crop): skipped, warned, counted"
else
  echo "FAIL unreadable files mixed in (crop):"; cat err.txt crop.txt | sed 's/^/     | /'; failures=$((failures + 1))
fi

# data folder with one class (train)
row "output path is a folder (train)" "housenet: synth: is a folder (expected a file name)" \
  "$HN" train synth -o synth --arch small --epochs 1
row "data folder with one class" \
  "housenet: train: 'one' has one class folder ('only'); a classifier needs at least two" \
  "$HN" train one -o one.hsnt --arch small --epochs 1 --test-count 0

# unreadable files mixed in (train, eval): skipped with one warning each and a count, exit 0
for cmd in train eval; do
  if [[ $cmd == train ]]; then args=(train photos -o p.hsnt --arch small --epochs 1 --test-count 1 --threads 1)
  else args=(eval photos -m m.hsnt); fi
  if "$HN" "${args[@]}" > out.txt 2> err.txt &&
     grep -qx "housenet $cmd: skipping: image: cannot read 'photos/bright/zero.png': empty file" err.txt &&
     grep -qx "housenet $cmd: skipping: image: cannot read 'photos/dark/notes.jpg': unknown image type (not a JPEG, PNG, BMP, GIF or PGM/PPM file)" err.txt &&
     grep -qx "housenet $cmd: 2 unreadable files skipped" err.txt; then
    echo "ok   unreadable files mixed in ($cmd): skipped, warned, counted"
  else
    echo "FAIL unreadable files mixed in ($cmd): exit $?"; sed 's/^/     | /' err.txt; failures=$((failures + 1))
  fi
done

# NaN / Inf loss: training stops with one message; the files of the last finished epoch stay
NANARGS=(--arch small --epochs 6 --batch 2 --test-count 2 --lr 0.5 --threads 1)
"$HN" train synth -o nan.hsnt "${NANARGS[@]}" > out.txt 2> err.txt; rc=$?
if [[ $rc -ne 0 && "$(tail -n 1 err.txt)" == "housenet: train: "*" (the training diverged: try a lower --lr); stopped, "* ]] &&
   { [[ ! -e nan.hsnt.ckpt ]] || "$HN" eval synth -m nan.hsnt --json | grep -vq 'nan'; }; then
  echo "ok   NaN loss stops training: $(tail -n 1 err.txt)"
else
  echo "FAIL NaN loss stops training: exit $rc"; sed 's/^/     | /' err.txt; failures=$((failures + 1))
fi

if [[ $failures -ne 0 ]]; then echo "FAIL: $failures row(s)"; exit 1; fi
echo "OK: every app row of docs/errors.md"

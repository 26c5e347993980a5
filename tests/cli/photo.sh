#!/usr/bin/env bash
# CTest's check of the photo commands: `facegan detect` and every `facegan infer` operation on a
# full photograph (scikit-image's public-domain astronaut portrait, fetched by scripts/setup.sh),
# with tiny models trained here in seconds, and the errors a user meets. Exits 77 (CTest: skipped)
# when the photo or dlib's landmark model is not installed.
# Usage: photo.sh <path to facegan> <scratch folder>
set -euo pipefail
facegan=$1
work=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
photos=${FACEGAN_PHOTOS:-${FACEGAN_HOME:-$HOME/.cache/facegan}/photos}
photo="$photos/astronaut.png"
model=${FACEGAN_LANDMARK_MODEL:-/usr/share/dlib/shape_predictor_68_face_landmarks.dat}
if [ ! -s "$photo" ]; then echo "SKIPPED: $photo is missing (scripts/setup.sh fetches it)"; exit 77; fi
if [ ! -s "$model" ]; then echo "SKIPPED: $model is missing (apt-get install libdlib-data)"; exit 77; fi
rm -rf "$work" && mkdir -p "$work"
fail() { echo "photo cli test: $*" >&2; exit 1; }
# The PNG's width and height (IHDR, bytes 16-23, big-endian).
png_size() { od -An -tu1 -j16 -N8 "$1" | tr -s ' ' | sed 's/^ //'; }
# Expects a failure with a message containing $1 and no file at $2; the rest is the command.
expect_error() {
  local text=$1 out=$2
  shift 2
  if "$@" > "$work/stdout.log" 2> "$work/err.log"; then fail "accepted: $*"; fi
  grep -qF -- "$text" "$work/err.log" || fail "message for '$*' lacks '$text': $(cat "$work/err.log")"
  [ ! -e "$out" ] || fail "'$*' failed but wrote $out"
}

# detect: one face, 68 landmarks, an annotated picture and a .pts file per face.
"$facegan" detect "$photo" --out "$work/detect" > "$work/detect.log"
[ -s "$work/detect/astronaut.json" ] || fail "detect wrote no JSON"
[ -s "$work/detect/astronaut.png" ] || fail "detect wrote no annotated picture"
[ -s "$work/detect/astronaut_face0.pts" ] || fail "detect wrote no .pts"
grep -q '"box"' "$work/detect/astronaut.json" || fail "detect JSON has no box"
[ "$(grep -c '"index"' "$work/detect/astronaut.json")" -eq 1 ] || fail "detect did not find exactly one face"
[ "$(grep -cE '^-?[0-9.]+ -?[0-9.]+$' "$work/detect/astronaut_face0.pts")" -eq 68 ] || fail "the .pts file has no 68 points"
[ "$(png_size "$work/detect/astronaut.png")" = "0 0 2 0 0 0 2 0" ] || fail "annotated picture is not 512x512"

# Tiny models: DeRL stage 1 and 2, open-set and makeup, all on 32 px synthetic crops.
"$facegan" train --config "$here/derl_tiny.json" --set trainer.out_dir="$work/derl1" > "$work/derl1.log"
derl1=$(ls "$work/derl1/checkpoints"/ckpt_*.pt | tail -1)
"$facegan" train --config "$here/derl_tiny.json" --set trainer.out_dir="$work/derl2" --set task.stage=classify \
  --set task.generator_checkpoint="$derl1" > "$work/derl2.log"
derl2=$(ls "$work/derl2/checkpoints"/ckpt_*.pt | tail -1)
"$facegan" train --config "$here/open_set_tiny.json" --set trainer.out_dir="$work/open_set" > "$work/open_set.log"
open_set=$(ls "$work/open_set/checkpoints"/ckpt_*.pt | tail -1)
"$facegan" train --config "$here/makeup_tiny.json" --set trainer.out_dir="$work/makeup" > "$work/makeup.log"
makeup=$(ls "$work/makeup/checkpoints"/ckpt_*.pt | tail -1)

# neutralize: the full photo back at full size, as a JPEG (the next commands' second photo).
"$facegan" infer neutralize --checkpoint "$derl1" --image "$photo" --out "$work/neutral.jpg" > "$work/neutralize.log"
grep -q "face template: renderer" "$work/neutralize.log" || fail "neutralize did not use the run's template: $(cat "$work/neutralize.log")"
grep -q "1 face found, using 1" "$work/neutralize.log" || fail "neutralize: $(cat "$work/neutralize.log")"
[ "$(od -An -tx1 -N3 "$work/neutral.jpg" | tr -d ' \n')" = "ffd8ff" ] || fail "neutralize wrote no JPEG"
"$facegan" infer neutralize --checkpoint "$derl1" --image "$photo" --out "$work/neutral.png" --face largest > /dev/null
[ "$(png_size "$work/neutral.png")" = "0 0 2 0 0 0 2 0" ] || fail "neutralize did not keep the photo's 512x512"
# Landmarks by hand (the .pts detect wrote): no detection needed.
"$facegan" infer neutralize --checkpoint "$derl1" --image "$photo" --landmarks "$work/detect/astronaut_face0.pts" \
  --landmark-model /nonexistent/model.dat --out "$work/neutral_pts.png" > /dev/null
[ -s "$work/neutral_pts.png" ] || fail "neutralize with --landmarks wrote nothing"

# classify: the labels and boxes as JSON beside an annotated picture.
"$facegan" infer classify --checkpoint "$derl2" --image "$work/neutral.jpg" --out "$work/classify.png" > "$work/classify.log"
[ -s "$work/classify.png" ] || fail "classify wrote no annotated picture"
[ -s "$work/classify.json" ] || fail "classify wrote no JSON beside it"
grep -q '"expression"' "$work/classify.json" || fail "classify JSON lacks the expression"
grep -q '"box"' "$work/classify.json" || fail "classify JSON lacks the box"
grep -q '"probabilities"' "$work/classify.log" || fail "classify printed: $(cat "$work/classify.log")"

# mix: the identity of one photo's face into another photo (the output has the attribute photo's size).
"$facegan" infer mix --checkpoint "$open_set" --image "$work/neutral.jpg" --attribute "$photo" --out "$work/mix.png" \
  > "$work/mix.log"
[ "$(png_size "$work/mix.png")" = "0 0 2 0 0 0 2 0" ] || fail "mix did not keep the attribute photo's size"

# transfer and remove: makeup between two photos, landmarks and areas from the pipeline.
"$facegan" infer transfer --checkpoint "$makeup" --source "$work/neutral.jpg" --reference "$photo" \
  --out "$work/transfer.png" > "$work/transfer.log"
[ "$(png_size "$work/transfer.png")" = "0 0 2 0 0 0 2 0" ] || fail "transfer did not keep the photo's size"
"$facegan" infer remove --checkpoint "$makeup" --image "$photo" --out "$work/removed.png" > /dev/null
[ -s "$work/removed.png" ] || fail "remove wrote nothing"

# Errors: a clear message naming the file, a non-zero exit, nothing written.
"$facegan" render --out "$work/synthetic" --count 1 --set size=48 > /dev/null
expect_error "no face found in $work/synthetic/face_000000.png" "$work/x1.png" \
  "$facegan" infer neutralize --checkpoint "$derl1" --image "$work/synthetic/face_000000.png" --out "$work/x1.png"
echo "not a picture" > "$work/notes.jpg"
expect_error "$work/notes.jpg" "$work/x2.png" \
  "$facegan" infer neutralize --checkpoint "$derl1" --image "$work/notes.jpg" --out "$work/x2.png"
head -c 20000 "$work/neutral.jpg" > "$work/cut.jpg"
expect_error "$work/cut.jpg is a truncated" "$work/x3.png" \
  "$facegan" infer neutralize --checkpoint "$derl1" --image "$work/cut.jpg" --out "$work/x3.png"
expect_error "/nonexistent/model.dat" "$work/x4.png" \
  "$facegan" infer neutralize --checkpoint "$derl1" --image "$photo" --landmark-model /nonexistent/model.dat \
  --out "$work/x4.png"
expect_error "is too small" "$work/x5.png" \
  "$facegan" infer neutralize --checkpoint "$derl1" --image "$photo" --min-face 2000 --out "$work/x5.png"
expect_error "has 1 face" "$work/x6.png" \
  "$facegan" infer neutralize --checkpoint "$derl1" --image "$photo" --face 3 --out "$work/x6.png"
expect_error "has 1 face" "$work/x7.png" \
  "$facegan" infer transfer --checkpoint "$makeup" --source "$photo" --reference "$photo" --reference-face 1 \
  --out "$work/x7.png"
expect_error "no face found" "$work/x8" \
  "$facegan" detect "$work/synthetic/face_000000.png" --out "$work/x8"
mkdir -p "$work/lonely"
cp "$derl1" "$work/lonely/ckpt.pt"
expect_error "config.json" "$work/x9.png" \
  "$facegan" infer neutralize --checkpoint "$work/lonely/ckpt.pt" --image "$photo" --out "$work/x9.png"
expect_error "--no-detect" "$work/x10.png" \
  "$facegan" infer remove --checkpoint "$makeup" --image "$photo" --no-detect --out "$work/x10.png"
# --no-detect keeps the aligned-crop behaviour: the rendered 48 px face in, 48 px out.
"$facegan" infer neutralize --checkpoint "$derl1" --image "$work/synthetic/face_000000.png" --no-detect --size 32 \
  --out "$work/crop.png" > /dev/null
[ "$(png_size "$work/crop.png")" = "0 0 0 48 0 0 0 48" ] || fail "--no-detect changed the output size"
echo "photo cli test: all checks passed"

#!/usr/bin/env bash
# Installs what facegan needs on a Debian 12 machine and skips whatever is already there, so a
# second run takes seconds. Says what it did. Safe to run as often as you like.
#
#   FACEGAN_HOME   where the torch wheel's virtual environment lives (default ~/.cache/facegan),
#                  outside any clone so that a fresh clone does not download it again.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
torch_version=$(tr -d '[:space:]' < "$repo/cmake/torch-version.txt")
facegan_home=${FACEGAN_HOME:-$HOME/.cache/facegan}
venv="$facegan_home/torch-$torch_version"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

say() { echo "setup: $*"; }

# Debian packages: the toolchain and the libraries of the design card (OpenCV, nlohmann_json, fmt,
# Catch2, HDF5 with its C++ API, CLI11), gloo's headers, which the torch wheel lacks but c10d's
# CPU process group needs, Chromium, whose headless mode the report test looks through, and dlib
# with its 68-point landmark model (/usr/share/dlib/shape_predictor_68_face_landmarks.dat, about
# 100 MB, uncompressed) for the photo pipeline.
packages=(build-essential cmake ccache git pkg-config python3 libopencv-dev nlohmann-json3-dev libfmt-dev
          catch2 libhdf5-dev libcli11-dev libgloo-dev chromium libdlib-dev libdlib-data)
if ! python3 -c 'import venv, ensurepip' > /dev/null 2>&1; then
  packages+=(python3-venv)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
else
  say "Debian packages present (${#packages[@]})"
fi

# The PyPI torch wheel is a CUDA build; its CMake config needs the CUDA toolkit even though
# nothing here runs on a GPU.
if ! command -v nvcc > /dev/null 2>&1 && [ ! -x /usr/local/cuda/bin/nvcc ]; then
  say "error: the CUDA toolkit (nvcc) is missing; torch's CMake config needs it. Install CUDA 13.0" >&2
  say "(the toolkit matching torch $torch_version's wheel) so that /usr/local/cuda/bin/nvcc exists." >&2
  exit 1
fi

# LibTorch: the pinned torch wheel in its own virtual environment.
have_torch() {
  [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$torch_version" > /dev/null 2>&1 <<'PY'
import sys, torch
sys.exit(0 if torch.__version__.split("+")[0] == sys.argv[1] else 1)
PY
}
if have_torch; then
  say "torch $torch_version present in $venv"
else
  say "installing torch $torch_version into $venv (a few GB, once)"
  mkdir -p "$facegan_home"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "torch==$torch_version" numpy
  have_torch || { say "error: torch $torch_version did not import after installing" >&2; exit 1; }
  say "torch $torch_version installed"
fi

# Test photographs of people: scikit-image's wheel ships NASA's portrait of the astronaut Eileen
# Collins (skimage/data/astronaut.png, "no known copyright restrictions, released into the public
# domain"). Only that file is kept, in $FACEGAN_HOME/photos; the [face] tests and the photo CLI test
# are skipped, saying so, when it is missing.
photos="$facegan_home/photos"
skimage_version=0.26.0
astronaut_sha256=88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5
if [ -s "$photos/astronaut.png" ] && echo "$astronaut_sha256  $photos/astronaut.png" | sha256sum --check --status; then
  say "test photo present in $photos"
else
  say "fetching the test photo astronaut.png from scikit-image $skimage_version's wheel"
  tmp=$(mktemp -d)
  if "$venv/bin/pip" download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
       "scikit-image==$skimage_version" -d "$tmp" > "$tmp/pip.log" 2>&1 &&
     "$venv/bin/python" - "$tmp" "$photos" > "$tmp/extract.log" 2>&1 <<'PY'
import glob, os, sys, zipfile
tmp, photos = sys.argv[1], sys.argv[2]
wheel = glob.glob(os.path.join(tmp, "scikit_image-*.whl"))[0]
os.makedirs(photos, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    data = z.read("skimage/data/astronaut.png")
with open(os.path.join(photos, "astronaut.png.tmp"), "wb") as f:
    f.write(data)
os.replace(os.path.join(photos, "astronaut.png.tmp"), os.path.join(photos, "astronaut.png"))
with open(os.path.join(photos, "LICENSE.txt"), "w") as f:
    f.write("astronaut.png: skimage/data/astronaut.png of " + os.path.basename(wheel) + ".\n"
            "Eileen Collins, NASA (NASA Great Images database). Public domain: no known copyright restrictions.\n")
PY
  then
    if echo "$astronaut_sha256  $photos/astronaut.png" | sha256sum --check --status; then
      say "test photo installed in $photos"
    else
      say "warning: $photos/astronaut.png does not have the expected sha256; the photo tests will fail" >&2
    fi
  else
    say "warning: could not fetch the test photo (see below); the photo tests will be skipped" >&2
    cat "$tmp"/*.log >&2 || true
  fi
  rm -rf "$tmp"
fi

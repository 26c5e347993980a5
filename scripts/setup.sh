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
# CPU process group needs, and Chromium, whose headless mode the report test looks through.
packages=(build-essential cmake ccache git pkg-config python3 libopencv-dev nlohmann-json3-dev libfmt-dev
          catch2 libhdf5-dev libcli11-dev libgloo-dev chromium)
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

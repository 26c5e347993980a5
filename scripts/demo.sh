#!/usr/bin/env bash
# The main job: set up, build, then train pix2pix (U-Net + PatchGAN) for a few steps on a generated
# image pair and write runs/demo/pix2pix_sample.png.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FACEGAN_BUILD_DIR:-$repo/build}
bash "$repo/scripts/build.sh"
cd "$repo"
"$build/examples/pix2pix_demo" --out runs/demo "$@"

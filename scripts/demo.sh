#!/usr/bin/env bash
# The main job: set up, build, then train pix2pix (U-Net + conditional PatchGAN) through the common
# trainer on synthetic face pairs (expressive -> neutral) and write sample grids, metrics and
# checkpoints to runs/demo/pix2pix. Extra arguments go to `facegan train` (e.g. --set trainer.steps=600).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FACEGAN_BUILD_DIR:-$repo/build}
bash "$repo/scripts/build.sh"
cd "$repo"
rm -rf runs/demo/pix2pix
"$build/tools/facegan" train --config configs/pix2pix_synthetic.json --set trainer.out_dir=runs/demo/pix2pix "$@"
latest=$(ls runs/demo/pix2pix/samples/*.png | tail -n 1)
cp "$latest" runs/demo/pix2pix_sample.png
echo "demo: sample grid (input | output | target per row) at runs/demo/pix2pix_sample.png"

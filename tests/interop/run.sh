#!/usr/bin/env bash
# CTest's weight round trips with Python PyTorch (tests/interop/roundtrip.py): pix2pix's reference
# networks and the papers' mirrors imported by `facegan import`, facegan-trained networks exported by
# `facegan export` and loaded in Python, outputs compared. Needs the torch venv that
# scripts/setup.sh makes; without it the test reports SKIPPED (exit 77, CTest's skip), never a pass.
# Usage: run.sh <facegan> <interop_forward> <python or ""> <scratch folder>
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${3:-}
if [ -z "$python" ]; then
  # As scripts/setup.sh and benchmarks/run_harness.py find it.
  python="${FACEGAN_HOME:-$HOME/.cache/facegan}/torch-$(tr -d '[:space:]' < "$repo/cmake/torch-version.txt")/bin/python"
fi
if [ ! -x "$python" ] || ! "$python" -c 'import torch' > /dev/null 2>&1; then
  echo "SKIPPED: no Python with torch at $python (scripts/setup.sh makes it); the Python round trips did not run"
  exit 77
fi
rm -rf "$4" && mkdir -p "$4"
exec "$python" "$here/roundtrip.py" --facegan "$1" --forward "$2" --work "$4" --repo "$repo"
